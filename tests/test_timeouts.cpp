// CONFORMANCE T1-T7 (timeouts of every blocking call): block=0, FOREVER, negative, 0.1 s, signals
// and the interrupt check, huge values / +inf / NaN, CLOCK_MONOTONIC.
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "harness.hpp"

using mpt::Mode;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

enum Kind { kSem, kLock, kRLock, kEvent, kCond, kBarrier };
const char *const kNames[] = {"sem", "lock", "rlock", "event", "cond", "barrier"};

// One of each primitive, in a state where a wait blocks: sem 0, lock and rlock held by the
// constructing thread, event clear, cond free (the waiter takes it), barrier of 2.
struct Objects {
  mpsync_lock_t l;
  mpsync_rlock_t rl;
  mpsync_sem_t s;
  mpsync_event_t e;
  mpsync_cond_t c;
  mpsync_barrier_t b;
  std::atomic<int> ready{0};
  Objects() {
    mpsync_lock_init(&l);
    mpsync_rlock_init(&rl);
    mpsync_sem_init(&s, 0);
    mpsync_event_init(&e);
    mpsync_cond_init(&c, MPSYNC_KIND_RLOCK, nullptr);
    mpsync_barrier_init(&b, 2);
    EXPECT_EQ(mpsync_lock_acquire(&l, 1, 1.0), MPSYNC_OK);
    EXPECT_EQ(mpsync_rlock_acquire(&rl, 1, 1.0), MPSYNC_OK);
  }
  ~Objects() {  // never leave an RLock on this thread's robust list when the memory goes
    while (mpsync_rlock_is_mine(&rl)) mpsync_rlock_release(&rl);
  }

  // The blocking call, in a thread other than the constructor's. Locks taken are given back.
  int wait(Kind k, double t) {
    int rc;
    switch (k) {
      case kSem: return mpsync_sem_acquire(&s, 1, t);
      case kLock:
        rc = mpsync_lock_acquire(&l, 1, t);
        if (rc == MPSYNC_OK) mpsync_lock_release(&l);
        return rc;
      case kRLock:
        rc = mpsync_rlock_acquire(&rl, 1, t);
        if (rc == MPSYNC_OK) mpsync_rlock_release(&rl);
        return rc;
      case kEvent: return mpsync_event_wait(&e, t);
      case kCond:
        if (mpsync_cond_acquire(&c, 1, kInf) != MPSYNC_OK) return -100;
        ready = 1;
        rc = mpsync_cond_wait(&c, t);
        if (!mpsync_rlock_is_mine(&c.lock)) return -101;  // re-held on every return
        mpsync_cond_release(&c);
        return rc;
      case kBarrier: return mpsync_barrier_wait(&b, t, nullptr, nullptr, nullptr);
    }
    return -102;
  }
  static int timed_out(Kind k) { return k == kBarrier ? MPSYNC_BROKEN : MPSYNC_TIMEDOUT; }
  // After a wait that ended without success: nothing was taken.
  bool nothing_held(Kind k) {
    switch (k) {
      case kSem: return mpsync_sem_get_value(&s) == 0;
      case kLock: return mpsync_lock_is_mine(&l) == 1;  // still ours, not the waiter's
      case kRLock: return mpsync_rlock_is_mine(&rl) == 1 && mpsync_rlock_count(&rl) == 1;
      case kEvent: return mpsync_event_is_set(&e) == 0;
      case kCond: return mpsync_rlock_locked(&c.lock) == 0;
      case kBarrier: return mpsync_barrier_n_waiting(&b) == 0;
    }
    return false;
  }
  // End a wait that is in progress (from the constructing thread).
  void wake(Kind k) {
    switch (k) {
      case kSem: EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_OK); break;
      case kLock: EXPECT_EQ(mpsync_lock_release(&l), MPSYNC_OK); break;
      case kRLock: EXPECT_EQ(mpsync_rlock_release(&rl), MPSYNC_OK); break;
      case kEvent: EXPECT_EQ(mpsync_event_set(&e), MPSYNC_OK); break;
      case kCond:  // the waiter set `ready` holding the lock and gives it up only in wait
        ASSERT_TRUE(mpt::eventually([&] { return ready.load() == 1; }));
        ASSERT_EQ(mpsync_cond_acquire(&c, 1, 30.0), MPSYNC_OK);
        EXPECT_EQ(mpsync_cond_notify(&c, 1), MPSYNC_OK);
        EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_OK);
        break;
      case kBarrier: EXPECT_EQ(mpsync_barrier_wait(&b, 30.0, nullptr, nullptr, nullptr), MPSYNC_OK); break;
    }
  }
};

