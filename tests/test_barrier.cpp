// Barrier conformance suite: CONFORMANCE B1-B6, with threads and with processes (C++ face and
// C ABI). One test per behaviour (formerly split between this file and conf_event_barrier.cpp).
#include <atomic>
#include <stdexcept>

#include "harness.hpp"

using mpsync::Barrier;
using mpsync::status;
using mpt::Mode;

class BarrierTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, BarrierTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

namespace {
constexpr int kMaxParties = 8, kMaxCycles = 32;

struct Shared {
  std::atomic<int> arrived[kMaxParties]{};          // per party: passes begun
  std::atomic<int> seen[kMaxCycles][kMaxParties]{};  // per cycle: how often each index came out
  std::atomic<int> released[kMaxCycles]{};          // per cycle: parties returned
  std::atomic<int> ran_by[kMaxCycles]{};            // per cycle: party that ran the action (+1)
  std::atomic<int> actions{0};
  std::atomic<int> bad_action{0};
};

// Lock-step: party i, before wait k, says it has begun pass k; after wait k everybody has begun
// pass k and nobody has begun pass k+2.
int lock_step(Barrier *b, Shared *sh, int i, int parties, int passes) {
  for (int k = 0; k < passes; ++k) {
    sh->arrived[i].store(k + 1);
    unsigned idx = ~0u;
    WCHECK(b->wait_status(30.0, nullptr, nullptr, &idx) == status::ok);
    WCHECK(idx < static_cast<unsigned>(parties));
    for (int j = 0; j < parties; ++j) {
      const int a = sh->arrived[j].load();
      WCHECK(a >= k + 1 && a <= k + 2);
    }
  }
  return 0;
}

// A full cycle of `parties`: parties-1 workers of mode m plus the caller.
int full_cycle(Mode m, Barrier *b, unsigned parties) {
  mpt::Workers w(m);
  for (unsigned i = 1; i < parties; ++i)
    w.start([=] {
      WCHECK(b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok);
      return 0;
    });
  const bool ok = b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok;
  return w.join() + (ok ? 0 : 1);
}

void expect_usable(Mode m, Barrier *b) {
  EXPECT_FALSE(b->broken());
  EXPECT_EQ(b->n_waiting(), 0u);
  EXPECT_EQ(full_cycle(m, b, b->parties()), 0);
  EXPECT_FALSE(b->broken());
  EXPECT_EQ(b->n_waiting(), 0u);
}
}  // namespace

TEST_P(BarrierTest, B1_LockStep) {
  for (int parties : {1, 5}) {
    auto r = mpt::shared();
    auto *b = r.make<Barrier>(static_cast<unsigned>(parties));
    auto *sh = r.make<Shared>();
    EXPECT_EQ(mpt::run(GetParam(), parties, [=](int i) { return lock_step(b, sh, i, parties, 10); }), 0)
        << parties << " parties";
    for (int j = 0; j < parties; ++j) EXPECT_EQ(sh->arrived[j].load(), 10);
    EXPECT_EQ(b->n_waiting(), 0u);
    EXPECT_FALSE(b->broken());
    EXPECT_EQ(b->parties(), static_cast<unsigned>(parties));
  }
}

TEST_P(BarrierTest, B1_ThousandPassesNobodyAhead) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(5u);
  auto *sh = r.make<Shared>();
  EXPECT_EQ(mpt::run(GetParam(), 5, [=](int i) { return lock_step(b, sh, i, 5, 1000); }), 0);
  for (int j = 0; j < 5; ++j) EXPECT_EQ(sh->arrived[j].load(), 1000);
  EXPECT_EQ(b->n_waiting(), 0u);
  EXPECT_FALSE(b->broken());
}

