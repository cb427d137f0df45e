// CONFORMANCE S1-S5 (Semaphore / BoundedSemaphore), with threads and with processes.
#include <atomic>
#include <csignal>
#include <cstring>

#include "harness.hpp"

using mpsync::BoundedSemaphore;
using mpsync::Semaphore;
using mpsync::status;
using mpt::Mode;

class SemaphoreTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, SemaphoreTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

static std::uint32_t first_word(const Semaphore *s) { return mpt::word(s); }

// Start gate: every worker spins here until all have arrived, so the contention is real.
static void gate(std::atomic<int> *arrived, int n) {
  arrived->fetch_add(1);
  while (arrived->load() < n) {
  }
}

TEST(Semaphore, S1_ValuesAndUnboundedRelease) {
  Semaphore s(2);
  EXPECT_EQ(s.get_value(), 2);
  EXPECT_EQ(s.acquire_status(), status::ok);
  EXPECT_EQ(s.get_value(), 1);
  EXPECT_TRUE(s.acquire());
  EXPECT_EQ(s.get_value(), 0);
  EXPECT_EQ(s.acquire_status(false), status::timedout);
  EXPECT_FALSE(s.acquire(false));
  EXPECT_EQ(s.get_value(), 0);
  for (int v = 1; v <= 4; ++v) {
    EXPECT_EQ(s.release_status(), status::ok);
    EXPECT_EQ(s.get_value(), v);
  }
  EXPECT_EQ(mpsync_sem_get_value(reinterpret_cast<mpsync_sem_t *>(&s)), 4);
}

TEST(Semaphore, S2_BoundedOverRelease) {
  BoundedSemaphore s(2);
  EXPECT_EQ(s.get_value(), 2);
  EXPECT_EQ(s.release_status(), status::over_release);
  EXPECT_THROW(s.release(), mpsync::over_release);
  EXPECT_EQ(s.get_value(), 2);
  EXPECT_TRUE(s.acquire());
  EXPECT_TRUE(s.acquire());
  EXPECT_EQ(s.get_value(), 0);
  EXPECT_EQ(s.acquire_status(false), status::timedout);
  EXPECT_EQ(s.release_status(), status::ok);
  EXPECT_EQ(s.get_value(), 1);
  EXPECT_EQ(s.release_status(), status::ok);
  EXPECT_EQ(s.get_value(), 2);
  EXPECT_EQ(s.release_status(), status::over_release);
  EXPECT_EQ(s.get_value(), 2);

  BoundedSemaphore z(0);
  EXPECT_EQ(z.get_value(), 0);
  EXPECT_EQ(z.release_status(), status::over_release);
  EXPECT_EQ(z.get_value(), 0);
  EXPECT_EQ(z.acquire_status(false), status::timedout);

  mpsync_sem_t c;
  ASSERT_EQ(mpsync_bounded_sem_init(&c, 1), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&c), MPSYNC_EOVERRELEASE);
  EXPECT_EQ(mpsync_sem_acquire(&c, 0, 0.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&c), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_get_value(&c), 1);
}

TEST_P(SemaphoreTest, S2_BoundCheckIsAtomic) {
  // Many racing releasers on a bounded semaphore: exactly `bound` releases succeed.
  auto r = mpt::shared();
  constexpr int kBound = 1000, kWorkers = 4;
  auto *s = r.make<BoundedSemaphore>(kBound);
  for (int i = 0; i < kBound; ++i) ASSERT_TRUE(s->acquire(false));
  auto *ok = r.make<long>(0);
  auto *lk = r.make<mpsync::Lock>();
  auto *arrived = r.make<std::atomic<int>>(0);
  EXPECT_EQ(mpt::run(GetParam(), kWorkers, [&](int) {
              gate(arrived, kWorkers);
              long mine = 0;
              for (int i = 0; i < kBound; ++i) {
                status st = s->release_status();
                WCHECK(st == status::ok || st == status::over_release);
                mine += st == status::ok;
              }
              WCHECK(lk->acquire());
              *ok += mine;
              lk->release();
              return 0;
            }), 0);
  EXPECT_EQ(*ok, kBound);
  EXPECT_EQ(s->get_value(), kBound);
}

