// mpsync::Event — set/clear and the slow wait. is_set and the already-set wait are inline in
// include/mpsync/event.hpp.
//
// LAYOUT (one uint32_t)
//   bit 0      S: set
//   bit 1      W: a waiter may be asleep
//   bits 2-31  G: generation, +1 on every clear -> set transition (wraps)
// Every bit pattern is a valid state: nothing to detect.
//
// THREADING SEMANTICS (CONFORMANCE E3): a wait returns true if the event is set when it looks, or
// if G moved since the wait began — some set() happened during the wait, even if a clear() came
// right after (CPython's multiprocessing.Event can miss that, gh-95826).
//
// TRANSITIONS AND MEMORY ORDER
//   set     S=0: (G, W) -> (G+1, S, W=0)  CAS release, then FUTEX_WAKE(all) if W was set
//           S=1: nothing (idempotent)
//   clear   S -> 0                         fetch_and release
//   wait    W=0 -> W=1                     CAS relaxed, then futex_wait(word, that value)
//           observing S or a new G          acquire load: reads-from set's release CAS, so what
//                                           the setter wrote before set() is visible to the waiter
// NO LOST WAKE-UP
//   CPU0 (waiter)                          CPU1 (setter)
//   v = load()            /* G, S=0 */
//   CAS(v -> v|W)
//   futex_wait(word, v|W)                  CAS(v|W -> G+1|S)
//                                          futex_wake(word, all)
// If CPU1's CAS is first the kernel's compare fails (EAGAIN) and CPU0 sees S or G+1; otherwise
// CPU0 is queued and woken. set() wakes everyone, so dropping W loses nobody. A clear() between
// CPU0's load and its futex_wait changes nothing it depends on: G only grows.
// set and clear are a CAS / fetch_and and at most one futex syscall: async-signal-safe.
#include "impl.hpp"

namespace mpsync {

void Event::set() noexcept {
  std::uint32_t v = arch::load(&word_, arch::relaxed);
  do {
    if (v & kSet) return;
  } while (!arch::cas(&word_, v, ((v & ~kWaiters) + kGenOne) | kSet, arch::release));
  if (v & kWaiters) detail::unpark(&word_, detail::kAll);
}

void Event::clear() noexcept { arch::fetch_and(&word_, ~kSet, arch::release); }

status Event::wait_slow(double timeout) noexcept {
  detail::deadline d;
  if (status s = detail::make_deadline(true, timeout, d); s != status::ok) return s;
  std::uint32_t v = arch::load(&word_, arch::acquire);
  const std::uint32_t gen = v & ~(kSet | kWaiters);
  auto happened = [&](std::uint32_t x) { return (x & kSet) || (x & ~(kSet | kWaiters)) != gen; };
  if (d.ns != detail::deadline::kExpired)
    detail::spin_until([&] { return happened(v = arch::load(&word_, arch::acquire)); });
  for (;;) {
    if (happened(v)) return status::ok;
    if (detail::expired(d)) return status::timedout;
    if (!(v & kWaiters)) {
      if (!arch::cas(&word_, v, v | kWaiters, arch::acquire, arch::acquire)) continue;
      v |= kWaiters;
    }
    const detail::park_result r = detail::park(&word_, v, d);
    v = arch::load(&word_, arch::acquire);
    if (r == detail::park_result::interrupted && !happened(v)) return status::interrupted;
  }
}

}  // namespace mpsync
