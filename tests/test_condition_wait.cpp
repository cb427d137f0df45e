// Condition conformance, part 2 (CONFORMANCE.md "## Condition", C7-C10): no stolen wake-ups, a bound
// RLock's depth released and restored by wait, wait_for, dead waiters — with threads and with processes.
// C1-C6 are in test_condition.cpp; the former conf_condition.cpp is folded into both.
#include "condition_util.hpp"

using namespace ct;

class ConditionWaitTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, ConditionWaitTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

// A..C wait; notify(1); D starts waiting before the woken one has taken its grant (guaranteed with
// processes by stopping A..C; with threads D is already queued on the lock when it is released).
// Exactly one of A..C returns; D stays waiting. Then a late waiter E queues on the lock right after a
// second notify(1) and waits 0.5 s: it times out while one of the earlier waiters wakes.
TEST_P(ConditionWaitTest, C7_NoStolenWakeups) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  const bool procs = GetParam() == Mode::processes;
  mpt::Workers w(GetParam());
  for (int i = 0; i < 3; ++i) w.start([=] { return wait_once(c, sh, i, 30.0, true); });
  Finally fin{[&] {
    for (pid_t p : w.pids()) kill(p, SIGCONT);
    notify_all(c);
  }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 3; }));
  if (procs) {
    for (pid_t p : w.pids()) ASSERT_NO_FATAL_FAILURE(stop_parked(p, c));
    c->acquire();
    c->notify(1);
    EXPECT_EQ(grants(c), 1u);
    EXPECT_EQ(g2_of(c), 0u);
    c->release();
    w.start([=] { return wait_once(c, sh, 3, 30.0, true); });  // D
    ASSERT_TRUE(mpt::eventually([&] { return g2_of(c) == 1; }));
    EXPECT_EQ(grants(c), 1u);  // D registered; the grant is still untaken
    for (int i = 0; i < 3; ++i) kill(w.pids()[i], SIGCONT);
  } else {
    c->acquire();
    w.start([=] { return wait_once(c, sh, 3, 30.0, true); });  // D: queues on the lock
    ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(c, 4) & 0x80000000u) != 0; }));
    c->notify(1);  // D is not waiting on the condition yet
    EXPECT_EQ(grants(c), 1u);
    EXPECT_EQ(g2_of(c), 0u);
    c->release();  // hands the lock to D first, most likely
    ASSERT_TRUE(mpt::eventually([&] { return g2_of(c) == 1 || sh->returned[3].load() != 0; }));
  }
  ASSERT_TRUE(mpt::eventually([&] { return sh->woke.load() == 1; }));
  c->acquire();
  EXPECT_EQ(sh->woke.load(), 1);
  EXPECT_EQ(sh->returned[3].load(), 0);  // D did not take it
  EXPECT_EQ((sh->returned[0] == 1) + (sh->returned[1] == 1) + (sh->returned[2] == 1), 1);
  EXPECT_EQ(grants(c), 0u);
  EXPECT_EQ(waiting(c), 3u);
  // E: registers only after we release, so the grant below is not its to take.
  mpt::Workers late(GetParam());
  c->notify(1);
  late.start([=] { return wait_once(c, sh, 4, 0.5, false); });
  c->release();
  EXPECT_EQ(late.join(), 0);  // E timed out...
  ASSERT_TRUE(mpt::eventually([&] { return sh->woke.load() == 2; }));  // ...while an earlier one woke
  c->acquire();
  EXPECT_EQ(sh->woke.load(), 2);
  EXPECT_EQ(sh->returned[4].load(), 2);
  EXPECT_EQ(waiting(c), 2u);
  c->notify_all();
  c->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sh->woke.load(), 4);
}

