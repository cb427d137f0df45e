// The per-kind side of "wait for any" (interface and the rules it follows: runtime/waitable.hpp;
// the algorithm and its no-lost-wake-up argument: runtime/wait_any.cpp). Shared with
// runtime/uring.cpp. Each kind reuses its primitive's own word protocol:
//
//   kind       word            "busy"               W bit        take (armed: keep W)
//   Lock       owner|W         owner bits != 0      bit 31       CAS 0 -> tid[|W]          (lock.cpp)
//   RLock      owner|OD|W      owner bits != 0      bit 31       impl::rlock_acquire with an
//                                                                expired deadline (robust-list
//                                                                bracket, count, OWNER_DEAD,
//                                                                "unlinked"), then W   (rlock.cpp)
//   Semaphore  count|W         count == 0           bit 31       CAS C -> (C-1)[|W]   (semaphore.cpp)
//   Event      gen|W|S         S clear, gen same    bit 1        nothing consumed         (event.cpp)
//
// ARM (announce, then sleep on the value seen): a CAS that sets W on the exact busy value v, then
// the sleep compares the word with v|W. Any release after the CAS changes the word (the owner or
// count bits move and W is dropped), so the sleep either does not begin (EAGAIN) or is queued
// before the release's wake: each primitive's own CPU0/CPU1 argument, applied per word.
//
// ARMED TAKE of a Semaphore token also runs the semaphore's pass-on rule afterwards: if tokens
// remain, wake one more sleeper. Reason (the CPU0/CPU1 case):
//   CPU0 (wait-any, asleep)  CPU1                       CPU2 (plain waiter, asleep)
//                            release: W -> 1, wake(1) -> CPU0
//                            release: 1 -> 2 (no W: no wake)
//   take: 2 -> 1|W
// Without the extra wake CPU2 would sleep while a token is free; with it CPU2 runs. (A Lock has
// one unit, so a woken Lock taker only has to keep W — done in the take CAS itself.)
#include "waitable.hpp"

#include <cstring>

#include "impl.hpp"

