// A C++20 program built by CMake against the installed mpsync (find_package(mpsync) ->
// mpsync::mpsync): a Lock, two Semaphores and two Events in an anonymous shared Region, used by the
// parent and two forked children. Exits 0 only if every count comes out exact.
#include <mpsync/mpsync.hpp>

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

namespace {

constexpr int kChildren = 2, kRounds = 2000, kItems = 50;

struct Shared {
  mpsync::Lock lock;
  mpsync::Semaphore items;   // parent -> children: one per published ring slot
  mpsync::Semaphore taken;   // children -> parent: one per item consumed
  mpsync::Event go;          // the parent is running: set after fork, seen by the children
  mpsync::Event all_done;    // set by the last child to finish
  unsigned long counter = 0;   // guarded by lock
  unsigned long sum = 0;       // guarded by lock
  int next_slot = 0;           // guarded by lock
  int finished = 0;            // guarded by lock
  unsigned long ring[kItems + kChildren] = {};  // slot i written before the i-th items.release()
};

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void bump(Shared &s) {
  for (int i = 0; i < kRounds; ++i) {
    std::scoped_lock g(s.lock);  // mpsync::Lock is a std Lockable
    ++s.counter;
  }
}

int child(Shared &s) {
  if (!s.go.wait(10.0)) return 10;
  bump(s);
  for (;;) {
    if (!s.items.acquire(true, 10.0)) return 11;
    unsigned long v;
    {
      std::scoped_lock g(s.lock);
      v = s.ring[s.next_slot++];  // a published slot: tokens taken <= tokens released
      s.sum += v;
    }
    if (v == 0) break;  // the stop marker
    s.taken.release();
  }
  std::scoped_lock g(s.lock);
  if (++s.finished == kChildren) s.all_done.set();
  return 0;
}

}  // namespace

int main() {
  mpsync::Region region = mpsync::Region::anonymous(1 << 16);
  Shared &s = *region.make<Shared>();
  pid_t pids[kChildren];
  for (pid_t &p : pids) {
    p = fork();
    if (p < 0) return 2;
    if (p == 0) _exit(child(s));
  }
  int fails = 0;
  auto expect = [&](bool ok, const char *what) {
    if (!ok) {
      std::fprintf(stderr, "cmake consumer: FAILED %s\n", what);
      ++fails;
    }
  };
  s.go.set();
  bump(s);
  for (int i = 0; i < kItems; ++i) {
    s.ring[i] = static_cast<unsigned long>(i) + 1;
    s.items.release();
  }
  for (int i = 0; i < kItems; ++i) expect(s.taken.acquire(true, 10.0), "every item consumed");
  const double t0 = now();
  expect(!s.taken.acquire(true, 0.05), "a timed acquire on an empty semaphore times out");
  expect(now() - t0 >= 0.05, "... and not before its deadline");
  for (int i = 0; i < kChildren; ++i) s.items.release();  // ring[kItems + i] == 0: stop
  expect(s.all_done.wait(10.0), "the children's event is seen");
  for (pid_t p : pids) {
    int ws = 0;
    expect(waitpid(p, &ws, 0) == p && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child exit status 0");
  }
  expect(s.counter == (kChildren + 1) * static_cast<unsigned long>(kRounds), "lock-guarded counter exact");
  expect(s.sum == kItems * (kItems + 1) / 2, "every item taken exactly once");
  expect(s.items.get_value() == 0 && s.taken.get_value() == 0, "semaphore values exact");
  expect(!s.lock.locked(), "lock free at the end");
  std::printf("cmake consumer: %s (mpsync %s, backend %s)\n", fails ? "FAILED" : "ok", mpsync::version(),
              mpsync::backend());
  return fails ? 1 : 0;
}