// seq's S bit ("a waiter may be asleep"; runtime/condition.cpp) lets a notify skip FUTEX_WAKE, so
// clearing it too early strands a sleeper. W0 and W1 sleep; notify(1) grants one of them; W2 then
// sleeps in the next group; notify(1) grants the other — G1 is empty, but W2 still sleeps, so S
// must stay; the next notify(1) turns W2's group and must wake it (fuzz/model MUT_CLEAR_S_G1).
TEST_P(ConditionWaitTest, SleeperOfTheNextGroupIsWokenWhenItsTurnComes) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  mpt::Workers w(GetParam());
  auto waiter = [=](int i) {
    return [=] {
      sh->tid[i].store(static_cast<long>(syscall(SYS_gettid)));
      return wait_once(c, sh, i, 10.0, true);
    };
  };
  auto asleep = [&](int i) { return sh->tid[i].load() != 0 && mpt::task_sleeping(sh->tid[i].load()); };
  Finally fin{[&] { notify_all(c); }};
  w.start(waiter(0));
  w.start(waiter(1));
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 2 && asleep(0) && asleep(1) && (seq_of(c) & 1u); }));
  notify(c, 1);
  ASSERT_TRUE(mpt::eventually([&] { return sh->woke.load() == 1; }));
  const int left = sh->returned[0].load() == 1 ? 1 : 0;
  w.start(waiter(2));
  ASSERT_TRUE(mpt::eventually([&] { return g2_of(c) == 1 && asleep(2) && asleep(left); }));
  notify(c, 1);  // the last of G1
  ASSERT_TRUE(mpt::eventually([&] { return sh->woke.load() == 2; }));
  EXPECT_EQ(sh->returned[left].load(), 1);
  EXPECT_EQ(seq_of(c) & 1u, 1u) << "S cleared while W2 is still counted (and asleep)";
  notify(c, 1);  // turns W2's group: must wake it
  EXPECT_TRUE(mpt::eventually([&] { return sh->woke.load() == 3; }, 5.0)) << "the sleeper of the next group was not woken";
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(seq_of(c) & 1u, 0u) << "nobody is counted: S is cleared";
}

TEST_P(ConditionWaitTest, C8_RLockDepthReleasedAndRestored) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *c = r.make<Condition>(*l);
  auto *sh = r.make<Shared>();
  mpt::Workers w(GetParam());
  w.start([=] {
    WCHECK(l->acquire());  // taken through the RLock itself or through the Condition: the same lock
    for (int i = 0; i < 2; ++i) WCHECK(c->acquire());
    WCHECK(l->count() == 3);
    WCHECK(!c->wait(0.05));
    WCHECK(l->is_mine() && l->count() == 3);
    sh->phase.store(1);
    WCHECK(c->wait(30.0));
    WCHECK(l->is_mine() && l->count() == 3);
    WCHECK(mpsync_rlock_count(reinterpret_cast<mpsync_rlock_t *>(l)) == 3);
    WCHECK(sh->flag.load() == 1);  // the other side held the lock while this one waited
    for (int i = 0; i < 3; ++i) WCHECK(l->release_status() == status::ok);
    WCHECK(!l->locked());
    WCHECK(l->release_status() == status::not_owner);
    return 0;
  });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return sh->phase.load() == 1 && waiting(c) == 1; }));
  // The waiter counts itself in before it releases the lock: wait for the release, then take it
  // without blocking — all three levels were released by the wait (one left would keep it locked).
  ASSERT_TRUE(mpt::eventually([&] { return !l->locked(); }));
  ASSERT_TRUE(l->acquire(false));
  EXPECT_EQ(l->count(), 1u);
  sh->flag.store(1);
  c->notify();
  l->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_FALSE(l->locked());
}

TEST_P(ConditionWaitTest, C9_WaitForImmediateAndZeroNeverReleases) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  ASSERT_TRUE(c->acquire());  // held from before the worker starts to after it ends
  mpt::Workers w(GetParam());
  w.start([=] {  // tries to slip in whenever the lock might be free
    while (!sh->stop.load()) {
      sh->attempts.fetch_add(1);
      if (c->acquire(false)) {
        sh->stolen.fetch_add(1);
        c->release();
      }
    }
    return 0;
  });
  Finally fin{[&] { sh->stop.store(1); }};
  ASSERT_TRUE(mpt::eventually([&] { return sh->attempts.load() > 10; }));
  int calls = 0;
  bool always_held = true;
  auto yes = [&] { ++calls; always_held &= held_by_me(c); return true; };
  auto no = [&] { ++calls; always_held &= held_by_me(c); return false; };
  const double t0 = mpt::now_s();
  EXPECT_TRUE(c->wait_for(yes, 30.0));
  EXPECT_EQ(calls, 1);
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  const std::uint32_t seq0 = seq_of(c);
  for (int i = 0; i < 2000; ++i) {
    calls = 0;
    EXPECT_FALSE(c->wait_for(no, i % 2 ? 0.0 : -1.0));
    ASSERT_EQ(calls, 1);
  }
  EXPECT_TRUE(always_held);
  EXPECT_EQ(held_count(c), 1u);
  EXPECT_EQ(waiting(c), 0u);
  EXPECT_EQ(seq_of(c), seq0);
  sh->stop.store(1);
  EXPECT_EQ(w.join(), 0);  // the worker only tries, so it ends while we hold the lock
  EXPECT_EQ(sh->stolen.load(), 0);  // nobody got the lock while wait_for(pred, 0) ran
  // A false predicate with a timeout: TIMEDOUT no earlier than the deadline, the lock held again.
  const double t1 = mpt::now_s();
  EXPECT_FALSE(c->wait_for(no, 0.1));
  EXPECT_GE(mpt::now_s() - t1, 0.1);
  EXPECT_TRUE(held_by_me(c));
  EXPECT_EQ(held_count(c), 1u);
  c->release();
}

