// CONFORMANCE T5 (signals during a wait): a handler that returns leaves a timed wait running with
// the same deadline, neither cut short nor extended, and does not end a forever wait; an interrupt
// check that says stop ends the wait with INTERRUPTED and nothing held (with and without
// SA_RESTART, under signal_handlers::never_restart, and at any moment of a sleep-loop wait).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "timeout_objects.hpp"

using namespace mpt_timeouts;
using mpsync::status;

namespace {

std::atomic<int> g_signals{0};
void on_signal(int) { g_signals.fetch_add(1); }

struct HandlerGuard {  // SIGUSR1 handled (so it interrupts syscalls), restored afterwards
  struct sigaction old {};
  explicit HandlerGuard(int flags) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
  }
  ~HandlerGuard() { sigaction(SIGUSR1, &old, nullptr); }
};
const char *flags_name(int flags) { return flags ? " SA_RESTART" : " no SA_RESTART"; }

std::atomic<int> g_stop{0};
int check_stop() { return g_stop.load(); }
struct InterruptCheckGuard {
  explicit InterruptCheckGuard(int stop, mpsync::signal_handlers h = mpsync::signal_handlers::may_restart) {
    g_stop = stop;
    if (h == mpsync::signal_handlers::may_restart) mpsync_set_interrupt_check(check_stop);  // the C call
    else mpsync::set_interrupt_check(check_stop, h);
  }
  ~InterruptCheckGuard() { mpsync_set_interrupt_check(nullptr); }  // and back to may_restart
};

// Sends SIGUSR1 to `target`, then paces: waits until a handler has counted it (or `pace_ms` went
// by: under TSan a handler may be deferred), then the rest of `pace_ms`. Without the wait, signals
// sent while the target is not yet scheduled merge into one pending signal on a loaded machine,
// and a wait that was interrupted ten times counts one. True if the signal was sent.
bool send_paced(pthread_t target, int pace_ms) {
  const int seen = g_signals.load();
  const double t0 = mpt::now_s();
  if (pthread_kill(target, SIGUSR1) != 0) return false;
  while (g_signals.load() == seen && mpt::now_s() - t0 < pace_ms / 1000.0)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  const double left = pace_ms / 1000.0 - (mpt::now_s() - t0);
  if (left > 0) std::this_thread::sleep_for(std::chrono::duration<double>(left));
  return true;
}

// Runs fn in a new thread that gets SIGUSR1 every ~50 ms until fn returns.
class Pestered {
 public:
  explicit Pestered(std::function<int()> fn) {
    worker_ = std::thread([this, fn = std::move(fn)] {
      const double t0 = mpt::now_s();
      rc_ = fn();
      dt_ = mpt::now_s() - t0;
      done_ = true;
    });
    const pthread_t h = worker_.native_handle();
    sender_ = std::thread([this, h] {
      while (!done_)
        if (send_paced(h, 50)) sent_.fetch_add(1);
    });
  }
  ~Pestered() { join(); }
  void join() {
    if (sender_.joinable()) sender_.join();  // first: it stops once the worker is done
    if (worker_.joinable()) worker_.join();
  }
  bool done() const { return done_; }
  int sent() const { return sent_.load(); }  // signals delivered to the worker thread
  int rc() const { return rc_; }
  double dt() const { return dt_; }

 private:
  std::atomic<bool> done_{false};
  std::atomic<int> sent_{0};
  int rc_ = -999;
  double dt_ = 0;
  std::thread worker_, sender_;
};

// Sends SIGUSR1 to `target` (here: the test's own thread, which waits) every 20 ms while it lives.
struct PesterMe {
  PesterMe() : th([this, target = pthread_self()] {
      while (!done.load()) send_paced(target, 20);
    }) {}
  ~PesterMe() {
    done = true;
    th.join();
  }
  std::atomic<bool> done{false};
  std::thread th;
};

}  // namespace

