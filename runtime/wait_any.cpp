// mpsync_wait_any — wait until one of n Locks / RLocks / Semaphores / Events is ready and take
// exactly that one. The per-kind operations (try_take, arm, pass_on, watch) are in
// runtime/waitable.{hpp,cpp}; this file is the algorithm and its argument.
//
// STATE: none of its own. Each item keeps its own primitive's word and W ("a waiter may be
// asleep") bit; the wait-any is, towards each item, one more waiter obeying that primitive's rules.
// Per call, on the stack: wait_target t[i] (word, value armed, Event generation baseline).
//
// ALGORITHM
//   1. scan i = 0..n-1: try_take(items[i]) (one attempt each); the first taken wins
//      -> the lowest index among those ready at the call; nothing else was touched
//   2. timeout <= 0: TIMEDOUT (nothing was marked); n <= 8: spin (spin_until) on plain loads, re-scan as 1
//   3. arm i = 0..n-1: set W on each busy item and note {word, value|W}; an item found ready while
//      arming is taken (keeping W) and wins
//   4. ONE futex_waitv over the n (word, value|W) pairs (polling where futex_waitv is missing or
//      on the sleeploop backend; RLock owners off the robust lists cap the sleep at 20 ms and are
//      checked for death afterwards, as rlock.cpp's fallback does)
//   5. re-scan i = 0..n-1 with armed takes (Lock/RLock/Semaphore keep W; an Event whose generation
//      moved since it was armed counts as set) -> first taken wins
//   6. nothing taken: deadline passed -> TIMEDOUT, interrupt check said stop -> INTERRUPTED,
//      else back to 3 (re-arming re-sets W on every busy item)
//   LEAVING after 4 ran at least once (with item k taken, or with nothing): pass_on(items[j]) for
//   every j != k — wake one sleeper of j if j is free, else make sure j's W is set.
//
// WHAT REMAINS ON ITEMS NOT TAKEN: at most their W bit (waitable.hpp): a "maybe sleepers" bit the
// primitive's own protocol already keeps conservatively; it costs at most one spare FUTEX_WAKE.
//
// NO LOST WAKE-UP — (a) arming one item, per word (the primitive's argument, unchanged):
//   CPU0 (wait-any on A, B)                    CPU1 (holder of A)
//   CAS(A: T -> T|W)
//   futex_waitv({A, T|W}, {B, ...})            CAS(A: T|W -> 0)   /* the T -> 0 fast path fails */
//                                              futex_wake(A, 1)
// futex_waitv queues CPU0 on each word and compares it under that word's hash-bucket lock, as
// FUTEX_WAIT does. If CPU1's CAS comes first the compare fails (EAGAIN) and step 5 takes A;
// otherwise CPU0 is queued on A before CPU1's wake, which then wakes CPU0 (or another sleeper on A
// — then that one has the wake).
// (b) the absorbed wake (CPU0 woken through A takes B instead):
//   CPU0 (wait-any on B, A; asleep)  CPU1                        CPU2 (plain waiter on A; asleep)
//                                    release A: W dropped, wake(A, 1) -> CPU0
//                                    release B
//   re-scan: B (index 0) is taken
//   pass_on(A): A free -> futex_wake(A, 1) ---------------------> CPU2 runs and takes A
// If a third thread U grabbed A in between (0 -> U, no W: it never slept), pass_on finds A held
// and CASes U -> U|W instead, so U's release wakes CPU2. Without pass_on CPU2 would sleep while A
// is free (the CPU1 release already spent its one wake on CPU0).
// (c) several absorbed wakes: after the first wake dequeues CPU0's entry on A, its entries on the
// other words stay queued until CPU0 runs, and a release of C in that window may count CPU0 as
// the one it woke. futex_waitv's return names only one index, so CPU0 passes on for EVERY armed
// item it does not take, not only that one (a spare wake at worst for the others).
// (d) going back to sleep (nothing taken in 5): re-arming (3) is pass_on's CAS on each busy item
// (and takes a free one), so an absorbed wake on an item someone else grabbed is covered by W.
// (e) the woken taker keeps W ("assume others sleep"):
//   CPU0 (wait-any, woken via A)  CPU1 (release A: W dropped)    CPU2 (plain waiter on A, asleep)
//   armed take: 0 -> tid|W
//   ... CPU0 releases A: tid|W -> 0, wake(A, 1) ------------------> CPU2 runs
// A Semaphore armed take also wakes one more sleeper if tokens remain (waitable.cpp's header).
// (f) timeout / interrupt: step 5 runs after every sleep, so an item released at the deadline is
// still taken (as the single-object slow paths re-check), and leaving passes on per (b).
// (g) Event: set() wakes every sleeper and consumes nothing; there is no wake to pass on.
// (h) polling (sleeploop backend, or no futex_waitv): CPU0 is never in a kernel queue, so it
// absorbs no wake; its W bits only make releasers issue wakes that reach the futex sleepers that
// other code has (this process keeps issuing FUTEX_WAKE: a missing futex_waitv does not switch the
// process to the sleeploop backend — park.cpp). pass_on is then at worst a spare wake.
// (i) a dead RLock owner: the kernel marks the word OWNER_DIED and wakes one sleeper; if that was
// CPU0 and it takes another item, pass_on(A) sees A free (owner bits 0) and wakes the next one.
//
// MEMORY ORDER: every take is the primitive's acquire CAS (reads-from the release that freed the
// item), an Event is observed with an acquire load; W announcements are relaxed CASes, ordered
// against the releaser's wake by the futex bucket lock, as in each primitive.
//
// Interrupt caveat (park.cpp): with an SA_RESTART handler the kernel restarts futex_waitv by
// itself, so during a futex_waitv sleep (n >= 2) such a signal does not reach the interrupt check.
#include "impl.hpp"
#include "waitable.hpp"

