// CONFORMANCE E1-E3 (Event) and B1-B6 (Barrier), threads and processes.
#include <array>
#include <csignal>

#include "harness.hpp"

using namespace mpsync;
using mpt::Mode;

class EvTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, EvTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);
class BarTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, BarTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

TEST_P(EvTest, E1_Basics) {
  auto r = mpt::shared();
  auto *e = r.make<Event>();
  EXPECT_FALSE(e->is_set());
  double t0 = mpt::now_s();
  EXPECT_FALSE(e->wait(0.0));
  EXPECT_LT(mpt::now_s() - t0, 0.05);
  t0 = mpt::now_s();
  EXPECT_FALSE(e->wait(0.1));
  EXPECT_GE(mpt::now_s() - t0, 0.1);
  e->set();
  EXPECT_TRUE(e->is_set());
  t0 = mpt::now_s();
  EXPECT_TRUE(e->wait());
  EXPECT_LT(mpt::now_s() - t0, 0.05);
  e->clear();
  EXPECT_FALSE(e->is_set());
  mpt::Workers w(GetParam());
  w.start([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the scenario: "sets after 0.1 s"
    e->set();
    return 0;
  });
  EXPECT_TRUE(e->wait(30.0));
  EXPECT_EQ(w.join(), 0);
}

namespace {
mpsync_event_t *g_ev;
void on_usr1(int) { mpsync_event_set(g_ev); }
void on_usr2(int) { mpsync_event_clear(g_ev); }
}  // namespace

TEST(Event, E2_IdempotentAndSignalSafe) {
  auto r = mpt::shared();
  auto *e = static_cast<mpsync_event_t *>(r.alloc(sizeof(mpsync_event_t), 4));
  mpsync_event_init(e);
  EXPECT_EQ(mpsync_event_set(e), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_set(e), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(e), 1);
  mpsync_event_clear(e);
  g_ev = e;
  signal(SIGUSR1, on_usr1);
  signal(SIGUSR2, on_usr2);
  raise(SIGUSR1);
  EXPECT_EQ(mpsync_event_is_set(e), 1);
  raise(SIGUSR2);
  EXPECT_EQ(mpsync_event_is_set(e), 0);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
}

TEST_P(EvTest, E3_SetThenClearStillWakesWaiters) {
  // One waiter per round: its waiters bit proves it is inside wait (it sets the bit after taking
  // its snapshot), i.e. blocked during the set() that follows.
  auto r = mpt::shared();
  auto *e = r.make<Event>();
  for (int round = 0; round < 3; ++round) {
    mpt::Workers w(GetParam());
    w.start([&] { return e->wait(30.0) ? 0 : 1; });
    ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(e) & Event::kWaiters) != 0; }));
    e->set();
    e->clear();  // at once: the waiter blocked during the set() still returns true
    EXPECT_EQ(w.join(), 0);
    EXPECT_FALSE(e->is_set());
  }
}

TEST_P(BarTest, B1_B2_LockStepAndIndexes) {
  for (unsigned parties : {1u, 5u}) {
    auto r = mpt::shared();
    auto *b = r.make<Barrier>(parties);
    auto *pass = r.make<std::array<int, 5>>();
    auto *zero = r.make<std::array<int, 10>>();  // per pass: how many got index 0
    auto *seen = r.make<std::array<unsigned, 10>>();  // per pass: bitmask of indexes
    EXPECT_EQ(mpt::run(GetParam(), static_cast<int>(parties), [&](int me) {
                for (int k = 0; k < 10; ++k) {
                  __atomic_store_n(&(*pass)[me], k, __ATOMIC_RELEASE);
                  const unsigned idx = b->wait(30.0);
                  WCHECK(idx < parties);
                  if (idx == 0) __atomic_add_fetch(&(*zero)[k], 1, __ATOMIC_RELAXED);
                  __atomic_fetch_or(&(*seen)[k], 1u << idx, __ATOMIC_RELAXED);
                  for (unsigned o = 0; o < parties; ++o) WCHECK(__atomic_load_n(&(*pass)[o], __ATOMIC_ACQUIRE) >= k);
                }
                return 0;
              }), 0);
    for (int k = 0; k < 10; ++k) {
      EXPECT_EQ((*zero)[k], 1);
      EXPECT_EQ((*seen)[k], (1u << parties) - 1);
    }
    EXPECT_EQ(b->n_waiting(), 0u);
    EXPECT_FALSE(b->broken());
  }
}

