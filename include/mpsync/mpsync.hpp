// mpsync: every primitive and the shared-memory region, in one include.
#ifndef MPSYNC_MPSYNC_HPP
#define MPSYNC_MPSYNC_HPP
#include "barrier.hpp"
#include "condition.hpp"
#include "event.hpp"
#include "lock.hpp"
#include "region.hpp"
#include "rlock.hpp"
#include "semaphore.hpp"
#include "status.hpp"
#include "wait_any.hpp"
namespace mpsync {
const char *backend() noexcept;  // "futex" or "sleeploop"
const char *version() noexcept;
using interrupt_fn = int (*)();
void set_interrupt_check(interrupt_fn fn) noexcept;  // mpsync_set_interrupt_check
// With an interrupt check installed, a wait without deadline still arms a far kernel timeout: a
// timed futex wait returns EINTR even for an SA_RESTART handler, an untimed one restarts silently.
// A program whose handlers never use SA_RESTART (Python's signal module installs them without it)
// can say so and save that timer (~0.4 us per sleep); an SA_RESTART handler's signals then reach
// the check only at a timed wait.
enum class signal_handlers { may_restart, never_restart };
void set_interrupt_check(interrupt_fn fn, signal_handlers handlers) noexcept;
}  // namespace mpsync
#endif
