// Condition conformance, part 1 (CONFORMANCE.md "## Condition", C1-C6): the bound lock (embedded RLock,
// a given Lock or RLock, the C API), ENOTOWNER without the lock, wait timeouts that hold the lock again
// (T3/T4), notify / notify_all counts — with threads and with processes. One suite with
// test_condition_wait.cpp (C7-C10: stolen wake-ups, RLock depth, wait_for, dead waiters); the former
// conf_condition.cpp is folded into both. Waiters are counted from the Condition's own words
// (condition_util.hpp), never by sleeping.
#include "condition_util.hpp"

using namespace ct;

class ConditionTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, ConditionTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

TEST_P(ConditionTest, C1_DefaultIsEmbeddedRLock) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  ASSERT_TRUE(c->acquire());
  ASSERT_TRUE(c->acquire(false));  // recursive: an RLock
  EXPECT_EQ(held_count(c), 2u);
  ASSERT_TRUE(c->acquire());  // a blocking acquire recurses too
  EXPECT_EQ(held_count(c), 3u);
  EXPECT_TRUE(held_by_me(c));
  c->release();
  c->release();
  c->release();
  EXPECT_EQ(held_count(c), 0u);
  round_trip(GetParam(), c, r.make<Shared>(), true);
}

TEST_P(ConditionTest, C1_ExternalLock) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  auto *c = r.make<Condition>(*l);
  ASSERT_TRUE(c->acquire());
  EXPECT_TRUE(l->locked());
  EXPECT_TRUE(l->is_mine());
  EXPECT_FALSE(c->acquire(false));  // a Lock does not recurse
  c->release();
  EXPECT_FALSE(l->locked());
  round_trip(GetParam(), c, r.make<Shared>(), false);
  EXPECT_FALSE(l->locked());
}

TEST_P(ConditionTest, C1_ExternalRLock) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *c = r.make<Condition>(*l);
  ASSERT_TRUE(c->acquire());
  EXPECT_EQ(l->count(), 1u);
  ASSERT_TRUE(c->acquire());
  EXPECT_EQ(l->count(), 2u);
  EXPECT_TRUE(l->is_mine());
  c->release();
  c->release();
  EXPECT_FALSE(l->locked());
  round_trip(GetParam(), c, r.make<Shared>(), false);
  EXPECT_FALSE(l->locked());
}

TEST(Condition, C1_CApiWithLock) {
  auto r = mpt::shared();
  auto *l = r.make<mpsync_lock_t>();
  auto *c = r.make<mpsync_cond_t>();
  ASSERT_EQ(mpsync_lock_init(l), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_init(c, MPSYNC_KIND_LOCK, l), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_acquire(c, 1, MPSYNC_FOREVER), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_is_mine(l), 1);
  EXPECT_EQ(mpsync_cond_wait(c, 0.0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_lock_is_mine(l), 1);
  EXPECT_EQ(mpsync_cond_notify(c, 1), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_notify_all(c), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_release(c), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_locked(l), 0);
}

TEST(Condition, C2_WithoutTheLock) {
  Condition c;
  auto never = [](void *) { return 0; };
  EXPECT_EQ(c.wait_status(0.01), status::not_owner);
  EXPECT_EQ(c.wait_status(1.0), status::not_owner);
  EXPECT_EQ(c.wait_for_status(never, nullptr, 1.0), status::not_owner);
  EXPECT_EQ(c.notify_status(1), status::not_owner);
  EXPECT_EQ(c.notify_all_status(), status::not_owner);
  EXPECT_THROW(c.wait(), mpsync::not_owner);
  EXPECT_THROW(c.notify(), mpsync::not_owner);
  EXPECT_THROW(c.notify_all(), mpsync::not_owner);
  Lock l;
  Condition cl(l);
  EXPECT_EQ(cl.wait_status(1.0), status::not_owner);
  EXPECT_EQ(cl.notify_status(), status::not_owner);
  mpsync_cond_t cc{};
  EXPECT_EQ(mpsync_cond_wait(&cc, 0.01), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_wait(&cc, 1.0), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_notify(&cc, 1), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_notify_all(&cc), MPSYNC_ENOTOWNER);
}

TEST_P(ConditionTest, C2_HeldByOtherSideIsNotOwner) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *held = r.make<mpsync::Event>();
  auto *done = r.make<mpsync::Event>();
  mpt::Workers w(GetParam());
  w.start([=] {
    WCHECK(c->acquire());
    held->set();
    WCHECK(done->wait(30.0));
    c->release();
    return 0;
  });
  Finally fin{[&] { done->set(); }};
  ASSERT_TRUE(held->wait(30.0));
  EXPECT_EQ(c->wait_status(1.0), status::not_owner);
  EXPECT_EQ(c->notify_status(1), status::not_owner);
  EXPECT_EQ(c->notify_all_status(), status::not_owner);
  EXPECT_EQ(c->release_status(), status::not_owner);
  done->set();
  EXPECT_EQ(w.join(), 0);
}

