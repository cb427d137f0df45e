// mpsync::RLock — slow paths. Fast paths (recursion, uncontended first acquire / last release)
// are inline in include/mpsync/rlock.hpp.
//
// LAYOUT (40 bytes, the size and robust-list geometry of glibc's pthread_mutex_t on x86_64/aarch64)
//   +0   word   owner TID (bits 0-29) | FUTEX_OWNER_DIED (bit 30) | FUTEX_WAITERS (bit 31)
//   +4   count  recursion level; written only by the owner, read relaxed by anyone
//   +8   reserved[4]
//   +24  prev   robust-list node, at word+24/word+32 like pthread_mutex_t's __list, so that the
//   +32  next   kernel's futex_offset (-32) finds the word from the node (runtime/robust.cpp)
// The word is in the kernel's robust-futex format, so owner death needs no layout change: when a
// thread dies with the node on its robust list the kernel rewrites the word to OWNER_DIED | (W).
//
// STATES                                   INVARIANTS
//   0              unlocked                 count == 0 unless locked (the owner stores 0 before it
//   T              owned by T, no sleeper     releases the word, 1 right after it acquires it)
//   T|W            owned, maybe sleepers    A sleeper implies W, or a wake on its way (as Lock).
//   OD, OD|W       free; its owner died     The next acquirer gets OWNER_DEAD with count 1.
//   T|OD, W alone  unreachable: ECORRUPT
//
// TRANSITIONS AND MEMORY ORDER — exactly Lock's (runtime/lock.cpp), plus:
//   recursion   count +/- 1, relaxed: only the owner writes count; other threads only read it
//               for count(), where a stale value is allowed
//   OD[|W] -> T[|W]   CAS acquire: recovery; W is kept, the kernel woke only one sleeper
// The no-lost-wake-up argument is Lock's, word for word (the same W protocol and pass-on rule).
#include "impl.hpp"

namespace mpsync {
namespace {
using detail::kOwnerDied;
using detail::kTidMask;
using detail::kWaiters;

bool is_garbage(std::uint32_t v) noexcept { return v == kWaiters || ((v & kOwnerDied) && (v & kTidMask)); }

// The owner drops the word (count already 0): wake one sleeper if W was set.
void release_word(std::uint32_t *w) noexcept {
  if (arch::exchange(w, 0u, arch::release) & kWaiters) detail::unpark(w, 1);
}
}  // namespace

status detail::impl::rlock_acquire(RLock &l, const deadline &d, bool interruptible) noexcept {
  std::uint32_t *w = &l.word_;
  const std::uint32_t tid = self_tid();
  if (d.ns != deadline::kExpired)
    spin_until([&] {
      std::uint32_t v = arch::load(w, arch::relaxed);
      return (v & kTidMask) == 0 || (v & kWaiters);
    });
  bool contended = false;
  for (;;) {
    std::uint32_t v = arch::load(w, arch::relaxed);
    if (is_garbage(v)) return status::corrupt;
    const std::uint32_t owner = v & kTidMask;
    if (owner == tid) {  // recursion reached through the slow path
      const std::uint32_t c = arch::load(&l.count_, arch::relaxed);
      if (c == 0) return status::corrupt;
      if (c == ~0u) return status::overflow;
      arch::store(&l.count_, c + 1, arch::relaxed);
      return status::ok;
    }
    if (owner == 0) {
      const bool died = v & kOwnerDied;
      const std::uint32_t nv = tid | ((contended || (v & kWaiters)) ? kWaiters : 0u);
      if (!arch::cas(w, v, nv, arch::acquire)) continue;
      arch::store(&l.count_, 1u, arch::relaxed);
      return died ? status::owner_dead : status::ok;
    }
    if (expired(d)) {
      if (contended) pass_on_wake(w, kTidMask, kWaiters);
      return status::timedout;
    }
    if (!(v & kWaiters)) {
      if (!arch::cas(w, v, v | kWaiters, arch::relaxed)) continue;
      v |= kWaiters;
    }
    contended = true;
    if (park(w, v, d, 0xffffffffu, interruptible) == park_result::interrupted) {
      pass_on_wake(w, kTidMask, kWaiters);
      return status::interrupted;
    }
  }
}

unsigned detail::impl::rlock_release_all(RLock &l) noexcept {
  const unsigned c = arch::load(&l.count_, arch::relaxed);
  arch::store(&l.count_, 0u, arch::relaxed);
  release_word(&l.word_);
  return c;
}

status detail::impl::rlock_restore(RLock &l, unsigned count) noexcept {
  const deadline forever;
  status s = rlock_acquire(l, forever, false);
  if (acquired(s)) arch::store(&l.count_, count ? count : 1u, arch::relaxed);
  return s;
}

bool detail::impl::rlock_valid(const RLock &l) noexcept { return !is_garbage(arch::load(&l.word_, arch::relaxed)); }

status RLock::acquire_slow(bool block, double timeout) noexcept {
  detail::deadline d;
  if (status s = detail::make_deadline(block, timeout, d); s != status::ok) return s;
  return detail::impl::rlock_acquire(*this, d, true);
}

status RLock::release_slow() noexcept {
  const std::uint32_t v = arch::load(&word_, arch::relaxed);
  if (is_garbage(v)) return status::corrupt;
  if ((v & kTidMask) != detail::self_tid()) return status::not_owner;
  return status::corrupt;  // ours, but count 0
}

status RLock::release_contended() noexcept {
  release_word(&word_);
  return status::ok;
}

}  // namespace mpsync
