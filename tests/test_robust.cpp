// CONFORMANCE R5 and issue #3: an RLock whose owner dies (thread exit, exit, SIGKILL, abort, exec)
// is handed to the next acquirer with OWNER_DEAD, promptly, at any depth, for one or hundreds of
// locks, and coexisting with glibc's own robust mutexes on the same kernel list.
#include <pthread.h>

#include <array>
#include <cerrno>

#include "condition_util.hpp"

using namespace mpsync;
using mpt::Mode;

namespace {
#define REQUIRE_ROBUST()                                                                          \
  if (!mpsync_rlock_robust_supported())                                                           \
  GTEST_SKIP() << "kernel robust list unavailable here (get_robust_list refused: qemu-user or "   \
                  "seccomp, or a libc other than glibc): owner death cannot be detected"

// Acquire from this side, expecting the previous owner's death; returns seconds waited.
double expect_owner_dead(RLock *l, double timeout = 10.0) {
  const double t0 = mpt::now_s();
  EXPECT_EQ(l->acquire_status(true, timeout), status::owner_dead);
  const double dt = mpt::now_s() - t0;
  EXPECT_TRUE(l->is_mine());
  EXPECT_EQ(l->count(), 1u);
  EXPECT_EQ(l->release_status(), status::ok);  // fully usable afterwards
  EXPECT_EQ(l->acquire_status(false), status::ok);
  EXPECT_EQ(l->release_status(), status::ok);
  return dt;
}
}  // namespace

TEST(Robust, ThreadExitHoldingIt) {
  REQUIRE_ROBUST();
  RLock l;
  std::thread([&] {
    ASSERT_TRUE(l.acquire());
    ASSERT_TRUE(l.acquire());
    ASSERT_TRUE(l.acquire());  // depth 3, then the thread ends holding it
  }).join();
  expect_owner_dead(&l);  // a later arrival learns it on its first try
}

TEST(Robust, BlockedWaiterWokenWhenOwnerThreadExits) {
  REQUIRE_ROBUST();
  RLock l;
  Event held;
  std::thread owner([&] {
    ASSERT_TRUE(l.acquire());
    held.set();
    ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(&l) & 0x80000000u) != 0; }));  // a waiter sleeps
  });
  ASSERT_TRUE(held.wait(10.0));
  const double dt = expect_owner_dead(&l, 30.0);
  owner.join();
  EXPECT_LT(dt, 10.0);
}

class RobustDeath : public ::testing::TestWithParam<int> {};  // the way the owner process dies
INSTANTIATE_TEST_SUITE_P(, RobustDeath, ::testing::Values(0, SIGKILL, SIGABRT, SIGSEGV, -1),
                         [](const auto &i) {
                           switch (i.param) {
                             case 0: return std::string("Exit");
                             case SIGKILL: return std::string("SigKill");
                             case SIGABRT: return std::string("Abort");
                             case SIGSEGV: return std::string("SegFault");
                             default: return std::string("Exec");
                           }
                         });

TEST_P(RobustDeath, WaiterInAnotherProcessGetsOwnerDeadPromptly) {
  REQUIRE_ROBUST();
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *held = r.make<Event>();
  const int how = GetParam();
  pid_t pid = mpt::fork_child();
  if (pid == 0) {
    for (int i = 0; i < 5; ++i) l->acquire();  // depth 5
    held->set();
    // Wait until the parent sleeps on the lock, then die while holding it.
    while (!(mpt::word(l) & 0x80000000u)) usleep(100);
    if (how == 0) _exit(0);
    if (how == -1) execl("/bin/true", "true", static_cast<char *>(nullptr));
    signal(how, SIG_DFL);
    raise(how);
    _exit(3);
  }
  ASSERT_TRUE(held->wait(10.0));
  const double dt = expect_owner_dead(l, 30.0);
  int st;
  waitpid(pid, &st, 0);
  EXPECT_LT(dt, 1.0) << "death-to-new-owner latency";
  std::printf("death-to-new-owner latency: %.3f ms\n", dt * 1e3);
}

TEST(Robust, HundredsOfLocksAllReported) {
  REQUIRE_ROBUST();
  constexpr int kLocks = 300;
  auto r = mpt::shared();
  auto *locks = r.make<std::array<RLock, kLocks>>();
  pid_t pid = mpt::fork_child();
  if (pid == 0) {
    for (auto &l : *locks) l.acquire();
    for (int i = 0; i < kLocks; i += 3) (*locks)[i].release();  // unlink some from the middle
    raise(SIGKILL);
  }
  int st;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFSIGNALED(st));
  for (int i = 0; i < kLocks; ++i)
    EXPECT_EQ((*locks)[i].acquire_status(false), i % 3 == 0 ? status::ok : status::owner_dead) << i;
  // Release before the region goes away: a held lock's node is on this thread's robust list.
  for (auto &l : *locks) EXPECT_EQ(l.release_status(), status::ok);
}

