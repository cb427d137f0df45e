// Event conformance suite: CONFORMANCE E1-E3 (plus the Event cases of M1 all-zero memory and
// T6 NaN timeout), with threads and with processes. One test per behaviour (formerly split
// between this file and conf_event_barrier.cpp).
#include <pthread.h>

#include <atomic>
#include <cmath>

#include "harness.hpp"

using mpsync::Event;
using mpsync::status;
using mpt::Mode;

class EventTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, EventTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

namespace {
bool has_waiter_bit(const Event *e) { return (mpt::word(e) & Event::kWaiters) != 0; }

Event *g_event = nullptr;  // for the signal handlers (C++ face)
extern "C" void on_set(int) { g_event->set(); }
extern "C" void on_clear(int) { g_event->clear(); }
mpsync_event_t *g_cevent = nullptr;  // for the signal handlers (C ABI)
extern "C" void on_cset(int) { mpsync_event_set(g_cevent); }
extern "C" void on_cclear(int) { mpsync_event_clear(g_cevent); }

struct Handler {
  int sig;
  struct sigaction old {};
  Handler(int s, void (*fn)(int)) : sig(s) {
    struct sigaction sa {};
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &old);
  }
  ~Handler() { sigaction(sig, &old, nullptr); }
};
}  // namespace

TEST(Event, E1_ZeroMemoryIsClear) {
  alignas(4) unsigned char raw[sizeof(Event)] = {};
  auto *e = reinterpret_cast<Event *>(raw);
  EXPECT_FALSE(e->is_set());
  EXPECT_FALSE(e->wait(0.0));
  mpsync_event_t ce{};
  EXPECT_EQ(mpsync_event_is_set(&ce), 0);
  EXPECT_EQ(mpsync_event_wait(&ce, 0.0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_event_set(&ce), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(&ce), 1);
  EXPECT_EQ(mpsync_event_wait(&ce, MPSYNC_FOREVER), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_clear(&ce), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(&ce), 0);
  EXPECT_EQ(mpsync_event_wait(&ce, std::nan("")), MPSYNC_EINVAL);
}

// E1's sequence, run by a worker (thread or child process), then the other side sets after 0.1 s.
TEST_P(EventTest, E1_Sequence) {
  auto r = mpt::shared();
  auto *e = r.make<Event>();
  auto *payload = r.make<int>(0);
  EXPECT_EQ(mpt::run(GetParam(), 1, [=](int) {
              WCHECK(!e->is_set());
              double t0 = mpt::now_s();
              WCHECK(!e->wait(0.0));
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);  // at once: one try, no sleep
              WCHECK(e->wait_status(0.0) == status::timedout);
              WCHECK(!e->wait(-1.0));
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);
              t0 = mpt::now_s();
              WCHECK(!e->wait(0.1));
              const double dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.1 && dt < 0.1 + mpt::kSlack);
              e->set();
              WCHECK(e->is_set());
              t0 = mpt::now_s();
              WCHECK(e->wait());
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);  // set: returns at once
              WCHECK(e->wait(0.0));
              WCHECK(mpt::now_s() - t0 < mpt::kSlack);
              e->clear();
              WCHECK(!e->is_set());
              return 0;
            }), 0);
  EXPECT_FALSE(e->is_set());
  // The other side sets after 0.1 s; what it wrote before set() is visible after wait().
  mpt::Workers w(GetParam());
  const double t0 = mpt::now_s();
  w.start([=] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the scenario: "sets after 0.1 s"
    *payload = 42;
    e->set();
    return 0;
  });
  EXPECT_TRUE(e->wait(30.0));
  EXPECT_GE(mpt::now_s() - t0, 0.1);
  EXPECT_EQ(*payload, 42);
  EXPECT_TRUE(e->is_set());
  EXPECT_EQ(w.join(), 0);
}

TEST_P(EventTest, E1_SetWakesEveryWaiter) {
  auto r = mpt::shared();
  auto *e = r.make<Event>();
  auto *woke = r.make<std::atomic<int>>(0);
  auto *started = r.make<std::atomic<int>>(0);
  mpt::Workers w(GetParam());
  for (int i = 0; i < 4; ++i)
    w.start([=] {
      started->fetch_add(1);
      WCHECK(e->wait(30.0));
      woke->fetch_add(1);
      return 0;
    });
  // Every waiter has started and at least one is asleep; the rest are blocked or about to be.
  ASSERT_TRUE(mpt::eventually([&] { return started->load() == 4 && has_waiter_bit(e); }));
  e->set();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(woke->load(), 4);
  EXPECT_FALSE(has_waiter_bit(e));
}

TEST(Event, E2_SetIsIdempotent) {
  Event e;
  e.set();
  const std::uint32_t w1 = mpt::word(&e);
  e.set();
  e.set();
  EXPECT_EQ(mpt::word(&e), w1);  // nothing changes: no new generation
  EXPECT_TRUE(e.is_set());
  e.clear();  // one clear undoes any number of sets
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait(0.0));
  e.clear();
  EXPECT_FALSE(e.is_set());
  // The C ABI, on an event in a shared region: every set() reports OK.
  auto r = mpt::shared();
  auto *ce = static_cast<mpsync_event_t *>(r.alloc(sizeof(mpsync_event_t), 4));
  ASSERT_EQ(mpsync_event_init(ce), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_set(ce), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_set(ce), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(ce), 1);
  EXPECT_EQ(mpsync_event_clear(ce), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(ce), 0);
}

