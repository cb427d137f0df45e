// Shared helpers of the benchmark binaries: shared memory, threads-or-processes teams, CPU pinning,
// a monotonic clock, raw futex words (the floor rival and the untimed gates between rounds), and
// the PTHREAD_PROCESS_SHARED glibc rivals.
//
// Naming convention (bench/compare relies on it): every benchmark is registered as
//     <group>/<impl>[/<variant>]
// <group> is what is measured, "<area>.<what>" (the dot tells compare the name follows this
// convention: "handoff.semaphore"), <impl> is who does it ("mpsync" is ours; every
// other impl in the group is a rival: "sem_t", "pthread_mutex", "futex_floor", "python_mp", ...),
// and <variant> the setting ("process_pinned", "processes:4"). compare groups rows by
// (group, variant) and prints ours/rival for every rival in the row.
#ifndef MPSYNC_BENCH_COMMON_HPP
#define MPSYNC_BENCH_COMMON_HPP

#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "mpsync/mpsync.hpp"

namespace mpb {

// MPSYNC_BENCH_QUICK=1 (the meson smoke tests, compare --quick): shorter windows and fewer rounds.
inline bool quick() {
  const char *q = std::getenv("MPSYNC_BENCH_QUICK");
  return q && *q && *q != '0';
}

inline std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A T in shared memory — every object, mpsync's and glibc's alike, in one anonymous mpsync Region
// (MAP_SHARED: shared with fork() children, and with threads as well), each on its own 128-byte
// block so no two share a cache line or an adjacent-line prefetch. A Region is where mpsync
// objects normally live, so a wait here pays what it pays in a program: the waiter-table
// publication mpsync-inspect reads (runtime/waiters.hpp). Blocks are not reused.
inline mpsync::Region &bench_region() {
  static mpsync::Region r = mpsync::Region::anonymous(std::uint64_t{256} << 20);
  return r;
}
template <class T, class... A>
T *shared_new(A &&...a) {
  void *m = bench_region().alloc(sizeof(T) < 128 ? 128 : sizeof(T), 128);
  if (!m) {
    std::fprintf(stderr, "bench region full\n");
    std::abort();
  }
  return ::new (m) T(static_cast<A &&>(a)...);
}
template <class T>
void shared_delete(T *p) {
  p->~T();
}

// Raw shared futex words (no FUTEX_PRIVATE_FLAG: they work across processes).
inline void fx_wait(std::uint32_t *w, std::uint32_t expected) {
  syscall(SYS_futex, w, FUTEX_WAIT, expected, nullptr, nullptr, 0);
}
inline void fx_wake(std::uint32_t *w, int n) { syscall(SYS_futex, w, FUTEX_WAKE, n, nullptr, nullptr, 0); }
inline std::uint32_t ld(const std::uint32_t *w) { return __atomic_load_n(w, __ATOMIC_ACQUIRE); }
inline void st(std::uint32_t *w, std::uint32_t v) { __atomic_store_n(w, v, __ATOMIC_RELEASE); }
inline std::uint32_t inc(std::uint32_t *w) { return __atomic_add_fetch(w, 1u, __ATOMIC_ACQ_REL); }
// Bump a counter someone may be sleeping on in wait_reach.
inline void inc_wake(std::uint32_t *w) {
  inc(w);
  fx_wake(w, 1);
}
// Untimed gate: sleep until *w != v (waiting is between rounds, never inside a timed region).
inline void wait_change(std::uint32_t *w, std::uint32_t v) {
  while (ld(w) == v) fx_wait(w, v);
}
// Untimed gate: sleep until *w >= target (a counter the others bump, waking us with fx_wake).
inline void wait_reach(std::uint32_t *w, std::uint32_t target) {
  for (std::uint32_t v; (v = ld(w)) < target;) fx_wait(w, v);
}

enum class Mode { thread, process };

// N participants running fn(index), as threads or as fork()ed children (killed if we die).
class Team {
 public:
  explicit Team(Mode m) : mode_(m) {}
  ~Team() { join(); }
  Team(const Team &) = delete;
  Team &operator=(const Team &) = delete;
  void start(std::function<void(int)> fn, int n) {
    for (int i = 0; i < n; ++i) {
      if (mode_ == Mode::process) {
        std::fflush(nullptr);
        pid_t pid = fork();
        if (pid < 0) {
          std::perror("fork");
          std::abort();
        }
        if (pid == 0) {
          prctl(PR_SET_PDEATHSIG, SIGKILL);
          fn(i);
          _exit(0);
        }
        pids_.push_back(pid);
      } else {
        threads_.emplace_back([fn, i] { fn(i); });
      }
    }
  }
  // true when every participant ended normally.
  bool join() {
    bool ok = true;
    for (auto &t : threads_) t.join();
    threads_.clear();
    for (pid_t p : pids_) {
      int s = 0;
      while (waitpid(p, &s, 0) < 0 && errno == EINTR) {
      }
      ok = ok && WIFEXITED(s) && WEXITSTATUS(s) == 0;
    }
    pids_.clear();
    return ok;
  }

