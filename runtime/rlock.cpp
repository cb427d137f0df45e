// mpsync::RLock — slow paths. Fast paths (recursion, uncontended first acquire / last release)
// are inline in include/mpsync/rlock.hpp.
//
// LAYOUT (40 bytes, the size and robust-list geometry of glibc's pthread_mutex_t on x86_64/aarch64)
//   +0   word   owner TID (bits 0-29) | FUTEX_OWNER_DIED (bit 30) | FUTEX_WAITERS (bit 31)
//   +4   count  recursion level; written only by the owner, read relaxed by anyone
//   +8   reserved[0]  bit 0 "unlinked": the owner is not on a kernel robust list (fallback below)
//   +12  reserved[1..3]
//   +24  prev   robust-list node: word + 24 / word + 32, like pthread_mutex_t's __list, so the
//   +32  next   kernel's futex_offset (-32) finds the word from the node (runtime/robust.cpp)
//
// STATES                                   INVARIANTS
//   0              unlocked                 count == 0 unless locked (the owner stores 0 before it
//   T              owned by T, no sleeper     releases the word, 1 right after it acquires it)
//   T|W            owned, maybe sleepers    A sleeper implies W, or a wake on its way (as Lock).
//   OD, OD|W       free; its owner died     While T owns it, the node is on T's robust list
//   T|OD, W alone  unreachable: ECORRUPT      (unless "unlinked"), so T's death rewrites the word
//                                             to OD|(W) and wakes one sleeper (kernel, shared wake)
//
// TRANSITIONS AND MEMORY ORDER — Lock's (runtime/lock.cpp), plus:
//   recursion       count +/- 1, relaxed: only the owner writes count; others read it for count()
//   first acquire   pending = node; CAS 0 -> T (or OD[|W] -> T[|W]: OWNER_DEAD, count 1);
//                   enqueue node; pending = NULL                       (runtime/robust.cpp)
//   last release    pending = node; dequeue; count = 0; XCHG word -> 0 (release) and wake if W;
//                   pending = NULL
//   The list bracket makes every instant of both sequences safe to die in: before the CAS or
//   after the XCHG the word is not ours (the kernel wakes one waiter for a pending 0 word); in
//   between it is ours and listed or pending, so the kernel marks it OWNER_DIED.
//   Recovery keeps W: the kernel woke only one sleeper, others may still sleep.
// The no-lost-wake-up argument is Lock's, word for word (the same W protocol and pass-on rule).
//
// FALLBACK (no kernel robust list in the owner's thread: qemu-user and seccomp refuse
// get_robust_list, or MPSYNC_ROBUST_LIST=0): the owner sets "unlinked"; a waiter on such an owner
// sleeps in 20 ms slices and, when the owner's TID no longer exists (kill(tid, 0) == ESRCH),
// marks the word OWNER_DIED itself with a CAS from the value it saw. Costs: detection within
// ~20 ms instead of at once, a non-blocking try cannot detect it, a dead process's main thread is
// seen alive until its parent reaps it, and a reused TID hides the death.
#include "impl.hpp"
#include "futex.hpp"
#include "robust.hpp"

