// Shared by test_timeouts.cpp and test_signals.cpp (CONFORMANCE T1-T7): one of each primitive in a
// state where a wait blocks, the blocking call for each kind, what a timeout returns, a check that
// an unsuccessful wait took nothing, and a way to end a wait in progress.
#ifndef MPSYNC_TESTS_TIMEOUT_OBJECTS_HPP
#define MPSYNC_TESTS_TIMEOUT_OBJECTS_HPP

#include <atomic>
#include <functional>
#include <limits>
#include <thread>

#include "harness.hpp"

namespace mpt_timeouts {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

enum Kind { kSem, kLock, kRLock, kEvent, kCond, kBarrier };
inline const char *const kNames[] = {"sem", "lock", "rlock", "event", "cond", "barrier"};

// One of each primitive, in a state where a wait blocks: sem 0, lock and rlock held by the
// constructing thread, event clear, cond free (the waiter takes it), barrier of 2.
struct Objects {
  mpsync_lock_t l;
  mpsync_rlock_t rl;
  mpsync_sem_t s;
  mpsync_event_t e;
  mpsync_cond_t c;
  mpsync_barrier_t b;
  std::atomic<int> ready{0};
  Objects() {
    mpsync_lock_init(&l);
    mpsync_rlock_init(&rl);
    mpsync_sem_init(&s, 0);
    mpsync_event_init(&e);
    mpsync_cond_init(&c, MPSYNC_KIND_RLOCK, nullptr);
    mpsync_barrier_init(&b, 2);
    EXPECT_EQ(mpsync_lock_acquire(&l, 1, 1.0), MPSYNC_OK);
    EXPECT_EQ(mpsync_rlock_acquire(&rl, 1, 1.0), MPSYNC_OK);
  }
  ~Objects() {  // never leave an RLock on this thread's robust list when the memory goes
    while (mpsync_rlock_is_mine(&rl)) mpsync_rlock_release(&rl);
  }

  // The blocking call, in a thread other than the constructor's. Locks taken are given back.
  int wait(Kind k, double t) {
    int rc;
    switch (k) {
      case kSem: return mpsync_sem_acquire(&s, 1, t);
      case kLock:
        rc = mpsync_lock_acquire(&l, 1, t);
        if (rc == MPSYNC_OK) mpsync_lock_release(&l);
        return rc;
      case kRLock:
        rc = mpsync_rlock_acquire(&rl, 1, t);
        if (rc == MPSYNC_OK) mpsync_rlock_release(&rl);
        return rc;
      case kEvent: return mpsync_event_wait(&e, t);
      case kCond:
        if (mpsync_cond_acquire(&c, 1, kInf) != MPSYNC_OK) return -100;
        ready = 1;
        rc = mpsync_cond_wait(&c, t);
        if (!mpsync_rlock_is_mine(&c.lock)) return -101;  // re-held on every return
        mpsync_cond_release(&c);
        return rc;
      case kBarrier: return mpsync_barrier_wait(&b, t, nullptr, nullptr, nullptr);
    }
    return -102;
  }
  static int timed_out(Kind k) { return k == kBarrier ? MPSYNC_BROKEN : MPSYNC_TIMEDOUT; }
  // After a wait that ended without success: nothing was taken.
  bool nothing_held(Kind k) {
    switch (k) {
      case kSem: return mpsync_sem_get_value(&s) == 0;
      case kLock: return mpsync_lock_is_mine(&l) == 1;  // still ours, not the waiter's
      case kRLock: return mpsync_rlock_is_mine(&rl) == 1 && mpsync_rlock_count(&rl) == 1;
      case kEvent: return mpsync_event_is_set(&e) == 0;
      case kCond: return mpsync_rlock_locked(&c.lock) == 0;
      case kBarrier: return mpsync_barrier_n_waiting(&b) == 0;
    }
    return false;
  }
  // End a wait that is in progress (from the constructing thread).
  void wake(Kind k) {
    switch (k) {
      case kSem: EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_OK); break;
      case kLock: EXPECT_EQ(mpsync_lock_release(&l), MPSYNC_OK); break;
      case kRLock: EXPECT_EQ(mpsync_rlock_release(&rl), MPSYNC_OK); break;
      case kEvent: EXPECT_EQ(mpsync_event_set(&e), MPSYNC_OK); break;
      case kCond:  // the waiter set `ready` holding the lock and gives it up only in wait
        ASSERT_TRUE(mpt::eventually([&] { return ready.load() == 1; }));
        ASSERT_EQ(mpsync_cond_acquire(&c, 1, 30.0), MPSYNC_OK);
        EXPECT_EQ(mpsync_cond_notify(&c, 1), MPSYNC_OK);
        EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_OK);
        break;
      case kBarrier: EXPECT_EQ(mpsync_barrier_wait(&b, 30.0, nullptr, nullptr, nullptr), MPSYNC_OK); break;
    }
  }
};

// Runs fn in another thread and returns its result (the holder of the objects stays here).
inline int in_thread(const std::function<int()> &fn) {
  int rc = -999;
  std::thread t([&] { rc = fn(); });
  t.join();
  return rc;
}

}  // namespace mpt_timeouts

#endif