 private:
  Mode mode_;
  std::vector<std::thread> threads_;
  std::vector<pid_t> pids_;
};

// Pins the calling thread (and so every thread/child it creates meanwhile) to its first allowed
// CPU; the old mask comes back at scope exit.
class PinToOneCpu {
 public:
  explicit PinToOneCpu(bool on) : on_(on) {
    if (!on_) return;
    sched_getaffinity(0, sizeof old_, &old_);
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &old_)) {
        CPU_SET(c, &one);
        break;
      }
    sched_setaffinity(0, sizeof one, &one);
  }
  ~PinToOneCpu() {
    if (on_) sched_setaffinity(0, sizeof old_, &old_);
  }
  PinToOneCpu(const PinToOneCpu &) = delete;
  PinToOneCpu &operator=(const PinToOneCpu &) = delete;

 private:
  bool on_;
  cpu_set_t old_{};
};

// glibc rivals, every one PTHREAD_PROCESS_SHARED.
inline void init_mutex(pthread_mutex_t *m, int type = PTHREAD_MUTEX_DEFAULT, bool robust = false) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_settype(&a, type);
  if (robust) pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
}
inline void init_cond(pthread_cond_t *c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
}
inline void init_barrier(pthread_barrier_t *b, unsigned n) {
  pthread_barrierattr_t a;
  pthread_barrierattr_init(&a);
  pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_barrier_init(b, &a, n);
  pthread_barrierattr_destroy(&a);
}
inline void sem_wait_retry(sem_t *s) {
  while (sem_wait(s) != 0) {
  }
}

// The Event one builds from glibc (as CPython's threading.Event does): flag + mutex + condvar.
struct GlibcEvent {
  pthread_mutex_t m;
  pthread_cond_t c;
  int flag = 0;
  GlibcEvent() {
    init_mutex(&m);
    init_cond(&c);
  }
  void set() {
    pthread_mutex_lock(&m);
    flag = 1;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
  }
  void clear() {
    pthread_mutex_lock(&m);
    flag = 0;
    pthread_mutex_unlock(&m);
  }
  bool is_set() {
    pthread_mutex_lock(&m);
    bool f = flag;
    pthread_mutex_unlock(&m);
    return f;
  }
  void wait() {
    pthread_mutex_lock(&m);
    while (!flag) pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
  }
};

// Registers fn under "<group>/<impl>[/<variant>]" (see the naming convention above).
inline benchmark::internal::Benchmark *reg(const std::string &group, const std::string &impl,
                                           const std::string &variant,
                                           std::function<void(benchmark::State &)> fn) {
  std::string name = group + "/" + impl + (variant.empty() ? "" : "/" + variant);
  return benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State &s) { fn(s); });
}

}  // namespace mpb

#endif