TEST(Robust, CoexistsWithGlibcRobustMutexes) {
  REQUIRE_ROBUST();
  struct Shared {
    pthread_mutex_t m1, m2;
    RLock a, b, c;
  };
  auto r = mpt::shared();
  auto *s = r.make<Shared>();
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&s->m1, &at);
  pthread_mutex_init(&s->m2, &at);
  pid_t pid = mpt::fork_child();
  if (pid == 0) {
    // Interleave: glibc, ours, glibc, ours; remove one of each from the middle; re-lock; die.
    pthread_mutex_lock(&s->m1);
    s->a.acquire();
    pthread_mutex_lock(&s->m2);
    s->b.acquire();
    s->c.acquire();
    s->b.release();                  // ours, from the middle
    pthread_mutex_unlock(&s->m2);    // glibc's, from the middle
    pthread_mutex_lock(&s->m2);
    s->b.acquire();
    raise(SIGKILL);
  }
  int st;
  waitpid(pid, &st, 0);
  EXPECT_EQ(pthread_mutex_trylock(&s->m1), EOWNERDEAD);
  EXPECT_EQ(pthread_mutex_trylock(&s->m2), EOWNERDEAD);
  EXPECT_EQ(s->a.acquire_status(false), status::owner_dead);
  EXPECT_EQ(s->b.acquire_status(false), status::owner_dead);
  EXPECT_EQ(s->c.acquire_status(false), status::owner_dead);
  for (pthread_mutex_t *m : {&s->m1, &s->m2}) {
    pthread_mutex_consistent(m);
    pthread_mutex_unlock(m);
  }
  for (RLock *l : {&s->a, &s->b, &s->c}) EXPECT_EQ(l->release_status(), status::ok);
}

TEST(Robust, ConditionOverDeadOwnersRLock) {
  REQUIRE_ROBUST();
  auto r = mpt::shared();
  auto *c = r.make<Condition>();  // its embedded RLock
  pid_t pid = mpt::fork_child();
  if (pid == 0) {
    c->acquire();
    raise(SIGKILL);
  }
  int st;
  waitpid(pid, &st, 0);
  EXPECT_EQ(c->acquire_status(true, 5.0), status::owner_dead);
  EXPECT_EQ(c->notify_status(1), status::ok);  // held: usable
  EXPECT_EQ(c->release_status(), status::ok);
}

TEST(Robust, ConditionWaitReacquiresFromDeadOwner) {
  REQUIRE_ROBUST();
  auto r = mpt::shared();
  auto *c = r.make<Condition>();
  auto *go = r.make<Event>();
  ASSERT_TRUE(c->acquire());
  pid_t pid = mpt::fork_child();
  if (pid == 0) {
    go->wait(10.0);
    c->acquire();   // we are waiting, so the lock is free: take it, notify, die holding it
    c->notify(1);
    raise(SIGKILL);
  }
  go->set();
  EXPECT_EQ(c->wait_status(10.0), status::owner_dead);  // notified, then re-acquired from the dead
  EXPECT_EQ(c->release_status(), status::ok);
  int st;
  waitpid(pid, &st, 0);
}

// Issue #13: a Condition waiter whose re-acquire takes the RLock over from a dead holder reports
// OWNER_DEAD, also when it finds no grant left (it used to go back to sleep, giving the lock back
// with the death's mark consumed: the next acquirer got OK on torn data). Forced order: X is
// stopped outside the lock (so it is off the futex queue), Y takes notify(1)'s grant, V dies
// holding the lock; then X runs on, sees seq moved, and re-takes the lock from the dead. Natively
// the kernel marks the word; under qemu (no robust list) X's liveness watch does. Both the
// embedded RLock and an external one bound with Condition(RLock&).
class CondDeadHolder : public ::testing::TestWithParam<bool> {};  // true: external RLock
INSTANTIATE_TEST_SUITE_P(, CondDeadHolder, ::testing::Bool(),
                         [](const auto &i) { return std::string(i.param ? "ExternalRLock" : "EmbeddedRLock"); });

