// mpsync::Semaphore / BoundedSemaphore — slow paths. Fast paths (one CAS) are inline in
// include/mpsync/semaphore.hpp.
//
// LAYOUT (8 bytes)
//   value  bits 0-30: the count C (0..MPSYNC_SEM_VALUE_MAX); bit 31: W, a waiter may be asleep
//   bound  0: unbounded; otherwise the BoundedSemaphore's initial value + 1 (so all-zero memory is
//          Semaphore(0)); fixed at init
// The bound check and the increment are one CAS (CPython checks then increments: racy).
//
// STATES: any C with or without W. ECORRUPT: bound > MAX + 1, or C > bound - 1 when bounded.
// INVARIANT: a thread asleep on `value` implies W is set, or a wake is on its way to some sleeper.
//
// TRANSITIONS AND MEMORY ORDER
//   acquire  C -> C-1        CAS acquire: reads-from the release that published the token
//            0 -> 0|W        CAS relaxed: announce, then futex_wait(value, W)
//            C|W -> (C-1)|W  by a waiter that has slept: it keeps W ("assume others"), since it
//                            cannot know whether others still sleep
//   release  C -> C+1        CAS release; if the old value had W: the new value drops W and the
//                            releaser issues FUTEX_WAKE(1) — it took over the duty W stood for
// glibc keeps a 32-bit waiter count beside the value in one 64-bit word; one bit is enough here
// because a woken waiter re-announces itself (the cost is at most one spare wake per burst).
//
// NO LOST WAKE-UP
//   CPU0 (waiter)                          CPU1 (releaser)
//   CAS(0 -> W)
//   futex_wait(value, W)                   CAS(W -> 1)     /* W dropped: CPU1 owes one wake */
//                                          futex_wake(value, 1)
// The kernel compares value with W under the bucket lock: if CPU1's CAS came first, EAGAIN and
// CPU0 takes the token; otherwise CPU0 is queued and CPU1's wake finds it. With several sleepers,
// the woken one keeps W when it takes its token (or re-sets it if a barger took the token), so
// the others stay covered. A waiter that slept and leaves without a token (timeout, interrupt)
// passes the wake on: wakes one if C > 0, else re-sets W (the same rule as Lock).
// Two releases in a row hand out two tokens but only the first sees W, so only one wake is sent;
// hence a woken waiter that takes a token and leaves C > 0 behind wakes one more sleeper:
//   CPU0 (S1 asleep)      CPU1 (S2 asleep)      CPU2 (releaser)
//                                               CAS(0|W -> 1), futex_wake(1) -> S1
//                                               CAS(1 -> 2)    /* no W: no wake */
//   CAS(2 -> 1|W)
//   futex_wake(1) ------> S2 runs, CAS(1|W -> 0|W)
// Without that last wake S2 would sleep while a token is free (found by the wait-any stress;
// regression test Semaphore.TwoReleasesWakeTwoSleepers). The cost: at most one spare wake when
// tokens remain and nobody else sleeps.
#include "impl.hpp"

namespace mpsync {
namespace {
constexpr std::uint32_t W = Semaphore::kWaiters;
constexpr std::uint32_t kCount = Semaphore::kCount;

// The largest count allowed, or 0 with `corrupt` set.
std::uint32_t limit_of(std::uint32_t bound, bool &corrupt) noexcept {
  corrupt = bound > kCount + 1u;
  return bound ? bound - 1 : kCount;
}

void pass_on(std::uint32_t *w) noexcept {
  std::uint32_t v = arch::load(w, arch::relaxed);
  for (;;) {
    if (v & kCount) return detail::unpark(w, 1);
    if ((v & W) || arch::cas(w, v, v | W, arch::relaxed)) return;
  }
}
}  // namespace

status Semaphore::acquire_slow(bool block, double timeout) noexcept {
  detail::deadline d;
  if (status s = detail::make_deadline(block, timeout, d); s != status::ok) return s;
  if (d.ns != detail::deadline::kExpired)
    detail::spin_until([&] { return (arch::load(&value_, arch::relaxed) & kCount) != 0; });
  bool slept = false;
  for (;;) {
    std::uint32_t v = arch::load(&value_, arch::relaxed);
    if (v & kCount) {
      if (!arch::cas(&value_, v, (v - 1) | (slept ? W : 0u), arch::acquire)) continue;
      // A woken waiter that leaves tokens behind wakes the next sleeper: releases that found W
      // already cleared by an earlier release issued no wake of their own (see the header).
      if (slept && ((v - 1) & kCount)) detail::unpark(&value_, 1);
      return status::ok;
    }
    if (detail::expired(d)) {
      if (slept) pass_on(&value_);
      return status::timedout;
    }
    if (!(v & W) && !arch::cas(&value_, v, v | W, arch::relaxed)) continue;
    slept = true;
    if (detail::park(&value_, W, d) == detail::park_result::interrupted) {
      pass_on(&value_);
      return status::interrupted;
    }
  }
}

status Semaphore::release_slow() noexcept {
  bool bad;
  const std::uint32_t bound = arch::load(&bound_, arch::relaxed);
  const std::uint32_t limit = limit_of(bound, bad);
  if (bad) return status::corrupt;
  std::uint32_t v = arch::load(&value_, arch::relaxed);
  do {
    const std::uint32_t c = v & kCount;
    if (c > limit) return status::corrupt;
    if (c == limit) return bound ? status::over_release : status::overflow;
  } while (!arch::cas(&value_, v, (v & kCount) + 1, arch::release));
  if (v & W) detail::unpark(&value_, 1);
  return status::ok;
}

int Semaphore::get_value_status() const noexcept {
  bool bad;
  const std::uint32_t limit = limit_of(arch::load(&bound_, arch::relaxed), bad);
  const std::uint32_t c = arch::load(&value_, arch::relaxed) & kCount;
  if (bad || c > limit) return static_cast<int>(status::corrupt);
  return static_cast<int>(c);
}

// ---- wait-any (runtime/waitable.cpp) ----
void detail::impl::sem_pass_on(Semaphore &s) noexcept { pass_on(&s.value_); }
// ---- end wait-any ----

}  // namespace mpsync
