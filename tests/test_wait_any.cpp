// mpsync_wait_any (issue #8): arguments, lowest index wins, each kind, others left as they were,
// timeouts, Event threading semantics, OWNER_DEAD, interrupts, the pass-on of an absorbed wake,
// and the polling path (futex_waitv refused), with threads and with processes (the stress over
// overlapping sets is in test_wait_any_stress.cpp). Runs on both wait backends (MPSYNC_WAIT_BACKEND).
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <random>

#include "harness.hpp"
#include "wait_any_util.hpp"

using namespace mpsync;
using mpt::Mode;
using namespace wa;


class WaitAny : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, WaitAny, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

TEST(WaitAnyArgs, Einval) {
  Semaphore s(1);
  Event e;
  unsigned idx = 77;
  mpsync_waitable many[MPSYNC_WAIT_ANY_MAX + 1];
  for (auto &m : many) m = waitable(e);
  many[0] = waitable(s);
  EXPECT_EQ(mpsync_wait_any(many, 0, 0.0, &idx), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_wait_any(many, MPSYNC_WAIT_ANY_MAX + 1, 0.0, &idx), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_wait_any(nullptr, 1, 0.0, &idx), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_wait_any(many, 1, 0.0, nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(wait_any({waitable(s), {MPSYNC_WAIT_SEM, nullptr}}, 0.0, &idx), MPSYNC_EINVAL);
  EXPECT_EQ(wait_any({waitable(s), {static_cast<mpsync_wait_kind>(0), &s}}, 0.0, &idx), MPSYNC_EINVAL);
  EXPECT_EQ(wait_any({waitable(s), {static_cast<mpsync_wait_kind>(5), &s}}, 0.0, &idx), MPSYNC_EINVAL);
  EXPECT_EQ(wait_any({waitable(s)}, NAN, &idx), MPSYNC_EINVAL);  // even though s is ready
  EXPECT_EQ(idx, 77u);
  EXPECT_EQ(s.get_value(), 1);  // nothing taken by a rejected call
  EXPECT_EQ(mpsync_wait_any(many, MPSYNC_WAIT_ANY_MAX, 0.0, &idx), MPSYNC_OK);  // 128 is allowed
  EXPECT_EQ(idx, 0u);
}

TEST(WaitAnyBasics, LowestReadyIndexWinsOthersUntouched) {
  Lock held, free1;
  Semaphore s0, s2(2);
  Event set;
  set.set();
  ASSERT_TRUE(held.acquire());
  const std::uint32_t before[] = {mpt::word(&held), mpt::word(&s0), mpt::word(&free1), mpt::word(&s2), mpt::word(&set)};
  unsigned idx = 99;
  ASSERT_EQ(wait_any({waitable(held), waitable(s0), waitable(s2), waitable(free1), waitable(set)}, 0.0, &idx), MPSYNC_OK);
  EXPECT_EQ(idx, 2u);
  EXPECT_EQ(s2.get_value(), 1);  // exactly one token
  // Everything else bit for bit as it was (a non-blocking scan marks nothing).
  EXPECT_EQ(mpt::word(&held), before[0]);
  EXPECT_EQ(mpt::word(&s0), before[1]);
  EXPECT_EQ(mpt::word(&free1), before[2]);
  EXPECT_EQ(mpt::word(&set), before[4]);
  EXPECT_TRUE(set.is_set());
  held.release();
}

TEST(WaitAnyBasics, EachKind) {
  unsigned idx = 9;
  Lock l;
  ASSERT_EQ(wait_any({waitable(l)}, 1.0, &idx), MPSYNC_OK);
  EXPECT_EQ(idx, 0u);
  EXPECT_TRUE(l.is_mine());
  EXPECT_EQ(wait_any({waitable(l)}, 0.0, &idx), MPSYNC_TIMEDOUT);  // a Lock is not recursive
  l.release();

  RLock r;
  ASSERT_EQ(wait_any({waitable(l), waitable(r)}, 1.0, &idx), MPSYNC_OK);
  EXPECT_EQ(idx, 0u);
  ASSERT_EQ(wait_any({waitable(l), waitable(r)}, 1.0, &idx), MPSYNC_OK);  // l busy (ours): r
  EXPECT_EQ(idx, 1u);
  EXPECT_TRUE(r.is_mine());
  EXPECT_EQ(r.count(), 1u);
  ASSERT_EQ(wait_any({waitable(l), waitable(r)}, 1.0, &idx), MPSYNC_OK);  // RLock recursion
  EXPECT_EQ(idx, 1u);
  EXPECT_EQ(r.count(), 2u);
  r.release();
  r.release();
  EXPECT_FALSE(r.locked());
  l.release();

  Semaphore s(1);
  ASSERT_EQ(wait_any({waitable(s)}, 1.0, &idx), MPSYNC_OK);
  EXPECT_EQ(s.get_value(), 0);
  EXPECT_EQ(wait_any({waitable(s)}, 0.01, &idx), MPSYNC_TIMEDOUT);

  Event e;
  EXPECT_EQ(wait_any({waitable(e)}, 0.01, &idx), MPSYNC_TIMEDOUT);
  e.set();
  for (int i = 0; i < 2; ++i) {  // seen set, not consumed
    ASSERT_EQ(wait_any({waitable(s), waitable(e)}, 1.0, &idx), MPSYNC_OK);
    EXPECT_EQ(idx, 1u);
  }
  EXPECT_TRUE(e.is_set());

  // The C++ face.
  const mpsync_waitable items[] = {waitable(s), waitable(e)};
  auto res = mpsync::wait_any(items, 1.0);
  EXPECT_TRUE(res.acquired());
  EXPECT_EQ(res.index, 1u);
  e.clear();
  res = mpsync::wait_any(items, std::chrono::milliseconds(10));
  EXPECT_EQ(res.st, status::timedout);
  EXPECT_FALSE(res);
}

TEST(WaitAnyBasics, Corrupt) {
  Lock bad, ok;
  __atomic_store_n(reinterpret_cast<std::uint32_t *>(&bad), 0x40000000u, __ATOMIC_RELAXED);
  unsigned idx = 9;
  EXPECT_EQ(wait_any({waitable(bad), waitable(ok)}, 1.0, &idx), MPSYNC_ECORRUPT);
  EXPECT_EQ(idx, 0u);
  EXPECT_FALSE(ok.locked());
}

TEST(WaitAnyTimeouts, ZeroSmallNegativeInf) {
  Lock held;
  Semaphore s;
  ASSERT_TRUE(held.acquire());
  unsigned idx = 5;
  for (double t : {0.0, -1.0, -HUGE_VAL}) {
    const double t0 = mpt::now_s();
    EXPECT_EQ(wait_any({waitable(held), waitable(s)}, t, &idx), MPSYNC_TIMEDOUT);
    EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
    EXPECT_EQ(mpt::word(&s), 0u);  // a try marks nothing
  }
  const double t0 = mpt::now_s();
  EXPECT_EQ(wait_any({waitable(held), waitable(s)}, 0.1, &idx), MPSYNC_TIMEDOUT);
  const double dt = mpt::now_s() - t0;
  EXPECT_GE(dt, 0.1);
  EXPECT_LT(dt, 0.1 + mpt::kSlack);
  EXPECT_EQ(idx, 5u);
  EXPECT_EQ(s.get_value(), 0);                                  // only W may remain
  EXPECT_EQ(mpt::word(&held) & ~kW, tid());
  std::thread t([&] {
    while (!(mpt::word(&s) & kW)) std::this_thread::yield();  // the waiter announced itself
    s.release();
  });
  EXPECT_EQ(wait_any({waitable(held), waitable(s)}, MPSYNC_FOREVER, &idx), MPSYNC_OK);
  EXPECT_EQ(idx, 1u);
  t.join();
  EXPECT_EQ(s.get_value(), 0);
  held.release();
}

TEST_P(WaitAny, WokenByAReleaseElsewhereOthersKeepTheirState) {
  auto r = mpt::shared();
  auto *held = r.make<Lock>();
  auto *s = r.make<Semaphore>(0u);
  auto *e = r.make<Event>();
  auto *step = r.make<std::array<std::uint32_t, 2>>();  // [0] worker tid, [1] which wait it is about to do
  ASSERT_TRUE(held->acquire());
  mpt::Workers w(GetParam());
  w.start([=] {
    unsigned idx = 9;
    __atomic_store_n(&(*step)[0], tid(), __ATOMIC_RELEASE);
    __atomic_store_n(&(*step)[1], 1u, __ATOMIC_RELEASE);
    WCHECK(wait_any({waitable(*held), waitable(*e), waitable(*s)}, 10.0, &idx) == MPSYNC_OK);
    WCHECK(idx == 2);
    __atomic_store_n(&(*step)[1], 2u, __ATOMIC_RELEASE);
    WCHECK(wait_any({waitable(*held), waitable(*e), waitable(*s)}, 10.0, &idx) == MPSYNC_OK);
    WCHECK(idx == 1);  // set then cleared during the wait: still seen (threading semantics)
    return 0;
  });
  auto at = [&](std::uint32_t k) {
    return mpt::eventually([&] {
      return __atomic_load_n(&(*step)[1], __ATOMIC_ACQUIRE) == k && blocked(__atomic_load_n(&(*step)[0], __ATOMIC_ACQUIRE));
    });
  };
  ASSERT_TRUE(at(1));
  s->release();
  ASSERT_TRUE(at(2));
  e->set();
  e->clear();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(s->get_value(), 0);
  EXPECT_FALSE(e->is_set());
  EXPECT_TRUE(held->is_mine());  // owner bits unchanged; at most W added
  EXPECT_EQ(held->release_status(), status::ok);
  EXPECT_FALSE(held->locked());
}

// Pass-on (wait_any.cpp, case b): the wait-any absorbs the wake of A, but takes B (index 0,
// released right after); a plain waiter on A must not be left asleep while A is free.
TEST_P(WaitAny, AbsorbedWakeIsPassedOn) {
  auto r = mpt::shared();
  auto *a = r.make<Lock>();
  auto *b = r.make<Semaphore>(0u);
  auto *tids = r.make<std::array<std::uint32_t, 2>>();
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(a->acquire());
    mpt::Workers w(GetParam());
    w.start([=] {  // the wait-any
      __atomic_store_n(&(*tids)[0], tid(), __ATOMIC_RELEASE);
      unsigned idx = 9;
      const int rc = wait_any({waitable(*b), waitable(*a)}, 10.0, &idx);
      WCHECK(rc == MPSYNC_OK);
      if (idx == 1) WCHECK(a->release_status() == status::ok);
      return 0;
    });
    w.start([=] {  // the plain waiter
      __atomic_store_n(&(*tids)[1], tid(), __ATOMIC_RELEASE);
      WCHECK(a->acquire_status(true, 10.0) == status::ok);
      WCHECK(a->release_status() == status::ok);
      return 0;
    });
    ASSERT_TRUE(mpt::eventually([&] {
      const std::uint32_t t0 = __atomic_load_n(&(*tids)[0], __ATOMIC_ACQUIRE), t1 = __atomic_load_n(&(*tids)[1], __ATOMIC_ACQUIRE);
      return t0 && t1 && (mpt::word(b) & kW) && (mpt::word(a) & kW) && blocked(t0) && blocked(t1);
    }));
    a->release();  // one wake: to either sleeper
    b->release();
    const double t0 = mpt::now_s();
    ASSERT_EQ(w.join(), 0) << "round " << round;
    EXPECT_LT(mpt::now_s() - t0, 5.0);
    EXPECT_FALSE(a->locked());
    if (b->get_value() == 1) {  // the wait-any took A
      EXPECT_EQ(b->acquire_status(false), status::ok);
    }
    EXPECT_EQ(b->get_value(), 0);
    __atomic_store_n(&(*tids)[0], 0u, __ATOMIC_RELEASE);
    __atomic_store_n(&(*tids)[1], 0u, __ATOMIC_RELEASE);
  }
}

// 128 items, only the last one becomes ready: the wake must come through entry 127.
TEST_P(WaitAny, ManyItemsWokenByTheLast) {
  auto r = mpt::shared();
  auto *locks = r.make<std::array<Lock, 64>>();
  auto *sems = r.make<std::array<Semaphore, 64>>();
  auto *items = r.make<std::array<mpsync_waitable, MPSYNC_WAIT_ANY_MAX>>();
  auto *wtid = r.make<std::uint32_t>(0u);
  for (unsigned i = 0; i < 64; ++i) {
    ASSERT_TRUE((*locks)[i].acquire());
    (*items)[2 * i] = waitable((*locks)[i]);
    (*items)[2 * i + 1] = waitable((*sems)[i]);
  }
  mpt::Workers w(GetParam());
  w.start([=] {
    __atomic_store_n(wtid, tid(), __ATOMIC_RELEASE);
    unsigned idx = 0;
    WCHECK(mpsync_wait_any(items->data(), MPSYNC_WAIT_ANY_MAX, 10.0, &idx) == MPSYNC_OK);
    WCHECK(idx == MPSYNC_WAIT_ANY_MAX - 1);
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] {
    const std::uint32_t t = __atomic_load_n(wtid, __ATOMIC_ACQUIRE);
    return t && (mpt::word(&(*sems)[63]) & kW) && blocked(t);
  }));
  (*sems)[63].release();
  EXPECT_EQ(w.join(), 0);
  for (unsigned i = 0; i < 64; ++i) {
    EXPECT_EQ((*sems)[i].get_value(), 0);
    EXPECT_EQ((*locks)[i].release_status(), status::ok);
  }
}

