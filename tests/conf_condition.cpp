// CONFORMANCE C1-C10 (Condition), threads and processes. Waiters are counted from the
// Condition's own words (mpsync_cond_t.sizes: G1 not-yet-granted | G2 << 16), never by sleeping.
#include "harness.hpp"

using namespace mpsync;
using mpt::Mode;

namespace {
std::uint32_t waiting(const Condition *c) {
  const std::uint32_t s = mpt::word(c, 2);
  return (s & 0xffff) + (s >> 16);
}
struct Shared {
  Condition c;
  int woke = 0;  // waits that returned true
  int done = 0;  // waits that returned at all
};
// Start n waiters (mode m) that wait with `timeout` and count their outcome.
void start_waiters(mpt::Workers &w, Mode m, Shared *s, int n, double timeout) {
  for (int i = 0; i < n; ++i)
    w.start_as(m, [s, timeout] {
      WCHECK(s->c.acquire());
      const bool ok = s->c.wait(timeout);
      WCHECK(s->c.acquire(false));  // held again on return (recursion: count 2)
      s->c.release();
      if (ok) __atomic_add_fetch(&s->woke, 1, __ATOMIC_ACQ_REL);
      __atomic_add_fetch(&s->done, 1, __ATOMIC_ACQ_REL);
      s->c.release();
      return 0;
    });
}
int woke(Shared *s) { return __atomic_load_n(&s->woke, __ATOMIC_ACQUIRE); }
int done(Shared *s) { return __atomic_load_n(&s->done, __ATOMIC_ACQUIRE); }
void notify(Shared *s, unsigned n) {
  ASSERT_TRUE(s->c.acquire());
  s->c.notify(n);
  s->c.release();
}
}  // namespace

class CondTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, CondTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

TEST(Condition, C1_DefaultAndBoundLocks) {
  auto r = mpt::shared();
  auto *def = r.make<Condition>();
  EXPECT_TRUE(def->acquire());
  EXPECT_TRUE(def->acquire());  // the embedded lock is an RLock
  def->release();
  def->release();
  auto *l = r.make<Lock>();
  auto *cl = r.make<Condition>(*l);
  EXPECT_TRUE(cl->acquire());
  EXPECT_TRUE(l->is_mine());
  EXPECT_FALSE(cl->acquire(false));  // a Lock does not recurse
  cl->release();
  auto *rl = r.make<RLock>();
  auto *crl = r.make<Condition>(*rl);
  EXPECT_TRUE(crl->acquire());
  EXPECT_EQ(rl->count(), 1u);
  crl->release();
}

TEST(Condition, C2_WithoutTheLock) {
  Condition c;
  EXPECT_EQ(c.wait_status(0.01), status::not_owner);
  EXPECT_EQ(c.notify_status(1), status::not_owner);
  EXPECT_EQ(c.notify_all_status(), status::not_owner);
  EXPECT_THROW(c.notify(), mpsync::not_owner);
  mpsync_cond_t cc = {};
  EXPECT_EQ(mpsync_cond_wait(&cc, 0.01), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_notify(&cc, 1), MPSYNC_ENOTOWNER);
}

TEST(Condition, C3_TimeoutsHoldTheLockAgain) {
  Condition c;
  ASSERT_TRUE(c.acquire());
  double t0 = mpt::now_s();
  EXPECT_EQ(c.wait_status(0.0), status::timedout);
  EXPECT_EQ(c.wait_status(-1.0), status::timedout);
  EXPECT_LT(mpt::now_s() - t0, 0.05);
  t0 = mpt::now_s();
  EXPECT_EQ(c.wait_status(0.1), status::timedout);
  const double dt = mpt::now_s() - t0;
  EXPECT_GE(dt, 0.1);
  EXPECT_LT(dt, 0.1 + mpt::kSlack);
  EXPECT_EQ(c.notify_status(1), status::ok);  // still ours
  c.release();
  EXPECT_EQ(waiting(&c), 0u);  // a timed-out waiter withdrew
}

TEST(Condition, C4_OneProcessOneThreadNotifyOneEach) {
  auto r = mpt::shared();
  auto *s = r.make<Shared>();
  mpt::Workers w(Mode::processes);
  start_waiters(w, Mode::processes, s, 1, 30.0);  // fork before any thread exists
  start_waiters(w, Mode::threads, s, 1, 30.0);
  ASSERT_TRUE(mpt::eventually([&] { return waiting(&s->c) == 2; }));
  notify(s, 1);
  ASSERT_TRUE(mpt::eventually([&] { return woke(s) == 1; }));
  EXPECT_EQ(waiting(&s->c), 1u);  // exactly one consumed it
  notify(s, 1);
  ASSERT_TRUE(mpt::eventually([&] { return woke(s) == 2; }));
  EXPECT_EQ(w.join(), 0);
}

TEST(Condition, C5_NotifyAllAfterTimeouts) {
  auto r = mpt::shared();
  auto *s = r.make<Shared>();
  {
    mpt::Workers w(Mode::processes);
    start_waiters(w, Mode::processes, s, 3, 0.1);
    start_waiters(w, Mode::threads, s, 3, 0.1);
    EXPECT_EQ(w.join(), 0);
  }
  EXPECT_EQ(woke(s), 0);  // all six timed out
  EXPECT_EQ(waiting(&s->c), 0u);
  mpt::Workers w(Mode::processes);
  start_waiters(w, Mode::processes, s, 3, 30.0);
  start_waiters(w, Mode::threads, s, 3, 30.0);
  ASSERT_TRUE(mpt::eventually([&] { return waiting(&s->c) == 6; }));
  ASSERT_TRUE(s->c.acquire());
  s->c.notify_all();
  s->c.release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(woke(s), 6);
}

