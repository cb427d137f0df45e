// Contended throughput and fairness: N participants (2/4/8 threads or processes; 4 and 8
// oversubscribe this 2-core machine) hammer one lock for a fixed wall time — mpsync Lock vs pshared
// pthread_mutex, RLock vs robust recursive pshared pthread_mutex, Semaphore(1) and
// BoundedSemaphore(1) as locks vs pshared sem_t. Each iteration is one window (100 ms; 5 ms with
// MPSYNC_BENCH_QUICK=1); the reported time is the window (manual time), and the counters are what
// matters:
//   ops_per_s    acquisitions per second, all participants together (higher is better)
//   min_share    the slowest participant's ops / the mean per participant (1.0 = perfectly fair)
//   max_share    the fastest participant's ops / the mean
//   cpu_ns_per_op CPU time (user + sys, getrusage of all participants) per acquisition: what a
//                 policy that spins costs an embedder whose other threads need the cores
// The critical section always does a read-check-increment of one 64-byte record (it checks mutual
// exclusion: a torn record fails the benchmark), plus cs:0 nothing, cs:100 ~100 ns or cs:1000
// ~1 µs of work; between acquisitions each participant does ~100 ns of private work.
// Variants: "<processes|threads>:<n>:cs<0|100|1000>".
#include <sys/resource.h>

#include "common.hpp"
#include "mpsync/mpsync.hpp"