std::atomic<int> g_signals{0};
void on_signal(int) { g_signals.fetch_add(1); }

struct HandlerGuard {  // SIGUSR1 handled (so it interrupts syscalls), restored afterwards
  struct sigaction old {};
  explicit HandlerGuard(int flags) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
  }
  ~HandlerGuard() { sigaction(SIGUSR1, &old, nullptr); }
};

std::atomic<int> g_stop{0};
int check_stop() { return g_stop.load(); }
struct InterruptCheckGuard {
  explicit InterruptCheckGuard(int stop) {
    g_stop = stop;
    mpsync_set_interrupt_check(check_stop);
  }
  ~InterruptCheckGuard() { mpsync_set_interrupt_check(nullptr); }
};

// Runs fn in a new thread that gets SIGUSR1 every ~50 ms until fn returns.
class Pestered {
 public:
  explicit Pestered(std::function<int()> fn) {
    worker_ = std::thread([this, fn = std::move(fn)] {
      const double t0 = mpt::now_s();
      rc_ = fn();
      dt_ = mpt::now_s() - t0;
      done_ = true;
    });
    const pthread_t h = worker_.native_handle();
    sender_ = std::thread([this, h] {
      while (!done_) {
        if (pthread_kill(h, SIGUSR1) == 0) sent_.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~Pestered() { join(); }
  void join() {
    if (sender_.joinable()) sender_.join();  // first: it stops once the worker is done
    if (worker_.joinable()) worker_.join();
  }
  bool done() const { return done_; }
  int sent() const { return sent_.load(); }  // signals delivered to the worker thread
  int rc() const { return rc_; }
  double dt() const { return dt_; }

 private:
  std::atomic<bool> done_{false};
  std::atomic<int> sent_{0};
  int rc_ = -999;
  double dt_ = 0;
  std::thread worker_, sender_;
};

// Runs fn in another thread and returns its result (the holder of the objects stays here).
int in_thread(const std::function<int()> &fn) {
  int rc = -999;
  std::thread t([&] { rc = fn(); });
  t.join();
  return rc;
}
}  // namespace

// ---- T1: block=0 tries once, never sleeps, whatever the timeout ------------------------------

TEST(Timeouts, T1_NonBlockingNeverSleeps) {
  Objects o;
  EXPECT_EQ(in_thread([&] {
              const double t0 = mpt::now_s();
              for (int i = 0; i < 300; ++i)
                for (double t : {1e9, kInf, 10.0, 0.5, -1.0}) {
                  WCHECK(mpsync_sem_acquire(&o.s, 0, t) == MPSYNC_TIMEDOUT);
                  WCHECK(mpsync_lock_acquire(&o.l, 0, t) == MPSYNC_TIMEDOUT);
                  WCHECK(mpsync_rlock_acquire(&o.rl, 0, t) == MPSYNC_TIMEDOUT);
                }
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);  // 4500 tries: no try slept
              return 0;
            }), 0);
  // Calls without `block` take timeout 0 as the non-blocking try.
  ASSERT_EQ(mpsync_cond_acquire(&o.c, 1, 1.0), MPSYNC_OK);
  const double t0 = mpt::now_s();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(mpsync_event_wait(&o.e, 0), MPSYNC_TIMEDOUT);
    ASSERT_EQ(mpsync_cond_wait(&o.c, 0), MPSYNC_TIMEDOUT);
    ASSERT_EQ(mpsync_barrier_wait(&o.b, 0, nullptr, nullptr, nullptr), MPSYNC_BROKEN);
    ASSERT_EQ(mpsync_barrier_reset(&o.b), MPSYNC_OK);
  }
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_EQ(mpsync_cond_release(&o.c), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_get_value(&o.s), 0);
}

// ---- T2: FOREVER waits without limit, until released (threads and processes) ------------------

class TimeoutTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, TimeoutTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

TEST_P(TimeoutTest, T2_ForeverWaitsUntilReleased) {
  auto r = mpt::shared();
  auto *l = r.make<mpsync::Lock>();
  auto *s = r.make<mpsync::Semaphore>(0u);
  auto *e = r.make<mpsync::Event>();
  auto *done = r.make<std::atomic<int>>(0);
  ASSERT_TRUE(l->acquire());
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(l->acquire_status(true, mpsync::forever) == mpsync::status::ok);
    l->release();
    WCHECK(s->acquire_status(true, kInf) == mpsync::status::ok);
    WCHECK(e->wait_status(MPSYNC_FOREVER) == mpsync::status::ok);
    done->store(1);
    return 0;
  });
  // Each wait announces itself (waiters bit) before sleeping; it is still waiting when we look.
  ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(l) & 0x80000000u) != 0; }));
  EXPECT_EQ(done->load(), 0);
  l->release();
  ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(s) & mpsync::Semaphore::kWaiters) != 0; }));
  EXPECT_EQ(done->load(), 0);
  s->release();
  ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(e) & mpsync::Event::kWaiters) != 0; }));
  EXPECT_EQ(done->load(), 0);
  e->set();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(done->load(), 1);
}

