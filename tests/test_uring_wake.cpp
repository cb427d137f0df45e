// mpsync_uring_*: linked timeouts, ASYNC_CANCEL, and the rule that a wait which was woken and
// then cancelled, timed out or abandoned passes the wake on (a plain blocked waiter queued behind
// it must still get the item), the REARM path, and a re-arm loop against producer processes.
// Skips like test_uring.cpp when io_uring futex waits are unavailable.
#include <atomic>
#include <thread>

#include "uring_ring.hpp"

using mpt::Mode;

TEST(Uring, LinkedTimeoutLeavesTheItemUntouched) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  mpsync_sem_t sem;
  mpsync_sem_init(&sem, 0);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, &sem);
  const double t0 = mpt::now_s();
  ASSERT_EQ(ring.arm(w, 50), MPSYNC_URING_SUBMIT);
  int timer_res = 0;
  EXPECT_EQ(ring.wait_res(w, &timer_res), -ECANCELED);
  EXPECT_GE(mpt::now_s() - t0, 0.045);
  EXPECT_EQ(mpsync_uring_complete(&w, -ECANCELED), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_sem_get_value(&sem), 0);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_EINVAL);  // that wait is over
  // Not a token lost or invented: one release, one plain take.
  EXPECT_EQ(mpsync_sem_release(&sem), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_acquire(&sem, 0, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_acquire(&sem, 0, 0), MPSYNC_TIMEDOUT);
}

TEST(Uring, AsyncCancel) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  mpsync_lock_t lock;
  mpsync_lock_init(&lock);
  ASSERT_EQ(mpsync_lock_acquire(&lock, 0, 0), MPSYNC_OK);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_LOCK, &lock);
  ASSERT_EQ(ring.arm(w), MPSYNC_URING_SUBMIT);
  ring.cancel(w);
  int cancel_res = -1;
  EXPECT_EQ(ring.wait_res(w, &cancel_res), -ECANCELED);
  EXPECT_EQ(mpsync_uring_complete(&w, -ECANCELED), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_lock_is_mine(&lock), 1);  // still ours, untouched
  EXPECT_EQ(mpsync_lock_release(&lock), MPSYNC_OK);
}

// The heart of it: a wait that was woken and then cancelled / timed out / abandoned holds the one
// wake a release sent. A plain blocked waiter queued behind it must still get the item.
namespace {
enum class Ending { cancelled, timed_out };

template <class Acquire>
void woken_then_abandoned(mpsync_wait_kind kind, void *obj, const std::uint32_t *word, Acquire blocking_acquire,
                          int (*release)(void *), Ending ending) {
  Ring ring;
  ASSERT_TRUE(ring.ok);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, kind, obj);
  ASSERT_EQ(ring.arm(w, ending == Ending::timed_out ? 60'000 : -1), MPSYNC_URING_SUBMIT);
  ASSERT_TRUE(ring.idle());
  std::atomic<pid_t> tid{0};
  std::atomic<int> got{-100};
  std::thread plain([&] {
    tid = gettid_();
    got = blocking_acquire();
  });
  struct joiner {  // a failed ASSERT must not leave the plain waiter asleep (nor a joinable thread)
    std::thread &t;
    std::atomic<int> &got;
    void *obj;
    int (*release)(void *);
    ~joiner() {
      if (got == -100) release(obj);
      t.join();
    }
  } guard{plain, got, obj, release};
  // The plain waiter queues behind the io_uring wait (futex queues are FIFO at equal priority).
  ASSERT_TRUE(mpt::eventually([&] { return tid != 0 && blocked_on(tid, word); }));
  ASSERT_EQ(release(obj), MPSYNC_OK);  // one wake, to the first queued: the io_uring wait
  if (ending == Ending::cancelled) ring.cancel(w);  // too late: it was woken
  int other = 1;
  const int res = ring.wait_res(w, &other);
  ASSERT_EQ(res, 0);  // woken, whatever we asked afterwards
  EXPECT_TRUE(blocked_on(tid, word));  // the wake was absorbed: the plain waiter still sleeps
  EXPECT_EQ(got.load(), -100);
  EXPECT_EQ(mpsync_uring_abandon(&w, res), MPSYNC_OK);  // pass it on
  EXPECT_TRUE(mpt::eventually([&] { return got != -100; }));
  EXPECT_EQ(got.load(), MPSYNC_OK);
}
}  // namespace

TEST(Uring, SemWokenThenCancelledPassesTheWake) {
  REQUIRE_URING();
  mpsync_sem_t sem;
  mpsync_sem_init(&sem, 0);
  woken_then_abandoned(
      MPSYNC_WAIT_SEM, &sem, &sem.value, [&] { return mpsync_sem_acquire(&sem, 1, 30.0); },
      [](void *o) { return mpsync_sem_release(static_cast<mpsync_sem_t *>(o)); }, Ending::cancelled);
  EXPECT_EQ(mpsync_sem_get_value(&sem), 0);
}

TEST(Uring, SemWokenThenTimedOutPassesTheWake) {
  REQUIRE_URING();
  mpsync_sem_t sem;
  mpsync_sem_init(&sem, 0);
  woken_then_abandoned(
      MPSYNC_WAIT_SEM, &sem, &sem.value, [&] { return mpsync_sem_acquire(&sem, 1, 30.0); },
      [](void *o) { return mpsync_sem_release(static_cast<mpsync_sem_t *>(o)); }, Ending::timed_out);
  EXPECT_EQ(mpsync_sem_get_value(&sem), 0);
}

TEST(Uring, LockWokenThenCancelledPassesTheWake) {
  REQUIRE_URING();
  mpsync_lock_t lock;
  mpsync_lock_init(&lock);
  ASSERT_EQ(mpsync_lock_acquire(&lock, 0, 0), MPSYNC_OK);
  std::atomic<int> released_by_plain{0};
  woken_then_abandoned(
      MPSYNC_WAIT_LOCK, &lock, &lock.word,
      [&] {
        const int r = mpsync_lock_acquire(&lock, 1, 30.0);
        if (r == MPSYNC_OK) released_by_plain = mpsync_lock_release(&lock) == MPSYNC_OK;
        return r;
      },
      [](void *o) { return mpsync_lock_release(static_cast<mpsync_lock_t *>(o)); }, Ending::cancelled);
  EXPECT_EQ(released_by_plain.load(), 1);
  EXPECT_EQ(mpsync_lock_locked(&lock), 0);
}

TEST(Uring, LockWokenThenTimedOutPassesTheWake) {
  REQUIRE_URING();
  mpsync_lock_t lock;
  mpsync_lock_init(&lock);
  ASSERT_EQ(mpsync_lock_acquire(&lock, 0, 0), MPSYNC_OK);
  woken_then_abandoned(
      MPSYNC_WAIT_LOCK, &lock, &lock.word,
      [&] {
        const int r = mpsync_lock_acquire(&lock, 1, 30.0);
        if (r == MPSYNC_OK) mpsync_lock_release(&lock);
        return r;
      },
      [](void *o) { return mpsync_lock_release(static_cast<mpsync_lock_t *>(o)); }, Ending::timed_out);
  EXPECT_EQ(mpsync_lock_locked(&lock), 0);
}

// Timed out first, released later: the cancelled wait absorbed nothing, the release wakes the
// plain waiter directly.
TEST(Uring, TimedOutThenReleasedWakesThePlainWaiter) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  mpsync_sem_t sem;
  mpsync_sem_init(&sem, 0);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, &sem);
  ASSERT_EQ(ring.arm(w, 30), MPSYNC_URING_SUBMIT);
  std::atomic<pid_t> tid{0};
  std::atomic<int> got{-100};
  std::thread plain([&] {
    tid = gettid_();
    got = mpsync_sem_acquire(&sem, 1, 30.0);
  });
  EXPECT_TRUE(mpt::eventually([&] { return tid != 0 && blocked_on(tid, &sem.value); }));
  EXPECT_EQ(ring.wait_res(w), -ECANCELED);
  EXPECT_EQ(mpsync_uring_complete(&w, -ECANCELED), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_sem_release(&sem), MPSYNC_OK);
  plain.join();
  EXPECT_EQ(got.load(), MPSYNC_OK);
}

