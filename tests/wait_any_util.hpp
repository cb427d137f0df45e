// Helpers shared by the wait-any tests (tests/test_wait_any*.cpp).
#ifndef MPSYNC_TESTS_WAIT_ANY_UTIL_HPP
#define MPSYNC_TESTS_WAIT_ANY_UTIL_HPP

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <fstream>
#include <initializer_list>
#include <string>

#include "harness.hpp"

namespace wa {
constexpr std::uint32_t kW = 0x80000000u;  // Lock/RLock/Semaphore waiters bit

inline std::uint32_t tid() { return static_cast<std::uint32_t>(syscall(SYS_gettid)); }

// Whether thread/process `t` is blocked (state S) — an observation to reach the interesting
// interleaving, never what makes a test pass.
inline bool blocked(std::uint32_t t) {
  // .../task/<t>/stat, not /proc/<t>/stat: qemu-user fakes /proc/<own pid>/stat (state not real).
  std::ifstream f("/proc/" + std::to_string(t) + "/task/" + std::to_string(t) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto p = s.rfind(')');
  return p != std::string::npos && p + 2 < s.size() && s[p + 2] == 'S';
}

// futex_waitv present? (A mismatching value must give EAGAIN.)
inline bool have_waitv() {
  std::uint32_t w = 0;
  struct { std::uint64_t val, uaddr; std::uint32_t flags, reserved; } v{1, reinterpret_cast<std::uintptr_t>(&w), 2, 0};
  return syscall(449, &v, 1u, 0u, nullptr, 1 /* CLOCK_MONOTONIC */) == -1 && errno == EAGAIN;
}

// Make futex_waitv (only) fail with ENOSYS in the calling process, as an old kernel, qemu-user or
// a seccomp profile would.
inline bool refuse_waitv() {
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 449, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog fprog = {static_cast<unsigned short>(sizeof prog / sizeof prog[0]), prog};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) == 0;
}

inline int wait_any(std::initializer_list<mpsync_waitable> items, double t, unsigned *index) {
  return mpsync_wait_any(items.begin(), static_cast<unsigned>(items.size()), t, index);
}
}  // namespace wa

#endif