// ---- T3: negative timeout == 0 -----------------------------------------------------------------

TEST(Timeouts, T3_NegativeIsZero) {
  Objects o;
  EXPECT_EQ(in_thread([&] {
              const double t0 = mpt::now_s();
              for (double t : {-1.0, -1e-9, -1e30, -kInf}) {
                WCHECK(mpsync_sem_acquire(&o.s, 1, t) == MPSYNC_TIMEDOUT);
                WCHECK(mpsync_lock_acquire(&o.l, 1, t) == MPSYNC_TIMEDOUT);
                WCHECK(mpsync_rlock_acquire(&o.rl, 1, t) == MPSYNC_TIMEDOUT);
                WCHECK(mpsync_event_wait(&o.e, t) == MPSYNC_TIMEDOUT);
                WCHECK(mpsync_cond_acquire(&o.c, 1, 1.0) == MPSYNC_OK);
                WCHECK(mpsync_cond_wait(&o.c, t) == MPSYNC_TIMEDOUT);
                WCHECK(mpsync_rlock_is_mine(&o.c.lock) == 1);
                WCHECK(mpsync_cond_release(&o.c) == MPSYNC_OK);
                WCHECK(mpsync_barrier_wait(&o.b, t, nullptr, nullptr, nullptr) == MPSYNC_BROKEN);
                WCHECK(mpsync_barrier_reset(&o.b) == MPSYNC_OK);
              }
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);
              return 0;
            }), 0);
}

// ---- T4: a 0.1 s timeout on a busy object: >= 0.1 s, not absurdly later -----------------------

TEST_P(TimeoutTest, T4_TenthOfASecond) {
  auto r = mpt::shared();
  auto *o = r.make<Objects>();
  for (Kind k : {kSem, kLock, kRLock, kEvent, kCond, kBarrier}) {
    SCOPED_TRACE(kNames[k]);
    EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
                const double t0 = mpt::now_s();
                WCHECK(o->wait(k, 0.1) == Objects::timed_out(k));
                const double dt = mpt::now_s() - t0;
                WCHECK(dt >= 0.1 && dt < 0.1 + mpt::kSlack);
                return 0;
              }), 0);
    EXPECT_TRUE(o->nothing_held(k));
  }
  o->~Objects();
}

// ---- T5: signals keep the same deadline; the interrupt check can stop a wait ------------------

