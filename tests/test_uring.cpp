// mpsync_uring_*: asynchronous waits through a liburing ring (runtime/uring.cpp) — the probe, the
// SQE, immediate acquisition, and a wake from another thread or process for each kind. Timeouts,
// cancellation and passing on absorbed wakes: test_uring_wake.cpp. Every test needing the kernel
// feature (IORING_OP_FUTEX_WAIT, Linux 6.7+) and the futex wait backend skips with the probe's
// reason otherwise (qemu-user, seccomp, old kernels, MPSYNC_WAIT_BACKEND=sleeploop).
#include <thread>

#include "uring_ring.hpp"

using mpt::Mode;

TEST(Uring, ProbeAgreesWithPrep) {
  const int sup = mpsync_uring_supported();
  const char *why = mpsync_uring_unsupported_reason();
  EXPECT_EQ(sup != 0, why == nullptr) << (why ? why : "");
  mpsync_sem_t s;
  mpsync_sem_init(&s, 0);
  mpsync_uring_wait_t w;
  ASSERT_EQ(mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, &s), MPSYNC_OK);
  io_uring_sqe sqe;
  std::memset(&sqe, 0xA5, sizeof sqe);
  const int r = mpsync_uring_prep_wait(&sqe, &w);
  if (!sup) {
    EXPECT_EQ(r, MPSYNC_ENOTSUP);
    if (std::strcmp(mpsync_backend(), "sleeploop") == 0) {
      EXPECT_NE(std::strstr(why, "sleeploop"), nullptr) << why;
    }
    GTEST_SKIP() << why;
  }
  ASSERT_EQ(r, MPSYNC_URING_SUBMIT);
  // The SQE as kernel_glibc_notes §5.2/5.3 spell it: a shared 32-bit FUTEX_WAIT on the word.
  EXPECT_EQ(sqe.opcode, 51);
  EXPECT_EQ(sqe.fd, 2);  // FUTEX2_SIZE_U32, no FUTEX2_PRIVATE
  EXPECT_EQ(sqe.addr, reinterpret_cast<std::uintptr_t>(&s.value));
  EXPECT_EQ(sqe.off, 0x80000000u);  // value 0 with the waiters bit that arming set
  EXPECT_EQ(sqe.addr3, 0xffffffffu);
  EXPECT_EQ(sqe.len, 0u);
  EXPECT_EQ(sqe.rw_flags, 0);
  EXPECT_EQ(sqe.flags, 0);
  EXPECT_EQ(sqe.user_data, reinterpret_cast<std::uintptr_t>(&w));
  EXPECT_EQ(mpt::word(&s), 0x80000000u);
  EXPECT_EQ(mpsync_uring_abandon(&w, -ECANCELED), MPSYNC_OK);  // never submitted: nothing owed
}