// Each cycle hands out every index 0..parties-1 exactly once (so exactly one waiter gets 0).
TEST_P(BarrierTest, B2_IndexesUniquePerCycle) {
  constexpr int kCycles = 20;
  for (int parties : {1, 5}) {
    auto r = mpt::shared();
    auto *b = r.make<Barrier>(static_cast<unsigned>(parties));
    auto *sh = r.make<Shared>();
    EXPECT_EQ(mpt::run(GetParam(), parties, [=](int) {
                for (int c = 0; c < kCycles; ++c) {
                  const unsigned idx = b->wait(30.0);
                  WCHECK(idx < static_cast<unsigned>(parties));
                  sh->seen[c][idx].fetch_add(1);
                }
                return 0;
              }), 0) << parties << " parties";
    for (int c = 0; c < kCycles; ++c)
      for (int k = 0; k < parties; ++k)
        EXPECT_EQ(sh->seen[c][k].load(), 1) << parties << " parties, cycle " << c << " index " << k;
    EXPECT_EQ(b->n_waiting(), 0u);
    EXPECT_FALSE(b->broken());
  }
}

TEST_P(BarrierTest, B3_ActionOncePerCycleInLastArriverBeforeRelease) {
  auto r = mpt::shared();
  constexpr int kP = 4, kCycles = 20;
  auto *b = r.make<Barrier>(unsigned{kP});
  auto *sh = r.make<Shared>();
  EXPECT_EQ(mpt::run(GetParam(), kP, [=](int i) {
              for (int c = 0; c < kCycles; ++c) {
                bool ran_here = false;  // set only if the action runs in this very thread/process
                auto action = [=, &ran_here] {
                  if (sh->released[c].load() != 0 || sh->ran_by[c].load() != 0) sh->bad_action.store(1);
                  sh->ran_by[c].store(i + 1);
                  sh->actions.fetch_add(1);
                  ran_here = true;
                };
                // Both overloads: with a timeout, and the default (forever; the harness bounds it).
                const unsigned idx = c % 2 ? b->wait(action) : b->wait(action, 30.0);
                sh->released[c].fetch_add(1);
                WCHECK(sh->actions.load() == c + 1);  // ran before my release, and only once
                WCHECK((idx == kP - 1) == (sh->ran_by[c].load() == i + 1));
                WCHECK((idx == kP - 1) == ran_here);  // only in the last arriver
              }
              return 0;
            }), 0);
  EXPECT_EQ(sh->actions.load(), kCycles);
  EXPECT_EQ(sh->bad_action.load(), 0);
}

TEST_P(BarrierTest, B3_FailingActionBreaksForEveryone) {
  auto r = mpt::shared();
  constexpr int kP = 3;
  auto *b = r.make<Barrier>(unsigned{kP});
  auto *sh = r.make<Shared>();
  // Round 0: a C-ABI action returns nonzero (wait_status); round 1: the C++ action returns false;
  // round 2: it throws. Everyone gets BROKEN each time.
  for (int round = 0; round < 3; ++round) {
    sh->actions.store(0);
    EXPECT_EQ(mpt::run(GetParam(), kP, [=](int) {
                if (round == 0) {
                  auto fail = [](void *p) {
                    static_cast<std::atomic<int> *>(p)->fetch_add(1);
                    return 1;
                  };
                  WCHECK(b->wait_status(30.0, fail, &sh->actions, nullptr) == status::broken);
                  WCHECK(b->broken());
                  return 0;
                }
                try {
                  if (round == 1)
                    b->wait([=] { sh->actions.fetch_add(1); return false; }, 30.0);
                  else
                    b->wait([=] { sh->actions.fetch_add(1); throw std::runtime_error("no"); }, 30.0);
                } catch (const mpsync::broken_barrier &) {
                  WCHECK(b->broken());
                  return 0;
                }
                return 1;
              }), 0) << round;
    EXPECT_EQ(sh->actions.load(), 1);
    EXPECT_TRUE(b->broken());
    EXPECT_EQ(b->wait_status(30.0, nullptr, nullptr, nullptr), status::broken);  // at once
    EXPECT_THROW(b->wait(1.0), mpsync::broken_barrier);
    b->reset();
    EXPECT_FALSE(b->broken());
    expect_usable(GetParam(), b);
    // and a cycle of parties that are all workers
    EXPECT_EQ(mpt::run(GetParam(), kP, [=](int) {
                return b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok ? 0 : 1;
              }), 0) << round;
  }
}