TEST_P(CondTest, C6_ExactCounts) {
  auto r = mpt::shared();
  auto *s = r.make<Shared>();
  mpt::Workers w(GetParam());
  start_waiters(w, GetParam(), s, 6, 30.0);
  ASSERT_TRUE(mpt::eventually([&] { return waiting(&s->c) == 6; }));
  notify(s, 0);  // wakes nobody
  EXPECT_EQ(waiting(&s->c), 6u);
  notify(s, 2);
  ASSERT_TRUE(mpt::eventually([&] { return woke(s) == 2; }));
  EXPECT_EQ(waiting(&s->c), 4u);  // the condition's own count: exactly 2 were granted
  notify(s, 4);
  ASSERT_TRUE(mpt::eventually([&] { return woke(s) == 6; }));
  notify(s, 3);  // nobody left
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(woke(s), 6);
  EXPECT_EQ(done(s), 6);
}

TEST_P(CondTest, C7_NoStolenWakeUps) {
  auto r = mpt::shared();
  auto *s = r.make<Shared>();
  mpt::Workers early(GetParam()), late(GetParam());
  start_waiters(early, GetParam(), s, 3, 30.0);
  ASSERT_TRUE(mpt::eventually([&] { return waiting(&s->c) == 3; }));
  // notify(1) and a late waiter racing for the lock right after it: the late one can't take it.
  ASSERT_TRUE(s->c.acquire());
  s->c.notify(1);
  start_waiters(late, GetParam(), s, 1, 0.5);  // registers only after we release
  s->c.release();
  EXPECT_EQ(late.join(), 0);  // it timed out...
  ASSERT_TRUE(mpt::eventually([&] { return woke(s) == 1; }));  // ...while one early waiter woke
  EXPECT_EQ(waiting(&s->c), 2u);
  notify(s, 2);
  EXPECT_EQ(early.join(), 0);
  EXPECT_EQ(woke(s), 3);
}

TEST_P(CondTest, C8_RLockLevelsReleasedAndRestored) {
  auto r = mpt::shared();
  auto *rl = r.make<RLock>();
  auto *c = r.make<Condition>(*rl);
  auto *entered = r.make<int>(0);
  mpt::Workers w(GetParam());
  w.start([&] {
    for (int i = 0; i < 3; ++i) WCHECK(rl->acquire());
    WCHECK(c->wait(30.0));
    WCHECK(rl->count() == 3 && rl->is_mine());
    WCHECK(__atomic_load_n(entered, __ATOMIC_ACQUIRE) == 1);
    for (int i = 0; i < 3; ++i) rl->release();
    WCHECK(!rl->locked());
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  ASSERT_TRUE(rl->acquire(true, 10.0));  // all 3 levels were released by the waiter
  __atomic_store_n(entered, 1, __ATOMIC_RELEASE);
  c->notify();
  rl->release();
  EXPECT_EQ(w.join(), 0);
}

TEST(Condition, C9_WaitForSemantics) {
  Condition c;
  ASSERT_TRUE(c.acquire());
  int calls = 0;
  EXPECT_TRUE(c.wait_for([&] { return ++calls > 0; }, 10.0));  // true at once
  EXPECT_EQ(calls, 1);
  calls = 0;
  EXPECT_FALSE(c.wait_for([&] { ++calls; return false; }, 0.0));  // evaluated once, no release
  EXPECT_EQ(calls, 1);
  const double t0 = mpt::now_s();
  EXPECT_FALSE(c.wait_for([] { return false; }, 0.1));
  EXPECT_GE(mpt::now_s() - t0, 0.1);
  c.release();
}

TEST_P(CondTest, C9_WaitForRewaitsForTheRemainingTime) {
  auto r = mpt::shared();
  auto *s = r.make<Shared>();
  auto *flag = r.make<int>(0);
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(s->c.acquire());
    const double t0 = mpt::now_s();
    const bool ok = s->c.wait_for([&] { return __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0; }, 0.6);
    const double dt = mpt::now_s() - t0;
    s->c.release();
    WCHECK(!ok);                 // unrelated notifies never made pred true
    WCHECK(dt >= 0.6);           // not earlier than the deadline...
    WCHECK(dt < 0.6 + mpt::kSlack);  // ...and not restarted by each notify
    return 0;
  });
  for (int i = 0; i < 5; ++i) {  // unrelated notifies while it waits
    ASSERT_TRUE(mpt::eventually([&] { return waiting(&s->c) == 1; }));
    notify(s, 1);
  }
  EXPECT_EQ(w.join(), 0);
}

TEST(Condition, C10_NotifyNeverBlocksOnDeadWaiter) {
  auto r = mpt::shared();
  auto *s = r.make<Shared>();
  mpt::Workers victim(Mode::processes);
  start_waiters(victim, Mode::processes, s, 1, 60.0);
  ASSERT_TRUE(mpt::eventually([&] { return waiting(&s->c) == 1; }));
  victim.kill_all(SIGKILL);
  EXPECT_EQ(victim.join(SIGKILL), 0);
  const double t0 = mpt::now_s();
  notify(s, 1);  // may go to the dead one: must not block
  ASSERT_TRUE(s->c.acquire());
  s->c.notify_all();
  s->c.release();
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_EQ(waiting(&s->c), 0u);  // forgotten
}