TEST(Uring, ArgumentErrors) {
  mpsync_uring_wait_t w;
  mpsync_sem_t s;
  mpsync_sem_init(&s, 1);
  io_uring_sqe sqe{};
  EXPECT_EQ(mpsync_uring_wait_init(nullptr, MPSYNC_WAIT_SEM, &s), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_uring_wait_init(&w, static_cast<mpsync_wait_kind>(9), &s), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_uring_prep_wait(&sqe, &w), MPSYNC_EINVAL);  // kind 9
  ASSERT_EQ(mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, &s), MPSYNC_OK);
  EXPECT_EQ(mpsync_uring_prep_wait(nullptr, &w), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_uring_prep_wait(&sqe, nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_EINVAL);  // nothing was prepared
  EXPECT_EQ(mpsync_uring_complete(nullptr, 0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_uring_abandon(nullptr, 0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_sem_get_value(&s), 1);  // nothing taken by any of these
}

TEST(Uring, ImmediateAcquireLeavesSqeUntouched) {
  REQUIRE_URING();
  auto region = mpt::shared();
  auto *sem = region.make<mpsync_sem_t>();
  auto *lock = region.make<mpsync_lock_t>();
  auto *rl = region.make<mpsync_rlock_t>();
  auto *ev = region.make<mpsync_event_t>();
  mpsync_sem_init(sem, 1);
  mpsync_event_set(ev);
  io_uring_sqe sqe, pattern;
  std::memset(&pattern, 0xA5, sizeof pattern);
  const std::pair<mpsync_wait_kind, void *> items[] = {
      {MPSYNC_WAIT_SEM, sem}, {MPSYNC_WAIT_LOCK, lock}, {MPSYNC_WAIT_RLOCK, rl}, {MPSYNC_WAIT_EVENT, ev}, {MPSYNC_WAIT_RLOCK, rl}};
  for (auto [kind, obj] : items) {
    mpsync_uring_wait_t w;
    ASSERT_EQ(mpsync_uring_wait_init(&w, kind, obj), MPSYNC_OK);
    std::memcpy(&sqe, &pattern, sizeof sqe);
    EXPECT_EQ(mpsync_uring_prep_wait(&sqe, &w), MPSYNC_OK) << "kind " << kind;
    EXPECT_EQ(std::memcmp(&sqe, &pattern, sizeof sqe), 0) << "kind " << kind;
  }
  EXPECT_EQ(mpsync_sem_get_value(sem), 0);
  EXPECT_EQ(mpsync_lock_is_mine(lock), 1);
  EXPECT_EQ(mpsync_rlock_count(rl), 2u);  // taken, then recursion
  EXPECT_EQ(mpsync_event_is_set(ev), 1);  // seen set, not consumed
  EXPECT_EQ(mpt::word(sem), 0u);           // a plain take sets no waiters bit
  EXPECT_EQ(mpsync_rlock_release(rl), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(rl), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_release(lock), MPSYNC_OK);
}

// A release after the wait is queued in the kernel: CQE 0 (woken) and complete takes the token;
// a release between prep and submit: CQE -EAGAIN and complete takes it too.
class UringRelease : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, UringRelease, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

TEST_P(UringRelease, SemaphoreWokenByAnotherThreadOrProcess) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  auto region = mpt::shared();
  auto *sem = region.make<mpsync_sem_t>();
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, sem);
  ASSERT_EQ(ring.arm(w), MPSYNC_URING_SUBMIT);
  ASSERT_TRUE(ring.idle());  // queued: the kernel compared the word and slept
  mpt::Workers workers(GetParam());
  workers.start([sem] {
    WCHECK(mpsync_sem_release(sem) == MPSYNC_OK);
    return 0;
  });
  EXPECT_EQ(ring.wait_res(w), 0);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_get_value(sem), 0);
  EXPECT_EQ(workers.join(), 0);
}

TEST(Uring, ReleaseBeforeSubmitGivesEagainAndCompletes) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  mpsync_sem_t sem;
  mpsync_sem_init(&sem, 0);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, &sem);
  io_uring_sqe *s = ring.sqe();
  ASSERT_EQ(mpsync_uring_prep_wait(s, &w), MPSYNC_URING_SUBMIT);
  ASSERT_EQ(mpsync_sem_release(&sem), MPSYNC_OK);  // the word moves off the armed value
  ring.submit();
  EXPECT_EQ(ring.wait_res(w), -EAGAIN);
  EXPECT_EQ(mpsync_uring_complete(&w, -EAGAIN), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_get_value(&sem), 0);
}

TEST_P(UringRelease, LockReleasedByItsHolder) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  auto region = mpt::shared();
  auto *lock = region.make<mpsync_lock_t>();
  auto *held = region.make<mpsync_event_t>();
  auto *go = region.make<mpsync_event_t>();
  mpt::Workers workers(GetParam());
  workers.start([=] {
    WCHECK(mpsync_lock_acquire(lock, 1, MPSYNC_FOREVER) == MPSYNC_OK);
    mpsync_event_set(held);
    WCHECK(mpsync_event_wait(go, 30.0) == MPSYNC_OK);
    WCHECK(mpsync_lock_release(lock) == MPSYNC_OK);
    return 0;
  });
  ASSERT_EQ(mpsync_event_wait(held, 30.0), MPSYNC_OK);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_LOCK, lock);
  ASSERT_EQ(ring.arm(w), MPSYNC_URING_SUBMIT);
  EXPECT_NE(mpt::word(lock) & 0x80000000u, 0u);  // arming announced a sleeper
  mpsync_event_set(go);
  EXPECT_EQ(ring.wait_res(w), 0);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_is_mine(lock), 1);
  EXPECT_EQ(mpsync_lock_release(lock), MPSYNC_OK);
  EXPECT_EQ(workers.join(), 0);
}

