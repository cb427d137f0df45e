// CONFORMANCE R1-R4 (RLock), with threads and with processes. R5 (owner death) is tested elsewhere.
#include <atomic>
#include <cstring>
#include <mutex>

#include "harness.hpp"

using mpsync::RLock;
using mpsync::status;
using mpt::Mode;

class RLockTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, RLockTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

static std::uint32_t first_word(const RLock *l) { return mpt::word(l); }

// Start gate: every worker spins here until all have arrived, so the contention is real.
static void gate(std::atomic<int> *arrived, int n) {
  arrived->fetch_add(1);
  while (arrived->load() < n) {
  }
}

TEST(RLock, R1_ThreeAcquiresThreeReleasesFourthIsNotOwner) {
  RLock l;
  for (unsigned i = 1; i <= 3; ++i) {
    EXPECT_EQ(l.acquire_status(), status::ok);
    EXPECT_EQ(l.count(), i);
    EXPECT_TRUE(l.is_mine());
    EXPECT_TRUE(l.locked());
  }
  for (unsigned i = 3; i >= 1; --i) {
    EXPECT_TRUE(l.is_mine());
    EXPECT_EQ(l.release_status(), status::ok);
    EXPECT_EQ(l.count(), i - 1);
  }
  EXPECT_FALSE(l.locked());
  EXPECT_FALSE(l.is_mine());
  EXPECT_EQ(l.release_status(), status::not_owner);
  EXPECT_THROW(l.release(), mpsync::not_owner);
  EXPECT_EQ(l.count(), 0u);
  // Still usable afterwards.
  EXPECT_TRUE(l.acquire(false));
  EXPECT_EQ(l.count(), 1u);
  l.release();
}

TEST(RLock, R2_OwnerRecursesWithNonBlockingAndNegativeTimeout) {
  RLock l;
  ASSERT_EQ(l.acquire_status(), status::ok);
  EXPECT_EQ(l.acquire_status(false), status::ok);
  EXPECT_EQ(l.count(), 2u);
  EXPECT_EQ(l.acquire_status(true, -1.0), status::ok);
  EXPECT_EQ(l.count(), 3u);
  EXPECT_EQ(l.acquire_status(true, 0.0), status::ok);
  EXPECT_EQ(l.count(), 4u);
  EXPECT_TRUE(l.acquire(false));
  EXPECT_TRUE(l.acquire(true, -1.0));
  EXPECT_EQ(l.count(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(l.release_status(), status::ok);
  EXPECT_FALSE(l.locked());
  EXPECT_EQ(l.release_status(), status::not_owner);
}

TEST(RLock, ZeroMemoryIsUnlocked) {
  alignas(8) unsigned char raw[sizeof(RLock)];
  std::memset(raw, 0, sizeof raw);
  auto *l = reinterpret_cast<RLock *>(raw);
  EXPECT_FALSE(l->locked());
  EXPECT_FALSE(l->is_mine());
  EXPECT_EQ(l->count(), 0u);
  EXPECT_EQ(l->release_status(), status::not_owner);
  EXPECT_TRUE(l->acquire(false));
  EXPECT_TRUE(l->acquire(false));
  EXPECT_EQ(l->count(), 2u);
  l->release();
  l->release();
  EXPECT_FALSE(l->locked());
}

TEST_P(RLockTest, R3_NonOwnerFailsAndCannotRelease) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  ASSERT_TRUE(l->acquire());
  ASSERT_TRUE(l->acquire());
  EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
              WCHECK(!l->is_mine());
              WCHECK(l->locked());
              WCHECK(l->count() == 2u);
              WCHECK(l->acquire_status(false) == status::timedout);
              WCHECK(l->acquire_status(false, 10.0) == status::timedout);  // T1: timeout ignored
              WCHECK(!l->acquire(false));
              const double t0 = mpt::now_s();
              WCHECK(l->acquire_status(true, 0.05) == status::timedout);
              const double dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.05 && dt < 0.05 + mpt::kSlack);
              WCHECK(l->release_status() == status::not_owner);
              bool threw = false;
              try {
                l->release();
              } catch (const mpsync::not_owner &) {
                threw = true;
              }
              WCHECK(threw);
              WCHECK(l->count() == 2u);  // the failed release changed nothing
              WCHECK(!l->is_mine());
              return 0;
            }), 0);
  EXPECT_TRUE(l->is_mine());
  EXPECT_EQ(l->count(), 2u);
  EXPECT_EQ(l->release_status(), status::ok);
  EXPECT_EQ(l->release_status(), status::ok);
  EXPECT_FALSE(l->locked());
}