TEST_P(CondDeadHolder, WaiterTakingOverADeadHolderReportsIt) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *c = GetParam() ? r.make<Condition>(*l) : r.make<Condition>();
  const auto *word = GetParam() ? reinterpret_cast<const std::uint32_t *>(l) : ct::embedded_lock_word(c);
  auto *sh = r.make<ct::Shared>();  // returned[i] = 100 + the wait's status; flag: V holds it
  auto waiter = [=](int id) {
    return [=] {
      WCHECK(c->acquire());
      const status s = c->wait_status(30.0);
      sh->returned[id].store(100 + static_cast<int>(s));
      WCHECK(c->release_status() == status::ok);
      return 0;
    };
  };
  mpt::Workers x(Mode::processes), y(Mode::processes), v(Mode::processes);
  ct::Finally fin{[&] {
    x.kill_all(SIGKILL);
    y.kill_all(SIGKILL);
    v.kill_all(SIGKILL);
  }};
  x.start(waiter(0));
  ASSERT_TRUE(mpt::eventually([&] { return ct::waiting(c) == 1; }));
  ASSERT_NO_FATAL_FAILURE(ct::stop_parked(x.last_pid(), word));
  y.start(waiter(1));
  ASSERT_TRUE(mpt::eventually([&] { return ct::waiting(c) == 2 && !ct::lock_held_by(word, y.last_pid()); }));
  ct::notify(c, 1);  // X is stopped: Y takes the one grant
  ASSERT_TRUE(mpt::eventually([&] { return sh->returned[1].load() != 0; }));
  EXPECT_EQ(sh->returned[1].load(), 100 + static_cast<int>(status::ok));
  EXPECT_EQ(y.join(), 0);
  v.start([=] {  // the holder that dies mid-update, at depth 2
    WCHECK(c->acquire() && c->acquire());
    sh->flag.store(1);
    for (;;) pause();
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return sh->flag.load() == 1; }));
  v.kill_all(SIGKILL);
  EXPECT_EQ(v.join(SIGKILL), 0);  // reaped: the fallback's liveness watch can see it is gone
  ASSERT_EQ(kill(x.last_pid(), SIGCONT), 0);
  // X re-takes the lock from the dead holder and must report it; the old code put X back to sleep
  // (the wait below then gives up after 10 s, and the acquire after it returns OK).
  mpt::eventually([&] { return sh->returned[0].load() != 0; });
  const status mine = c->acquire_status(true, 10.0);
  EXPECT_EQ(sh->returned[0].load(), 100 + static_cast<int>(status::owner_dead)) << "X's wait did not report the death";
  EXPECT_EQ(mine, status::ok) << "the death was reported to the next acquirer instead, or twice";
  EXPECT_EQ(ct::waiting(c), 0u);  // X withdrew from its group
  if (acquired(mine)) {
    c->notify_all();  // frees X if it went back to sleep (the old code)
    c->release();
  }
  EXPECT_EQ(x.join(), 0);
}

// The fallback, where a thread cannot use the kernel robust list (get_robust_list refused under
// qemu-user or seccomp, or MPSYNC_ROBUST_LIST=0): the owner marks the lock "unlinked", and its
// waiters look for a dead owner every 20 ms instead of relying on the kernel's wake.
class RobustFallback : public ::testing::Test {
 protected:
  void SetUp() override { setenv("MPSYNC_ROBUST_LIST", "0", 1); }  // read by each new thread
  void TearDown() override { unsetenv("MPSYNC_ROBUST_LIST"); }
};

TEST_F(RobustFallback, UnlinkedOwnerThreadExit) {
  RLock l;
  std::thread([&] {
    ASSERT_EQ(mpsync_rlock_robust_supported(), 0);
    ASSERT_TRUE(l.acquire());
    ASSERT_TRUE(l.acquire());
  }).join();
  EXPECT_EQ(l.acquire_status(false), status::timedout);  // a try cannot know
  const double dt = expect_owner_dead(&l, 10.0);      // a wait finds out
  EXPECT_LT(dt, mpt::kSlack);
}

TEST_F(RobustFallback, UnlinkedOwnerProcessKilled) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *held = r.make<Event>();
  pid_t pid = mpt::fork_child();
  if (pid == 0) {
    std::thread([&] {  // a new thread: it reads MPSYNC_ROBUST_LIST=0
      l->acquire();
      held->set();
      for (;;) pause();
    }).detach();
    for (;;) pause();
  }
  ASSERT_TRUE(held->wait(10.0));
  kill(pid, SIGKILL);
  int st;
  waitpid(pid, &st, 0);
  const double dt = expect_owner_dead(l, 10.0);
  EXPECT_LT(dt, mpt::kSlack);
}
