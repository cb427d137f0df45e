// CONFORMANCE L1-L4 (Lock), with threads and with processes.
#include <mutex>

#include "harness.hpp"

using mpsync::Lock;
using mpsync::status;
using mpt::Mode;

class LockTest : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(, LockTest, ::testing::Values(Mode::threads, Mode::processes), mpt::mode_name);

TEST(Lock, L1_AcquireReleaseOverRelease) {
  Lock l;
  EXPECT_EQ(l.acquire_status(), status::ok);
  EXPECT_TRUE(l.locked());
  EXPECT_EQ(l.acquire_status(false), status::timedout);
  EXPECT_EQ(l.acquire_status(true, 0.0), status::timedout);
  EXPECT_EQ(l.release_status(), status::ok);
  EXPECT_EQ(l.release_status(), status::over_release);
  EXPECT_THROW(l.release(), mpsync::over_release);
  EXPECT_FALSE(l.locked());
}

TEST(Lock, ZeroMemoryIsUnlocked) {
  alignas(4) unsigned char raw[sizeof(Lock)] = {};
  auto *l = reinterpret_cast<Lock *>(raw);
  EXPECT_FALSE(l->locked());
  EXPECT_TRUE(l->acquire(false));
  l->release();
}

TEST_P(LockTest, L1_NonBlockingFromOtherSideFails) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  ASSERT_TRUE(l->acquire());
  EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
              WCHECK(l->acquire_status(false) == status::timedout);
              WCHECK(!l->is_mine());
              WCHECK(l->locked());
              return 0;
            }), 0);
  l->release();
}

TEST_P(LockTest, L2_AnyoneMayRelease) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  ASSERT_TRUE(l->acquire());
  EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
              WCHECK(l->release_status() == status::ok);
              return 0;
            }), 0);
  EXPECT_FALSE(l->locked());
  EXPECT_TRUE(l->acquire(false));
  l->release();
}

TEST_P(LockTest, L3_IsMineFollowsTheSharedWord) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  auto *flag = r.make<mpsync::Event>();
  auto *done = r.make<mpsync::Event>();
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(l->acquire());
    WCHECK(l->is_mine());
    flag->set();
    WCHECK(done->wait(30.0));
    WCHECK(!l->is_mine());  // released by the parent meanwhile
    return 0;
  });
  ASSERT_TRUE(flag->wait(30.0));
  EXPECT_FALSE(l->is_mine());  // held, but not by us
  EXPECT_TRUE(l->locked());
  l->release();                // L2: from elsewhere
  EXPECT_FALSE(l->is_mine());
  done->set();
  EXPECT_EQ(w.join(), 0);
}

TEST_P(LockTest, BlockedAcquirerIsWokenByRelease) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  ASSERT_TRUE(l->acquire());
  mpt::Workers w(GetParam());
  w.start([&] {
    WCHECK(l->acquire(true, 30.0));
    WCHECK(l->is_mine());
    l->release();
    return 0;
  });
  // The waiter announces itself with the waiters bit before sleeping: observe it, then release.
  ASSERT_TRUE(mpt::eventually([&] { return (mpt::word(l) & 0x80000000u) != 0; }));
  l->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_FALSE(l->locked());
}

TEST_P(LockTest, TimeoutOnBusyLock) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  ASSERT_TRUE(l->acquire());
  EXPECT_EQ(mpt::run(GetParam(), 1, [&](int) {
              const double t0 = mpt::now_s();
              WCHECK(l->acquire_status(true, 0.1) == status::timedout);
              const double dt = mpt::now_s() - t0;
              WCHECK(dt >= 0.1 && dt < 0.1 + mpt::kSlack);
              return 0;
            }), 0);
  l->release();
}

TEST(Lock, L4_StdLockable) {
  Lock a, b;
  {
    std::scoped_lock both(a, b);
    EXPECT_TRUE(a.is_mine());
    EXPECT_TRUE(b.is_mine());
  }
  EXPECT_FALSE(a.locked());
  {
    std::unique_lock<Lock> u(a, std::defer_lock);
    EXPECT_TRUE(u.try_lock_for(std::chrono::milliseconds(10)));
    EXPECT_TRUE(a.is_mine());
  }
  EXPECT_TRUE(a.try_lock_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
  EXPECT_FALSE(a.try_lock());
  a.unlock();
}

TEST_P(LockTest, MutualExclusionUnderContention) {
  auto r = mpt::shared();
  auto *l = r.make<Lock>();
  auto *counter = r.make<long>(0);
  constexpr int kWorkers = 4, kIters = 20000;
  EXPECT_EQ(mpt::run(GetParam(), kWorkers, [&](int) {
              for (int i = 0; i < kIters; ++i) {
                WCHECK(l->acquire());
                long v = *counter;  // a plain read-modify-write: only exclusion makes it exact
                *counter = v + 1;
                l->release();
              }
              return 0;
            }), 0);
  EXPECT_EQ(*counter, long{kWorkers} * kIters);
}
