// Helpers shared by the Condition conformance tests (tests/test_condition*.cpp).
#ifndef MPSYNC_TESTS_CONDITION_UTIL_HPP
#define MPSYNC_TESTS_CONDITION_UTIL_HPP

#include <atomic>
#include <functional>

#include "harness.hpp"

using mpsync::Condition;
using mpsync::Lock;
using mpsync::RLock;
using mpsync::status;
using mpt::Mode;

namespace ct {
// Shared scratch for a scenario; lives in the region.
struct Shared {
  std::atomic<int> woke{0};         // waits that returned true
  std::atomic<int> returned[8]{};   // per waiter: 1 = returned true, 2 = returned false
  std::atomic<int> phase{0};
  std::atomic<int> calls{0};        // predicate evaluations
  std::atomic<int> flag{0};
  std::atomic<int> attempts{0}, stolen{0}, stop{0};
  std::atomic<long> tid[8]{};       // per waiter, when the test needs to see it asleep
};

// The condition's words (mpsync_cond_t): seq, gen, sizes, state, then the lock slot.
inline const mpsync_cond_t *raw(const Condition *c) { return reinterpret_cast<const mpsync_cond_t *>(c); }
inline std::uint32_t seq_of(const Condition *c) { return mpt::word(c, 0); }
inline unsigned g2_of(const Condition *c) { return mpt::word(c, 2) >> 16; }
inline unsigned waiting(const Condition *c) { return (mpt::word(c, 2) & 0xffffu) + (mpt::word(c, 2) >> 16); }
inline unsigned grants(const Condition *c) { return mpt::word(c, 3) & 0xffffu; }
// The embedded RLock.
inline unsigned held_count(const Condition *c) { return mpsync_rlock_count(&raw(c)->lock); }
inline bool held_by_me(const Condition *c) { return mpsync_rlock_is_mine(&raw(c)->lock) == 1; }

// One wait: returns nonzero if the outcome is not `expect` or the lock is not held again.
inline int wait_once(Condition *c, Shared *sh, int id, double t, bool expect, bool embedded = true) {
  WCHECK(c->acquire());
  const bool ok = c->wait(t);
  if (embedded) WCHECK(held_by_me(c) && held_count(c) == 1);
  if (ok) sh->woke.fetch_add(1);
  sh->returned[id].store(ok ? 1 : 2);
  c->release();
  WCHECK(ok == expect);
  return 0;
}

inline void notify(Condition *c, unsigned n) {
  c->acquire();
  c->notify(n);
  c->release();
}
inline void notify_all(Condition *c) {
  c->acquire();
  c->notify_all();
  c->release();
}

// Runs at scope exit (declare after the Workers): a failed ASSERT must not leave waiters asleep.
struct Finally {
  std::function<void()> f;
  ~Finally() { f(); }
};

inline void stop_wait(pid_t p) {
  ASSERT_EQ(kill(p, SIGSTOP), 0);
  int st = 0;
  ASSERT_EQ(waitpid(p, &st, WUNTRACED), p);
  ASSERT_TRUE(WIFSTOPPED(st));
}

// Whether a lock word (Lock or RLock: owner TID in bits 0-29) names process p (a single-threaded
// child: TID == PID). The embedded RLock's word is the Condition's word 4.
inline bool lock_held_by(const std::uint32_t *lock_word, pid_t p) {
  return (mpt::word(lock_word) & 0x3fffffffu) == static_cast<std::uint32_t>(p);
}
inline const std::uint32_t *embedded_lock_word(const Condition *c) {
  return reinterpret_cast<const std::uint32_t *>(c) + 4;
}

// Stop a waiter process only once it is parked on the Condition — it has given the lock back
// (issue #12). A waiter counts itself in (waiting(c) rises) *before* it releases the lock, so a
// stop taken as soon as the count rises can freeze it holding the lock, and the test's next
// acquire waits forever. Stop, then check the frozen word: if it still names the victim, let it
// run on and try again.
inline void stop_parked(pid_t p, const std::uint32_t *lock_word) {
  for (int tries = 0; tries < 1000; ++tries) {
    ASSERT_TRUE(mpt::eventually([&] { return !lock_held_by(lock_word, p); })) << "waiter " << p << " keeps the lock";
    stop_wait(p);
    if (::testing::Test::HasFatalFailure() || !lock_held_by(lock_word, p)) return;
    ASSERT_EQ(kill(p, SIGCONT), 0);
  }
  FAIL() << "could not stop waiter " << p << " outside the lock";
}
inline void stop_parked(pid_t p, const Condition *c) { stop_parked(p, embedded_lock_word(c)); }

// A waiter on the other side (mode m) is woken by a notify from here.
inline void round_trip(Mode m, Condition *c, Shared *sh, bool embedded) {
  mpt::Workers w(m);
  w.start([=] { return wait_once(c, sh, 0, 30.0, true, embedded); });
  Finally fin{[&] { notify_all(c); }};
  ASSERT_TRUE(mpt::eventually([&] { return waiting(c) == 1; }));
  notify(c, 1);
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sh->woke.load(), 1);
}
}  // namespace ct

#endif
