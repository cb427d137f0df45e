// Test harness: run the same scenario with threads or with forked processes, objects in
// MAP_SHARED memory either way (CONFORMANCE: "every item ... with threads and processes").
#ifndef MPSYNC_TESTS_HARNESS_HPP
#define MPSYNC_TESTS_HARNESS_HPP

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "mpsync/mpsync.hpp"

namespace mpt {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Every wait a test makes is bounded (issue #12): a bug fails one test in seconds instead of
// hanging a suite until meson's 600 s timeout.
//  - Workers::join() gives a child process kJoinLimit seconds, then SIGKILLs it and counts a failure.
//  - The watchdog arms alarm(MPSYNC_TEST_LIMIT, default 120 s) at each test's start; if a test is
//    still running then (a thread stuck in a forever wait cannot be joined or killed on its own),
//    it names the test on stderr and kills the test's process group (meson runs each test binary
//    as a group leader; children forked by Workers also die with their parent: PDEATHSIG).
inline double env_seconds(const char *name, double dflt) {
  const char *v = std::getenv(name);
  return v && std::atof(v) > 0 ? std::atof(v) : dflt;
}
inline const double kJoinLimit = env_seconds("MPSYNC_JOIN_LIMIT", 60.0);

class Watchdog : public ::testing::EmptyTestEventListener {
 public:
  static void install() {
    static bool done = false;
    if (done) return;
    done = true;
    struct sigaction sa {};
    sa.sa_handler = &fire;
    sigaction(SIGALRM, &sa, nullptr);
    ::testing::UnitTest::GetInstance()->listeners().Append(new Watchdog);
  }

 private:
  static inline char msg_[512];
  static inline std::size_t len_ = 0;
  void OnTestStart(const ::testing::TestInfo &t) override {
    const unsigned limit = static_cast<unsigned>(env_seconds("MPSYNC_TEST_LIMIT", 120.0));
    const int n = std::snprintf(msg_, sizeof msg_, "\nwatchdog: %s.%s still running after %u s: killed\n",
                                t.test_suite_name(), t.name(), limit);
    len_ = n > 0 ? std::min<std::size_t>(static_cast<std::size_t>(n), sizeof msg_ - 1) : 0;
    alarm(limit);
  }
  void OnTestEnd(const ::testing::TestInfo &) override { alarm(0); }
  static void fire(int) {  // async-signal-safe: write, getpgrp, kill, _exit
    if (len_ && ::write(2, msg_, len_) < 0) {
    }
    if (getpgrp() == getpid()) ::kill(0, SIGKILL);
    _exit(124);
  }
};
inline const bool kWatchdogInstalled = (Watchdog::install(), true);

// fork() for tests: the child dies with the test process (its watchdog, a failed ASSERT that
// returns before reaping it) — PDEATHSIG, set only when forking from the main thread, since it
// follows the forking *thread*.
inline pid_t fork_child() {
  const bool main_thread = getpid() == static_cast<pid_t>(syscall(SYS_gettid));
  const pid_t parent = getpid();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0 && main_thread) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);  // the parent was gone before the prctl
  }
  return pid;
}

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
      pid_t pid = fork_child();
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
  // A child still running after kJoinLimit seconds is SIGKILLed and counts as a failure (a thread
  // cannot be killed alone: the watchdog bounds those).
  int join(int killed_ok = 0) {
    int bad = 0;
    for (auto &t : threads_) t.join();
    for (auto &r : results_) bad += *r != 0;
    threads_.clear();
    results_.clear();
    const double end = now_s() + kJoinLimit;
    for (pid_t p : pids_) {
      int st = 0;
      bool hung = false;
      long nap_us = 20;
      for (;;) {
        const pid_t got = waitpid(p, &st, WNOHANG);
        if (got == p || (got < 0 && errno != EINTR)) break;
        if (!hung && now_s() > end) {
          std::fprintf(stderr, "Workers::join: child %d still running after %.0f s: killed\n", static_cast<int>(p),
                       kJoinLimit);
          ::kill(p, SIGCONT);
          ::kill(p, SIGKILL);
          hung = true;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(nap_us));
        nap_us = std::min(nap_us * 2, 2000L);
      }
      if (hung) {
        ++bad;
        continue;
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
