// mpsync::RLock — a recursive lock owned by one thread of one process (Python's
// multiprocessing.RLock), robust: if its owner dies holding it, the next acquirer gets
// status::owner_dead. 40 bytes (pthread_mutex_t's size); layout and ordering in runtime/rlock.cpp.
#ifndef MPSYNC_RLOCK_HPP
#define MPSYNC_RLOCK_HPP

#include <chrono>

#include "detail/core.hpp"
#include "detail/robust_list.hpp"
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

  // noexcept status path, all inline when uncontended: recursion is a plain owner-only count (no
  // atomic RMW); the first acquire is a CAS and the last release an exchange, each inside the
  // robust list's list_op_pending bracket with the node linked/unlinked by plain stores
  // (detail/robust_list.hpp; the protocol in runtime/robust.cpp and runtime/rlock.cpp). Anything
  // else — contention, a dead owner, no robust list in this thread yet — is out of line.
  status acquire_status(bool block = true, timeout t = forever) noexcept {
    if (__builtin_expect(detail::bad_timeout(block, t), 0)) return status::invalid;
    const std::uint32_t tid = detail::self_tid();
    if ((arch::load(&word_, arch::relaxed) & detail::kTidMask) == tid) {
      const std::uint32_t c = arch::load(&count_, arch::relaxed);
      if (__builtin_expect(c == 0u || c == ~0u, 0)) return c ? status::overflow : status::corrupt;
      arch::store(&count_, c + 1, arch::relaxed);
      return status::ok;
    }
    if (robust::list_head *h = robust::cached_head()) {
      robust::set_pending(h, &next_);
      std::uint32_t expected = 0;
      if (__builtin_expect(arch::cas(&word_, expected, tid, arch::acquire), 1)) {
        arch::store(&count_, 1u, arch::relaxed);
        robust::enqueue(h, &next_);
        robust::clear_pending(h);
        if (__builtin_expect(arch::load(&reserved_[0], arch::relaxed) != 0, 0))  // was "unlinked"
          arch::store(&reserved_[0], 0u, arch::relaxed);
        return status::ok;
      }
      robust::clear_pending(h);
    }
    return acquire_slow(block, t.seconds());
  }
  status release_status() noexcept {
    const std::uint32_t c = arch::load(&count_, arch::relaxed);
    const std::uint32_t v = arch::load(&word_, arch::relaxed);
    if (__builtin_expect((v & ~detail::kWaiters) == detail::self_tid(), 1)) {
      if (c > 1) {
        arch::store(&count_, c - 1, arch::relaxed);
        return status::ok;
      }
      robust::list_head *h = robust::cached_head();
      // Inline only when the node is first on this thread's list (LIFO release): its links are
      // then the ones our enqueue wrote. Otherwise the slow path finds it by walking the list,
      // and never follows the links of a node this thread did not link (garbage memory naming
      // this thread as owner, found by fuzz/fuzz_state; tests/test_fuzz_regress.cpp).
      if (__builtin_expect(c == 1 && h != nullptr && h->list == &next_, 1)) {
        robust::set_pending(h, &next_);
        robust::dequeue(&next_);
        arch::store(&count_, 0u, arch::relaxed);  // before the word: the next owner stores 1
        if (arch::exchange(&word_, 0u, arch::release) & detail::kWaiters) wake_one();
        robust::clear_pending(h);
        return status::ok;
      }
    }
    return release_slow();
  }

 private:
  friend struct detail::impl;
  status acquire_slow(bool block, double timeout) noexcept;
  status release_slow() noexcept;  // not the owner, a bad word, or no robust list in this thread
  void wake_one() noexcept;        // after the last release found FUTEX_WAITERS
  std::uint32_t word_ = 0;
  std::uint32_t count_ = 0;
  std::uint32_t reserved_[4] = {};
  std::uint64_t prev_ = 0, next_ = 0;  // robust-list node (runtime/robust.cpp)
};

}  // namespace mpsync

#endif
