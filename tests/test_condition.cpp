// CONFORMANCE C1-C10 (Condition), with threads and with processes.
#include <atomic>
#include <functional>

#include "harness.hpp"

using mpsync::Condition;
using mpsync::Lock;
using mpsync::RLock;
using mpsync::status;
using mpt::Mode;

class ConditionTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, ConditionTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

namespace {
// Shared scratch for a scenario; lives in the region.
struct Shared {
  std::atomic<int> woke{0};         // waits that returned true
  std::atomic<int> returned[8]{};   // per waiter: 1 = returned true, 2 = returned false
  std::atomic<int> phase{0};
  std::atomic<int> calls{0};        // predicate evaluations
  std::atomic<int> flag{0};
  std::atomic<int> attempts{0}, stolen{0}, stop{0};
};

// The condition's words (mpsync_cond_t): seq, gen, sizes, state, then the lock slot.
const mpsync_cond_t *raw(const Condition *c) { return reinterpret_cast<const mpsync_cond_t *>(c); }
std::uint32_t seq_of(const Condition *c) { return mpt::word(c, 0); }
unsigned g2_of(const Condition *c) { return mpt::word(c, 2) >> 16; }
unsigned waiting(const Condition *c) { return (mpt::word(c, 2) & 0xffffu) + (mpt::word(c, 2) >> 16); }
unsigned grants(const Condition *c) { return mpt::word(c, 3) & 0xffffu; }
// The embedded RLock.
unsigned held_count(const Condition *c) { return mpsync_rlock_count(&raw(c)->lock); }
bool held_by_me(const Condition *c) { return mpsync_rlock_is_mine(&raw(c)->lock) == 1; }

// One wait: returns nonzero if the outcome is not `expect` or the lock is not held again.
int wait_once(Condition *c, Shared *sh, int id, double t, bool expect, bool embedded = true) {
  WCHECK(c->acquire());
  const bool ok = c->wait(t);
  if (embedded) WCHECK(held_by_me(c) && held_count(c) == 1);
  if (ok) sh->woke.fetch_add(1);
  sh->returned[id].store(ok ? 1 : 2);
  c->release();
  WCHECK(ok == expect);
  return 0;
}

void notify(Condition *c, unsigned n) {
  c->acquire();
  c->notify(n);
  c->release();
}
void notify_all(Condition *c) {
  c->acquire();
  c->notify_all();
  c->release();
}

// Runs at scope exit (declare after the Workers): a failed ASSERT must not leave waiters asleep.
struct Finally {
  std::function<void()> f;
  ~Finally() { f(); }
};

void stop_wait(pid_t p) {
  ASSERT_EQ(kill(p, SIGSTOP), 0);
  int st = 0;
  ASSERT_EQ(waitpid(p, &st, WUNTRACED), p);
  ASSERT_TRUE(WIFSTOPPED(st));
}

// A waiter on the other side (mode m) is woken by a notify from here.
void round_trip(Mode m, Condition *c, Shared *sh, bool embedded) {
  mpt::Workers w(m);
  w.start([=] { return wait_once(c, sh, 0, 30.0, true, embedded); });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  notify(c, 1);
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sh->woke.load(), 1);
}
}  // namespace

TEST_P(ConditionTest, C1_DefaultIsEmbeddedRLock) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  ASSERT_TRUE(c->acquire());
  ASSERT_TRUE(c->acquire(false));  // recursive: an RLock
  EXPECT_EQ(held_count(c), 2u);
  EXPECT_TRUE(held_by_me(c));
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

TEST(Condition, C2_NotHeldIsNotOwner) {
  Condition c;
  auto never = [](void *) { return 0; };
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
              WCHECK(!c->wait(0.0));
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);
              WCHECK(held_by_me(c) && held_count(c) == 1);
              t0 = mpt::now_s();
              WCHECK(c->wait_status(0.1) == status::timedout);
              const double dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.1 && dt < 0.1 + mpt::kSlack);
              WCHECK(held_by_me(c) && held_count(c) == 1);
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
  EXPECT_EQ(waiting(c), 0u);  // every timed-out waiter withdrew
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

// A..C wait; notify(1); D starts waiting before the woken one has taken its grant (guaranteed with
// processes by stopping A..C; with threads D is already queued on the lock when it is released).
// Exactly one of A..C returns; D stays waiting.
TEST_P(ConditionTest, C7_NoStolenWakeups) {
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
    for (pid_t p : w.pids()) stop_wait(p);
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
  c->notify_all();
  c->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sh->woke.load(), 4);
}

TEST_P(ConditionTest, C8_RLockDepthReleasedAndRestored) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *c = r.make<Condition>(*l);
  auto *sh = r.make<Shared>();
  mpt::Workers w(GetParam());
  w.start([=] {
    for (int i = 0; i < 3; ++i) WCHECK(c->acquire());
    WCHECK(l->count() == 3);
    WCHECK(!c->wait(0.05));
    WCHECK(l->is_mine() && l->count() == 3);
    sh->phase.store(1);
    WCHECK(c->wait(30.0));
    WCHECK(l->is_mine() && l->count() == 3);
    WCHECK(mpsync_rlock_count(reinterpret_cast<mpsync_rlock_t *>(l)) == 3);
    for (int i = 0; i < 3; ++i) WCHECK(l->release_status() == status::ok);
    WCHECK(l->release_status() == status::not_owner);
    return 0;
  });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return sh->phase.load() == 1 && waiting(c) == 1; }));
  ASSERT_TRUE(l->acquire(false));  // all three levels were released by the wait
  EXPECT_EQ(l->count(), 1u);
  c->notify();
  l->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_FALSE(l->locked());
}

TEST_P(ConditionTest, C9_WaitForImmediateAndZeroNeverReleases) {
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
  c->release();
  EXPECT_EQ(sh->stolen.load(), 0);  // nobody got the lock while wait_for(pred, 0) ran
}

TEST_P(ConditionTest, C9_WaitForKeepsTheDeadlineAcrossUnrelatedNotifies) {
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
    c->acquire();
    if (sh->phase.load() == 0 && waiting(c) == 1) {
      c->notify_all();  // unrelated: the predicate stays false
      ++notifies;
    }
    c->release();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pacing only
  }
  EXPECT_EQ(w.join(), 0);
  EXPECT_GE(notifies, 2);
  // one evaluation up front, one per notify, at most one more at the deadline
  EXPECT_GE(sh->calls.load(), notifies + 1);
  EXPECT_LE(sh->calls.load(), notifies + 2);
}

TEST_P(ConditionTest, C9_WaitForReturnsWhenPredicateBecomesTrue) {
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
TEST_P(ConditionTest, C10_DeadWaiterDoesNotBlockNotify) {
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
TEST_P(ConditionTest, C10_NotifiedProcessDiesBeforeTakingIt) {
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *sh = r.make<Shared>();
  mpt::Workers victim(Mode::processes);
  victim.start([=] { return wait_once(c, sh, 0, MPSYNC_FOREVER, true); });
  {
    Finally cont{[&] { victim.kill_all(SIGKILL); }};
    ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
    stop_wait(victim.last_pid());
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
