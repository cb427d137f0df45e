// The kernel interface of the wait path (see futex.hpp). Nothing else in mpsync issues futex calls.
#include "futex.hpp"

#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <climits>
#include <initializer_list>

namespace mpsync::sys {

namespace {
inline long raw_futex(const std::uint32_t *w, int op, std::uint32_t val, const timespec *ts, std::uint32_t val3) noexcept {
  return syscall(SYS_futex, w, op, val, ts, nullptr, val3);
}
}  // namespace

int futex_wait(const std::uint32_t *word, std::uint32_t expected, std::int64_t abs_ns, std::uint32_t bitset) noexcept {
  timespec ts{}, *tsp = nullptr;
  if (abs_ns >= 0) {
    ts.tv_sec = abs_ns / 1000000000;
    ts.tv_nsec = abs_ns % 1000000000;
    tsp = &ts;
  }
  // FUTEX_WAIT_BITSET's timeout is absolute on CLOCK_MONOTONIC (without FUTEX_CLOCK_REALTIME).
  long r = raw_futex(word, FUTEX_WAIT_BITSET, expected, tsp, bitset);
  return r == 0 ? 0 : -errno;
}

int futex_wake(const std::uint32_t *word, int n, std::uint32_t bitset) noexcept {
  long r = raw_futex(word, FUTEX_WAKE_BITSET, static_cast<std::uint32_t>(n), nullptr, bitset);
  return r >= 0 ? static_cast<int>(r) : -errno;
}

// ---- futex_waitv -------------------------------------------------------------------------------
namespace {
constexpr long kSysFutexWaitv = 449;          // the same number on every architecture (>= 424)
constexpr std::uint32_t kFutex2SizeU32 = 0x02;  // FUTEX2_SIZE_U32 (bookworm headers lack the name)
}  // namespace

void waitv_set(waitv_entry &e, const std::uint32_t *word, std::uint32_t expected) noexcept {
  e.val = expected;
  e.uaddr = reinterpret_cast<std::uintptr_t>(word);
  e.flags = kFutex2SizeU32;  // shared: the words live in MAP_SHARED memory
  e.reserved = 0;
}

int futex_waitv(waitv_entry *v, unsigned n, std::int64_t abs_ns) noexcept {
  timespec ts{}, *tsp = nullptr;
  if (abs_ns >= 0) {
    ts.tv_sec = abs_ns / 1000000000;
    ts.tv_nsec = abs_ns % 1000000000;
    tsp = &ts;
  }
  const long r = syscall(kSysFutexWaitv, v, n, 0u, tsp, CLOCK_MONOTONIC);
  return r >= 0 ? static_cast<int>(r) : -errno;
}

std::int64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t realtime_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::uint32_t getpid() noexcept { return static_cast<std::uint32_t>(::getpid()); }

int sleep_ns(std::int64_t ns) noexcept {
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  return nanosleep(&ts, nullptr) == 0 ? 0 : -errno;
}

void gate_close(signal_gate &g) noexcept {
  sigset_t all;
  sigfillset(&all);
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS}) sigdelset(&all, sig);
  pthread_sigmask(SIG_BLOCK, &all, &g.old);
}

void gate_open(const signal_gate &g) noexcept { pthread_sigmask(SIG_SETMASK, &g.old, nullptr); }

int sleep_gated(std::int64_t ns, const signal_gate &g) noexcept {
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  return ppoll(nullptr, 0, &ts, &g.old) >= 0 ? 0 : -errno;
}

void yield() noexcept { sched_yield(); }

int cpus() noexcept {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  const int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

std::uint32_t gettid() noexcept { return static_cast<std::uint32_t>(syscall(SYS_gettid)); }

bool thread_alive(std::uint32_t tid) noexcept { return kill(static_cast<pid_t>(tid), 0) == 0 || errno != ESRCH; }

bool thread_gone(std::uint32_t tid) noexcept {
  if (tid == 0 || !thread_alive(tid)) return true;
  char path[48], buf[256];
  std::snprintf(path, sizeof path, "/proc/%u/stat", tid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // no /proc, or another pid namespace: not known to be gone
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char *p = std::strrchr(buf, ')');  // the name may hold spaces and parentheses
  return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

int get_robust_list(void **head, std::size_t *len) noexcept {
  return syscall(SYS_get_robust_list, 0, head, len) == 0 ? 0 : -errno;
}

}  // namespace mpsync::sys
