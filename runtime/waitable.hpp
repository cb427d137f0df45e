// The per-kind interface of "wait for any": what mpsync_wait_any (runtime/wait_any.cpp) needs to
// know about each waitable kind (Lock, RLock, Semaphore, Event). SHARED with runtime/uring.cpp
// (asynchronous waits through io_uring): change it only additively, and keep it usable for a
// one-shot async wait (arm -> submit FUTEX_WAIT(V) on the targets -> on completion try_take(.., &t)
// -> pass_on the items not taken).
//
// The protocol each kind follows is its own primitive's (runtime/{lock,rlock,semaphore,event}.cpp):
// a sleeper announces itself with the primitive's waiters bit W before sleeping on the word, a
// release that finds W drops it and wakes one (Event: all), and a waiter that slept and leaves
// without taking passes the wake on. The sequence for one blocking wait over items[0..n):
//
//   for each i: try_take(items[i], nullptr)      // lowest index first; stop at the first taken
//   for each i: arm(items[i], t[i])             // sets W (or takes the item if it became ready)
//   sleep on {t[i].word == t[i].expected}       // futex_waitv / polling / an io_uring FUTEX_WAITV
//   for each i: try_take(items[i], &t[i])       // "armed" takes keep W (see below)
//   taken k  -> pass_on(items[i]) for every armed i != k; return k
//   none     -> re-arm (re-sets W: covers any wake absorbed) and sleep again
//   leaving without anything (timeout, interrupt) -> pass_on(items[i]) for every armed i
//
// What may remain on an item that was armed but not taken (the "left exactly as it was" rule):
// only its W bit — Lock/RLock FUTEX_WAITERS, Semaphore bit 31, Event bit 1. Every primitive already
// treats W as "someone MAY sleep" (a woken waiter keeps it by the "assume waiters" rule), so a stale
// W costs at most one spare FUTEX_WAKE at the next release and changes no result. No count, owner,
// generation or set bit is ever changed on an item not taken. On a free Lock/RLock W never remains:
// arm takes a free item instead of marking it, and pass_on wakes a sleeper instead of marking.
#ifndef MPSYNC_RUNTIME_WAITABLE_HPP
#define MPSYNC_RUNTIME_WAITABLE_HPP

#include <cstdint>

#include "mpsync.h"
#include "mpsync/status.hpp"

namespace mpsync::detail {

enum class take_result {
  taken,       // acquired (Lock, RLock incl. recursion, Semaphore token) or seen set (Event)
  owner_dead,  // RLock acquired with count 1; its previous owner died holding it
  busy,        // not ready
  corrupt,     // the object's word is not a valid state (status::corrupt)
  overflow,    // RLock recursion would pass ~0u (status::overflow)
};

// ok / owner_dead / timedout (busy) / corrupt / overflow.
status to_status(take_result r) noexcept;

// Where and on what value a waiter on one item sleeps, plus what try_take needs afterwards.
struct wait_target {
  const std::uint32_t *word = nullptr;  // the futex word (shared; FUTEX2_SIZE_U32)...
  std::uint32_t expected = 0;           // ...and the value it must still hold for the sleep to begin
  std::uint32_t since = 0;              // Event: generation at the FIRST arm (a change = "was set")
  bool armed = false;                   // arm() ran: W was announced on this item
  // RLock whose owner is not on a kernel robust list (qemu-user, seccomp): the kernel will not
  // report its death, so sleep at most kWatchSliceNs and then call watch(item, target).
  bool watch_owner = false;
};
inline constexpr std::int64_t kWatchSliceNs = 20'000'000;  // rlock.cpp's fallback slice

// Arguments only: EINVAL for a NULL object or an unknown kind (the word's state is try_take's job).
status validate(const mpsync_waitable &item) noexcept;

// One non-blocking attempt. `armed` null: a plain try (as block=0 would). `armed` = the target from
// arm(): the caller announced W and may have slept, so a Lock/RLock/Semaphore take keeps W set
// ("assume others sleep", as each primitive's own slow path does), and an Event also counts as
// taken when its generation moved since armed->since (a set() happened during the wait, even if a
// clear() followed: threading semantics, CONFORMANCE E3). RLock: the full first-acquire of
// rlock.cpp (robust-list bracket, count, "unlinked" flag), or recursion when the caller owns it.
take_result try_take(const mpsync_waitable &item, const wait_target *armed) noexcept;

// Announce a sleeper on the item (set its W) and fill `out` with the word/value to sleep on. If the
// item is ready while arming, take it (as try_take with armed) and return taken/owner_dead; on
// corrupt/overflow return that. `out` may hold a previous arm's target (its `since` is kept).
take_result arm(const mpsync_waitable &item, wait_target &out) noexcept;

// The caller armed this item, (maybe) slept, and leaves without taking it: pass on the wake it may
// have absorbed — wake one sleeper if the item is free, else make sure W is set. Event: nothing
// (set() wakes every sleeper). Safe to call for an item that absorbed nothing (a spare wake at worst).
void pass_on(const mpsync_waitable &item) noexcept;

// RLock fallback (target.watch_owner): after a sleep slice ended, if the owner seen at arm time no
// longer exists, mark the word OWNER_DIED (keeping W) as the kernel would; the next try_take gets
// owner_dead. No-op for other kinds.
void watch(const mpsync_waitable &item, const wait_target &target) noexcept;

// One relaxed load: does the item look ready (for spinning before arming; try_take decides)?
bool looks_ready(const mpsync_waitable &item) noexcept;

// The whole blocking wait (runtime/wait_any.cpp), arguments already validated (n in 1..128).
// index is written for ok / owner_dead / corrupt / overflow.
struct deadline;
status wait_any(const mpsync_waitable *items, unsigned n, const deadline &d, unsigned &index,
                bool interruptible) noexcept;

}  // namespace mpsync::detail

#endif