// ---- OWNER_DEAD -----------------------------------------------------------------------------------

TEST(WaitAnyOwnerDead, DeadProcessOwnerBeforeAndDuringTheWait) {
  if (!mpsync_rlock_robust_supported())
    GTEST_SKIP() << "kernel robust list unavailable here (qemu-user/seccomp); the fallback is tested below";
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *s = r.make<Semaphore>(0u);
  auto *held = r.make<Event>();
  auto *main_tid = r.make<std::uint32_t>(tid());
  unsigned idx = 9;
  pid_t pid = mpt::fork_child();
  if (pid == 0) {
    l->acquire();
    _exit(0);  // dies holding it
  }
  int st;
  waitpid(pid, &st, 0);
  ASSERT_EQ(wait_any({waitable(*s), waitable(*l)}, 10.0, &idx), MPSYNC_OWNER_DEAD);
  EXPECT_EQ(idx, 1u);
  EXPECT_TRUE(l->is_mine());
  EXPECT_EQ(l->count(), 1u);
  ASSERT_EQ(l->release_status(), status::ok);

  pid = mpt::fork_child();  // now the owner dies while the wait-any sleeps: the kernel's death wake
  if (pid == 0) {
    l->acquire();
    held->set();
    mpt::eventually([&] { return (mpt::word(l) & kW) && blocked(*main_tid); });
    _exit(0);
  }
  ASSERT_TRUE(held->wait(10.0));
  const double t0 = mpt::now_s();
  EXPECT_EQ(wait_any({waitable(*s), waitable(*l)}, 10.0, &idx), MPSYNC_OWNER_DEAD);
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_EQ(idx, 1u);
  EXPECT_EQ(l->release_status(), status::ok);
  waitpid(pid, &st, 0);
}