TEST_P(RLockTest, R4_CountAndIsMineEverywhere) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *held = r.make<mpsync::Event>();
  auto *checked = r.make<mpsync::Event>();
  auto *done = r.make<mpsync::Event>();
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(!l->is_mine());
    for (unsigned i = 1; i <= 3; ++i) {
      WCHECK(l->acquire());
      WCHECK(l->count() == i);
    }
    WCHECK(l->is_mine());
    held->set();
    WCHECK(checked->wait(30.0));
    WCHECK(l->is_mine());  // the parent's failed release did not disturb it
    WCHECK(l->count() == 3u);
    WCHECK(l->release_status() == status::ok);
    WCHECK(l->release_status() == status::ok);
    WCHECK(l->release_status() == status::ok);
    WCHECK(!l->is_mine());
    WCHECK(l->count() == 0u);
    done->set();
    return 0;
  });
  ASSERT_TRUE(held->wait(30.0));
  EXPECT_TRUE(l->locked());
  EXPECT_FALSE(l->is_mine());
  EXPECT_EQ(l->count(), 3u);
  EXPECT_EQ(l->release_status(), status::not_owner);
  EXPECT_EQ(l->acquire_status(false), status::timedout);
  checked->set();
  ASSERT_TRUE(done->wait(30.0));
  EXPECT_EQ(w.join(), 0);
  EXPECT_FALSE(l->locked());
  EXPECT_EQ(l->count(), 0u);
  EXPECT_TRUE(l->acquire(false));
  EXPECT_TRUE(l->is_mine());
  EXPECT_EQ(l->count(), 1u);
  l->release();
}

TEST_P(RLockTest, BlockedAcquirerIsWokenByLastRelease) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *got = r.make<mpsync::Event>();
  ASSERT_TRUE(l->acquire());
  ASSERT_TRUE(l->acquire());
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(l->acquire_status(true, 30.0) == status::ok);
    WCHECK(l->is_mine());
    WCHECK(l->count() == 1u);
    got->set();
    WCHECK(l->release_status() == status::ok);
    return 0;
  });
  // The waiter announces itself with FUTEX_WAITERS before sleeping: observe it.
  ASSERT_TRUE(mpt::eventually([&] { return (first_word(l) & 0x80000000u) != 0; }));
  EXPECT_EQ(l->release_status(), status::ok);  // not the last level: the waiter must stay blocked
  EXPECT_TRUE(l->is_mine());
  EXPECT_FALSE(got->is_set());
  EXPECT_EQ(l->release_status(), status::ok);  // the last level wakes it
  EXPECT_TRUE(got->wait(30.0));
  EXPECT_EQ(w.join(), 0);
  EXPECT_FALSE(l->locked());
}

TEST_P(RLockTest, MutualExclusionUnderContention) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  auto *counter = r.make<long>(0);
  auto *arrived = r.make<std::atomic<int>>(0);
  constexpr int kWorkers = 4, kIters = 20000;
  EXPECT_EQ(mpt::run(GetParam(), kWorkers, [&](int) {
              gate(arrived, kWorkers);
              for (int i = 0; i < kIters; ++i) {
                WCHECK(l->acquire());
                WCHECK(l->acquire(false));  // recursion under contention
                WCHECK(l->count() == 2u);
                long v = *counter;  // a plain read-modify-write: only exclusion makes it exact
                *counter = v + 1;
                WCHECK(l->release_status() == status::ok);
                WCHECK(l->release_status() == status::ok);
              }
              WCHECK(!l->is_mine());
              return 0;
            }), 0);
  EXPECT_EQ(*counter, long{kWorkers} * kIters);
  EXPECT_FALSE(l->locked());
}