TEST(Semaphore, S3_ValueMax) {
  Semaphore s;
  ASSERT_EQ(s.init(MPSYNC_SEM_VALUE_MAX - 1, false), status::ok);
  EXPECT_EQ(s.release_status(), status::ok);
  EXPECT_EQ(static_cast<unsigned>(s.get_value()), MPSYNC_SEM_VALUE_MAX);
  EXPECT_EQ(s.release_status(), status::overflow);
  EXPECT_THROW(s.release(), mpsync::overflow);
  EXPECT_EQ(static_cast<unsigned>(s.get_value()), MPSYNC_SEM_VALUE_MAX);
  EXPECT_TRUE(s.acquire(false));
  EXPECT_EQ(static_cast<unsigned>(s.get_value()), MPSYNC_SEM_VALUE_MAX - 1);

  EXPECT_EQ(s.init(MPSYNC_SEM_VALUE_MAX + 1u, false), status::invalid);
  EXPECT_EQ(s.init(MPSYNC_SEM_VALUE_MAX + 1u, true), status::invalid);
  EXPECT_EQ(s.init(~0u, false), status::invalid);
  EXPECT_THROW(Semaphore(MPSYNC_SEM_VALUE_MAX + 1u), mpsync::invalid_argument);
  EXPECT_THROW(BoundedSemaphore(MPSYNC_SEM_VALUE_MAX + 1u), mpsync::invalid_argument);

  mpsync_sem_t c;
  EXPECT_EQ(mpsync_sem_init(&c, MPSYNC_SEM_VALUE_MAX + 1u), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_bounded_sem_init(&c, MPSYNC_SEM_VALUE_MAX + 1u), MPSYNC_EINVAL);
  ASSERT_EQ(mpsync_sem_init(&c, MPSYNC_SEM_VALUE_MAX), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&c), MPSYNC_EOVERFLOW);
  ASSERT_EQ(mpsync_bounded_sem_init(&c, MPSYNC_SEM_VALUE_MAX), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&c), MPSYNC_EOVERRELEASE);  // the bound is hit first
  EXPECT_EQ(static_cast<unsigned>(mpsync_sem_get_value(&c)), MPSYNC_SEM_VALUE_MAX);
}

TEST(Semaphore, ZeroMemoryIsUnboundedZero) {
  alignas(8) unsigned char raw[sizeof(Semaphore)];
  std::memset(raw, 0, sizeof raw);
  auto *s = reinterpret_cast<Semaphore *>(raw);
  EXPECT_EQ(s->get_value(), 0);
  EXPECT_EQ(s->acquire_status(false), status::timedout);
  EXPECT_EQ(s->release_status(), status::ok);
  EXPECT_EQ(s->release_status(), status::ok);  // unbounded
  EXPECT_EQ(s->get_value(), 2);
}

TEST_P(SemaphoreTest, S4_Timing) {
  auto r = mpt::shared();
  auto *s = r.make<Semaphore>(0u);
  EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
              double t0 = mpt::now_s();
              WCHECK(s->acquire_status(false, 10.0) == status::timedout);  // timeout ignored
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);
              WCHECK(mpsync_sem_acquire(reinterpret_cast<mpsync_sem_t *>(s), 0, 10.0) == MPSYNC_TIMEDOUT);
              t0 = mpt::now_s();
              WCHECK(s->acquire_status(true, 0.1) == status::timedout);
              double dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.1 && dt < 0.1 + mpt::kSlack);
              t0 = mpt::now_s();
              WCHECK(mpsync_sem_acquire(reinterpret_cast<mpsync_sem_t *>(s), 1, 0.1) == MPSYNC_TIMEDOUT);
              dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.1 && dt < 0.1 + mpt::kSlack);
              WCHECK(s->get_value() == 0);
              return 0;
            }), 0);
  EXPECT_EQ(s->get_value(), 0);
}