TEST_P(ConditionWaitTest, C9_WaitForKeepsTheDeadlineAcrossUnrelatedNotifies) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  constexpr double kT = 0.5;
  mpt::Workers w(GetParam());
  w.start([=] {
    WCHECK(c->acquire());
    const double t0 = mpt::now_s();
    const bool ok = c->wait_for([=] { sh->calls.fetch_add(1); return sh->flag.load() != 0; }, kT);
    const double dt = mpt::now_s() - t0;
    sh->phase.store(1);
    c->release();
    WCHECK(!ok);
    WCHECK(dt >= kT && dt < kT + mpt::kSlack);
    return 0;
  });
  int notifies = 0;
  const double give_up = mpt::now_s() + kT + mpt::kSlack + 5.0;
  while (sh->phase.load() == 0 && mpt::now_s() < give_up) {
    // paced by the waiter: notify each time it is back on the condition
    if (!mpt::eventually([&] { return sh->phase.load() != 0 || waiting(c) == 1; })) break;
    c->acquire();
    if (sh->phase.load() == 0 && waiting(c) == 1) {
      c->notify_all();  // unrelated: the predicate stays false
      ++notifies;
    }
    c->release();
  }
  EXPECT_EQ(w.join(), 0);
  EXPECT_GE(notifies, 5);
  // one evaluation up front, one per notify, at most one more at the deadline
  EXPECT_GE(sh->calls.load(), notifies + 1);
  EXPECT_LE(sh->calls.load(), notifies + 2);
}

TEST_P(ConditionWaitTest, C9_WaitForReturnsWhenPredicateBecomesTrue) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  mpt::Workers w(GetParam());
  w.start([=] {
    WCHECK(c->acquire());
    const bool ok = c->wait_for([=] { sh->calls.fetch_add(1); return sh->flag.load() != 0; }, 30.0);
    WCHECK(held_by_me(c));
    c->release();
    WCHECK(ok);
    return 0;
  });
  Finally fin{[&] { sh->flag.store(1); notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  notify(c, 1);  // unrelated: it re-waits
  ASSERT_TRUE(mpt::eventually([&] { return sh->calls.load() == 2 && waiting(c) == 1; }));
  c->acquire();
  sh->flag.store(1);
  c->notify();
  c->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sh->calls.load(), 3);
}

// C10: a waiter process is SIGKILLed while waiting; the living waiter is a thread or a process.
TEST_P(ConditionWaitTest, C10_DeadWaiterDoesNotBlockNotify) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  mpt::Workers victim(Mode::processes);
  victim.start([=] { return wait_once(c, sh, 0, MPSYNC_FOREVER, true); });
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  mpt::Workers live(GetParam());
  live.start([=] { return wait_once(c, sh, 1, 30.0, true); });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 2; }));
  victim.kill_all(SIGKILL);
  EXPECT_EQ(victim.join(SIGKILL), 0);
  c->acquire();
  double t0 = mpt::now_s();
  c->notify(1);  // may be spent on the dead one, as in Python; must not block
  c->notify_all();
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  c->release();
  EXPECT_EQ(live.join(), 0);
  EXPECT_EQ(sh->woke.load(), 1);
  EXPECT_EQ(waiting(c), 0u);  // after notify_all the dead are forgotten
  mpt::Workers fresh(GetParam());
  fresh.start([=] { return wait_once(c, sh, 2, 30.0, true); });
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  notify(c, 1);
  EXPECT_EQ(fresh.join(), 0);
  EXPECT_EQ(sh->woke.load(), 2);
}

// C10: the victim is granted a notification and dies before taking it.
TEST_P(ConditionWaitTest, C10_NotifiedProcessDiesBeforeTakingIt) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  mpt::Workers victim(Mode::processes);
  victim.start([=] { return wait_once(c, sh, 0, MPSYNC_FOREVER, true); });
  {
    Finally cont{[&] { victim.kill_all(SIGKILL); }};
    ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
    ASSERT_NO_FATAL_FAILURE(stop_parked(victim.last_pid(), c));
    notify(c, 1);
  }
  EXPECT_EQ(victim.join(SIGKILL), 0);
  mpt::Workers live(GetParam());
  live.start([=] { return wait_once(c, sh, 1, 30.0, true); });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  const double t0 = mpt::now_s();
  notify(c, 1);
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_EQ(live.join(), 0);
  EXPECT_EQ(sh->woke.load(), 1);
  EXPECT_EQ(sh->returned[0].load(), 0);
  EXPECT_EQ(waiting(c), 0u);
}
