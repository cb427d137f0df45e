// mpsync::Lock — slow paths. The fast paths (one CAS each) are inline in include/mpsync/lock.hpp.
//
// WORD LAYOUT (one uint32_t):
//   bits 0-29  TID of the thread that last acquired it; 0 = unlocked
//   bit  30    never set by mpsync (a set bit means garbage: ECORRUPT)
//   bit  31    W ("waiters"): a thread may be asleep in futex_wait on this word
// The owner is in the shared word, so is_mine() is right in every process (Python keeps it per
// process, gh-117435); TIDs are unique system-wide within one PID namespace.
//
// STATES                          INVARIANTS
//   0        unlocked             W is never set while unlocked: a release clears it.
//   T        locked, no sleeper   A thread asleep on the word implies W set, or a wake on its way.
//   T|W      locked, maybe sleepers
//   anything else: ECORRUPT from acquire and release (never a crash, never a wait past a deadline).
//
// TRANSITIONS AND MEMORY ORDER
//   acquire  0 -> T      CAS acquire   fast path, uncontended
//            0 -> T|W    CAS acquire   after contention: "assume waiters" — the woken thread cannot
//                                      know whether others still sleep, so it keeps W (at worst one
//                                      release later wakes nobody: one spare syscall, never a loss)
//            T -> T|W    CAS relaxed   announce before sleeping; publishes no data
//   release  T -> 0      CAS release   fast path: the caller's own lock, nobody asleep, no syscall
//            X -> 0      CAS release   X locked by anyone (any thread/process may release), then
//                                      FUTEX_WAKE(1) if X had W
// An acquire CAS reads-from the previous release CAS, so each critical section happens-before the
// next. The W-setting CAS needs no order: the futex hash-bucket lock orders the kernel's compare in
// futex_wait against the wake (kernel/futex/waitwake.c, "ordering" comment).
//
// NO LOST WAKE-UP
//   CPU0 (waiter)                          CPU1 (holder)
//   v = load()          /* T */
//   CAS(T -> T|W)                          CAS(T|W -> 0)   /* the fast T -> 0 CAS now fails */
//   futex_wait(word, T|W)                  futex_wake(word, 1)
// If CPU1's CAS is before CPU0's futex_wait, the kernel's compare sees 0 != T|W: EAGAIN, CPU0
// retries and takes the lock. Otherwise CPU0 is queued before CPU1's wake and is woken. CPU1
// cannot slip through with a plain T -> 0 after CPU0's CAS because that CAS expects exactly T.
// After a release clears W, the woken waiter re-sets it as it acquires (0 -> T|W), so the
// remaining sleepers are still covered. A waiter that slept and then leaves WITHOUT the lock
// (timeout, interrupt) may have absorbed that wake, so it passes it on: it re-sets W if the lock
// is held, or wakes one sleeper if the lock is free (detail::pass_on_wake, runtime/impl.hpp):
//   CPU0 (S1, woken, times out)   CPU1                         CPU2 (S2 asleep)
//                                 CAS(T|W -> 0), wake -> S1
//                                 CAS(0 -> U)  /* no W */
//   pass_on: CAS(U -> U|W)
//                                 release: U|W -> 0, wake ---> S2 runs
#include "impl.hpp"

namespace mpsync {
namespace {
using detail::kOwnerDied;
using detail::kTidMask;
using detail::kWaiters;

bool is_garbage(std::uint32_t v) noexcept { return (v & kOwnerDied) || v == kWaiters; }
}  // namespace

status detail::impl::lock_acquire(Lock &l, const deadline &d, bool interruptible) noexcept {
  std::uint32_t *w = &l.word_;
  const std::uint32_t tid = self_tid();
  // Spin while the holder runs, with backoff, taking the lock the moment it reads free; stop when
  // others already sleep (the contention policy: runtime/park.hpp, spin_take). A W on a word this
  // thread holds is its own "assume waiters" mark from its last contended acquire, not a sleeper:
  // heeding it made a hand-off (the partner releases our lock) sleep on every round once it had
  // slept once (21 us a round trip where spinning gives ~1 us).
  if (d.ns != deadline::kExpired && spin_take([&] {
        std::uint32_t v = arch::load(w, arch::relaxed);
        if ((v & kWaiters) && (v & kTidMask) != tid) return -1;
        return v == 0 && arch::cas(w, v, tid, arch::acquire) ? 1 : 0;
      }) > 0)
    return status::ok;
  bool contended = false;
  for (;;) {
    std::uint32_t v = arch::load(w, arch::relaxed);
    if (is_garbage(v)) return status::corrupt;
    if (v == 0) {
      if (arch::cas(w, v, contended ? (tid | kWaiters) : tid, arch::acquire)) return status::ok;
      continue;
    }
    if (expired(d)) {
      if (contended) detail::pass_on_wake(w, kTidMask, kWaiters);
      return status::timedout;
    }
    if (!(v & kWaiters)) {
      if (!arch::cas(w, v, v | kWaiters, arch::relaxed)) continue;
      v |= kWaiters;
    }
    contended = true;
    if (park(w, v, d, 0xffffffffu, interruptible) == park_result::interrupted) {
      detail::pass_on_wake(w, kTidMask, kWaiters);
      return status::interrupted;
    }
  }
}

status Lock::acquire_slow(bool block, double timeout) noexcept {
  detail::deadline d;
  if (status s = detail::make_deadline(block, timeout, d); s != status::ok) return s;
  return detail::impl::lock_acquire(*this, d, true);
}

status Lock::release_slow() noexcept {
  std::uint32_t v = arch::load(&word_, arch::relaxed);
  do {
    if (is_garbage(v)) return status::corrupt;
    if ((v & kTidMask) == 0) return status::over_release;
  } while (!arch::cas(&word_, v, 0u, arch::release));
  if (v & kWaiters) detail::unpark(&word_, 1);
  return status::ok;
}

// ---- wait-any (runtime/waitable.cpp) ----
bool detail::impl::lock_word_garbage(std::uint32_t v) noexcept { return is_garbage(v); }
// ---- end wait-any ----

}  // namespace mpsync
