// mpsync::RLock — a recursive lock owned by one thread of one process (Python's
// multiprocessing.RLock), robust: if its owner dies holding it, the next acquirer gets
// status::owner_dead. 40 bytes (pthread_mutex_t's size); layout and ordering in runtime/rlock.cpp.
#ifndef MPSYNC_RLOCK_HPP
#define MPSYNC_RLOCK_HPP

#include <chrono>

#include "detail/core.hpp"
#include "status.hpp"

namespace mpsync {

class RLock : public detail::lockable<RLock> {
 public:
  RLock() noexcept = default;  // all-zero: unlocked
  RLock(const RLock &) = delete;
  RLock &operator=(const RLock &) = delete;

  // Python parity. acquire() returns true also when the previous owner died (use acquire_status()
  // to learn that and repair the protected state).
  bool is_mine() const noexcept { return (arch::load(&word_, arch::relaxed) & detail::kTidMask) == detail::self_tid(); }
  bool locked() const noexcept { return (arch::load(&word_, arch::relaxed) & detail::kTidMask) != 0; }
  unsigned count() const noexcept { return locked() ? arch::load(&count_, arch::relaxed) : 0u; }

  // acquire/release (Python) and lock/try_lock/try_lock_for/try_lock_until/unlock (std
  // Lockable, TimedLockable) come from detail::lockable.

  // noexcept status path. Recursion is inline: a plain owner-only count, no atomic RMW. The first
  // acquire and the last release are out of line: they also link the lock into (and out of) the
  // thread's kernel robust list (runtime/robust.cpp).
  status acquire_status(bool block = true, timeout t = forever) noexcept {
    if (__builtin_expect(detail::bad_timeout(block, t), 0)) return status::invalid;
    if ((arch::load(&word_, arch::relaxed) & detail::kTidMask) == detail::self_tid()) {
      const std::uint32_t c = arch::load(&count_, arch::relaxed);
      if (__builtin_expect(c == 0u || c == ~0u, 0)) return c ? status::overflow : status::corrupt;
      arch::store(&count_, c + 1, arch::relaxed);
      return status::ok;
    }
    return acquire_slow(block, t.seconds());
  }
  status release_status() noexcept {
    const std::uint32_t c = arch::load(&count_, arch::relaxed);
    if (__builtin_expect(c > 1, 1) && (arch::load(&word_, arch::relaxed) & detail::kTidMask) == detail::self_tid()) {
      arch::store(&count_, c - 1, arch::relaxed);
      return status::ok;
    }
    return release_slow();
  }

 private:
  friend struct detail::impl;
  status acquire_slow(bool block, double timeout) noexcept;
  status release_slow() noexcept;  // the last level, or not the owner
  std::uint32_t word_ = 0;
  std::uint32_t count_ = 0;
  std::uint32_t reserved_[4] = {};
  std::uint64_t prev_ = 0, next_ = 0;  // robust-list node (runtime/robust.cpp)
};

}  // namespace mpsync

#endif