TEST(Timeouts, T5_SignalsNeitherExtendNorShortenATimedWait) {
  for (int flags : {0, SA_RESTART}) {
    HandlerGuard h(flags);
    for (Kind k : {kSem, kLock, kRLock, kEvent, kCond, kBarrier}) {
      SCOPED_TRACE(std::string(kNames[k]) + flags_name(flags));
      Objects o;
      const int before = g_signals.load();
      Pestered p([&] { return o.wait(k, 0.5); });
      p.join();
      EXPECT_EQ(p.rc(), Objects::timed_out(k));
      EXPECT_GE(p.dt(), 0.5);                 // not cut short
      EXPECT_LT(p.dt(), 0.5 + mpt::kSlack);   // not extended by ~10 restarts
      EXPECT_GE(g_signals.load() - before, 3);  // the wait really was interrupted, repeatedly
      if (k != kBarrier) {
        EXPECT_TRUE(o.nothing_held(k));
      }
    }
    // The C++ face, waiting in the test's own thread, signalled every 20 ms.
    SCOPED_TRACE(std::string("C++ Semaphore in this thread") + flags_name(flags));
    mpsync::Semaphore s;
    const int before = g_signals.load();
    double dt;
    {
      PesterMe p;
      const double t0 = mpt::now_s();
      EXPECT_EQ(s.acquire_status(true, 0.5), status::timedout);
      dt = mpt::now_s() - t0;
    }
    EXPECT_GT(g_signals.load() - before, 3);  // it really was interrupted, repeatedly
    EXPECT_GE(dt, 0.5);                       // not cut short...
    EXPECT_LT(dt, 0.5 + mpt::kSlack);         // ...and not extended by each signal
  }
}

TEST(Timeouts, T5_SignalsDoNotEndAForeverWait) {
  HandlerGuard h(SA_RESTART);
  for (Kind k : {kSem, kLock, kRLock, kEvent, kCond, kBarrier}) {
    SCOPED_TRACE(kNames[k]);
    Objects o;
    const int before = g_signals.load();
    Pestered p([&] { return o.wait(k, MPSYNC_FOREVER); });
    struct Waker {  // a failed ASSERT must not leave the waiter (and p's destructor) hanging
      Objects &o;
      Kind k;
      bool armed = true;
      ~Waker() { if (armed) o.wake(k); }
    } waker{o, k};
    // Several signals have hit the waiter, and it is still waiting. Their handlers have run too —
    // except under TSan, which defers a handler while its thread blocks in a raw syscall that the
    // kernel restarts (SA_RESTART), until the thread next enters an intercepted call.
    ASSERT_TRUE(mpt::eventually([&] { return p.sent() >= 5; }));
    if (!std::getenv("MPSYNC_UNDER_TSAN")) {
      EXPECT_TRUE(mpt::eventually([&] { return g_signals.load() - before >= 5; }));
    }
    EXPECT_FALSE(p.done());
    waker.armed = false;
    o.wake(k);
    p.join();
    EXPECT_EQ(p.rc(), MPSYNC_OK);
  }
}

TEST(Timeouts, T5_InterruptCheckStopsTheWaitAndNothingIsHeld) {
  for (int flags : {0, SA_RESTART}) {
    HandlerGuard h(flags);
    InterruptCheckGuard stop(1);
    for (double t : {30.0, MPSYNC_FOREVER}) {
      for (Kind k : {kSem, kLock, kRLock, kEvent, kCond, kBarrier}) {
        SCOPED_TRACE(std::string(kNames[k]) + (std::isinf(t) ? " forever" : " 30 s") + flags_name(flags));
        Objects o;
        Pestered p([&] { return o.wait(k, t); });
        p.join();
        EXPECT_EQ(p.rc(), MPSYNC_INTERRUPTED);
        EXPECT_LT(p.dt(), mpt::kSlack);  // promptly, not at the deadline
        EXPECT_TRUE(o.nothing_held(k));
        // The objects still work: whoever comes next gets them.
        if (k == kLock || k == kRLock) {
          o.wake(k);  // the holder releases, and the lock is free for others
          EXPECT_EQ(in_thread([&] {
                      const int rc = k == kLock ? mpsync_lock_acquire(&o.l, 0, 0) : mpsync_rlock_acquire(&o.rl, 0, 0);
                      if (rc == MPSYNC_OK) k == kLock ? mpsync_lock_release(&o.l) : mpsync_rlock_release(&o.rl);
                      return rc;
                    }), MPSYNC_OK);
        }
        if (k == kSem) {
          EXPECT_EQ(mpsync_sem_release(&o.s), MPSYNC_OK);
          EXPECT_EQ(mpsync_sem_get_value(&o.s), 1);  // the interrupted waiter took no token
        }
      }
    }
    // The C++ face, in the test's own thread: a Semaphore, and a Lock this thread holds itself.
    SCOPED_TRACE(std::string("C++ in this thread") + flags_name(flags));
    mpsync::Semaphore s;
    mpsync::Lock held;
    ASSERT_TRUE(held.acquire());
    for (double t : {5.0, MPSYNC_FOREVER}) {
      PesterMe p;
      const double t0 = mpt::now_s();
      EXPECT_EQ(s.acquire_status(true, t), status::interrupted) << t;
      EXPECT_EQ(held.acquire_status(true, t), status::interrupted) << t;
      EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
    }
    EXPECT_EQ(s.get_value(), 0);  // nothing acquired
    {
      PesterMe p;
      EXPECT_THROW(s.acquire(true, 5.0), mpsync::interrupted);  // the C++ face throws
    }
    held.release();
  }
}