TEST(Event, E2_SetAndClearFromSignalHandler) {
  {  // C++ face
    Event e;
    g_event = &e;
    Handler hs(SIGUSR1, on_set), hc(SIGUSR2, on_clear);
    raise(SIGUSR1);
    EXPECT_TRUE(e.is_set());
    raise(SIGUSR1);
    EXPECT_TRUE(e.is_set());
    raise(SIGUSR2);
    EXPECT_FALSE(e.is_set());
    g_event = nullptr;
  }
  {  // C ABI, on an event in a shared region
    auto r = mpt::shared();
    auto *ce = static_cast<mpsync_event_t *>(r.alloc(sizeof(mpsync_event_t), 4));
    ASSERT_EQ(mpsync_event_init(ce), MPSYNC_OK);
    g_cevent = ce;
    Handler hs(SIGUSR1, on_cset), hc(SIGUSR2, on_cclear);
    raise(SIGUSR1);
    EXPECT_EQ(mpsync_event_is_set(ce), 1);
    raise(SIGUSR2);
    EXPECT_EQ(mpsync_event_is_set(ce), 0);
    g_cevent = nullptr;
  }
}

// The waiting thread itself runs the handler that sets the event it is blocked on (the handler
// interrupts its futex wait): its wait returns true.
TEST_P(EventTest, E2_SetByHandlerInterruptingTheWaiter) {
  auto r = mpt::shared();
  auto *e = r.make<Event>();
  g_event = e;
  Handler hs(SIGUSR1, on_set);
  const pthread_t self = pthread_self();
  const pid_t me = getpid();
  mpt::Workers w(GetParam());
  const Mode m = GetParam();
  w.start([=] {
    WCHECK(mpt::eventually([&] { return has_waiter_bit(e); }, 30.0));
    if (m == Mode::threads)
      WCHECK(pthread_kill(self, SIGUSR1) == 0);
    else
      WCHECK(kill(me, SIGUSR1) == 0);
    return 0;
  });
  const double t0 = mpt::now_s();
  EXPECT_TRUE(e->wait(30.0));
  EXPECT_LT(mpt::now_s() - t0, 30.0);
  EXPECT_TRUE(e->is_set());
  EXPECT_EQ(w.join(), 0);
  g_event = nullptr;
}

// E3: a waiter blocked during set() returns true although clear() follows at once. Repeated (one
// waiter, 50 rounds; then 3 fresh waiters) so the set/clear pair lands both before and after the
// waiter has gone to sleep. Its waiters bit
// proves the waiter is inside wait (it sets the bit after taking its snapshot), i.e. blocked
// during the set() that follows.
TEST_P(EventTest, E3_SetThenClearStillWakesWaiter) {
  auto r = mpt::shared();
  auto *e = r.make<Event>();
  auto *rounds = r.make<std::atomic<int>>(0);
  auto *cleared = r.make<std::atomic<int>>(0);
  constexpr int kRounds = 50;
  mpt::Workers w(GetParam());
  w.start([=] {
    for (int i = 0; i < kRounds; ++i) {
      WCHECK(e->wait(30.0));
      rounds->fetch_add(1);
      // Begin the next wait only once this round's clear() is done (else it sees "set").
      WCHECK(mpt::eventually([&] { return cleared->load() == i + 1; }, 30.0));
    }
    return 0;
  });
  for (int i = 0; i < kRounds; ++i) {
    // The waiter has finished round i-1 and announced itself for round i.
    ASSERT_TRUE(mpt::eventually([&] { return rounds->load() == i && has_waiter_bit(e); }, 30.0))
        << "round " << i << " rounds " << rounds->load() << " word " << std::hex << mpt::word(e);
    EXPECT_FALSE(e->is_set());  // the previous round's waiter returning left it clear
    e->set();
    e->clear();
    EXPECT_FALSE(e->is_set());
    cleared->store(i + 1);
  }
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(rounds->load(), kRounds);
  EXPECT_FALSE(e->is_set());
  // Then a fresh waiter (a new thread or process) per round: its first wait.
  for (int round = 0; round < 3; ++round) {
    mpt::Workers fresh(GetParam());
    fresh.start([=] { return e->wait(30.0) ? 0 : 1; });
    ASSERT_TRUE(mpt::eventually([&] { return has_waiter_bit(e); })) << "fresh round " << round;
    e->set();
    e->clear();  // at once: the waiter blocked during the set() still returns true
    EXPECT_EQ(fresh.join(), 0) << "fresh round " << round;
    EXPECT_FALSE(e->is_set());
  }
}

// E3 through the C ABI.
TEST_P(EventTest, E3_CApi) {
  auto r = mpt::shared();
  auto *e = r.make<mpsync_event_t>();
  ASSERT_EQ(mpsync_event_init(e), MPSYNC_OK);
  mpt::Workers w(GetParam());
  w.start([=] {
    WCHECK(mpsync_event_wait(e, 30.0) == MPSYNC_OK);
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(e) & Event::kWaiters) != 0; }));
  EXPECT_EQ(mpsync_event_set(e), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_clear(e), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(e), 0);
  EXPECT_EQ(w.join(), 0);
}
