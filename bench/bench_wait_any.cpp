// Wait-any wake-up latency across processes (fork, MAP_SHARED). One iteration is one round trip:
// the benchmark process makes the LAST of n items ready, the partner process (asleep in its wait)
// wakes, takes it and hands back through a Semaphore(0) the benchmark process sleeps on. The
// return leg is the same in every variant, so differences are the forward wake-up:
//   wait_any.mpsync/n        mpsync_wait_any over n items: n-1 busy (held Locks / empty
//                            Semaphores, alternating) and the last a Semaphore that is released
//   wait_any.semaphore/1     a single-object Semaphore acquire (the baseline; target: wait_any/1..128
//                            within 1.2x of it)
//   wait_any.poll_eventfd/n  poll() on n eventfds, the last one written (then read back)
// n = 1, 8, 64, 128. The label says the wait backend (and "polling" where futex_waitv is missing).
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "common.hpp"
#include "mpsync/mpsync.hpp"

namespace {
using State = benchmark::State;

bool have_waitv() {
  std::uint32_t w = 0;
  struct { std::uint64_t val, uaddr; std::uint32_t flags, reserved; } v{1, reinterpret_cast<std::uintptr_t>(&w), 2, 0};
  return syscall(449, &v, 1u, 0u, nullptr, 1) == -1 && errno == EAGAIN;
}

struct Shared {
  mpsync::Lock locks[64];
  mpsync::Semaphore sems[65];  // sems[64]: the item made ready
  mpsync::Semaphore back;      // the return leg
  mpsync_waitable items[MPSYNC_WAIT_ANY_MAX];
  alignas(64) std::uint32_t stop = 0;
};

enum class Kind { wait_any, semaphore, poll_eventfd };

void round_trip(State &s, Kind kind, unsigned n) {
  auto *sh = mpb::shared_new<Shared>();
  for (unsigned i = 0; i + 1 < n; ++i) {  // the busy ones: held locks and empty semaphores
    if (i % 2 == 0) {
      (void)sh->locks[i / 2].acquire_status();
      sh->items[i] = mpsync::waitable(sh->locks[i / 2]);
    } else {
      sh->items[i] = mpsync::waitable(sh->sems[i / 2]);
    }
  }
  mpsync::Semaphore &go = sh->sems[64];
  sh->items[n - 1] = mpsync::waitable(go);
  std::vector<int> fds;
  if (kind == Kind::poll_eventfd)
    for (unsigned i = 0; i < n; ++i) fds.push_back(eventfd(0, 0));
  auto wait_forward = [&] {
    if (kind == Kind::semaphore) {
      (void)go.acquire_status();
    } else if (kind == Kind::wait_any) {
      unsigned idx;
      (void)mpsync_wait_any(sh->items, n, MPSYNC_FOREVER, &idx);
    } else {
      std::vector<pollfd> p(n);
      for (unsigned i = 0; i < n; ++i) p[i] = {fds[i], POLLIN, 0};
      while (poll(p.data(), n, -1) <= 0) {
      }
      std::uint64_t v;
      if (read(fds[n - 1], &v, sizeof v) != sizeof v) std::abort();
    }
  };
  auto signal_forward = [&] {
    if (kind == Kind::poll_eventfd) {
      const std::uint64_t one = 1;
      if (write(fds[n - 1], &one, sizeof one) != sizeof one) std::abort();
    } else {
      (void)go.release_status();
    }
  };
  {
    mpb::Team team(mpb::Mode::process);
    team.start(
        [&](int) {
          for (;;) {
            wait_forward();
            if (mpb::ld(&sh->stop)) return;
            (void)sh->back.release_status();
          }
        },
        1);
    signal_forward();  // untimed first round: the partner is up
    (void)sh->back.acquire_status();
    for (auto _ : s) {
      signal_forward();
      (void)sh->back.acquire_status();
    }
    mpb::st(&sh->stop, 1u);
    signal_forward();
    if (!team.join()) s.SkipWithError("partner failed");
  }
  for (int fd : fds) close(fd);
  mpb::shared_delete(sh);
  std::string label = mpsync::backend();
  if (kind == Kind::wait_any && n > 1 && !have_waitv()) label += ",polling";
  s.SetLabel(label);
}

[[maybe_unused]] const bool registered = [] {
  mpb::reg("wait_any.semaphore", "mpsync", "1", [](State &s) { round_trip(s, Kind::semaphore, 1); })->UseRealTime();
  for (unsigned n : {1u, 8u, 64u, 128u}) {
    const std::string v = std::to_string(n);
    mpb::reg("wait_any.mpsync", "mpsync", v, [n](State &s) { round_trip(s, Kind::wait_any, n); })->UseRealTime();
    mpb::reg("wait_any.poll_eventfd", "poll", v, [n](State &s) { round_trip(s, Kind::poll_eventfd, n); })->UseRealTime();
  }
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
