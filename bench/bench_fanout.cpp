// Barrier round time and fan-out latency, mpsync vs glibc (pshared), processes and threads.
//   barrier.round/<impl>/processes:P   one iteration = one barrier cycle of P parties (the benchmark
//                                      thread is one of them)
//   fanout.event/<impl>/...:8          one Event.set() wakes 8 parked waiters; the time is from just
//   fanout.notify_all/<impl>/...:8     before set()/notify_all() until the 8th waiter runs (each
//                                      waiter stamps CLOCK_MONOTONIC into shared memory on return;
//                                      time = max(stamp) - t0, reported as manual time)
// The glibc Event is the flag + mutex + condvar one builds from pthreads (CPython's design).
// Between fan-out rounds everyone meets at untimed gates made of bare futex words.
#include "common.hpp"
#include "mpsync/mpsync.hpp"

namespace {
using State = benchmark::State;
constexpr int kWaiters = 8;

// ---- barrier rounds -------------------------------------------------------------------------
// Stop rule: the benchmark thread publishes end = K+1 before it arrives at cycle K+1; every other
// party counts its cycles and leaves after cycle `end`. The cycle orders the store before every
// return from cycle K+1, and a party returning from an earlier cycle cannot see end == its count.
struct MpBarrier {
  mpsync::Barrier b;
  explicit MpBarrier(unsigned n) : b(n) {}
  void wait() { (void)b.wait(); }
};
struct PtBarrier {
  pthread_barrier_t b;
  explicit PtBarrier(unsigned n) { mpb::init_barrier(&b, n); }
  ~PtBarrier() { pthread_barrier_destroy(&b); }
  void wait() { pthread_barrier_wait(&b); }
};
template <class B>
struct BarrierArena {
  B bar;
  alignas(64) std::uint32_t end = 0;
  explicit BarrierArena(unsigned n) : bar(n) {}
};

template <class B>
void barrier_rounds(State &s, mpb::Mode mode, int parties) {
  auto *a = mpb::shared_new<BarrierArena<B>>(unsigned(parties));
  std::uint32_t cycles = 0;
  {
    mpb::Team team(mode);
    team.start(
        [a](int) {
          for (std::uint32_t k = 1;; ++k) {
            a->bar.wait();
            if (mpb::ld(&a->end) == k) return;
          }
        },
        parties - 1);
    a->bar.wait();  // untimed first cycle: every party is up and running
    ++cycles;
    for (auto _ : s) {
      a->bar.wait();
      ++cycles;
    }
    mpb::st(&a->end, cycles + 1);
    a->bar.wait();
    if (!team.join()) s.SkipWithError("a party failed");
  }
  mpb::shared_delete(a);
  s.SetLabel(mpsync::backend());
}

// ---- fan-out --------------------------------------------------------------------------------
struct MpEvent {
  mpsync::Event e;
  void waiter_round(std::uint32_t *ready, std::uint32_t) {
    mpb::inc_wake(ready);
    (void)e.wait_status();
  }
  void fire(std::uint32_t, std::int64_t *t0) {
    *t0 = mpb::now_ns();
    e.set();
  }
  void rearm() { e.clear(); }
};
struct GlEvent {
  mpb::GlibcEvent e;
  void waiter_round(std::uint32_t *ready, std::uint32_t) {
    mpb::inc_wake(ready);
    e.wait();
  }
  void fire(std::uint32_t, std::int64_t *t0) {
    *t0 = mpb::now_ns();
    e.set();
  }
  void rearm() { e.clear(); }
};
// notify_all: a waiter counts itself ready while holding the lock, so once the notifier holds the
// lock with ready == 8 every waiter is inside wait(). A waiter stamps once it has had the lock
// back and released it (so the 8th to run is the 8th to get the lock back).
struct MpCond {
  mpsync::Condition c;
  std::uint32_t gen = 0;
  void waiter_round(std::uint32_t *ready, std::uint32_t r) {
    (void)c.acquire_status();
    mpb::inc_wake(ready);
    while (gen < r) (void)c.wait_status();
    (void)c.release_status();
  }
  void fire(std::uint32_t r, std::int64_t *t0) {
    (void)c.acquire_status();
    *t0 = mpb::now_ns();
    gen = r;
    (void)c.notify_all_status();
    (void)c.release_status();
  }
  void rearm() {}
};
struct GlCond {
  pthread_mutex_t m;
  pthread_cond_t c;
  std::uint32_t gen = 0;
  GlCond() { mpb::init_mutex(&m), mpb::init_cond(&c); }
  void waiter_round(std::uint32_t *ready, std::uint32_t r) {
    pthread_mutex_lock(&m);
    mpb::inc_wake(ready);
    while (gen < r) pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
  }
  void fire(std::uint32_t r, std::int64_t *t0) {
    pthread_mutex_lock(&m);
    *t0 = mpb::now_ns();
    gen = r;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
  }
  void rearm() {}
};

template <class O>
struct FanArena {
  O obj;
  alignas(64) std::uint32_t round = 0;  // gate: round r opens when round == r; ~0u: leave
  alignas(64) std::uint32_t ready = 0;  // waiters that entered round r's wait (cumulative)
  alignas(64) std::uint32_t done = 0;   // waiters that returned from it (cumulative)
  alignas(64) std::int64_t t0 = 0;
  struct alignas(64) Stamp {
    std::int64_t t = 0;
  } stamp[kWaiters];
};

template <class O>
void fanout(State &s, mpb::Mode mode) {
  auto *a = mpb::shared_new<FanArena<O>>();
  {
    mpb::Team team(mode);
    team.start(
        [a](int i) {
          for (std::uint32_t r = 1;; ++r) {
            mpb::wait_change(&a->round, r - 1);
            if (mpb::ld(&a->round) == ~0u) return;
            a->obj.waiter_round(&a->ready, r);
            a->stamp[i].t = mpb::now_ns();
            mpb::inc_wake(&a->done);
          }
        },
        kWaiters);
    std::uint32_t r = 0;
    for (auto _ : s) {
      ++r;
      mpb::st(&a->round, r);
      mpb::fx_wake(&a->round, kWaiters);
      mpb::wait_reach(&a->ready, r * kWaiters);
      // Let the waiters that counted themselves ready get from there into the kernel. Correctness
      // does not depend on this: a waiter that is not asleep yet sees the set and returns at once
      // (it only makes that round look faster than a full fan-out).
      timespec settle{0, 300000};
      nanosleep(&settle, nullptr);
      a->obj.fire(r, &a->t0);
      mpb::wait_reach(&a->done, r * kWaiters);
      std::int64_t last = a->t0;
      for (auto &st : a->stamp) last = std::max(last, st.t);
      s.SetIterationTime(double(last - a->t0) * 1e-9);
      a->obj.rearm();
    }
    mpb::st(&a->round, ~0u);
    mpb::fx_wake(&a->round, kWaiters);
    if (!team.join()) s.SkipWithError("a waiter failed");
  }
  mpb::shared_delete(a);
  s.SetLabel(mpsync::backend());
}

template <class B>
void barrier_variants(const char *impl) {
  for (int p : {2, 4, 8}) {
    mpb::reg("barrier.round", impl, "processes:" + std::to_string(p),
             [p](State &s) { barrier_rounds<B>(s, mpb::Mode::process, p); })->UseRealTime();
    mpb::reg("barrier.round", impl, "threads:" + std::to_string(p),
             [p](State &s) { barrier_rounds<B>(s, mpb::Mode::thread, p); })->UseRealTime();
  }
}
template <class O>
void fanout_variants(const char *group, const char *impl) {
  const int iters = mpb::quick() ? 5 : 300;
  mpb::reg(group, impl, "processes:8", [](State &s) { fanout<O>(s, mpb::Mode::process); })
      ->UseManualTime()->Iterations(iters);
  mpb::reg(group, impl, "threads:8", [](State &s) { fanout<O>(s, mpb::Mode::thread); })
      ->UseManualTime()->Iterations(iters);
}

[[maybe_unused]] const bool registered = [] {
  barrier_variants<MpBarrier>("mpsync");
  barrier_variants<PtBarrier>("pthread_barrier");
  fanout_variants<MpEvent>("fanout.event", "mpsync");
  fanout_variants<GlEvent>("fanout.event", "pthread_cond");
  fanout_variants<MpCond>("fanout.notify_all", "mpsync");
  fanout_variants<GlCond>("fanout.notify_all", "pthread_cond");
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
