// io_uring waits (mpsync_uring_*) against threads blocked in mpsync_sem_acquire.
//
//   uring.wake_latency/<impl>/process   one iteration = one round trip with a partner process:
//       the partner releases s[0]; side A waits for s[0] and releases s[1]; the partner blocks
//       in mpsync_sem_acquire(s[1]). impl mpsync_uring: side A waits through its io_uring
//       (prep -> FUTEX_WAIT CQE -> complete); impl mpsync_blocking: side A blocks in
//       mpsync_sem_acquire. The partner's half is the same, so the difference is the io_uring
//       wake-to-completion path vs a blocked thread's wake-up.
//   uring.event_loop/<impl>/sems:16,producers:4   acquisitions/s: 4 producer processes release
//       16 semaphores (4 each, round robin); impl mpsync_uring: one thread, one ring, 16 waits;
//       impl mpsync_threads: 16 threads, each blocked on its own semaphore.
// Without io_uring futex waits (kernel < 6.7, qemu, seccomp, sleeploop backend) only the
// mpsync_blocking / mpsync_threads rows run; the reason is printed.
#include <liburing.h>

#include <atomic>

#include "common.hpp"
#include "mpsync.h"

namespace {
using State = benchmark::State;

struct Ring {
  io_uring r{};
  io_uring_sqe *spare = nullptr;  // an SQE a prep left untouched: the next prep reuses it
  Ring() {
    if (io_uring_queue_init(64, &r, 0) != 0) std::abort();
  }
  ~Ring() { io_uring_queue_exit(&r); }
  io_uring_sqe *sqe() {
    io_uring_sqe *s = spare ? spare : io_uring_get_sqe(&r);
    spare = nullptr;
    return s;
  }
  // Before submitting: an SQE a prep left untouched is still in the submission queue, holding
  // whatever it held last time (liburing does not clear SQEs); make it a NOP (user_data 0).
  void settle() {
    if (!spare) return;
    io_uring_prep_nop(spare);
    io_uring_sqe_set_data64(spare, 0);
    spare = nullptr;
  }
};

// Wait for one token of `w` through the ring; true once it is ours.
bool uring_take(Ring &ring, mpsync_uring_wait_t &w) {
  for (;;) {
    io_uring_sqe *s = ring.sqe();
    int r = mpsync_uring_prep_wait(s, &w);
    if (r == MPSYNC_OK) {
      ring.spare = s;  // untouched: keep it for the next wait
      return true;
    }
    if (r != MPSYNC_URING_SUBMIT) return false;
    io_uring_cqe *c;
    ring.settle();  // (nothing to settle here: this prep consumed the spare)
    if (io_uring_submit_and_wait(&ring.r, 1) < 0 || io_uring_wait_cqe(&ring.r, &c) != 0) return false;
    const int res = c->res;
    io_uring_cqe_seen(&ring.r, c);
    r = mpsync_uring_complete(&w, res);
    if (r == MPSYNC_OK) return true;
    if (r != MPSYNC_URING_REARM) return false;
  }
}

struct PingPong {
  mpsync_sem_t s[2];
  std::uint32_t stop = 0;
};

void wake_latency(State &state, bool uring) {
  auto *pp = mpb::shared_new<PingPong>();
  mpsync_sem_init(&pp->s[0], 0);
  mpsync_sem_init(&pp->s[1], 0);
  mpb::Team partner(mpb::Mode::process);
  partner.start([pp](int) {
    for (;;) {
      mpsync_sem_release(&pp->s[0]);
      mpsync_sem_acquire(&pp->s[1], 1, MPSYNC_FOREVER);
      if (mpb::ld(&pp->stop)) return;
    }
  }, 1);
  Ring ring;
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, &pp->s[0]);
  bool ok = true;
  for (auto _ : state) {
    ok = uring ? uring_take(ring, w) : mpsync_sem_acquire(&pp->s[0], 1, MPSYNC_FOREVER) == MPSYNC_OK;
    if (!ok) break;
    mpsync_sem_release(&pp->s[1]);
  }
  if (ok) (void)(uring ? uring_take(ring, w) : mpsync_sem_acquire(&pp->s[0], 1, MPSYNC_FOREVER) == MPSYNC_OK);
  mpb::st(&pp->stop, 1);
  mpsync_sem_release(&pp->s[1]);
  partner.join();
  if (!ok) state.SkipWithError("io_uring wait failed");
  state.SetLabel(mpsync_backend());
  mpb::shared_delete(pp);
}

constexpr int kSems = 16, kProducers = 4;
struct Feed {
  mpsync_sem_t s[kSems];
  std::uint32_t go = 0;
};

