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
void set_interrupt_check(interrupt_fn fn) noexcept;
}  // namespace mpsync
#endif
