// Shared by the io_uring tests (test_uring.cpp, test_uring_wake.cpp): a liburing ring with a
// generous reap bound (a lost wake fails instead of hanging), the skip rule, and the "is that
// thread asleep on this futex word" observation.
#ifndef MPSYNC_TESTS_URING_RING_HPP
#define MPSYNC_TESTS_URING_RING_HPP

#include <liburing.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "harness.hpp"

namespace uring_test {

#define REQUIRE_URING()                                          \
  do {                                                           \
    if (!mpsync_uring_supported()) {                             \
      GTEST_SKIP() << mpsync_uring_unsupported_reason();         \
    }                                                            \
  } while (0)

inline constexpr std::uint64_t kTimerTag = 0x7100, kCancelTag = 0x7200;

// One ring per test; CQEs are reaped with a generous bound so a lost wake fails instead of hanging.
struct Ring {
  io_uring ring{};
  bool ok = false;
  Ring() { ok = io_uring_queue_init(64, &ring, 0) == 0; }
  ~Ring() {
    if (ok) io_uring_queue_exit(&ring);
  }
  io_uring_sqe *sqe() { return io_uring_get_sqe(&ring); }
  int submit() { return io_uring_submit(&ring); }
  // The next CQE within `limit` seconds: {user_data, res}; {0, -ETIME} if none came.
  std::pair<std::uint64_t, int> reap(double limit = 10.0) {
    __kernel_timespec ts{static_cast<long long>(limit), static_cast<long long>((limit - static_cast<long long>(limit)) * 1e9)};
    io_uring_cqe *c = nullptr;
    if (io_uring_wait_cqe_timeout(&ring, &c, &ts) != 0) return {0, -ETIME};
    std::pair<std::uint64_t, int> r{c->user_data, c->res};
    io_uring_cqe_seen(&ring, c);
    return r;
  }
  bool idle() {  // no completion pending (a submitted wait is queued in the kernel)
    io_uring_cqe *c = nullptr;
    return io_uring_peek_cqe(&ring, &c) == -EAGAIN;
  }
  // prep + submit one wait; optional linked timeout (ms). Returns prep's status.
  int arm(mpsync_uring_wait_t &w, long timeout_ms = -1) {
    io_uring_sqe *s = sqe();
    const int r = mpsync_uring_prep_wait(s, &w);
    if (r != MPSYNC_URING_SUBMIT) {  // the SQE is untouched: make it a NOP and consume it
      io_uring_prep_nop(s);
      io_uring_sqe_set_data64(s, 0);
      submit();
      reap();
      return r;
    }
    if (timeout_ms >= 0) {
      s->flags |= IOSQE_IO_LINK;
      ts_ = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
      io_uring_sqe *t = sqe();
      io_uring_prep_link_timeout(t, &ts_, 0);
      io_uring_sqe_set_data64(t, kTimerTag);
    }
    submit();
    return r;
  }
  void cancel(const mpsync_uring_wait_t &w) {
    io_uring_sqe *s = sqe();
    io_uring_prep_cancel64(s, reinterpret_cast<std::uintptr_t>(&w), 0);
    io_uring_sqe_set_data64(s, kCancelTag);
    submit();
  }
  // The CQE of wait w (other CQEs, e.g. its timeout's or a cancel's, are noted and skipped).
  int wait_res(const mpsync_uring_wait_t &w, int *other = nullptr) {
    for (int i = 0; i < 4; ++i) {
      auto [ud, res] = reap();
      if (res == -ETIME && ud == 0) return -ETIME;
      if (ud == reinterpret_cast<std::uintptr_t>(&w)) return res;
      if (other) *other = res;
    }
    return -ETIME;
  }

 private:
  __kernel_timespec ts_{};
};

// Is thread `tid` of this process asleep in a futex call on `addr`? (/proc/self/task/<tid>/syscall
// shows "<nr> <arg0> ..." while it blocks in a syscall.) An observation, never a sleep.
inline bool blocked_on(pid_t tid, const void *addr) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long nr = -1;
  std::string a0;
  if (!(f >> nr >> a0)) return false;
  return nr == SYS_futex && std::stoull(a0, nullptr, 16) == reinterpret_cast<std::uintptr_t>(addr);
}

inline pid_t gettid_() { return static_cast<pid_t>(syscall(SYS_gettid)); }

}  // namespace uring_test
using namespace uring_test;

#endif