TEST(RLock, StdLockable) {
  RLock a, b;
  {
    std::scoped_lock both(a, b);
    EXPECT_TRUE(a.is_mine());
    EXPECT_TRUE(b.is_mine());
    std::unique_lock<RLock> again(a);  // recursive
    EXPECT_EQ(a.count(), 2u);
  }
  EXPECT_FALSE(a.locked());
  EXPECT_FALSE(b.locked());
  {
    std::unique_lock<RLock> u(a, std::defer_lock);
    EXPECT_TRUE(u.try_lock_for(std::chrono::milliseconds(10)));
    EXPECT_TRUE(a.try_lock());
    EXPECT_TRUE(a.try_lock_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
    EXPECT_EQ(a.count(), 3u);
    a.unlock();
    a.unlock();
  }
  EXPECT_FALSE(a.locked());
}

TEST_P(RLockTest, StdTimedLockFromOtherSideTimesOut) {
  auto r = mpt::shared();
  auto *l = r.make<RLock>();
  ASSERT_TRUE(l->try_lock());
  EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
              WCHECK(!l->try_lock());
              const double t0 = mpt::now_s();
              WCHECK(!l->try_lock_for(std::chrono::milliseconds(50)));
              WCHECK(mpt::now_s() - t0 >= 0.05);
              WCHECK(!l->try_lock_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
              std::unique_lock<RLock> u(*l, std::try_to_lock);
              WCHECK(!u.owns_lock());
              return 0;
            }), 0);
  l->unlock();
  EXPECT_FALSE(l->locked());
}

TEST(RLockCApi, Statuses) {
  mpsync_rlock_t l;
  std::memset(&l, 0xff, sizeof l);
  ASSERT_EQ(mpsync_rlock_init(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_locked(&l), 0);
  EXPECT_EQ(mpsync_rlock_count(&l), 0u);
  EXPECT_EQ(mpsync_rlock_release(&l), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_rlock_acquire(&l, 1, MPSYNC_FOREVER), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_acquire(&l, 0, 0.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_acquire(&l, 1, -1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_count(&l), 3u);
  EXPECT_EQ(mpsync_rlock_is_mine(&l), 1);
  EXPECT_EQ(mpsync_rlock_locked(&l), 1);
  EXPECT_EQ(mpsync_rlock_release(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(&l), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_rlock_is_mine(&l), 0);
  EXPECT_EQ(mpsync_rlock_count(&l), 0u);
  EXPECT_EQ(mpsync_rlock_release(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_rlock_acquire(nullptr, 1, 0.0), MPSYNC_EINVAL);
}

TEST_P(RLockTest, CApiNonOwnerStatuses) {
  auto r = mpt::shared();
  auto *l = static_cast<mpsync_rlock_t *>(r.alloc(sizeof(mpsync_rlock_t), alignof(mpsync_rlock_t)));
  ASSERT_NE(l, nullptr);
  ASSERT_EQ(mpsync_rlock_init(l), MPSYNC_OK);
  ASSERT_EQ(mpsync_rlock_acquire(l, 1, MPSYNC_FOREVER), MPSYNC_OK);
  EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
              WCHECK(mpsync_rlock_is_mine(l) == 0);
              WCHECK(mpsync_rlock_locked(l) == 1);
              WCHECK(mpsync_rlock_count(l) == 1u);
              WCHECK(mpsync_rlock_acquire(l, 0, 5.0) == MPSYNC_TIMEDOUT);
              WCHECK(mpsync_rlock_acquire(l, 1, 0.0) == MPSYNC_TIMEDOUT);
              WCHECK(mpsync_rlock_acquire(l, 1, -1.0) == MPSYNC_TIMEDOUT);  // T3: negative = 0
              WCHECK(mpsync_rlock_release(l) == MPSYNC_ENOTOWNER);
              return 0;
            }), 0);
  EXPECT_EQ(mpsync_rlock_release(l), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_locked(l), 0);
}
