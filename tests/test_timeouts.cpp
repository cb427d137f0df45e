// CONFORMANCE T1-T4, T6, T7 (timeouts of every blocking call): block=0, FOREVER, negative, 0.1 s,
// huge values / +inf / NaN, CLOCK_MONOTONIC; through the C calls and the C++ face. (T5, signals and
// the interrupt check: test_signals.cpp.)
#include <time.h>

#include <atomic>
#include <cfloat>
#include <cmath>
#include <limits>

#include "timeout_objects.hpp"

using namespace mpt_timeouts;
using mpsync::status;
using mpt::Mode;

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
  // The C++ face, from the thread that holds the Lock itself (not recursive: the try fails).
  mpsync::Lock l;
  mpsync::Semaphore s;
  ASSERT_TRUE(l.acquire());
  const double t1 = mpt::now_s();
  EXPECT_EQ(l.acquire_status(false, 1e9), status::timedout);  // block=0: one try, timeout ignored
  EXPECT_EQ(s.acquire_status(false, MPSYNC_FOREVER), status::timedout);
  EXPECT_LT(mpt::now_s() - t1, mpt::kSlack);
  l.release();
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
  // The C++ face, from the thread that holds the Lock itself.
  mpsync::Lock l;
  ASSERT_TRUE(l.acquire());
  const double t1 = mpt::now_s();
  EXPECT_EQ(l.acquire_status(true, -5.0), status::timedout);  // negative == 0
  EXPECT_LT(mpt::now_s() - t1, mpt::kSlack);
  l.release();
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

// (T5, signals and the interrupt check: test_signals.cpp.)

// ---- T6: +inf is forever, 1e30 effectively forever (no overflow), NaN is EINVAL ----------------

TEST_P(TimeoutTest, T6_HugeTimeoutsActAsForever) {
  auto r = mpt::shared();
  auto *l = r.make<mpsync::Lock>();
  auto *s = r.make<mpsync::Semaphore>(0u);
  for (double t : {1e30, 1e300, kInf, DBL_MAX, 1e10, 5e9, 3e9}) {
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
  // The C++ face: a status, or the exception.
  mpsync::Lock l;
  mpsync::Semaphore s;
  ASSERT_TRUE(l.acquire());
  EXPECT_EQ(l.acquire_status(true, nan), status::invalid);
  EXPECT_EQ(s.acquire_status(true, nan), status::invalid);
  EXPECT_THROW(s.acquire(true, nan), mpsync::invalid_argument);
  l.release();
}

// ---- T7: deadlines run on CLOCK_MONOTONIC ----------------------------------------------------
// (The wall clock is not changed here; this documents that the wait matches the monotonic clock
// that steady_clock reads, whatever the realtime clock does.)

TEST(Timeouts, T4_T7_DeadlinesAreMonotonic) {
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
  // The C++ face, 0.1 s (T4), measured on steady_clock.
  mpsync::Semaphore s;
  const auto c0 = std::chrono::steady_clock::now();
  EXPECT_EQ(s.acquire_status(true, 0.1), status::timedout);
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
  EXPECT_GE(dt, 0.1);
  EXPECT_LT(dt, 0.1 + mpt::kSlack);
}
