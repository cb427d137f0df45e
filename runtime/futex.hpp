// The kernel interface of the wait path: the only futex syscalls in mpsync (and the few other
// syscalls a wait needs: the monotonic clock, sleeping, yielding, gettid). Every futex op here is
// *shared* (no FUTEX_PRIVATE_FLAG): the words live in MAP_SHARED memory and are waited on from
// several processes, and the kernel's robust-list death wake is always a shared wake.
// Returns are raw: >= 0 on success, -errno on failure. EINTR policy lives one layer up (park.cpp).
#ifndef MPSYNC_RUNTIME_FUTEX_HPP
#define MPSYNC_RUNTIME_FUTEX_HPP

#include <signal.h>

#include <cstddef>
#include <cstdint>

namespace mpsync::sys {

inline constexpr std::uint32_t kMatchAny = 0xffffffffu;  // FUTEX_BITSET_MATCH_ANY

// FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline in ns (no deadline when < 0).
int futex_wait(const std::uint32_t *word, std::uint32_t expected, std::int64_t abs_ns, std::uint32_t bitset) noexcept;
// FUTEX_WAKE_BITSET: wakes up to n waiters whose bitset intersects; returns the number woken.
int futex_wake(const std::uint32_t *word, int n, std::uint32_t bitset) noexcept;

// ---- futex_waitv (syscall 449, Linux 5.16; used by mpsync_wait_any, runtime/wait_any.cpp) ----
// One entry of the kernel's struct futex_waitv (24 bytes; <linux/futex.h>).
struct waitv_entry {
  std::uint64_t val;
  std::uint64_t uaddr;
  std::uint32_t flags;
  std::uint32_t reserved;
};
inline constexpr unsigned kWaitvMax = 128;  // FUTEX_WAITV_MAX
// A shared (no FUTEX2_PRIVATE), 32-bit (FUTEX2_SIZE_U32) wait on `word` while it holds `expected`.
void waitv_set(waitv_entry &e, const std::uint32_t *word, std::uint32_t expected) noexcept;
// Sleep until one of the n words is woken, with an absolute CLOCK_MONOTONIC deadline in ns (none
// when < 0). Returns the index of *a* woken entry (others may have been woken too), or -errno:
// EAGAIN (some word no longer held its value), ETIMEDOUT, EINTR (handler without SA_RESTART; with
// SA_RESTART the kernel restarts the call by itself), ENOSYS/EPERM (no futex_waitv here).
int futex_waitv(waitv_entry *v, unsigned n, std::int64_t abs_ns) noexcept;

std::int64_t monotonic_ns() noexcept;         // CLOCK_MONOTONIC (vDSO)
std::int64_t realtime_ns() noexcept;          // CLOCK_REALTIME_COARSE (vDSO, one tick: 1-4 ms): the waiter table
std::uint32_t getpid() noexcept;
int sleep_ns(std::int64_t ns) noexcept;       // 0, or -EINTR
// The sleep loop's signal gate. A signal handled while the loop polls between two naps would run
// its handler and leave no EINTR behind, so an interruptible wait would never ask its interrupt
// check (Ctrl-C in Python would go unnoticed until the deadline). gate_close() blocks every
// asynchronous signal (not SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) and saves the mask;
// sleep_gated() naps with the saved mask (ppoll), so a pending or new signal arrives only there,
// as EINTR; gate_open() restores the mask.
struct signal_gate {
  sigset_t old;
};
void gate_close(signal_gate &g) noexcept;
void gate_open(const signal_gate &g) noexcept;
int sleep_gated(std::int64_t ns, const signal_gate &g) noexcept;  // 0, or -EINTR
void yield() noexcept;                        // sched_yield
int cpus() noexcept;                          // CPUs this process may run on (sched_getaffinity), >= 1
std::uint32_t gettid() noexcept;
// Whether a thread with this TID exists (kill(tid, 0): ESRCH means gone). A zombie process's
// main thread still counts as alive until it is reaped.
bool thread_alive(std::uint32_t tid) noexcept;
// Whether that thread is gone for good: no such TID, or a zombie (a dead process not yet reaped,
// whose parent may be the very thread asking). Reads /proc/<tid>/stat; only off the fast paths.
bool thread_gone(std::uint32_t tid) noexcept;
// get_robust_list(0, ...): the calling thread's robust-list head (registered by glibc), or -errno.
int get_robust_list(void **head, std::size_t *len) noexcept;

}  // namespace mpsync::sys

#endif