// One batch: producers release `each` tokens on each of their semaphores; returns the seconds
// from the start gate to the last acquisition, or < 0 on failure.
double event_loop_batch(bool uring, int each) {
  auto *f = mpb::shared_new<Feed>();
  for (auto &s : f->s) mpsync_sem_init(&s, 0);
  mpb::Team producers(mpb::Mode::process);
  producers.start([f, each](int p) {
    mpb::wait_change(&f->go, 0);
    for (int i = 0; i < each; ++i)
      for (int k = p; k < kSems; k += kProducers) mpsync_sem_release(&f->s[k]);
  }, kProducers);
  double t = -1;
  if (uring) {
    Ring ring;
    mpsync_uring_wait_t w[kSems];
    int left[kSems], armed = 0, total = kSems * each, taken = 0;
    bool bad = false;
    auto feed = [&](int k) {  // take what is there; arm one wait when it runs dry
      while (left[k] > 0) {
        io_uring_sqe *s = ring.sqe();
        const int r = mpsync_uring_prep_wait(s, &w[k]);
        if (r == MPSYNC_URING_SUBMIT) return (void)++armed;
        ring.spare = s;  // untouched: reuse it
        if (r != MPSYNC_OK) return (void)(bad = true);
        --left[k], ++taken;
      }
    };
    for (int k = 0; k < kSems; ++k) mpsync_uring_wait_init(&w[k], MPSYNC_WAIT_SEM, &f->s[k]), left[k] = each;
    const std::int64_t t0 = mpb::now_ns();
    mpb::st(&f->go, 1);
    mpb::fx_wake(&f->go, kProducers);  // open the start gate for every producer
    for (int k = 0; k < kSems; ++k) feed(k);
    while (!bad && taken < total) {
      ring.settle();
      io_uring_submit_and_wait(&ring.r, 1);
      io_uring_cqe *c;
      unsigned h, n = 0;
      io_uring_for_each_cqe(&ring.r, h, c) {
        ++n;
        if (c->user_data == 0) continue;
        auto *x = reinterpret_cast<mpsync_uring_wait_t *>(static_cast<std::uintptr_t>(c->user_data));
        const int k = static_cast<int>(x - w);
        --armed;
        const int r = mpsync_uring_complete(x, c->res);
        if (r == MPSYNC_OK) --left[k], ++taken;
        else if (r != MPSYNC_URING_REARM) bad = true;
        feed(k);
      }
      io_uring_cq_advance(&ring.r, n);
    }
    if (!bad) t = double(mpb::now_ns() - t0) * 1e-9;
  } else {
    std::vector<std::thread> consumers;
    std::atomic<int> ready{0};
    std::uint32_t start = 0;
    for (int k = 0; k < kSems; ++k)
      consumers.emplace_back([&, k] {
        ready.fetch_add(1);
        mpb::wait_change(&start, 0);
        for (int i = 0; i < each; ++i) mpsync_sem_acquire(&f->s[k], 1, MPSYNC_FOREVER);
      });
    while (ready.load() < kSems) std::this_thread::yield();
    const std::int64_t t0 = mpb::now_ns();
    mpb::st(&start, 1);
    mpb::fx_wake(&start, kSems);
    mpb::st(&f->go, 1);
    mpb::fx_wake(&f->go, kProducers);  // open the start gate for every producer
    for (auto &c : consumers) c.join();
    t = double(mpb::now_ns() - t0) * 1e-9;
  }
  const bool ok = producers.join();
  mpb::shared_delete(f);
  return ok ? t : -1;
}

void event_loop(State &state, bool uring) {
  const int each = mpb::quick() ? 100 : 2000;
  double total_s = 0, n = 0;
  for (auto _ : state) {
    const double t = event_loop_batch(uring, each);
    if (t < 0) {
      state.SkipWithError("batch failed");
      break;
    }
    state.SetIterationTime(t);
    total_s += t;
    n += kSems * each;
  }
  state.counters["acq_per_s"] = benchmark::Counter(total_s > 0 ? n / total_s : 0);
  state.SetLabel(mpsync_backend());
}
}  // namespace

int main(int argc, char **argv) {
  const bool uring = mpsync_uring_supported();
  if (!uring) std::fprintf(stderr, "bench_uring: io_uring rows skipped: %s\n", mpsync_uring_unsupported_reason());
  mpb::reg("uring.wake_latency", "mpsync_blocking", "process", [](State &s) { wake_latency(s, false); });
  if (uring) mpb::reg("uring.wake_latency", "mpsync_uring", "process", [](State &s) { wake_latency(s, true); });
  mpb::reg("uring.event_loop", "mpsync_threads", "sems:16,producers:4", [](State &s) { event_loop(s, false); })
      ->UseManualTime()->Iterations(mpb::quick() ? 2 : 20);
  if (uring)
    mpb::reg("uring.event_loop", "mpsync_uring", "sems:16,producers:4", [](State &s) { event_loop(s, true); })
        ->UseManualTime()->Iterations(mpb::quick() ? 2 : 20);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