TEST(Uring, RLockFromAnotherThreadBecomesOurs) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  mpsync_rlock_t rl;
  mpsync_rlock_init(&rl);
  mpsync_event_t held, go;
  mpsync_event_init(&held);
  mpsync_event_init(&go);
  std::thread owner([&] {
    mpsync_rlock_acquire(&rl, 1, MPSYNC_FOREVER);
    mpsync_rlock_acquire(&rl, 1, MPSYNC_FOREVER);  // two levels: only the last release wakes
    mpsync_event_set(&held);
    mpsync_event_wait(&go, 30.0);
    mpsync_rlock_release(&rl);
    mpsync_rlock_release(&rl);
  });
  ASSERT_EQ(mpsync_event_wait(&held, 30.0), MPSYNC_OK);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_RLOCK, &rl);
  ASSERT_EQ(ring.arm(w), MPSYNC_URING_SUBMIT);
  mpsync_event_set(&go);
  EXPECT_EQ(ring.wait_res(w), 0);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_OK);
  owner.join();
  EXPECT_EQ(mpsync_rlock_is_mine(&rl), 1);  // the thread that called complete owns it
  EXPECT_EQ(mpsync_rlock_count(&rl), 1u);
  EXPECT_EQ(mpsync_rlock_release(&rl), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_locked(&rl), 0);
}

// The kernel's robust exit marks the word OWNER_DIED and wakes one waiter with a shared wake:
// that wakes the io_uring wait, and complete reports OWNER_DEAD with the lock now ours.
TEST(Uring, RLockOwnerDeathCompletesWithOwnerDead) {
  REQUIRE_URING();
  if (!mpsync_rlock_robust_supported()) GTEST_SKIP() << "no kernel robust list in this process";
  Ring ring;
  ASSERT_TRUE(ring.ok);
  auto region = mpt::shared();
  auto *rl = region.make<mpsync_rlock_t>();
  auto *held = region.make<mpsync_event_t>();
  auto *go = region.make<mpsync_event_t>();
  mpt::Workers workers(Mode::processes);
  workers.start([=] {
    WCHECK(mpsync_rlock_acquire(rl, 1, MPSYNC_FOREVER) == MPSYNC_OK);
    mpsync_event_set(held);
    mpsync_event_wait(go, 30.0);
    _exit(0);  // dies holding it
  });
  ASSERT_EQ(mpsync_event_wait(held, 30.0), MPSYNC_OK);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_RLOCK, rl);
  ASSERT_EQ(ring.arm(w), MPSYNC_URING_SUBMIT);
  mpsync_event_set(go);
  EXPECT_EQ(ring.wait_res(w), 0);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_OWNER_DEAD);
  EXPECT_EQ(mpsync_rlock_is_mine(rl), 1);
  EXPECT_EQ(mpsync_rlock_count(rl), 1u);
  EXPECT_EQ(mpsync_rlock_release(rl), MPSYNC_OK);
  EXPECT_EQ(workers.join(), 0);
}

// Event: complete counts a set() that happened during the wait even if clear() followed at once
// (threading semantics, CONFORMANCE E3).
TEST(Uring, EventSetThenClearedStillCompletes) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  mpsync_event_t ev;
  mpsync_event_init(&ev);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_EVENT, &ev);
  ASSERT_EQ(ring.arm(w), MPSYNC_URING_SUBMIT);
  ASSERT_TRUE(ring.idle());
  mpsync_event_set(&ev);
  mpsync_event_clear(&ev);
  EXPECT_EQ(ring.wait_res(w), 0);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(&ev), 0);
  // A fresh wait on the cleared event does wait.
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_EVENT, &ev);
  ASSERT_EQ(ring.arm(w, 20), MPSYNC_URING_SUBMIT);
  EXPECT_EQ(ring.wait_res(w), -ECANCELED);
  EXPECT_EQ(mpsync_uring_complete(&w, -ECANCELED), MPSYNC_TIMEDOUT);
}

