// mpsync::Lock — a non-recursive lock that any thread or process may release (Python's
// multiprocessing.Lock). 4 bytes; word layout and ordering argument in runtime/lock.cpp.
#ifndef MPSYNC_LOCK_HPP
#define MPSYNC_LOCK_HPP

#include <chrono>

#include "detail/core.hpp"
#include "status.hpp"

namespace mpsync {

class Lock : public detail::lockable<Lock> {
 public:
  Lock() noexcept = default;  // all-zero: unlocked
  Lock(const Lock &) = delete;
  Lock &operator=(const Lock &) = delete;

  // Python parity.
  bool is_mine() const noexcept { return (arch::load(&word_, arch::relaxed) & detail::kTidMask) == detail::self_tid(); }
  bool locked() const noexcept { return (arch::load(&word_, arch::relaxed) & detail::kTidMask) != 0; }

  // acquire/release (Python) and lock/try_lock/try_lock_for/try_lock_until/unlock (std
  // Lockable, TimedLockable) come from detail::lockable.

  // noexcept status path. Fast paths: one CAS, no call.
  status acquire_status(bool block = true, timeout t = forever) noexcept {
    if (__builtin_expect(detail::bad_timeout(block, t), 0)) return status::invalid;
    std::uint32_t expected = 0;
    if (__builtin_expect(arch::cas(&word_, expected, detail::self_tid(), arch::acquire), 1)) return status::ok;
    return acquire_slow(block, t.seconds());
  }
  status release_status() noexcept {
    std::uint32_t expected = detail::self_tid();  // held by us, nobody asleep
    if (__builtin_expect(arch::cas(&word_, expected, 0u, arch::release), 1)) return status::ok;
    return release_slow();
  }

 private:
  friend struct detail::impl;
  status acquire_slow(bool block, double timeout) noexcept;
  status release_slow() noexcept;
  std::uint32_t word_ = 0;
};

}  // namespace mpsync

#endif
