// Robust-owner tracking for RLock: held RLocks are linked into the calling thread's kernel
// robust-futex list — the one glibc registered — so that when the thread dies (exit, SIGKILL,
// abort, exec) the kernel marks each held word OWNER_DIED and wakes one waiter. See robust.cpp.
#ifndef MPSYNC_RUNTIME_ROBUST_HPP
#define MPSYNC_RUNTIME_ROBUST_HPP

#include <cstdint>

#include "mpsync/detail/robust_list.hpp"  // list_head, set/clear_pending, enqueue, dequeue (inline)

namespace mpsync::robust {

// The thread's list head, or nullptr when robustness is unavailable in this thread
// (get_robust_list refused — qemu-user, seccomp — or a libc whose geometry is not glibc's).
// Looks it up on first use and caches it in mpsync_tls_robust_head.
list_head *head() noexcept;
// Whether the kernel list is in use in this thread (for tests and mpsync_robust_supported()).
bool available() noexcept;

}  // namespace mpsync::robust

#endif
