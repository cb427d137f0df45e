// detail::impl — the friend through which runtime/ reaches the primitives' words, and the internal
// entry points one primitive's slow path offers another (the Condition uses the locks').
#ifndef MPSYNC_RUNTIME_IMPL_HPP
#define MPSYNC_RUNTIME_IMPL_HPP

#include "mpsync/mpsync.hpp"
#include "park.hpp"

namespace mpsync::detail {

// A waiter that slept and leaves without taking the resource may have absorbed the one wake a
// release issued; pass it on. If the resource is taken (word & busy_mask != 0), make sure the
// waiters bit is set so its release wakes someone; if it is free, wake one sleeper now.
inline void pass_on_wake(std::uint32_t *w, std::uint32_t busy_mask, std::uint32_t waiters_bit) noexcept {
  std::uint32_t v = arch::load(w, arch::relaxed);
  for (;;) {
    if ((v & busy_mask) == 0) return unpark(w, 1);
    if ((v & waiters_bit) || arch::cas(w, v, v | waiters_bit, arch::relaxed)) return;
  }
}

struct cond_lock;

struct impl {
  // Lock (runtime/lock.cpp)
  static status lock_acquire(Lock &l, const deadline &d, bool interruptible) noexcept;
  static bool lock_is_mine(const Lock &l) noexcept { return l.is_mine(); }
  // RLock (runtime/rlock.cpp)
  static status rlock_acquire(RLock &l, const deadline &d, bool interruptible) noexcept;
  static status rlock_acquire_locked(RLock &l, const deadline &d, bool interruptible) noexcept;
  static unsigned rlock_release_all(RLock &l) noexcept;                 // owner only: drop every level
  static status rlock_restore(RLock &l, unsigned count) noexcept;       // re-acquire, uninterruptible
  static bool rlock_valid(const RLock &l) noexcept;
  // Condition (runtime/condition.cpp): the external lock's offset lives in the RLock slot.
  static std::uint32_t *slot_words(RLock &l) noexcept { return l.reserved_; }
  static const std::uint32_t *slot_words(const RLock &l) noexcept { return l.reserved_; }
  static status cond_resolve(Condition &c, cond_lock &out) noexcept;
  static status cond_wait(Condition &c, const cond_lock &b, const deadline &d) noexcept;
  // ---- wait-any (runtime/waitable.cpp; shared with runtime/uring.cpp) -----------------------
  static std::uint32_t *word(Lock &l) noexcept { return &l.word_; }
  static std::uint32_t *word(RLock &l) noexcept { return &l.word_; }
  static std::uint32_t *word(Semaphore &s) noexcept { return &s.value_; }
  static std::uint32_t *word(Event &e) noexcept { return &e.word_; }
  static bool rlock_owner_unlinked(const RLock &l) noexcept;             // rlock.cpp: fallback watch
  static void rlock_mark_dead_if_gone(RLock &l, std::uint32_t seen) noexcept;  // rlock.cpp
  static bool lock_word_garbage(std::uint32_t v) noexcept;               // lock.cpp's ECORRUPT test
  static void sem_pass_on(Semaphore &s) noexcept;                        // semaphore.cpp's pass_on
  // ---- end wait-any ---------------------------------------------------------------------------
};

}  // namespace mpsync::detail

#endif
