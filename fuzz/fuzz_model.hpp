// fuzz_model's pieces around the harness: the helper thread that runs the blocking calls, the
// shared objects, and the reference model's state (what CONFORMANCE.md says each object holds).
#ifndef MPSYNC_FUZZ_MODEL_HPP
#define MPSYNC_FUZZ_MODEL_HPP

#include <pthread.h>
#include <sched.h>

#include <condition_variable>
#include <functional>
#include <limits>
#include <mutex>
#include <new>
#include <thread>

#include "fuzz_common.hpp"

namespace fm {
using namespace mpsync;

enum class who : std::uint8_t { none, main, helper };

class helper_thread {
 public:
  helper_thread() : t_([this] { loop(); }) {}
  ~helper_thread() {
    {
      std::lock_guard<std::mutex> g(m_);
      quit_ = true;
    }
    cv_.notify_all();
    t_.join();
  }
  void post(std::function<int()> f) {
    std::lock_guard<std::mutex> g(m_);
    job_ = std::move(f);
    done_ = false;
    has_job_ = true;
    cv_.notify_all();
  }
  int wait(const char *what) {
    std::unique_lock<std::mutex> lk(m_);
    const bool ok = cv_.wait_for(lk, std::chrono::duration<double>(fz::kPrompt), [&] { return done_; });
    FZ_CHECK(ok, "%s: the helper's call did not return within %.0f s (lost wake-up or hang)", what, fz::kPrompt);
    return result_;
  }
  bool finished() {
    std::lock_guard<std::mutex> g(m_);
    return done_ && !has_job_;
  }
  int run(const char *what, std::function<int()> f) {
    post(std::move(f));
    return wait(what);
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      cv_.wait(lk, [&] { return quit_ || has_job_; });
      if (quit_) return;
      auto f = std::move(job_);
      has_job_ = false;
      lk.unlock();
      const int r = f();
      lk.lock();
      result_ = r;
      done_ = true;
      cv_.notify_all();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::function<int()> job_;
  bool has_job_ = false, done_ = false, quit_ = false;
  int result_ = 0;
  std::thread t_;
};

template <class P>
void observe(P pred, const char *what) {
  const double end = fz::now_s() + fz::kPrompt;
  while (!pred()) {
    FZ_CHECK(fz::now_s() < end, "%s: not observed within %.0f s", what, fz::kPrompt);
    sched_yield();
  }
}

struct tmo {
  bool block;
  double t;
};
inline tmo pick_timeout(std::uint8_t b) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  static const tmo table[8] = {{false, nan}, {false, 1e9}, {true, 0.0}, {true, -1.0},
                               {true, 1e-4}, {true, 1e-3}, {true, nan}, {true, -inf}};
  return table[b % 8];
}

// Objects: static storage, re-initialised for every input (a Condition's external lock must be in
// the same mapping; here it is the same array).
struct alignas(64) world {
  Lock L;
  RLock R;
  Semaphore S;
  Event E;
  Condition C;
  alignas(Barrier) unsigned char b_storage[sizeof(Barrier)];
  Barrier &B() { return *std::launder(reinterpret_cast<Barrier *>(b_storage)); }
};
inline world g_w;

struct lock_m {
  who owner = who::none;
  unsigned count = 0;
};

enum class pend : std::uint8_t { none, lock, sem, event, cond, barrier };

// The reference model.
struct model {
  lock_m L, R, CE;  // CE: the Condition's embedded RLock
  std::uint32_t sv = 0, sinit = 0;
  bool bounded = false, eset = false;
  int ckind = 0;  // 0 embedded RLock, MPSYNC_KIND_LOCK (bound to L), MPSYNC_KIND_RLOCK (bound to R)
  unsigned P = 1, bwait = 0;
  bool broken = false;
  // The pending helper call.
  pend p = pend::none;
  int p_target = 0;        // pend::lock: 0 L, 1 R, 2 the Condition's lock
  bool notified = false;   // pend::cond: granted; returns once the lock is free
  unsigned saved = 0;      // pend::cond: the helper's recursion level, restored on return
  unsigned b_index = 0;    // pend::barrier: the helper's index
};

}  // namespace fm

#endif