namespace mpsync::detail {
namespace {

constexpr std::uint32_t kSemW = Semaphore::kWaiters;
constexpr std::uint32_t kSemCount = Semaphore::kCount;
constexpr std::uint32_t kEvGen = ~(Event::kSet | Event::kWaiters);

template <class T>
T &obj(const mpsync_waitable &i) noexcept {
  return *static_cast<T *>(i.object);
}

std::uint32_t *word_of(const mpsync_waitable &i) noexcept {
  switch (i.kind) {
    case MPSYNC_WAIT_LOCK: return impl::word(obj<Lock>(i));
    case MPSYNC_WAIT_RLOCK: return impl::word(obj<RLock>(i));
    case MPSYNC_WAIT_SEM: return impl::word(obj<Semaphore>(i));
    default: return impl::word(obj<Event>(i));
  }
}

std::uint32_t waiters_bit(mpsync_wait_kind k) noexcept { return k == MPSYNC_WAIT_EVENT ? Event::kWaiters : kWaiters; }

bool is_free(mpsync_wait_kind k, std::uint32_t v) noexcept {
  return k == MPSYNC_WAIT_SEM ? (v & kSemCount) != 0 : (v & kTidMask) == 0;
}

take_result take_lock(Lock &l, bool armed) noexcept {
  std::uint32_t *w = impl::word(l);
  const std::uint32_t tid = self_tid();
  for (;;) {
    std::uint32_t v = arch::load(w, arch::relaxed);
    if (impl::lock_word_garbage(v)) return take_result::corrupt;
    if (v != 0) return take_result::busy;
    if (arch::cas(w, v, armed ? (tid | kWaiters) : tid, arch::acquire)) return take_result::taken;
  }
}

take_result take_rlock(RLock &l, bool armed) noexcept {
  const deadline once{deadline::kExpired};
  const status s = impl::rlock_acquire(l, once, false);
  if (armed && acquired(s)) pass_on_wake(impl::word(l), kTidMask, kWaiters);  // ours: makes sure of W
  switch (s) {
    case status::ok: return take_result::taken;
    case status::owner_dead: return take_result::owner_dead;
    case status::timedout: return take_result::busy;
    case status::overflow: return take_result::overflow;
    default: return take_result::corrupt;
  }
}

take_result take_sem(Semaphore &s, bool armed) noexcept {
  std::uint32_t *w = impl::word(s);
  std::uint32_t v = arch::load(w, arch::relaxed);
  for (;;) {
    if ((v & kSemCount) == 0) return take_result::busy;
    if (arch::cas(w, v, (v - 1) | (armed ? kSemW : 0u), arch::acquire)) break;
  }
  if (armed) impl::sem_pass_on(s);  // tokens left and W possibly dropped: wake one more (header)
  return take_result::taken;
}

take_result take_event(const Event &e, const wait_target *armed) noexcept {
  const std::uint32_t v = arch::load(impl::word(const_cast<Event &>(e)), arch::acquire);
  if ((v & Event::kSet) || (armed && (v & kEvGen) != armed->since)) return take_result::taken;
  return take_result::busy;
}

}  // namespace

status to_status(take_result r) noexcept {
  switch (r) {
    case take_result::taken: return status::ok;
    case take_result::owner_dead: return status::owner_dead;
    case take_result::busy: return status::timedout;
    case take_result::overflow: return status::overflow;
    default: return status::corrupt;
  }
}

status validate(const mpsync_waitable &item) noexcept {
  if (item.object == nullptr) return status::invalid;
  // A C caller may store any int in the enum field: read its bytes, not an enum value (loading an
  // out-of-range enum is undefined behaviour in C++; the same rule as mpsync_cond_init's kind).
  int k;
  static_assert(sizeof k == sizeof item.kind);
  std::memcpy(&k, &item.kind, sizeof k);
  switch (k) {
    case MPSYNC_WAIT_LOCK:
    case MPSYNC_WAIT_RLOCK:
    case MPSYNC_WAIT_SEM:
    case MPSYNC_WAIT_EVENT: return status::ok;
    default: return status::invalid;
  }
}

take_result try_take(const mpsync_waitable &item, const wait_target *armed) noexcept {
  const bool a = armed && armed->armed;
  switch (item.kind) {
    case MPSYNC_WAIT_LOCK: return take_lock(obj<Lock>(item), a);
    case MPSYNC_WAIT_RLOCK: return take_rlock(obj<RLock>(item), a);
    case MPSYNC_WAIT_SEM: return take_sem(obj<Semaphore>(item), a);
    default: return take_event(obj<Event>(item), a ? armed : nullptr);
  }
}

take_result arm(const mpsync_waitable &item, wait_target &out) noexcept {
  std::uint32_t *w = word_of(item);
  const std::uint32_t wbit = waiters_bit(item.kind);
  if (item.kind == MPSYNC_WAIT_EVENT) {
    std::uint32_t v = arch::load(w, arch::acquire);
    if (!out.armed) out.since = v & kEvGen;  // the wait begins: a later generation means "was set"
    for (;;) {
      if ((v & Event::kSet) || (v & kEvGen) != out.since) return take_result::taken;
      if ((v & wbit) || arch::cas(w, v, v | wbit, arch::acquire, arch::acquire)) break;
    }
    out = {w, v | wbit, out.since, true, false};
    return take_result::busy;
  }
  const wait_target as_armed{w, 0, 0, true, false};
  for (;;) {
    const take_result r = try_take(item, &as_armed);  // a ready item is taken, keeping W
    if (r != take_result::busy) return r;
    std::uint32_t v = arch::load(w, arch::relaxed);
    if (is_free(item.kind, v)) continue;  // released meanwhile: take it
    if (!(v & wbit) && !arch::cas(w, v, v | wbit, arch::relaxed)) continue;
    const bool watch = item.kind == MPSYNC_WAIT_RLOCK && impl::rlock_owner_unlinked(obj<RLock>(item));
    out = {w, v | wbit, 0, true, watch};
    return take_result::busy;
  }
}

bool looks_ready(const mpsync_waitable &item) noexcept {
  const std::uint32_t v = arch::load(word_of(item), arch::relaxed);
  return item.kind == MPSYNC_WAIT_EVENT ? (v & Event::kSet) != 0 : is_free(item.kind, v);
}

void pass_on(const mpsync_waitable &item) noexcept {
  switch (item.kind) {
    case MPSYNC_WAIT_LOCK:
    case MPSYNC_WAIT_RLOCK: return pass_on_wake(word_of(item), kTidMask, kWaiters);
    case MPSYNC_WAIT_SEM: return impl::sem_pass_on(obj<Semaphore>(item));
    default: return;  // Event: set() woke every sleeper, there is nothing to pass on
  }
}

void watch(const mpsync_waitable &item, const wait_target &target) noexcept {
  if (item.kind == MPSYNC_WAIT_RLOCK && target.watch_owner)
    impl::rlock_mark_dead_if_gone(obj<RLock>(item), target.expected);
}

}  // namespace mpsync::detail