namespace mpsync::detail {

constexpr unsigned kSpinMax = 8;

status wait_any(const mpsync_waitable *items, unsigned n, const deadline &d, unsigned &index,
                bool interruptible) noexcept {
  for (unsigned i = 0; i < n; ++i) {  // 1: the lowest ready index wins
    const take_result r = try_take(items[i], nullptr);
    if (r != take_result::busy) {
      index = i;
      return to_status(r);
    }
  }
  if (d.ns == deadline::kExpired) return status::timedout;  // 2
  // Spin briefly first, as the single-object slow paths do (a running partner hands over in
  // ~0.1 us; a sleep/wake costs 10-25 us). Only for small sets: spin_until's budget is calibrated
  // for one load per iteration.
  if (n <= kSpinMax && spin_until([&] {
        for (unsigned i = 0; i < n; ++i)
          if (looks_ready(items[i])) return true;
        return false;
      }))
    for (unsigned i = 0; i < n; ++i) {
      const take_result r = try_take(items[i], nullptr);
      if (r != take_result::busy) {
        index = i;
        return to_status(r);
      }
    }

  wait_target t[MPSYNC_WAIT_ANY_MAX];
  park_word pw[MPSYNC_WAIT_ANY_MAX];
  bool slept = false;
  // Leave with item k (k == n: none) and status s, passing on what may have been absorbed.
  auto leave = [&](unsigned k, status s) noexcept {
    if (slept)
      for (unsigned j = 0; j < n; ++j)
        if (j != k && t[j].armed) pass_on(items[j]);
    if (k < n) index = k;
    return s;
  };
  for (;;) {
    bool watching = false;
    for (unsigned i = 0; i < n; ++i) {  // 3
      const take_result r = arm(items[i], t[i]);
      if (r != take_result::busy) return leave(i, to_status(r));
      pw[i] = {t[i].word, t[i].expected};
      watching |= t[i].watch_owner;
    }
    deadline slice = d;
    if (watching) {
      const std::int64_t cap = now_ns() + kWatchSliceNs;
      if (slice.ns > cap) slice.ns = cap;
    }
    const park_result pr = park_any(pw, n, slice, interruptible);  // 4
    slept = true;
    for (unsigned i = 0; i < n; ++i) {  // 5
      const take_result r = try_take(items[i], &t[i]);
      if (r != take_result::busy) return leave(i, to_status(r));
    }
    if (pr == park_result::interrupted) return leave(n, status::interrupted);  // 6
    if (pr == park_result::timedout) {
      if (expired(d)) return leave(n, status::timedout);
      if (watching)
        for (unsigned i = 0; i < n; ++i) watch(items[i], t[i]);
    }
  }
}

}  // namespace mpsync::detail

extern "C" int mpsync_wait_any(const mpsync_waitable *items, unsigned n, double timeout, unsigned *index) {
  using namespace mpsync;
  if (items == nullptr || index == nullptr || n == 0 || n > MPSYNC_WAIT_ANY_MAX) return MPSYNC_EINVAL;
  for (unsigned i = 0; i < n; ++i)
    if (detail::validate(items[i]) != status::ok) return MPSYNC_EINVAL;
  detail::deadline d;
  if (status s = detail::make_deadline(true, timeout, d); s != status::ok) return static_cast<int>(s);
  return static_cast<int>(detail::wait_any(items, n, d, *index, true));
}
