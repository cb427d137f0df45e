// Peers that die where no kernel help is needed (issues #3 and #13): a Condition waiter, a Barrier
// party before or after it arrives, a Lock/Semaphore holder, the holder of a Lock bound to a
// Condition. Survivors never hang and every object stays valid. (Owner death of an RLock, which the
// kernel's robust list reports: tests/test_robust.cpp.)
#include "condition_util.hpp"

using namespace mpsync;
using mpt::Mode;


TEST(PeerDeath, ConditionWaiterKilledLeavesNoDebt) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *woke = r.make<int>(0);
  mpt::Workers victims(Mode::processes), living(Mode::processes);
  for (int i = 0; i < 2; ++i)
    victims.start([&] {
      c->acquire();
      c->wait();  // killed in here
      return 0;
    });
  for (int i = 0; i < 2; ++i)
    living.start([&] {
      WCHECK(c->acquire());
      WCHECK(c->wait(30.0));
      __atomic_add_fetch(woke, 1, __ATOMIC_RELAXED);
      c->release();
      return 0;
    });
  ASSERT_TRUE(mpt::eventually([&] { return ct::waiting(c) == 4; }));
  victims.kill_all(SIGKILL);
  EXPECT_EQ(victims.join(SIGKILL), 0);
  // notify_all never blocks on the dead, and the living wake.
  const double t0 = mpt::now_s();
  ASSERT_TRUE(c->acquire());
  EXPECT_EQ(c->notify_all_status(), status::ok);
  c->release();
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_EQ(living.join(), 0);
  EXPECT_EQ(*woke, 2);
  // The dead are forgotten: a new waiter and notify(1) wake exactly it.
  EXPECT_EQ(ct::waiting(c), 0u);
  mpt::Workers fresh(Mode::processes);
  fresh.start([&] {
    WCHECK(c->acquire());
    WCHECK(c->wait(30.0));
    c->release();
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return ct::waiting(c) == 1; }));
  ASSERT_TRUE(c->acquire());
  c->notify(1);
  c->release();
  EXPECT_EQ(fresh.join(), 0);
}

TEST(PeerDeath, BarrierPartyKilledBreaksAtTimeout) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  mpt::Workers victim(Mode::processes), others(Mode::processes);
  victim.start([&]() -> int {
    for (;;) pause();  // a party that never arrives: it is killed first
  });
  victim.kill_all(SIGKILL);
  EXPECT_EQ(victim.join(SIGKILL), 0);
  for (int i = 0; i < 2; ++i)
    others.start([&] {
      const double t0 = mpt::now_s();
      WCHECK(b->wait_status(0.3, nullptr, nullptr, nullptr) == status::broken);
      WCHECK(mpt::now_s() - t0 < 0.3 + mpt::kSlack);
      return 0;
    });
  EXPECT_EQ(others.join(), 0);
  EXPECT_TRUE(b->broken());
  b->reset();
  EXPECT_FALSE(b->broken());
}

TEST(PeerDeath, LockAndSemaphoreHoldersKilledLeaveValidState) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  auto *s = r.make<Semaphore>(2u);
  mpt::Workers w(Mode::processes);
  w.start([&] {
    l->acquire();
    s->acquire();
    raise(SIGKILL);
    return 0;
  });
  EXPECT_EQ(w.join(SIGKILL), 0);
  // No owner to recover: the Lock stays held and the token stays taken, both valid states.
  EXPECT_TRUE(l->locked());
  EXPECT_EQ(l->acquire_status(true, 0.05), status::timedout);
  EXPECT_EQ(l->release_status(), status::ok);  // any process may release a Lock (L2)
  EXPECT_EQ(s->get_value(), 1);
  EXPECT_EQ(s->acquire_status(false), status::ok);
}

TEST(PeerDeath, BarrierPartyKilledAfterArrivingDoesNotBreakTheCycle) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  mpt::Workers victim(Mode::processes), others(Mode::processes);
  victim.start([&] {  // arrives, then dies asleep in the barrier
    b->wait_status(30.0, nullptr, nullptr, nullptr);
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return b->n_waiting() == 1; }));
  victim.kill_all(SIGKILL);
  EXPECT_EQ(victim.join(SIGKILL), 0);
  for (int i = 0; i < 2; ++i)  // its arrival counts: the two others complete the cycle
    others.start([&] {
      WCHECK(b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok);
      return 0;
    });
  EXPECT_EQ(others.join(), 0);
  EXPECT_FALSE(b->broken());
  EXPECT_EQ(b->n_waiting(), 0u);
  for (int i = 0; i < 3; ++i)  // and the next cycle works with three live parties
    others.start([&] {
      WCHECK(b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok);
      return 0;
    });
  EXPECT_EQ(others.join(), 0);
}

// A Condition bound to a plain Lock: the Lock has no owner to recover, so a holder's death leaves it
// held — a valid state: acquires time out, a waiter's re-acquire waits for it, any process may
// release it (L2), and then the Condition works as before.
TEST(PeerDeath, ConditionOverALockWhoseHolderDied) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  auto *c = r.make<Condition>(*l);
  auto *sh = r.make<ct::Shared>();
  mpt::Workers waiter(Mode::processes), victim(Mode::processes);
  waiter.start([=] {
    WCHECK(c->acquire_status(true, 10.0) == status::ok);
    const status s = c->wait_status(30.0);
    sh->returned[0].store(100 + static_cast<int>(s));
    WCHECK(c->release_status() == status::ok);
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return ct::waiting(c) == 1 && !l->locked(); }));
  victim.start([=] {  // takes the Lock, notifies, dies holding it
    if (c->acquire_status(true, 10.0) != status::ok || c->notify_status(1) != status::ok) return 1;
    raise(SIGKILL);
    return 0;
  });
  EXPECT_EQ(victim.join(SIGKILL), 0);
  EXPECT_TRUE(l->locked());
  EXPECT_EQ(c->acquire_status(true, 0.05), status::timedout);
  EXPECT_EQ(sh->returned[0].load(), 0);  // notified, but its re-acquire waits for the Lock
  EXPECT_EQ(l->release_status(), status::ok);  // L2: released on the dead holder's behalf
  ASSERT_TRUE(mpt::eventually([&] { return sh->returned[0].load() != 0; }));
  EXPECT_EQ(sh->returned[0].load(), 100 + static_cast<int>(status::ok));
  EXPECT_EQ(waiter.join(), 0);
  EXPECT_FALSE(l->locked());
  ct::round_trip(Mode::processes, c, sh, false);  // and it still works
}