namespace {
using State = benchmark::State;

struct MpLock {
  mpsync::Lock l;
  void lock() { (void)l.acquire_status(); }
  void unlock() { (void)l.release_status(); }
};
struct PtMutex {
  pthread_mutex_t m;
  PtMutex() { mpb::init_mutex(&m); }
  void lock() { pthread_mutex_lock(&m); }
  void unlock() { pthread_mutex_unlock(&m); }
};
struct MpRLock {
  mpsync::RLock l;
  void lock() { (void)l.acquire_status(); }
  void unlock() { (void)l.release_status(); }
};
struct PtRobustRecursive {
  pthread_mutex_t m;
  PtRobustRecursive() { mpb::init_mutex(&m, PTHREAD_MUTEX_RECURSIVE, true); }
  void lock() {
    if (pthread_mutex_lock(&m) == EOWNERDEAD) pthread_mutex_consistent(&m);
  }
  void unlock() { pthread_mutex_unlock(&m); }
};
struct MpBSem {
  mpsync::BoundedSemaphore s{1};
  void lock() { (void)s.acquire_status(); }
  void unlock() { (void)s.release_status(); }
};
struct MpSem {
  mpsync::Semaphore s{1};
  void lock() { (void)s.acquire_status(); }
  void unlock() { (void)s.release_status(); }
};
struct SemT {
  sem_t s;
  SemT() { sem_init(&s, 1, 1); }
  void lock() { mpb::sem_wait_retry(&s); }
  void unlock() { sem_post(&s); }
};

constexpr int kMax = 8;
constexpr std::uint32_t kExit = ~0u;

template <class L>
struct Arena {
  alignas(64) L lock;
  alignas(64) std::uint64_t record[8] = {};  // the protected data
  alignas(64) std::uint32_t phase = 0;       // odd: run; even: stop; kExit: leave
  alignas(64) std::uint32_t parked = 0;      // participants done with the current window
  std::uint32_t torn = 0;                    // a participant saw a torn record
  struct alignas(64) Slot {
    std::uint64_t ops = 0;
  } slot[kMax];
};

inline void work(std::uint64_t &x, int rounds) {
  for (int i = 0; i < rounds; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  benchmark::DoNotOptimize(x);
}
constexpr int kPrivateRounds = 24;  // ~100 ns between acquisitions

// Work rounds (one dependent multiply-add each) that take ~ns nanoseconds, measured once.
inline int rounds_for_ns(int ns) {
  if (ns == 0) return 0;
  static const double per_round = [] {
    std::uint64_t x = 1;
    const std::int64_t t0 = mpb::now_ns();
    work(x, 1 << 22);
    return double(mpb::now_ns() - t0) / double(1 << 22);
  }();
  return int(ns / per_round) > 0 ? int(ns / per_round) : 1;
}

inline double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Window k (k = 1, 2, ...) runs while phase == 2k-1 and stops at phase 2k; the parent starts window
// k+1 only after all n participants parked from window k, so a participant waiting for phase
// 2k+1 sees either 2k (still stopped), 2k+1 or kExit.
template <class L>
void participant(Arena<L> *a, int me, int cs_rounds) {
  std::uint64_t x = std::uint64_t(me) + 1;
  for (std::uint32_t run = 1;; run += 2) {
    mpb::wait_change(&a->phase, run - 1);
    if (mpb::ld(&a->phase) == kExit) return;
    std::uint64_t ops = 0;
    while (__atomic_load_n(&a->phase, __ATOMIC_RELAXED) == run) {
      a->lock.lock();
      std::uint64_t v = a->record[0];
      bool ok = true;
      for (int i = 1; i < 8; ++i) ok &= a->record[i] == v;
      for (int i = 0; i < 8; ++i) a->record[i] = v + 1;
      work(x, cs_rounds);
      a->lock.unlock();
      if (!ok) mpb::st(&a->torn, 1);
      ++ops;
      work(x, kPrivateRounds);
    }
    a->slot[me].ops += ops;
    mpb::inc_wake(&a->parked);
  }
}

template <class L>
void contended(State &s, mpb::Mode mode, int n, int cs_ns) {
  auto *a = mpb::shared_new<Arena<L>>();
  const int cs_rounds = rounds_for_ns(cs_ns);
  const int who = mode == mpb::Mode::process ? RUSAGE_CHILDREN : RUSAGE_SELF;
  const double cpu0 = cpu_seconds(who);
  const std::int64_t window_ns = mpb::quick() ? 5000000 : 100000000;
  std::int64_t total_ns = 0;
  std::uint32_t windows = 0;
  {
    mpb::Team team(mode);
    team.start([a, cs_rounds](int i) { participant(a, i, cs_rounds); }, n);
    for (auto _ : s) {
      const std::int64_t t0 = mpb::now_ns();
      mpb::inc(&a->phase);  // odd: run
      mpb::fx_wake(&a->phase, kMax);
      timespec w{0, long(window_ns)};
      while (nanosleep(&w, &w) != 0) {
      }
      mpb::inc(&a->phase);  // even: stop
      const std::int64_t t1 = mpb::now_ns();
      ++windows;
      mpb::wait_reach(&a->parked, windows * std::uint32_t(n));
      total_ns += t1 - t0;
      s.SetIterationTime(double(t1 - t0) * 1e-9);
    }
    mpb::st(&a->phase, kExit);
    mpb::fx_wake(&a->phase, kMax);
    if (!team.join()) s.SkipWithError("a participant failed");
  }
  const double cpu = cpu_seconds(who) - cpu0;
  std::uint64_t sum = 0, lo = ~0ull, hi = 0;
  for (int i = 0; i < n; ++i) {
    sum += a->slot[i].ops;
    lo = std::min(lo, a->slot[i].ops);
    hi = std::max(hi, a->slot[i].ops);
  }
  const double mean = double(sum) / n;
  if (a->torn || a->record[0] != sum) s.SkipWithError("mutual exclusion broken");
  s.counters["ops_per_s"] = total_ns ? double(sum) / (double(total_ns) * 1e-9) : 0;
  s.counters["min_share"] = mean > 0 ? double(lo) / mean : 0;
  s.counters["max_share"] = mean > 0 ? double(hi) / mean : 0;
  s.counters["cpu_ns_per_op"] = sum ? cpu * 1e9 / double(sum) : 0;
  s.SetLabel(mpsync::backend());
  mpb::shared_delete(a);
}

template <class L>
void variants(const char *group, const char *impl) {
  for (int cs : {0, 100, 1000})
    for (int n : {2, 4, 8}) {
      const std::string suffix = ":" + std::to_string(n) + ":cs" + std::to_string(cs);
      mpb::reg(group, impl, "processes" + suffix,
               [n, cs](State &s) { contended<L>(s, mpb::Mode::process, n, cs); })->UseManualTime();
      mpb::reg(group, impl, "threads" + suffix,
               [n, cs](State &s) { contended<L>(s, mpb::Mode::thread, n, cs); })->UseManualTime();
    }
}

[[maybe_unused]] const bool registered = [] {
  variants<MpLock>("contended.lock", "mpsync");
  variants<PtMutex>("contended.lock", "pthread_mutex");
  variants<MpRLock>("contended.rlock", "mpsync");
  variants<PtRobustRecursive>("contended.rlock", "robust_recursive_mutex");
  variants<MpSem>("contended.semaphore", "mpsync");
  variants<SemT>("contended.semaphore", "sem_t");
  variants<MpBSem>("contended.bounded_semaphore", "mpsync");
  variants<SemT>("contended.bounded_semaphore", "sem_t");
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
