// CONFORMANCE R5 and issue #3: an RLock whose owner dies (thread exit, exit, SIGKILL, abort, exec)
// is handed to the next acquirer with OWNER_DEAD, promptly, at any depth, for one or hundreds of
// locks, and coexisting with glibc's own robust mutexes on the same kernel list.
#include <pthread.h>

#include <array>
#include <cerrno>

#include "harness.hpp"

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
  pid_t pid = fork();
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
  pid_t pid = fork();
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
  pid_t pid = fork();
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
  pid_t pid = fork();
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
  pid_t pid = fork();
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
  pid_t pid = fork();
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
