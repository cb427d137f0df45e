// Robust-owner tracking for RLock: held RLocks are linked into the calling thread's kernel
// robust-futex list — the one glibc registered — so that when the thread dies (exit, SIGKILL,
// abort, exec) the kernel marks each held word OWNER_DIED and wakes one waiter. See robust.cpp.
#ifndef MPSYNC_RUNTIME_ROBUST_HPP
#define MPSYNC_RUNTIME_ROBUST_HPP

#include <cstdint>

namespace mpsync::robust {

// The thread's list head, or nullptr when robustness is unavailable in this thread
// (get_robust_list refused — qemu-user, seccomp — or a libc whose geometry is not glibc's).
void *head() noexcept;
// Whether the kernel list is in use in this thread (for tests and mpsync_robust_supported()).
bool available() noexcept;

// The list_op_pending protocol, around the acquire CAS and around the release store.
// `node` is &rlock.next_ (the word is at node - 32: glibc's futex_offset).
void set_pending(void *h, std::uint64_t *node) noexcept;
void clear_pending(void *h) noexcept;
void enqueue(void *h, std::uint64_t *node) noexcept;  // push at the front (glibc's ENQUEUE)
void dequeue(std::uint64_t *node) noexcept;           // unlink (glibc's DEQUEUE)

}  // namespace mpsync::robust

#endif