TEST(Timeouts, T5_SignalsNeitherExtendNorShortenATimedWait) {
  for (int flags : {0, SA_RESTART}) {
    HandlerGuard h(flags);
    for (Kind k : {kSem, kLock, kRLock, kEvent, kCond, kBarrier}) {
      SCOPED_TRACE(std::string(kNames[k]) + (flags ? " SA_RESTART" : " no SA_RESTART"));
      Objects o;
      const int before = g_signals.load();
      Pestered p([&] { return o.wait(k, 0.5); });
      p.join();
      EXPECT_EQ(p.rc(), Objects::timed_out(k));
      EXPECT_GE(p.dt(), 0.5);                 // not cut short
      EXPECT_LT(p.dt(), 0.5 + mpt::kSlack);   // not extended by ~10 restarts
      EXPECT_GE(g_signals.load() - before, 3);  // the wait really was interrupted, repeatedly
      if (k != kBarrier) {
        EXPECT_TRUE(o.nothing_held(k));
      }
    }
  }
}

TEST(Timeouts, T5_SignalsDoNotEndAForeverWait) {
  HandlerGuard h(SA_RESTART);
  for (Kind k : {kSem, kLock, kRLock, kEvent, kCond, kBarrier}) {
    SCOPED_TRACE(kNames[k]);
    Objects o;
    const int before = g_signals.load();
    Pestered p([&] { return o.wait(k, MPSYNC_FOREVER); });
    struct Waker {  // a failed ASSERT must not leave the waiter (and p's destructor) hanging
      Objects &o;
      Kind k;
      bool armed = true;
      ~Waker() { if (armed) o.wake(k); }
    } waker{o, k};
    // Several signals have hit the waiter, and it is still waiting. Their handlers have run too —
    // except under TSan, which defers a handler while its thread blocks in a raw syscall that the
    // kernel restarts (SA_RESTART), until the thread next enters an intercepted call.
    ASSERT_TRUE(mpt::eventually([&] { return p.sent() >= 5; }));
    if (!std::getenv("MPSYNC_UNDER_TSAN")) {
      EXPECT_TRUE(mpt::eventually([&] { return g_signals.load() - before >= 5; }));
    }
    EXPECT_FALSE(p.done());
    waker.armed = false;
    o.wake(k);
    p.join();
    EXPECT_EQ(p.rc(), MPSYNC_OK);
  }
}

TEST(Timeouts, T5_InterruptCheckStopsTheWaitAndNothingIsHeld) {
  HandlerGuard h(SA_RESTART);
  InterruptCheckGuard stop(1);
  for (double t : {30.0, MPSYNC_FOREVER}) {
    for (Kind k : {kSem, kLock, kRLock, kEvent, kCond, kBarrier}) {
      SCOPED_TRACE(std::string(kNames[k]) + (std::isinf(t) ? " forever" : " 30 s"));
      Objects o;
      Pestered p([&] { return o.wait(k, t); });
      p.join();
      EXPECT_EQ(p.rc(), MPSYNC_INTERRUPTED);
      EXPECT_LT(p.dt(), mpt::kSlack);  // promptly, not at the deadline
      EXPECT_TRUE(o.nothing_held(k));
      // The objects still work: whoever comes next gets them.
      if (k == kLock || k == kRLock) {
        o.wake(k);  // the holder releases, and the lock is free for others
        EXPECT_EQ(in_thread([&] {
                    const int rc = k == kLock ? mpsync_lock_acquire(&o.l, 0, 0) : mpsync_rlock_acquire(&o.rl, 0, 0);
                    if (rc == MPSYNC_OK) k == kLock ? mpsync_lock_release(&o.l) : mpsync_rlock_release(&o.rl);
                    return rc;
                  }), MPSYNC_OK);
      }
      if (k == kSem) {
        EXPECT_EQ(mpsync_sem_release(&o.s), MPSYNC_OK);
        EXPECT_EQ(mpsync_sem_get_value(&o.s), 1);  // the interrupted waiter took no token
      }
    }
  }
}

