// mpsync::Condition — Python's Condition: bound to an RLock embedded in it (the default) or to a
// Lock/RLock in the same mapping (kept as a self-relative offset). notify(n) wakes exactly
// min(n, waiting) of the waits that had begun before it; no spurious wake-ups; notify never blocks.
// 56 bytes (16 of its own + the lock slot). Protocol, states and ordering in runtime/condition.cpp.
#ifndef MPSYNC_CONDITION_HPP
#define MPSYNC_CONDITION_HPP

#include <chrono>
#include <type_traits>

#include "lock.hpp"
#include "rlock.hpp"
#include "status.hpp"

namespace mpsync {

class Condition : public detail::lockable<Condition> {
 public:
  Condition() noexcept = default;  // all-zero: uses the embedded RLock
  explicit Condition(Lock &l) { detail::check(init(MPSYNC_KIND_LOCK, &l)); }
  explicit Condition(RLock &l) { detail::check(init(MPSYNC_KIND_RLOCK, &l)); }
  Condition(const Condition &) = delete;
  Condition &operator=(const Condition &) = delete;

  // lock == nullptr: the embedded RLock. Otherwise a Lock/RLock in the same mapping (any distance).
  status init(mpsync_lock_kind kind, void *lock) noexcept;

  // The condition is itself acquirable (Python's `with cond:`): acquire/release and the std
  // Lockable members come from detail::lockable.

  // true when notified, false at the deadline; the lock is held again on return.
  bool wait(timeout t = forever) { return detail::to_bool(wait_status(t)); }
  template <class Pred>
  bool wait_for(Pred pred, timeout t = forever) {
    return detail::to_bool(wait_for_status(&call<Pred>, &pred, t));
  }
  void notify(unsigned n = 1) { detail::check(notify_status(n)); }
  void notify_all() { detail::check(notify_all_status()); }

  // Inline for the embedded RLock (the default): the lock's own fast paths, and notify with
  // nobody waiting is an ownership check. An external lock goes through its offset, out of line.
  status acquire_status(bool block = true, timeout t = forever) noexcept {
    if (__builtin_expect(embedded(), 1)) return lock_.acquire_status(block, t);
    return acquire_slow(block, t);
  }
  status release_status() noexcept {
    if (__builtin_expect(embedded(), 1)) return lock_.release_status();
    return release_slow();
  }
  status wait_status(timeout t = forever) noexcept;
  status wait_for_status(int (*pred)(void *), void *ctx, timeout t = forever) noexcept;
  status notify_status(unsigned n = 1) noexcept {
    // sizes_ is read under the lock when the caller holds it; if not, is_mine() says so anyway.
    if (__builtin_expect(embedded() && arch::load(&sizes_, arch::relaxed) == 0, 1))
      return lock_.is_mine() ? status::ok : status::not_owner;
    return notify_slow(n);
  }
  status notify_all_status() noexcept { return notify_status(~0u); }

 private:
  friend struct detail::impl;
  // state_ holds only grants (low 16 bits): the embedded RLock, and no stray bits (else the slow
  // path resolves the external lock or reports ECORRUPT).
  bool embedded() const noexcept { return (arch::load(&state_, arch::relaxed) & ~0xffffu) == 0; }
  status acquire_slow(bool block, timeout t) noexcept;
  status release_slow() noexcept;
  status notify_slow(unsigned n) noexcept;
  template <class Pred>
  static int call(void *p) { return (*static_cast<Pred *>(p))() ? 1 : 0; }
  // Words read and written only under the bound lock, except seq_ (the futex word).
  std::uint32_t seq_ = 0;    // count (bits 1-31) bumped by every notify that grants; bit 0: sleepers
  std::uint32_t gen_ = 0;    // generation of group G1; G2 is gen_ + 1
  std::uint32_t sizes_ = 0;  // G1 waiters not yet granted (low 16) | G2 waiters (high 16)
  std::uint32_t state_ = 0;  // grants to G1 not yet taken (low 16) | lock kind (bits 16-17)
  RLock lock_;               // the embedded RLock, or (external lock) its offset
};

}  // namespace mpsync

#endif