TEST_P(BarTest, B3_ActionOnceInLastArriverBeforeRelease) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(4u);
  auto *actions = r.make<int>(0);
  EXPECT_EQ(mpt::run(GetParam(), 4, [&](int) {
              for (int k = 1; k <= 20; ++k) {
                unsigned ran_in = 99;
                const unsigned idx = b->wait([&] {
                  __atomic_add_fetch(actions, 1, __ATOMIC_RELAXED);
                  ran_in = 1;
                });
                WCHECK(__atomic_load_n(actions, __ATOMIC_ACQUIRE) >= k);  // ran before anyone left
                WCHECK((idx == 3) == (ran_in == 1));  // only in the last arriver
              }
              return 0;
            }), 0);
  EXPECT_EQ(*actions, 20);
}

TEST_P(BarTest, B3_FailingActionBreaksForEveryone) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  EXPECT_EQ(mpt::run(GetParam(), 3, [&](int) {
              const status s = b->wait_status(30.0, [](void *) { return 1; }, nullptr, nullptr);
              WCHECK(s == status::broken);
              return 0;
            }), 0);
  EXPECT_TRUE(b->broken());
  EXPECT_THROW(b->wait(1.0), mpsync::broken_barrier);
  b->reset();
  EXPECT_FALSE(b->broken());
  EXPECT_EQ(mpt::run(GetParam(), 3, [&](int) { return b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok ? 0 : 1; }), 0);
}

TEST_P(BarTest, B4_AbortBreaksCurrentAndLater) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  mpt::Workers w(GetParam());
  for (int i = 0; i < 2; ++i) w.start([&] { return b->wait_status(30.0, nullptr, nullptr, nullptr) == status::broken ? 0 : 1; });
  ASSERT_TRUE(mpt::eventually([&] { return b->n_waiting() == 2; }));
  b->abort();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(b->wait_status(30.0, nullptr, nullptr, nullptr), status::broken);  // later waits too
  b->reset();
  EXPECT_FALSE(b->broken());
}

TEST_P(BarTest, B5_ResetWithWaiters) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  mpt::Workers w(GetParam());
  for (int i = 0; i < 2; ++i) w.start([&] { return b->wait_status(30.0, nullptr, nullptr, nullptr) == status::broken ? 0 : 1; });
  ASSERT_TRUE(mpt::eventually([&] { return b->n_waiting() == 2; }));
  b->reset();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(b->n_waiting(), 0u);
  EXPECT_FALSE(b->broken());
  EXPECT_EQ(mpt::run(GetParam(), 3, [&](int) { return b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok ? 0 : 1; }), 0);
  b->reset();  // no waiters: usable at once
  EXPECT_EQ(mpt::run(GetParam(), 3, [&](int) { return b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok ? 0 : 1; }), 0);
}

TEST_P(BarTest, B6_TimeoutBreaksItForEveryone) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  mpt::Workers w(GetParam());
  w.start([&] { return b->wait_status(30.0, nullptr, nullptr, nullptr) == status::broken ? 0 : 1; });
  w.start([&] {
    const double t0 = mpt::now_s();
    WCHECK(b->wait_status(0.2, nullptr, nullptr, nullptr) == status::broken);
    WCHECK(mpt::now_s() - t0 >= 0.2);
    return 0;
  });
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(b->wait_status(30.0, nullptr, nullptr, nullptr), status::broken);  // a late arriver
}

TEST(Barrier, B6_OnePartyAndZero) {
  Barrier one(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(one.wait(0.0), 0u);  // never blocks
  mpsync_barrier_t b;
  EXPECT_EQ(mpsync_barrier_init(&b, 0), MPSYNC_EINVAL);
  EXPECT_THROW(Barrier(0), mpsync::invalid_argument);
}