TEST_P(SemaphoreTest, BlockedAcquirerIsWokenByRelease) {
  auto r = mpt::shared();
  auto *s = r.make<Semaphore>(0u);
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(s->acquire_status(true, 30.0) == status::ok);
    return 0;
  });
  // The waiter announces itself with the waiters bit before sleeping: observe it, then release.
  ASSERT_TRUE(mpt::eventually([&] { return (first_word(s) & Semaphore::kWaiters) != 0; }));
  EXPECT_EQ(s->get_value(), 0);  // the bit is not part of the value
  EXPECT_EQ(s->release_status(), status::ok);
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(s->get_value(), 0);
}

// Two sleepers, then two releases back to back: only the first release sees the waiters bit, so
// the woken sleeper must pass the second token's wake on (regression: found by the wait-any
// stress; before the fix the second sleeper slept until its timeout with a token free).
TEST_P(SemaphoreTest, TwoReleasesWakeTwoSleepers) {
  auto r = mpt::shared();
  struct Shared {
    Semaphore s{0u};
    std::atomic<long> tid[2];
  };
  auto *sh = r.make<Shared>();
  for (int round = 0; round < 10; ++round) {
    sh->tid[0] = sh->tid[1] = 0;
    mpt::Workers w(GetParam());
    for (int i = 0; i < 2; ++i)
      w.start([sh, i] {
        sh->tid[i] = static_cast<long>(gettid());
        WCHECK(sh->s.acquire_status(true, 15.0) == status::ok);
        return 0;
      });
    ASSERT_TRUE(mpt::eventually([&] {
      return sh->tid[0] && sh->tid[1] && (first_word(&sh->s) & Semaphore::kWaiters) &&
             mpt::task_sleeping(sh->tid[0]) && mpt::task_sleeping(sh->tid[1]);
    }));
    const double t0 = mpt::now_s();
    EXPECT_EQ(sh->s.release_status(), status::ok);
    EXPECT_EQ(sh->s.release_status(), status::ok);
    ASSERT_EQ(w.join(), 0) << "round " << round;
    // A stranded sleeper would take its token only at its 15 s deadline (it re-checks the count).
    ASSERT_LT(mpt::now_s() - t0, 7.5) << "round " << round << ": a sleeper was left asleep";
    EXPECT_EQ(sh->s.get_value(), 0);
  }
}

TEST_P(SemaphoreTest, ProducerConsumerConservation) {
  auto r = mpt::shared();
  auto *s = r.make<Semaphore>(3u);
  auto *arrived = r.make<std::atomic<int>>(0);
  constexpr int kWorkers = 4, kOps = 50000;
  // Workers 0,1 release kOps each; workers 2,3 acquire kOps each (blocking when empty).
  EXPECT_EQ(mpt::run(GetParam(), kWorkers, [&](int i) {
              gate(arrived, kWorkers);
              for (int k = 0; k < kOps; ++k) {
                if (i < 2)
                  WCHECK(s->release_status() == status::ok);
                else
                  WCHECK(s->acquire_status(true, 30.0) == status::ok);
              }
              return 0;
            }), 0);
  EXPECT_EQ(s->get_value(), 3);
  EXPECT_EQ(first_word(s) & Semaphore::kCount, 3u);
}

TEST_P(SemaphoreTest, TokensAreNotDuplicated) {
  // Semaphore(1) as a mutex: an exact counter means no two holders ever overlapped.
  auto r = mpt::shared();
  auto *s = r.make<Semaphore>(1u);
  auto *counter = r.make<long>(0);
  auto *arrived = r.make<std::atomic<int>>(0);
  constexpr int kWorkers = 4, kIters = 20000;
  EXPECT_EQ(mpt::run(GetParam(), kWorkers, [&](int) {
              gate(arrived, kWorkers);
              for (int k = 0; k < kIters; ++k) {
                WCHECK(s->acquire());
                long v = *counter;
                *counter = v + 1;
                WCHECK(s->release_status() == status::ok);
              }
              return 0;
            }), 0);
  EXPECT_EQ(*counter, long{kWorkers} * kIters);
  EXPECT_EQ(s->get_value(), 1);
}