TEST(Barrier, B3_CApiAction) {
  mpsync_barrier_t b;
  ASSERT_EQ(mpsync_barrier_init(&b, 1), MPSYNC_OK);
  int runs = 0;
  auto ok = [](void *p) { ++*static_cast<int *>(p); return 0; };
  auto fail = [](void *p) { ++*static_cast<int *>(p); return 7; };
  unsigned idx = 99;
  EXPECT_EQ(mpsync_barrier_wait(&b, 0.0, ok, &runs, &idx), MPSYNC_OK);
  EXPECT_EQ(idx, 0u);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(mpsync_barrier_wait(&b, 0.0, fail, &runs, &idx), MPSYNC_BROKEN);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(mpsync_barrier_broken(&b), 1);
  EXPECT_EQ(mpsync_barrier_reset(&b), MPSYNC_OK);
  EXPECT_EQ(mpsync_barrier_broken(&b), 0);
  EXPECT_EQ(mpsync_barrier_wait(&b, MPSYNC_FOREVER, nullptr, nullptr, &idx), MPSYNC_OK);
  EXPECT_EQ(mpsync_barrier_parties(&b), 1u);
}

TEST_P(BarrierTest, B4_AbortBreaksCurrentAndLaterWaits) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  mpt::Workers w(GetParam());
  for (int i = 0; i < 2; ++i)
    w.start([=] {
      WCHECK(b->wait_status(30.0, nullptr, nullptr, nullptr) == status::broken);
      return 0;
    });
  ASSERT_TRUE(mpt::eventually([&] { return b->n_waiting() == 2; }));
  b->abort();
  EXPECT_EQ(w.join(), 0);
  EXPECT_TRUE(b->broken());
  EXPECT_EQ(b->n_waiting(), 0u);
  const double t0 = mpt::now_s();
  EXPECT_EQ(b->wait_status(30.0, nullptr, nullptr, nullptr), status::broken);
  EXPECT_THROW(b->wait(30.0), mpsync::broken_barrier);
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_TRUE(b->broken());
  b->reset();
  expect_usable(GetParam(), b);
}

TEST_P(BarrierTest, B5_ResetWithWaitersBreaksThemThenUsable) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  b->reset();  // no waiters: usable at once
  expect_usable(GetParam(), b);
  mpt::Workers w(GetParam());
  for (int i = 0; i < 2; ++i)
    w.start([=] {
      WCHECK(b->wait_status(30.0, nullptr, nullptr, nullptr) == status::broken);
      return 0;
    });
  ASSERT_TRUE(mpt::eventually([&] { return b->n_waiting() == 2; }));
  b->reset();
  EXPECT_EQ(b->n_waiting(), 0u);
  EXPECT_FALSE(b->broken());
  EXPECT_EQ(w.join(), 0);
  expect_usable(GetParam(), b);
  // A cycle of parties that are all workers; then reset with no waiters after use: usable at once.
  auto all_workers_cycle = [&] {
    return mpt::run(GetParam(), 3, [=](int) {
      return b->wait_status(30.0, nullptr, nullptr, nullptr) == status::ok ? 0 : 1;
    });
  };
  EXPECT_EQ(all_workers_cycle(), 0);
  b->reset();
  EXPECT_EQ(all_workers_cycle(), 0);
  expect_usable(GetParam(), b);
}

