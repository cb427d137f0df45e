// Multi-process stress: 4 processes hammer each primitive; exact invariants at the end.
// Counts are modest so the sanitizer and sleep-loop runs stay within minutes.
#include <array>
#include <cstdlib>

#include "harness.hpp"

using namespace mpsync;
using mpt::Mode;

namespace {
constexpr int kProcs = 4;
// Every worker passes this gate first, so they really run at the same time.
struct Gate {
  Barrier b{unsigned{kProcs}};
  int pass() { return b.wait_status(60.0, nullptr, nullptr, nullptr) == status::ok ? 0 : 1; }
};
int iters(int base) { return std::getenv("MPSYNC_STRESS_SCALE") ? base * std::atoi(std::getenv("MPSYNC_STRESS_SCALE")) : base; }
}  // namespace

class Stress : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, Stress, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

TEST_P(Stress, LockExclusion) {
  auto r = mpt::shared();
  auto *gate = r.make<Gate>();
  auto *l = r.make<Lock>();
  auto *n = r.make<long>(0);
  const int k = iters(50000);
  ASSERT_EQ(mpt::run(GetParam(), kProcs, [&](int) {
              WCHECK(gate->pass() == 0);
              for (int i = 0; i < k; ++i) {
                WCHECK(l->acquire());
                WCHECK(l->is_mine());
                ++*n;
                l->release();
              }
              return 0;
            }), 0);
  EXPECT_EQ(*n, long{kProcs} * k);
  EXPECT_FALSE(l->locked());
}

TEST_P(Stress, RLockNestedExclusion) {
  auto r = mpt::shared();
  auto *gate = r.make<Gate>();
  auto *l = r.make<RLock>();
  auto *n = r.make<long>(0);
  const int k = iters(30000);
  ASSERT_EQ(mpt::run(GetParam(), kProcs, [&](int) {
              WCHECK(gate->pass() == 0);
              for (int i = 0; i < k; ++i) {
                WCHECK(l->acquire());
                WCHECK(l->acquire());
                WCHECK(l->count() == 2);
                ++*n;
                l->release();
                l->release();
              }
              return 0;
            }), 0);
  EXPECT_EQ(*n, long{kProcs} * k);
  EXPECT_FALSE(l->locked());
}