TEST(Timeouts, T5_InterruptCheckSayingGoOnKeepsWaiting) {
  HandlerGuard h(0);
  InterruptCheckGuard go_on(0);
  Objects o;
  const int before = g_signals.load();
  Pestered p([&] { return o.wait(kSem, 0.3); });
  p.join();
  EXPECT_EQ(p.rc(), MPSYNC_TIMEDOUT);
  EXPECT_GE(p.dt(), 0.3);
  EXPECT_GE(g_signals.load() - before, 2);
}

// signal_handlers::never_restart (the Python binding's setting): forever waits sleep untimed, and a
// handler without SA_RESTART still ends them with EINTR, so the check still stops them.
TEST(Timeouts, T5_NeverRestartUntimedWaitStillReachesTheCheck) {
  HandlerGuard h(0);
  InterruptCheckGuard stop(1, mpsync::signal_handlers::never_restart);
  mpsync::Semaphore s;
  mpsync::Lock held;
  ASSERT_TRUE(held.acquire());
  {
    PesterMe p;
    const double t0 = mpt::now_s();
    EXPECT_EQ(s.acquire_status(true, MPSYNC_FOREVER), status::interrupted);
    EXPECT_EQ(held.acquire_status(true, MPSYNC_FOREVER), status::interrupted);
    EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  }
  held.release();
}

// One signal, at any moment of a forever wait, stops it. The sleep loop used to poll between its
// naps with signals open: a handler that ran there left no EINTR, and the wait slept on to its
// deadline (found through Python's Ctrl-C under MPSYNC_WAIT_BACKEND=sleeploop). The futex backend
// keeps sem_wait's instant between its last look and the syscall (runtime/park.cpp), which a
// random signal would hit now and then, so this runs for the sleep loop.
class SignalTest : public ::testing::TestWithParam<bool> {};  // SA_RESTART or not
INSTANTIATE_TEST_SUITE_P(, SignalTest, ::testing::Values(false, true),
                         [](const auto &i) { return i.param ? std::string("SaRestart") : std::string("NoRestart"); });

TEST_P(SignalTest, T5_OneSignalAnywhereInASleepLoopWaitStopsIt) {
  if (std::strcmp(mpsync_backend(), "sleeploop") != 0) GTEST_SKIP() << "the sleep-loop backend's signal gate";
  HandlerGuard h(GetParam() ? SA_RESTART : 0);
  InterruptCheckGuard stop(1);
  std::mt19937 rng(20261207);
  const pthread_t self = pthread_self();
  int late = 0;
  for (int i = 0; i < 300; ++i) {
    mpsync::Semaphore s;
    const auto delay = std::chrono::microseconds(rng() % 3000);  // the spin, the yields, the short naps
    std::thread t([&] {
      std::this_thread::sleep_for(delay);
      pthread_kill(self, SIGUSR1);
    });
    const double t0 = mpt::now_s();
    EXPECT_EQ(s.acquire_status(true, 2.0), status::interrupted) << "iteration " << i;
    late += mpt::now_s() - t0 > 1.0;
    t.join();
  }
  EXPECT_EQ(late, 0);
}