TEST(Timeouts, T5_InterruptCheckSayingGoOnKeepsWaiting) {
  HandlerGuard h(0);
  InterruptCheckGuard go_on(0);
  Objects o;
  const int before = g_signals.load();
  Pestered p([&] { return o.wait(kSem, 0.3); });
  p.join();
  EXPECT_EQ(p.rc(), MPSYNC_TIMEDOUT);
  EXPECT_GE(p.dt(), 0.3);
  EXPECT_GE(g_signals.load() - before, 2);
}

// ---- T6: +inf is forever, 1e30 effectively forever (no overflow), NaN is EINVAL ----------------

TEST_P(TimeoutTest, T6_HugeTimeoutsActAsForever) {
  auto r = mpt::shared();
  auto *l = r.make<mpsync::Lock>();
  auto *s = r.make<mpsync::Semaphore>(0u);
  for (double t : {1e30, kInf, DBL_MAX, 1e10, 5e9, 3e9}) {
    SCOPED_TRACE(t);
    ASSERT_TRUE(l->acquire());
    mpt::Workers w(GetParam());
    w.start([&] {
      WCHECK(l->acquire_status(true, t) == mpsync::status::ok);  // a saturation bug would time out
      l->release();
      WCHECK(s->acquire_status(true, t) == mpsync::status::ok);
      return 0;
    });
    ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(l) & 0x80000000u) != 0; }));
    l->release();
    ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(s) & mpsync::Semaphore::kWaiters) != 0; }));
    s->release();
    EXPECT_EQ(w.join(), 0);
  }
}

TEST(Timeouts, T6_NaNIsInvalid) {
  Objects o;
  const double nan = std::nan("");
  EXPECT_EQ(in_thread([&] {
              WCHECK(mpsync_sem_acquire(&o.s, 1, nan) == MPSYNC_EINVAL);
              WCHECK(mpsync_lock_acquire(&o.l, 1, nan) == MPSYNC_EINVAL);
              WCHECK(mpsync_rlock_acquire(&o.rl, 1, nan) == MPSYNC_EINVAL);
              WCHECK(mpsync_event_wait(&o.e, nan) == MPSYNC_EINVAL);
              WCHECK(mpsync_barrier_wait(&o.b, nan, nullptr, nullptr, nullptr) == MPSYNC_EINVAL);
              WCHECK(mpsync_cond_acquire(&o.c, 1, 1.0) == MPSYNC_OK);
              WCHECK(mpsync_cond_wait(&o.c, nan) == MPSYNC_EINVAL);
              WCHECK(mpsync_cond_release(&o.c) == MPSYNC_OK);
              return 0;
            }), 0);
  EXPECT_TRUE(o.nothing_held(kSem) && o.nothing_held(kLock) && o.nothing_held(kRLock));
  EXPECT_EQ(mpsync_barrier_broken(&o.b), 0);
}

// ---- T7: deadlines run on CLOCK_MONOTONIC ----------------------------------------------------
// (The wall clock is not changed here; this documents that the wait matches the monotonic clock
// that steady_clock reads, whatever the realtime clock does.)

TEST(Timeouts, T7_DeadlinesAreMonotonic) {
  static_assert(std::chrono::steady_clock::is_steady);
  Objects o;
  timespec m0, m1;
  clock_gettime(CLOCK_MONOTONIC, &m0);
  const auto s0 = std::chrono::steady_clock::now();
  EXPECT_EQ(mpsync_sem_acquire(&o.s, 1, 0.2), MPSYNC_TIMEDOUT);
  const auto s1 = std::chrono::steady_clock::now();
  clock_gettime(CLOCK_MONOTONIC, &m1);
  const double steady = std::chrono::duration<double>(s1 - s0).count();
  const double mono = (m1.tv_sec - m0.tv_sec) + (m1.tv_nsec - m0.tv_nsec) * 1e-9;
  EXPECT_GE(steady, 0.2);
  EXPECT_GE(mono, 0.2);
  EXPECT_LT(mono, 0.2 + mpt::kSlack);
}
