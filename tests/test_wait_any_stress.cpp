// mpsync_wait_any stress (issue #8): wait-any workers over overlapping sets plus plain waiters,
// random releases, every acquisition accounted for, and nobody left asleep while something it
// waits for is free — with threads and with processes, on both wait backends.
#include <array>
#include <atomic>
#include <random>

#include "harness.hpp"
#include "wait_any_util.hpp"

using namespace mpsync;
using mpt::Mode;
using namespace wa;

class WaitAnyStress : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, WaitAnyStress, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

// ---- stress ---------------------------------------------------------------------------------------
// kAny wait-any workers over overlapping sets {sem[i%2], lock[i%3], lock[(i+1)%3]} (the semaphore
// first, so a woken wait-any often takes it instead of the lock whose wake it absorbed), plain Lock
// and Semaphore waiters on the same objects, and random releases of semaphore tokens from the
// parent. Every acquisition is accounted for: a lock's critical section is exclusive and counted,
// tokens posted == tokens taken + tokens left. Then a final phase proves nobody is left asleep
// while something it waits for is free: the parent holds every lock and empties the semaphores,
// waits until every worker blocks in its final wait, releases everything once, and every worker
// must finish within a generous deadline (a lost wake-up leaves one asleep until its timeout).
namespace {
constexpr int kAny = 4, kPlainLock = 2, kPlainSem = 1, kWorkers = kAny + kPlainLock + kPlainSem;
constexpr int kRounds = 200;
struct Pool {
  Lock lock[3];
  Semaphore sem[2];
  Event phase2;
  int owner[3] = {};
  long lock_count[3] = {};
  long sem_taken[2] = {};
  long worker_count[kWorkers] = {};
  int done1 = 0, started2 = 0;
  std::uint32_t tids[kWorkers] = {};
};

int take_lock_cs(Pool *p, int k, int me) {  // the critical section: exclusive, counted
  WCHECK(__atomic_exchange_n(&p->owner[k], me + 1, __ATOMIC_RELAXED) == 0);
  const long c = __atomic_add_fetch(&p->lock_count[k], 1, __ATOMIC_RELAXED);
  if (c % 4 == 0) std::this_thread::yield();  // hold it a little: contention
  WCHECK(__atomic_exchange_n(&p->owner[k], 0, __ATOMIC_RELAXED) == me + 1);
  WCHECK(p->lock[k].release_status() == status::ok);
  return 0;
}

// One wait of worker `me`; returns nonzero on a failed check. final: the last wait (10 s bound).
int one_wait(Pool *p, int me, double limit) {
  if (me < kAny) {
    const mpsync_waitable items[] = {waitable(p->sem[me % 2]), waitable(p->lock[me % 3]), waitable(p->lock[(me + 1) % 3])};
    unsigned idx = 9;
    const int rc = mpsync_wait_any(items, 3, limit, &idx);
    WCHECK(rc == MPSYNC_OK);
    ++p->worker_count[me];
    if (idx == 0) {
      __atomic_add_fetch(&p->sem_taken[me % 2], 1, __ATOMIC_RELAXED);
      return 0;
    }
    return take_lock_cs(p, idx == 1 ? me % 3 : (me + 1) % 3, me);
  }
  if (me < kAny + kPlainLock) {
    const int k = me % 3;
    WCHECK(p->lock[k].acquire_status(true, limit) == status::ok);
    ++p->worker_count[me];
    return take_lock_cs(p, k, me);
  }
  const int k = me % 2;
  WCHECK(p->sem[k].acquire_status(true, limit) == status::ok);
  ++p->worker_count[me];
  __atomic_add_fetch(&p->sem_taken[k], 1, __ATOMIC_RELAXED);
  return 0;
}

int worker(Pool *p, int me) {
  __atomic_store_n(&p->tids[me], tid(), __ATOMIC_RELEASE);
  for (int i = 0; i < kRounds; ++i)
    if (one_wait(p, me, 30.0)) return 1;
  __atomic_add_fetch(&p->done1, 1, __ATOMIC_ACQ_REL);
  WCHECK(p->phase2.wait(30.0));
  __atomic_add_fetch(&p->started2, 1, __ATOMIC_ACQ_REL);
  return one_wait(p, me, 10.0);
}
}  // namespace

TEST_P(WaitAnyStress, StressOverlappingSetsWithPlainWaiters) {
  auto r = mpt::shared();
  auto *p = r.make<Pool>();
  mpt::Workers w(GetParam());
  for (int i = 0; i < kWorkers; ++i) w.start([p, i] { return worker(p, i); });
  std::mt19937 rng(12345);
  long posted[2] = {0, 0};
  // Phase 1: post tokens at random until every worker has done its rounds (plain semaphore
  // waiters need them; at most a few outstanding so the wait-any keep choosing).
  const double end = mpt::now_s() + 60;
  while (__atomic_load_n(&p->done1, __ATOMIC_ACQUIRE) < kWorkers && mpt::now_s() < end) {
    const int k = static_cast<int>(rng() % 2);
    if (p->sem[k].get_value() < 3) {
      ASSERT_EQ(p->sem[k].release_status(), status::ok);
      ++posted[k];
    }
    if (rng() % 4 == 0) std::this_thread::yield();
  }
  ASSERT_EQ(__atomic_load_n(&p->done1, __ATOMIC_ACQUIRE), kWorkers) << "phase 1 did not finish";
  // Phase 2: everything taken by the parent, every worker asleep in its final wait, then one release each.
  for (auto &l : p->lock) ASSERT_TRUE(l.acquire(true, 10.0));
  long left[2];
  for (int k = 0; k < 2; ++k) {
    left[k] = 0;
    while (p->sem[k].acquire_status(false) == status::ok) ++left[k];
  }
  p->phase2.set();
  ASSERT_TRUE(mpt::eventually([&] {
    if (__atomic_load_n(&p->started2, __ATOMIC_ACQUIRE) < kWorkers) return false;
    for (auto t : p->tids)
      if (!blocked(t)) return false;
    return true;
  }));
  for (auto &l : p->lock) ASSERT_EQ(l.release_status(), status::ok);
  for (int k = 0; k < 2; ++k)
    for (int i = 0; i < kAny + kPlainSem; ++i) {  // enough for every worker that may want one
      ASSERT_EQ(p->sem[k].release_status(), status::ok);
      ++posted[k];
    }
  EXPECT_EQ(w.join(), 0);
  // Accounting.
  long lock_total = 0, worker_total = 0;
  for (long c : p->lock_count) lock_total += c;
  for (long c : p->worker_count) worker_total += c;
  EXPECT_EQ(worker_total, static_cast<long>(kWorkers) * (kRounds + 1));
  EXPECT_EQ(lock_total + p->sem_taken[0] + p->sem_taken[1], worker_total);
  for (int k = 0; k < 2; ++k) EXPECT_EQ(posted[k], p->sem_taken[k] + left[k] + p->sem[k].get_value()) << k;
  for (int k = 0; k < 3; ++k) EXPECT_FALSE(p->lock[k].locked());
}