// B5: waiters of the reset generation get BROKEN even if a whole new cycle completes before they
// wake up (stopped processes make that ordering certain).
TEST(Barrier, B5_ResetWaitersBrokenEvenAfterTheNextCycle) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  mpt::Workers old(Mode::processes);
  for (int i = 0; i < 2; ++i)
    old.start([=] {
      const status s = b->wait_status(30.0, nullptr, nullptr, nullptr);
      if (s != status::broken) std::fprintf(stderr, "reset waiter got status %d\n", static_cast<int>(s));
      WCHECK(s == status::broken);
      return 0;
    });
  ASSERT_TRUE(mpt::eventually([&] { return b->n_waiting() == 2; }));
  for (pid_t p : old.pids()) {
    ASSERT_EQ(kill(p, SIGSTOP), 0);
    int st = 0;
    ASSERT_EQ(waitpid(p, &st, WUNTRACED), p);
  }
  b->reset();
  EXPECT_EQ(full_cycle(Mode::processes, b, 3), 0);  // arrivals after the reset: a new cycle
  old.kill_all(SIGCONT);
  EXPECT_EQ(old.join(), 0);
  EXPECT_FALSE(b->broken());
  EXPECT_EQ(b->n_waiting(), 0u);
}

TEST_P(BarrierTest, B6_TimeoutBreaksForEveryone) {
  auto r = mpt::shared();
  auto *b = r.make<Barrier>(3u);
  mpt::Workers w(GetParam());
  w.start([=] {
    WCHECK(b->wait_status(30.0, nullptr, nullptr, nullptr) == status::broken);
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return b->n_waiting() == 1; }));
  w.start([=] {
    const double t0 = mpt::now_s();
    WCHECK(b->wait_status(0.1, nullptr, nullptr, nullptr) == status::broken);
    const double dt = mpt::now_s() - t0;
    WCHECK(dt >= 0.1 && dt < 0.1 + mpt::kSlack);
    return 0;
  });
  EXPECT_EQ(w.join(), 0);
  EXPECT_TRUE(b->broken());
  const double t0 = mpt::now_s();
  EXPECT_EQ(b->wait_status(30.0, nullptr, nullptr, nullptr), status::broken);  // late arriver
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  b->reset();
  expect_usable(GetParam(), b);
  // Again with no arrival order enforced: the timing-out waiter may come first or second.
  w.start([=] {
    WCHECK(b->wait_status(30.0, nullptr, nullptr, nullptr) == status::broken);
    return 0;
  });
  w.start([=] {
    const double t1 = mpt::now_s();
    WCHECK(b->wait_status(0.2, nullptr, nullptr, nullptr) == status::broken);
    const double dt = mpt::now_s() - t1;
    WCHECK(dt >= 0.2 && dt < 0.2 + mpt::kSlack);
    return 0;
  });
  EXPECT_EQ(w.join(), 0);
  EXPECT_TRUE(b->broken());
  EXPECT_EQ(b->wait_status(30.0, nullptr, nullptr, nullptr), status::broken);  // late arriver
}

TEST(Barrier, B6_ZeroTimeoutBreaks) {
  Barrier b(2);
  const double t0 = mpt::now_s();
  EXPECT_EQ(b.wait_status(0.0, nullptr, nullptr, nullptr), status::broken);
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_TRUE(b.broken());
}

// B1 with one party (every pass is a whole cycle, index 0) and B6: Barrier(1).wait never blocks.
TEST(Barrier, B1_B6_OnePartyNeverBlocks) {
  Barrier b(1);
  const double t0 = mpt::now_s();
  for (int k = 0; k < 100; ++k) {
    EXPECT_EQ(b.wait(0.0), 0u);
    EXPECT_EQ(b.wait(-1.0), 0u);
    EXPECT_EQ(b.wait(), 0u);
  }
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  EXPECT_EQ(b.n_waiting(), 0u);
  EXPECT_FALSE(b.broken());
}

TEST(Barrier, B6_ZeroPartiesInvalid) {
  mpsync_barrier_t cb;
  EXPECT_EQ(mpsync_barrier_init(&cb, 0), MPSYNC_EINVAL);
  Barrier b(1);
  EXPECT_EQ(b.init(0), status::invalid);
  EXPECT_THROW(Barrier(0), mpsync::invalid_argument);
}