namespace mpsync {
namespace {
using detail::kOwnerDied;
using detail::kTidMask;
using detail::kWaiters;

constexpr std::uint32_t kUnlinked = 1;  // reserved[0]: the owner is not on a robust list
constexpr std::int64_t kWatchSliceNs = 20'000'000;  // fallback: look for a dead owner every 20 ms

bool is_garbage(std::uint32_t v) noexcept { return v == kWaiters || ((v & kOwnerDied) && (v & kTidMask)); }

// Whether `node` is on this thread's robust list, found by walking the list's own links from the
// head (at most 2048 entries, the kernel's ROBUST_LIST_LIMIT). An RLock whose word names this
// thread although this thread never linked it (garbage memory, CONFORMANCE M2) has arbitrary
// prev/next words: they are never followed (fuzz/fuzz_state found the crash;
// tests/test_fuzz_regress.cpp). Such a lock is released as if unlinked, and its node left alone.
bool on_my_list(robust::list_head *h, const std::uint64_t *node) noexcept {
  const auto end = reinterpret_cast<std::uint64_t>(&h->list), me = reinterpret_cast<std::uint64_t>(node);
  std::uint64_t p = reinterpret_cast<std::uint64_t>(h->list);
  for (int i = 0; i < 2048 && (p & ~std::uint64_t{1}) != end; ++i) {
    if ((p & ~std::uint64_t{1}) == me) return true;
    p = *robust::next_slot(p);
  }
  return false;
}

// The owner drops its last level: unlink the node, clear count and word, wake one sleeper if W
// was set — inside the list_op_pending bracket, so a death at any point is handled by the kernel.
void release_last(std::uint32_t *w, std::uint32_t *count, std::uint64_t *node) noexcept {
  robust::list_head *h = robust::head();
  if (h) {
    robust::set_pending(h, node);
    if (*node && on_my_list(h, node)) robust::dequeue(node);
  }
  arch::store(count, 0u, arch::relaxed);
  if (arch::exchange(w, 0u, arch::release) & kWaiters) detail::unpark(w, 1);
  if (h) robust::clear_pending(h);
}
}  // namespace

status detail::impl::rlock_acquire(RLock &l, const deadline &d, bool interruptible) noexcept {
  if ((arch::load(&l.word_, arch::relaxed) & kTidMask) == self_tid()) {  // recursion
    const std::uint32_t c = arch::load(&l.count_, arch::relaxed);
    if (c == 0) return status::corrupt;
    if (c == ~0u) return status::overflow;
    arch::store(&l.count_, c + 1, arch::relaxed);
    return status::ok;
  }
  robust::list_head *h = robust::head();
  if (h) robust::set_pending(h, &l.next_);
  const status s = rlock_acquire_locked(l, d, interruptible);
  if (h) {
    if (s == status::ok || s == status::owner_dead) robust::enqueue(h, &l.next_);
    robust::clear_pending(h);
  }
  // Tell waiters whether the kernel will report our death, or they must watch for it.
  if (s == status::ok || s == status::owner_dead) arch::store(&l.reserved_[0], h ? 0u : kUnlinked, arch::relaxed);
  return s;
}

// The acquire loop of a first acquisition (not recursion: the word cannot become ours meanwhile);
// the caller brackets it with list_op_pending and enqueues on success.
status detail::impl::rlock_acquire_locked(RLock &l, const deadline &d, bool interruptible) noexcept {
  std::uint32_t *w = &l.word_;
  const std::uint32_t tid = self_tid();
  // Lock's contention policy (runtime/park.hpp, spin_take): spin with backoff while the owner
  // runs and nobody sleeps, take a plain free word at once; any other free word (OWNER_DIED) goes
  // to the loop below.
  if (d.ns != deadline::kExpired && spin_take([&] {
        std::uint32_t v = arch::load(w, arch::relaxed);
        if (v & kWaiters) return -1;
        if (v == 0) return arch::cas(w, v, tid, arch::acquire) ? 2 : 0;
        return (v & kTidMask) == 0 ? 1 : 0;
      }) == 2) {
    arch::store(&l.count_, 1u, arch::relaxed);
    return status::ok;
  }
  bool contended = false;
  for (;;) {
    std::uint32_t v = arch::load(w, arch::relaxed);
    if (is_garbage(v)) return status::corrupt;
    const std::uint32_t owner = v & kTidMask;
    if (owner == tid) return status::corrupt;  // ours, yet not seen as ours a moment ago
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
    // An owner not on a robust list cannot be reported dead by the kernel: sleep in slices and
    // look for it (the fallback; see the header).
    const bool watch = arch::load(&l.reserved_[0], arch::relaxed) & kUnlinked;
    deadline slice = d;
    if (watch) {
      const std::int64_t cap = now_ns() + kWatchSliceNs;
      if (slice.ns > cap) slice.ns = cap;
    }
    const park_result r = park(w, v, slice, 0xffffffffu, interruptible);
    if (r == park_result::interrupted) {
      pass_on_wake(w, kTidMask, kWaiters);
      return status::interrupted;
    }
    if (watch && r == park_result::timedout && !sys::thread_alive(owner)) {
      std::uint32_t cur = v;  // mark it as the kernel would: OWNER_DIED, keep W
      arch::cas(w, cur, kOwnerDied | (v & kWaiters), arch::relaxed);
    }
  }
}

unsigned detail::impl::rlock_release_all(RLock &l) noexcept {
  const unsigned c = arch::load(&l.count_, arch::relaxed);
  release_last(&l.word_, &l.count_, &l.next_);
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

void RLock::wake_one() noexcept { detail::unpark(&word_, 1); }

status RLock::release_slow() noexcept {
  const std::uint32_t v = arch::load(&word_, arch::relaxed);
  if (is_garbage(v)) return status::corrupt;
  if ((v & kTidMask) != detail::self_tid()) return status::not_owner;
  const std::uint32_t c = arch::load(&count_, arch::relaxed);
  if (c == 0) return status::corrupt;
  if (c > 1) {
    arch::store(&count_, c - 1, arch::relaxed);
    return status::ok;
  }
  release_last(&word_, &count_, &next_);
  return status::ok;
}

// ---- wait-any (runtime/waitable.cpp): the fallback watch, as rlock_acquire_locked does it ----
bool detail::impl::rlock_owner_unlinked(const RLock &l) noexcept {
  return arch::load(&l.reserved_[0], arch::relaxed) & kUnlinked;
}

void detail::impl::rlock_mark_dead_if_gone(RLock &l, std::uint32_t seen) noexcept {
  const std::uint32_t owner = seen & kTidMask;
  if (owner == 0 || (seen & kOwnerDied) || sys::thread_alive(owner)) return;
  std::uint32_t cur = seen;  // mark it as the kernel would: OWNER_DIED, keep W
  arch::cas(&l.word_, cur, kOwnerDied | (seen & kWaiters), arch::relaxed);
}
// ---- end wait-any ----

}  // namespace mpsync