TEST_P(ConditionTest, C3_TimeoutsAndLockHeldOnReturn) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  EXPECT_EQ(mpt::run(GetParam(), 1, [=](int) {
              WCHECK(c->acquire());
              double t0 = mpt::now_s();
              WCHECK(c->wait_status(0.0) == status::timedout);
              WCHECK(c->wait_status(-1.0) == status::timedout);
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);  // at once: no sleep at all
              WCHECK(!c->wait(0.0));
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);
              WCHECK(held_by_me(c) && held_count(c) == 1);
              t0 = mpt::now_s();
              WCHECK(c->wait_status(0.1) == status::timedout);
              const double dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.1 && dt < 0.1 + mpt::kSlack);
              WCHECK(held_by_me(c) && held_count(c) == 1);
              WCHECK(c->notify_status(1) == status::ok);  // still ours
              WCHECK(c->acquire());  // depth 2 is restored too
              WCHECK(!c->wait(0.05));
              WCHECK(held_by_me(c) && held_count(c) == 2);
              c->release();
              c->release();
              WCHECK(!held_by_me(c) && waiting(c) == 0);
              return 0;
            }), 0);
}

// Processes register first for Mode::processes, the thread first for Mode::threads.
TEST_P(ConditionTest, C4_NotifyOneOfProcessAndThread) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  auto *go = r.make<mpsync::Event>();
  const bool process_first = GetParam() == Mode::processes;
  mpt::Workers w(Mode::processes);
  w.start_as(Mode::processes, [=] {  // forked before any thread starts
    if (!process_first) WCHECK(go->wait(30.0));
    return wait_once(c, sh, 0, 30.0, true);
  });
  Finally fin{[&] { go->set(); notify_all(c); }};
  if (process_first) {
    ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  }
  w.start_as(Mode::threads, [=] { return wait_once(c, sh, 1, 30.0, true); });
  if (!process_first) {
    ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));  // the thread
    go->set();
  }
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 2; }));
  notify(c, 1);
  ASSERT_TRUE(mpt::eventually([&] { return sh->woke.load() == 1; }));
  c->acquire();
  EXPECT_EQ(sh->woke.load(), 1);
  EXPECT_EQ(waiting(c), 1u);  // the other is still waiting
  EXPECT_EQ((sh->returned[0].load() == 1) + (sh->returned[1].load() == 1), 1);
  c->notify(1);
  c->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sh->woke.load(), 2);
  EXPECT_EQ(waiting(c), 0u);
}

TEST(Condition, C5_NotifyAllAfterTimedOutWaiters) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  {
    mpt::Workers w(Mode::processes);
    for (int i = 0; i < 3; ++i) w.start_as(Mode::processes, [=] { return wait_once(c, sh, i, 0.1, false); });
    for (int i = 3; i < 6; ++i) w.start_as(Mode::threads, [=] { return wait_once(c, sh, i, 0.1, false); });
    EXPECT_EQ(w.join(), 0);
  }
  EXPECT_EQ(sh->woke.load(), 0);  // all six timed out
  EXPECT_EQ(waiting(c), 0u);      // every timed-out waiter withdrew
  mpt::Workers w(Mode::processes);
  for (int i = 0; i < 3; ++i) w.start_as(Mode::processes, [=] { return wait_once(c, sh, i, 30.0, true); });
  for (int i = 3; i < 6; ++i) w.start_as(Mode::threads, [=] { return wait_once(c, sh, i, 30.0, true); });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 6; }));
  notify_all(c);
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sh->woke.load(), 6);
  EXPECT_EQ(waiting(c), 0u);
}

// With C5: once timed-out waiters have withdrawn, a notify(1) reaches the live waiter, not a withdrawn one.
TEST_P(ConditionTest, TimedOutWaitersDoNotSwallowNotify) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  EXPECT_EQ(mpt::run(GetParam(), 3, [=](int i) { return wait_once(c, sh, i, 0.05, false); }), 0);
  mpt::Workers w(GetParam());
  w.start([=] { return wait_once(c, sh, 3, 30.0, true); });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  notify(c, 1);  // must reach the live waiter, not a withdrawn one
  ASSERT_TRUE(mpt::eventually([&] { return sh->woke.load() == 1; }, 10.0));
  EXPECT_EQ(w.join(), 0);
}

TEST_P(ConditionTest, C6_ExactCounts) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  mpt::Workers w(GetParam());
  for (int i = 0; i < 6; ++i) w.start([=] { return wait_once(c, sh, i, 30.0, true); });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 6; }));
  c->acquire();
  const std::uint32_t seq0 = seq_of(c);
  c->notify(0);  // wakes nobody: no grant, no futex traffic
  EXPECT_EQ(seq_of(c), seq0);
  EXPECT_EQ(waiting(c), 6u);
  EXPECT_EQ(grants(c), 0u);
  c->notify(2);
  EXPECT_EQ(waiting(c), 4u);
  c->release();
  ASSERT_TRUE(mpt::eventually([&] { return sh->woke.load() == 2; }));
  c->acquire();
  EXPECT_EQ(sh->woke.load(), 2);
  EXPECT_EQ(grants(c), 0u);  // both grants consumed by the two that returned
  EXPECT_EQ(waiting(c), 4u);
  c->notify(4);
  c->release();
  ASSERT_TRUE(mpt::eventually([&] { return sh->woke.load() == 6; }));
  c->acquire();
  EXPECT_EQ(waiting(c), 0u);
  const std::uint32_t seq1 = seq_of(c);
  c->notify(3);  // nobody left: nothing granted
  EXPECT_EQ(seq_of(c), seq1);
  c->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sh->woke.load(), 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(sh->returned[i].load(), 1) << i;
}
