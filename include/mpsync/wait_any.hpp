// mpsync::wait_any — wait until one of several Locks / RLocks / Semaphores / Events is ready and
// take exactly that one (the lowest ready index wins; the others are left as they were). One
// futex_waitv per sleep (Linux 5.16+), polling where it is missing. Algorithm, protocol and the
// no-lost-wake-up argument: runtime/wait_any.cpp.
//
//   mpsync::Lock a; mpsync::Semaphore s; mpsync::Event stop;
//   const mpsync_waitable items[] = {mpsync::waitable(stop), mpsync::waitable(a), mpsync::waitable(s)};
//   auto r = mpsync::wait_any(items, 5.0);
//   if (r.acquired()) switch (r.index) { ... }   // r.st: ok / owner_dead / timedout / interrupted ...
#ifndef MPSYNC_WAIT_ANY_HPP
#define MPSYNC_WAIT_ANY_HPP

#include <span>

#include "event.hpp"
#include "lock.hpp"
#include "rlock.hpp"
#include "semaphore.hpp"
#include "status.hpp"

namespace mpsync {

inline mpsync_waitable waitable(Lock &l) noexcept { return {MPSYNC_WAIT_LOCK, &l}; }
inline mpsync_waitable waitable(RLock &l) noexcept { return {MPSYNC_WAIT_RLOCK, &l}; }
inline mpsync_waitable waitable(Semaphore &s) noexcept { return {MPSYNC_WAIT_SEM, &s}; }
inline mpsync_waitable waitable(Event &e) noexcept { return {MPSYNC_WAIT_EVENT, &e}; }

struct wait_any_result {
  status st;       // ok | owner_dead | timedout | interrupted | invalid | corrupt | overflow
  unsigned index;  // the item taken (or the one that is corrupt / would overflow); else n
  bool acquired() const noexcept { return mpsync::acquired(st); }
  explicit operator bool() const noexcept { return acquired(); }
};

// noexcept: every outcome is in the result. timeout as Event::wait (forever by default; <= 0: one
// scan; NaN: invalid).
inline wait_any_result wait_any(std::span<const mpsync_waitable> items, timeout t = forever) noexcept {
  unsigned index = static_cast<unsigned>(items.size());
  const int r = mpsync_wait_any(items.data(), static_cast<unsigned>(items.size()), t.seconds(), &index);
  return {static_cast<status>(r), index};
}

}  // namespace mpsync

#endif