// Woken, but a barger took the lock first: complete says REARM and re-sets the waiters bit (so the
// barger's release wakes someone), and the re-armed wait gets it on that release.
TEST(Uring, RearmWhenSomeoneElseTookIt) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  mpsync_lock_t lock;
  mpsync_lock_init(&lock);
  ASSERT_EQ(mpsync_lock_acquire(&lock, 0, 0), MPSYNC_OK);
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_LOCK, &lock);
  ASSERT_EQ(ring.arm(w), MPSYNC_URING_SUBMIT);
  ASSERT_EQ(mpsync_lock_release(&lock), MPSYNC_OK);     // wakes the io_uring wait
  ASSERT_EQ(mpsync_lock_acquire(&lock, 0, 0), MPSYNC_OK);  // barges in: fast path, no waiters bit
  EXPECT_EQ(mpt::word(&lock) & 0x80000000u, 0u);
  EXPECT_EQ(ring.wait_res(w), 0);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_URING_REARM);
  EXPECT_NE(mpt::word(&lock) & 0x80000000u, 0u);  // passed on: the next release will wake
  ASSERT_EQ(ring.arm(w), MPSYNC_URING_SUBMIT);
  ASSERT_TRUE(ring.idle());
  ASSERT_EQ(mpsync_lock_release(&lock), MPSYNC_OK);
  EXPECT_EQ(ring.wait_res(w), 0);
  EXPECT_EQ(mpsync_uring_complete(&w, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_is_mine(&lock), 1);
  EXPECT_EQ(mpsync_lock_release(&lock), MPSYNC_OK);
}

// Several processes release a semaphore while one ring waits and re-arms: every token is taken
// exactly once, none is left behind.
TEST(Uring, RearmLoopAgainstProducerProcesses) {
  REQUIRE_URING();
  Ring ring;
  ASSERT_TRUE(ring.ok);
  auto region = mpt::shared();
  auto *sem = region.make<mpsync_sem_t>();
  constexpr int kProducers = 3, kEach = 300;
  mpt::Workers producers(Mode::processes);
  for (int p = 0; p < kProducers; ++p)
    producers.start([sem] {
      for (int i = 0; i < kEach; ++i) WCHECK(mpsync_sem_release(sem) == MPSYNC_OK);
      return 0;
    });
  mpsync_uring_wait_t w;
  mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, sem);
  int taken = 0, waits = 0;
  while (taken < kProducers * kEach) {
    const int r = ring.arm(w);
    if (r == MPSYNC_OK) {
      ++taken;
      continue;
    }
    ASSERT_EQ(r, MPSYNC_URING_SUBMIT);
    ++waits;
    const int res = ring.wait_res(w);
    ASSERT_NE(res, -ETIME) << "lost wake-up after " << taken << " tokens";
    const int c = mpsync_uring_complete(&w, res);
    ASSERT_TRUE(c == MPSYNC_OK || c == MPSYNC_URING_REARM) << c;
    taken += c == MPSYNC_OK;
  }
  EXPECT_EQ(producers.join(), 0);
  EXPECT_EQ(mpsync_sem_get_value(sem), 0);
  EXPECT_GT(waits + taken, 0);
}