TEST_P(Stress, SemaphoreTokensConserved) {
  // Semaphore(2) guards a resource used by at most 2 at a time; tokens are conserved.
  auto r = mpt::shared();
  auto *gate = r.make<Gate>();
  auto *s = r.make<Semaphore>(2u);
  auto *inside = r.make<int>(0);
  auto *maxin = r.make<int>(0);
  const int k = iters(30000);
  ASSERT_EQ(mpt::run(GetParam(), kProcs, [&](int) {
              WCHECK(gate->pass() == 0);
              for (int i = 0; i < k; ++i) {
                WCHECK(s->acquire());
                int now = __atomic_add_fetch(inside, 1, __ATOMIC_ACQ_REL);
                WCHECK(now <= 2);
                int m = __atomic_load_n(maxin, __ATOMIC_RELAXED);
                while (now > m && !__atomic_compare_exchange_n(maxin, &m, now, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
                }
                __atomic_sub_fetch(inside, 1, __ATOMIC_ACQ_REL);
                s->release();
              }
              return 0;
            }), 0);
  EXPECT_EQ(s->get_value(), 2);
  EXPECT_LE(*maxin, 2);
}

TEST_P(Stress, SemaphoreHandoffRing) {
  // Each worker i waits on sem[i] and posts sem[(i+1)%n]: one token circulates; every pass blocks.
  auto r = mpt::shared();
  auto *gate = r.make<Gate>();
  Semaphore *sem[kProcs];
  for (auto &s : sem) s = r.make<Semaphore>(0u);
  auto *passes = r.make<long>(0);
  const int k = iters(3000);
  sem[0]->release();
  ASSERT_EQ(mpt::run(GetParam(), kProcs, [&](int i) {
              WCHECK(gate->pass() == 0);
              for (int j = 0; j < k; ++j) {
                WCHECK(sem[i]->acquire(true, 60.0));
                ++*passes;  // only the token holder runs here
                sem[(i + 1) % kProcs]->release();
              }
              return 0;
            }), 0);
  EXPECT_EQ(*passes, long{kProcs} * k);
  EXPECT_EQ(sem[0]->get_value(), 1);
}

TEST_P(Stress, ConditionBoundedBuffer) {
  // 2 producers, 2 consumers over an 8-slot ring guarded by a Condition (embedded RLock);
  // every item is consumed exactly once: the sums match.
  struct Ring {
    Condition cv;
    unsigned head = 0, tail = 0;
    long slots[8] = {};
    long consumed_sum = 0, consumed_n = 0;
  };
  auto r = mpt::shared();
  auto *gate = r.make<Gate>();
  auto *q = r.make<Ring>();
  const int per = iters(5000);
  ASSERT_EQ(mpt::run(GetParam(), kProcs, [&](int i) {
              WCHECK(gate->pass() == 0);
              const bool producer = i < 2;
              for (int j = 0; j < per; ++j) {
                WCHECK(q->cv.acquire());
                bool ok;
                if (producer) {
                  ok = q->cv.wait_for([&] { return q->tail - q->head < 8; }, 60.0);
                  if (ok) q->slots[q->tail++ % 8] = 1 + j + i * per;
                } else {
                  ok = q->cv.wait_for([&] { return q->tail != q->head; }, 60.0);
                  if (ok) {
                    q->consumed_sum += q->slots[q->head++ % 8];
                    ++q->consumed_n;
                  }
                }
                q->cv.notify_all();
                q->cv.release();
                WCHECK(ok);
              }
              return 0;
            }), 0);
  const long n = 2L * per;
  EXPECT_EQ(q->consumed_n, n);
  EXPECT_EQ(q->consumed_sum, n * (n + 1) / 2);
}

TEST_P(Stress, ConditionNotifyOneExactHandoff) {
  // Single-item mailbox with notify(1), two Conditions bound to one external RLock (so a notify
  // only ever wakes the kind of waiter that can make progress): each put wakes one taker.
  struct Box {
    RLock lk;
    Condition not_empty{lk}, not_full{lk};
    long item = 0, taken = 0, sum = 0;
  };
  auto r = mpt::shared();
  auto *gate = r.make<Gate>();
  auto *b = r.make<Box>();
  const int per = iters(2000);
  ASSERT_EQ(mpt::run(GetParam(), kProcs, [&](int i) {
              WCHECK(gate->pass() == 0);
              for (int j = 0; j < per; ++j) {
                WCHECK(b->lk.acquire());
                bool ok;
                if (i % 2 == 0) {
                  ok = b->not_full.wait_for([&] { return b->item == 0; }, 60.0);
                  if (ok) b->item = j + 1;
                  b->not_empty.notify(1);
                } else {
                  ok = b->not_empty.wait_for([&] { return b->item != 0; }, 60.0);
                  if (ok) {
                    b->sum += b->item;
                    b->item = 0;
                    ++b->taken;
                  }
                  b->not_full.notify(1);
                }
                b->lk.release();
                WCHECK(ok);
              }
              return 0;
            }),
            0);
  EXPECT_EQ(b->taken, 2L * per);
  EXPECT_EQ(b->sum, 2L * per * (per + 1) / 2);
}

TEST_P(Stress, BarrierLockStep) {
  auto r = mpt::shared();
  auto *gate = r.make<Gate>();
  auto *bar = r.make<Barrier>(unsigned{kProcs});
  (void)gate;
  auto *pass = r.make<std::array<int, kProcs>>();
  auto *serial = r.make<long>(0);
  const int k = iters(1000);
  ASSERT_EQ(mpt::run(GetParam(), kProcs, [&](int i) {
              WCHECK(gate->pass() == 0);
              for (int j = 0; j < k; ++j) {
                __atomic_store_n(&(*pass)[i], j, __ATOMIC_RELEASE);
                unsigned idx = bar->wait([&] { ++*serial; }, 60.0);
                WCHECK(idx < unsigned{kProcs});
                for (int o = 0; o < kProcs; ++o) {  // nobody is a pass behind once we are released
                  WCHECK(__atomic_load_n(&(*pass)[o], __ATOMIC_ACQUIRE) >= j);
                }
              }
              return 0;
            }),
            0);
  EXPECT_EQ(*serial, k);  // the action ran exactly once per cycle
  EXPECT_FALSE(bar->broken());
  EXPECT_EQ(bar->n_waiting(), 0u);
}

TEST_P(Stress, EventPingPong) {
  auto r = mpt::shared();
  auto *ping = r.make<Event>();
  auto *pong = r.make<Event>();
  const int k = iters(2000);
  mpt::Workers w(GetParam());
  w.start([&] {
    for (int j = 0; j < k; ++j) {
      WCHECK(ping->wait(60.0));
      ping->clear();
      pong->set();
    }
    return 0;
  });
  for (int j = 0; j < k; ++j) {
    ping->set();
    ASSERT_TRUE(pong->wait(60.0));
    pong->clear();
  }
  EXPECT_EQ(w.join(), 0);
}