// The fallback (owner not on a kernel robust list: MPSYNC_ROBUST_LIST=0, as under qemu-user): the
// wait-any sleeps in 20 ms slices and finds the owner gone.
TEST(WaitAnyOwnerDead, FallbackUnlinkedOwnerExitsDuringTheWait) {
  setenv("MPSYNC_ROBUST_LIST", "0", 1);  // read by each new thread
  RLock l;
  Semaphore s;
  std::atomic<int> stage{0};
  const std::uint32_t me = tid();
  std::thread owner([&] {
    l.acquire();
    stage = 1;
    mpt::eventually([&] { return (mpt::word(&l) & kW) && blocked(me); });
  });  // exits holding l
  while (stage.load() == 0) std::this_thread::yield();
  unsetenv("MPSYNC_ROBUST_LIST");
  unsigned idx = 9;
  const double t0 = mpt::now_s();
  EXPECT_EQ(wait_any({waitable(s), waitable(l)}, 10.0, &idx), MPSYNC_OWNER_DEAD);
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_EQ(idx, 1u);
  EXPECT_EQ(l.count(), 1u);
  owner.join();
  EXPECT_EQ(l.release_status(), status::ok);
}

// ---- interrupts -----------------------------------------------------------------------------------

namespace {
int g_stop_check_calls = 0;
int stop_check() { return __atomic_add_fetch(&g_stop_check_calls, 1, __ATOMIC_RELAXED) > 0; }
extern "C" void on_usr1(int) {}
void install_usr1(bool restart) {
  struct sigaction sa = {};
  sa.sa_handler = on_usr1;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGUSR1, &sa, nullptr);
}
struct Pester {  // SIGUSR1 to `target` every 20 ms
  explicit Pester(pthread_t target) : th([this, target] {
      while (!done.load()) {
        pthread_kill(target, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }) {}
  ~Pester() {
    done = true;
    th.join();
  }
  std::atomic<bool> done{false};
  std::thread th;
};
}  // namespace

TEST(WaitAnyInterrupt, CheckStopsTheWaitNothingTaken) {
  Lock held;
  Semaphore s;
  ASSERT_TRUE(held.acquire());
  mpsync_set_interrupt_check(stop_check);
  unsigned idx = 9;
  {
    install_usr1(false);  // no SA_RESTART (Python's way): every path sees EINTR
    for (double t : {5.0, MPSYNC_FOREVER}) {
      Pester p(pthread_self());
      const double t0 = mpt::now_s();
      EXPECT_EQ(wait_any({waitable(held), waitable(s)}, t, &idx), MPSYNC_INTERRUPTED);
      EXPECT_EQ(wait_any({waitable(s)}, t, &idx), MPSYNC_INTERRUPTED);
      EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
    }
  }
  {
    install_usr1(true);  // SA_RESTART: n == 1 (FUTEX_WAIT, EINTR even so) and the polling path stop
    Pester p(pthread_self());
    const double t0 = mpt::now_s();
    EXPECT_EQ(wait_any({waitable(s)}, 5.0, &idx), MPSYNC_INTERRUPTED);
    EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
    // n >= 2 on futex_waitv: the kernel restarts the call itself (the documented caveat), so the
    // wait may run to its deadline — but never past it.
    const double t1 = mpt::now_s();
    const int rc = wait_any({waitable(held), waitable(s)}, 0.3, &idx);
    EXPECT_TRUE(rc == MPSYNC_INTERRUPTED || rc == MPSYNC_TIMEDOUT) << rc;
    EXPECT_LT(mpt::now_s() - t1, 0.3 + mpt::kSlack);
  }
  mpsync_set_interrupt_check(nullptr);
  signal(SIGUSR1, SIG_DFL);
  EXPECT_EQ(s.get_value(), 0);
  EXPECT_EQ(idx, 9u);
  EXPECT_TRUE(held.is_mine());
  held.release();
}

// ---- the two sleeping paths ---------------------------------------------------------------------

TEST(WaitAnyPaths, Probe) {
  const bool waitv = have_waitv();
  ::testing::Test::RecordProperty("futex_waitv", waitv ? "present" : "missing");
  ::testing::Test::RecordProperty("backend", mpsync_backend());
  if (!waitv) GTEST_SKIP() << "futex_waitv missing here (ENOSYS: kernel < 5.16, qemu-user or seccomp): "
                              "wait_any polls; the rest of this file exercises that path";
  SUCCEED() << "futex_waitv present: one futex_waitv per sleep on the futex backend";
}

// futex_waitv refused in one process (seccomp ENOSYS): its wait_any polls, and it must NOT switch
// to the sleep-loop backend — a plain futex sleeper in another process still needs its wakes.
TEST(WaitAnyPaths, WaitvRefusedPollsAndStillWakesFutexSleepers) {
  pid_t probe = mpt::fork_child();
  if (probe == 0) _exit(refuse_waitv() ? 0 : 77);
  int pst = 0;
  waitpid(probe, &pst, 0);
  if (!WIFEXITED(pst) || WEXITSTATUS(pst) != 0) GTEST_SKIP() << "seccomp filters cannot be installed here";
  auto r = mpt::shared();
  auto *a = r.make<Lock>();
  auto *b = r.make<Lock>();
  auto *s = r.make<Semaphore>(0u);
  auto *ctid = r.make<std::uint32_t>(0u);
  const std::string backend = mpsync_backend();
  ASSERT_TRUE(a->acquire());
  mpt::Workers w(Mode::processes);
  w.start([=] {
    WCHECK(b->acquire());
    WCHECK(refuse_waitv());
    __atomic_store_n(ctid, tid(), __ATOMIC_RELEASE);
    unsigned idx = 9;
    WCHECK(wait_any({waitable(*a), waitable(*s)}, 10.0, &idx) == MPSYNC_OK);
    WCHECK(idx == 1);
    WCHECK(std::string(mpsync_backend()) == backend);  // not switched
    WCHECK(b->release_status() == status::ok);         // must wake the parent's futex sleeper
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] {
    const std::uint32_t t = __atomic_load_n(ctid, __ATOMIC_ACQUIRE);
    return t && (mpt::word(s) & kW) && blocked(t);
  }));
  std::atomic<std::uint32_t> sleeper{0};
  std::atomic<int> got{-100};
  std::thread t([&] {
    sleeper = tid();
    got = static_cast<int>(b->acquire_status(true, 10.0));
  });
  ASSERT_TRUE(mpt::eventually([&] { return sleeper.load() && (mpt::word(b) & kW) && blocked(sleeper.load()); }));
  s->release();
  t.join();
  EXPECT_EQ(got.load(), static_cast<int>(status::ok));
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(b->release_status(), status::ok);
  EXPECT_EQ(a->release_status(), status::ok);
}
