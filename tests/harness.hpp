// Test harness: run the same scenario with threads or with forked processes, objects in
// MAP_SHARED memory either way (CONFORMANCE: "every item ... with threads and processes").
#ifndef MPSYNC_TESTS_HARNESS_HPP
#define MPSYNC_TESTS_HARNESS_HPP

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "mpsync/mpsync.hpp"

namespace mpt {

enum class Mode { threads, processes };
inline std::string mode_name(const ::testing::TestParamInfo<Mode> &i) {
  return i.param == Mode::threads ? "Threads" : "Processes";
}

// Inside a worker (thread or child process) gtest assertions cannot report; use WCHECK, which
// prints the failed condition and makes the worker return nonzero.
#define WCHECK(cond)                                                                  \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: worker check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                       \
    }                                                                                 \
  } while (0)

// Background workers: start() runs fn in a new thread or a fork()ed child; join() returns how
// many workers failed (nonzero return, crash, or signal).
class Workers {
 public:
  explicit Workers(Mode m) : mode_(m) {}
  ~Workers() { join(); }
  Workers(const Workers &) = delete;
  Workers &operator=(const Workers &) = delete;

  void start(std::function<int()> fn) { start_as(mode_, std::move(fn)); }
  void start_as(Mode m, std::function<int()> fn) {
    if (m == Mode::processes) {
      std::fflush(nullptr);
      pid_t pid = fork();
      if (pid == 0) {
        int rc = fn();
        std::fflush(nullptr);
        _exit(rc);
      }
      pids_.push_back(pid);
    } else {
      results_.push_back(std::make_unique<int>(0));
      int *slot = results_.back().get();
      threads_.emplace_back([slot, fn = std::move(fn)] { *slot = fn(); });
    }
  }
  pid_t last_pid() const { return pids_.empty() ? -1 : pids_.back(); }
  const std::vector<pid_t> &pids() const { return pids_; }
  void kill_all(int sig) {
    for (pid_t p : pids_) ::kill(p, sig);
  }
  // Failures; killed_ok: a worker ended by that signal counts as fine (fault-injection tests).
  int join(int killed_ok = 0) {
    int bad = 0;
    for (auto &t : threads_) t.join();
    for (auto &r : results_) bad += *r != 0;
    threads_.clear();
    results_.clear();
    for (pid_t p : pids_) {
      int st = 0;
      while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
      }
      if (WIFSIGNALED(st) && WTERMSIG(st) == killed_ok && killed_ok) continue;
      bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    pids_.clear();
    return bad;
  }

 private:
  Mode mode_;
  std::vector<pid_t> pids_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<int>> results_;
};

// Run n workers fn(i) to completion; returns the number that failed.
inline int run(Mode m, int n, const std::function<int(int)> &fn) {
  Workers w(m);
  for (int i = 0; i < n; ++i) w.start([fn, i] { return fn(i); });
  return w.join();
}

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Poll until pred() or `limit` seconds pass (for "wait until the other side is asleep" steps,
// which are observations, not sleeps that make a race pass). Returns pred().
template <class P>
bool eventually(P pred, double limit = 10.0) {
  const double end = now_s() + limit;
  while (!pred()) {
    if (now_s() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// Read an object's first 32-bit word (or word i) atomically: tests observe waiter bits this way
// (a plain read would be a data race under TSan).
template <class T>
std::uint32_t word(const T *obj, int i = 0) {
  return __atomic_load_n(reinterpret_cast<const std::uint32_t *>(obj) + i, __ATOMIC_ACQUIRE);
}

// Whether the task (a thread's TID or a process's PID) is blocked in an interruptible sleep: state
// 'S' in /proc/<tid>/stat. A waiter that has announced itself (waiters bit) and shows 'S' is
// parked (futex wait, or the sleep-loop's nanosleep) — an observation, not a timing assumption.
inline bool task_sleeping(long tid) {
  char path[96];  // .../task/<tid>/stat: qemu-user fakes /proc/<own pid>/stat (state not real)
  std::snprintf(path, sizeof path, "/proc/%ld/task/%ld/stat", tid, tid);
  std::FILE *f = std::fopen(path, "r");
  if (!f) return false;
  char buf[512];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char *p = std::strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] == 'S';
}

// Generous timing bounds: shared, noisy machines (and sanitizers, and the sleep-loop backend).
inline constexpr double kSlack = 2.0;  // seconds a "prompt" return may take at worst

// A region per test, big enough for any scenario.
inline mpsync::Region shared(std::uint64_t size = 1 << 20) { return mpsync::Region::anonymous(size); }

}  // namespace mpt

#endif