TEST_P(SemaphoreTest, CountingSemaphoreStyle) {
  auto r = mpt::shared();
  auto *s = r.make<Semaphore>(1u);
  EXPECT_TRUE(s->try_acquire());
  EXPECT_FALSE(s->try_acquire());
  EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
              double t0 = mpt::now_s();
              WCHECK(!s->try_acquire_for(std::chrono::milliseconds(50)));
              double dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.05 && dt < 0.05 + mpt::kSlack);
              t0 = mpt::now_s();
              WCHECK(!s->try_acquire_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
              dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.05 && dt < 0.05 + mpt::kSlack);
              WCHECK(!s->try_acquire_for(std::chrono::milliseconds(-5)));
              return 0;
            }), 0);
  s->release();
  EXPECT_TRUE(s->try_acquire_for(std::chrono::seconds(1)));
  s->release();
  EXPECT_TRUE(s->try_acquire_until(std::chrono::steady_clock::now() + std::chrono::seconds(1)));
  EXPECT_EQ(s->get_value(), 0);

  // A blocked try_acquire_for is satisfied by a release from the other side.
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(s->try_acquire_for(std::chrono::seconds(30)));
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return (first_word(s) & Semaphore::kWaiters) != 0; }));
  s->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(s->get_value(), 0);
}

// S5: release from a signal handler.
namespace {
mpsync_sem_t *g_sig_sem = nullptr;
volatile sig_atomic_t g_sig_rc = 99;
extern "C" void release_on_signal(int) { g_sig_rc = mpsync_sem_release(g_sig_sem); }

struct HandlerGuard {
  struct sigaction old {};
  HandlerGuard() {
    struct sigaction sa {};
    sa.sa_handler = release_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
  }
  ~HandlerGuard() { sigaction(SIGUSR1, &old, nullptr); }
};
}  // namespace

TEST(Semaphore, S5_ReleaseFromSignalHandler) {
  mpsync_sem_t s;
  ASSERT_EQ(mpsync_sem_init(&s, 0), MPSYNC_OK);
  g_sig_sem = &s;
  HandlerGuard g;
  g_sig_rc = 99;
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_EQ(g_sig_rc, MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_get_value(&s), 1);
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_EQ(mpsync_sem_get_value(&s), 2);

  ASSERT_EQ(mpsync_bounded_sem_init(&s, 0), MPSYNC_OK);
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_EQ(g_sig_rc, MPSYNC_EOVERRELEASE);
  EXPECT_EQ(mpsync_sem_get_value(&s), 0);
}

TEST_P(SemaphoreTest, S5_SignalHandlerReleaseWakesWaiter) {
  auto r = mpt::shared();
  auto *s = static_cast<mpsync_sem_t *>(r.alloc(sizeof(mpsync_sem_t), alignof(mpsync_sem_t)));
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(mpsync_sem_init(s, 0), MPSYNC_OK);
  g_sig_sem = s;
  HandlerGuard g;
  g_sig_rc = 99;
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(mpsync_sem_acquire(s, 1, 30.0) == MPSYNC_OK);
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(s) & 0x80000000u) != 0; }));
  ASSERT_EQ(raise(SIGUSR1), 0);  // the handler, in this thread, releases
  EXPECT_EQ(g_sig_rc, MPSYNC_OK);
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(mpsync_sem_get_value(s), 0);
}

TEST(Semaphore, S5_SignalHandlerInTheWaiterItselfReleases) {
  // The waiter's own process takes the signal while blocked; its handler's release must let the
  // interrupted wait (T5: it keeps running) take the token.
  auto r = mpt::shared();
  auto *s = static_cast<mpsync_sem_t *>(r.alloc(sizeof(mpsync_sem_t), alignof(mpsync_sem_t)));
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(mpsync_sem_init(s, 0), MPSYNC_OK);
  g_sig_sem = s;
  HandlerGuard g;  // inherited by the child
  g_sig_rc = 99;
  mpt::Workers w(Mode::processes);
  w.start([&] {
    WCHECK(mpsync_sem_acquire(s, 1, 30.0) == MPSYNC_OK);
    WCHECK(g_sig_rc == MPSYNC_OK);
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(s) & 0x80000000u) != 0; }));
  ASSERT_EQ(kill(w.last_pid(), SIGUSR1), 0);
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(mpsync_sem_get_value(s), 0);
}
