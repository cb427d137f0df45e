// CONFORMANCE M1-M3 and bad input: all-zero memory is a valid initial state; any garbage is a
// valid state or ECORRUPT, never a crash or a wait past its deadline; sizes; NaN timeouts; the C++
// exception hierarchy.
#include <pthread.h>
#include <semaphore.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include "harness.hpp"

using mpsync::status;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::set<int> kLockAcq{MPSYNC_OK, MPSYNC_TIMEDOUT, MPSYNC_ECORRUPT};
const std::set<int> kLockRel{MPSYNC_OK, MPSYNC_EOVERRELEASE, MPSYNC_ECORRUPT};
const std::set<int> kRLockAcq{MPSYNC_OK, MPSYNC_TIMEDOUT, MPSYNC_OWNER_DEAD, MPSYNC_EOVERFLOW, MPSYNC_ECORRUPT};
const std::set<int> kRLockRel{MPSYNC_OK, MPSYNC_ENOTOWNER, MPSYNC_ECORRUPT};
const std::set<int> kSemAcq{MPSYNC_OK, MPSYNC_TIMEDOUT, MPSYNC_ECORRUPT};
const std::set<int> kSemRel{MPSYNC_OK, MPSYNC_EOVERRELEASE, MPSYNC_EOVERFLOW, MPSYNC_ECORRUPT};
const std::set<int> kWaitRes{MPSYNC_OK, MPSYNC_TIMEDOUT};
const std::set<int> kCondAcq{MPSYNC_OK, MPSYNC_TIMEDOUT, MPSYNC_OWNER_DEAD, MPSYNC_EOVERFLOW, MPSYNC_ECORRUPT};
const std::set<int> kCondWait{MPSYNC_OK,        MPSYNC_TIMEDOUT, MPSYNC_ENOTOWNER,
                              MPSYNC_OWNER_DEAD, MPSYNC_EOVERFLOW, MPSYNC_ECORRUPT};
const std::set<int> kCondRel{MPSYNC_OK, MPSYNC_ENOTOWNER, MPSYNC_EOVERRELEASE, MPSYNC_ECORRUPT};
const std::set<int> kBarrier{MPSYNC_OK, MPSYNC_BROKEN, MPSYNC_ECORRUPT};

// Fill an object's bytes: iteration 0 all-0xff, 1 all-0xab, 2 alternating, then a fixed-seed PRNG
// (odd iterations with sparser bits, so more patterns land on valid-looking states).
void fill(void *obj, std::size_t n, int iter, std::mt19937 &rng) {
  auto *p = static_cast<unsigned char *>(obj);
  for (std::size_t i = 0; i < n; ++i) {
    switch (iter) {
      case 0: p[i] = 0xff; break;
      case 1: p[i] = 0xab; break;
      case 2: p[i] = i % 2 ? 0x55 : 0xaa; break;
      default: p[i] = static_cast<unsigned char>(iter % 2 ? rng() & rng() & rng() : rng()); break;
    }
  }
}

// Run one operation: its status must be in `ok`, and it must return by deadline + slack.
#define TIMED(expr, ok, deadline)                                                            \
  do {                                                                                       \
    const double t0_ = mpt::now_s();                                                         \
    const int rc_ = (expr);                                                                  \
    const double dt_ = mpt::now_s() - t0_;                                                   \
    ASSERT_TRUE((ok).count(rc_)) << #expr << " -> " << rc_ << " (iteration " << iter << ")"; \
    ASSERT_LT(dt_, (deadline) + mpt::kSlack) << #expr << " (iteration " << iter << ")";      \
  } while (0)

constexpr int kIters = 200;
}  // namespace

// ---- M1: all-zero memory ---------------------------------------------------------------------

TEST(Misuse, M1_ZeroMemoryIsAValidInitialState) {
  struct alignas(8) Raw {
    unsigned char b[64];
  };
  Raw l{}, rl{}, s{}, e{}, c{};
  auto *lock = reinterpret_cast<mpsync_lock_t *>(&l);
  EXPECT_EQ(mpsync_lock_locked(lock), 0);
  EXPECT_EQ(mpsync_lock_acquire(lock, 0, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_release(lock), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_release(lock), MPSYNC_EOVERRELEASE);

  auto *rlock = reinterpret_cast<mpsync_rlock_t *>(&rl);
  EXPECT_EQ(mpsync_rlock_count(rlock), 0u);
  EXPECT_EQ(mpsync_rlock_acquire(rlock, 0, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_acquire(rlock, 1, 1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_count(rlock), 2u);
  EXPECT_EQ(mpsync_rlock_release(rlock), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(rlock), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(rlock), MPSYNC_ENOTOWNER);

  auto *sem = reinterpret_cast<mpsync_sem_t *>(&s);
  EXPECT_EQ(mpsync_sem_get_value(sem), 0);
  EXPECT_EQ(mpsync_sem_acquire(sem, 0, 0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_sem_release(sem), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(sem), MPSYNC_OK);  // unbounded
  EXPECT_EQ(mpsync_sem_get_value(sem), 2);

  auto *ev = reinterpret_cast<mpsync_event_t *>(&e);
  EXPECT_EQ(mpsync_event_is_set(ev), 0);
  EXPECT_EQ(mpsync_event_wait(ev, 0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_event_set(ev), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_wait(ev, 0), MPSYNC_OK);

  auto *cond = reinterpret_cast<mpsync_cond_t *>(&c);
  EXPECT_EQ(mpsync_cond_notify(cond, 1), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_acquire(cond, 0, 0), MPSYNC_OK);  // the embedded RLock
  EXPECT_EQ(mpsync_cond_notify(cond, 1), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_wait(cond, 0.0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_cond_wait(cond, 0.01), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_cond_notify_all(cond), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_release(cond), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_release(cond), MPSYNC_ENOTOWNER);
}

// ---- M2: garbage ---------------------------------------------------------------------------------

TEST(Misuse, M2_KnownCorruptStates) {
  mpsync_lock_t l{0x40000000u};
  EXPECT_EQ(mpsync_lock_acquire(&l, 0, 0), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_lock_acquire(&l, 1, 0.01), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_lock_release(&l), MPSYNC_ECORRUPT);
  l.word = 0x80000000u;  // waiters bit on an unlocked lock
  EXPECT_EQ(mpsync_lock_acquire(&l, 1, 0.01), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_lock_release(&l), MPSYNC_ECORRUPT);
  mpsync::Lock cl;
  std::memcpy(static_cast<void *>(&cl), &l, sizeof l);
  EXPECT_THROW(cl.acquire(), mpsync::corrupt);

  mpsync_sem_t s{0, 0xffffffffu};
  EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_sem_get_value(&s), MPSYNC_ECORRUPT);
  s = {5, 3};  // bounded at 2, holding 5
  EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_sem_get_value(&s), MPSYNC_ECORRUPT);

  mpsync_rlock_t rl{};
  rl.word = 0x80000000u;
  EXPECT_EQ(mpsync_rlock_acquire(&rl, 1, 0.01), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_rlock_release(&rl), MPSYNC_ECORRUPT);
  rl.word = 0x40000000u | 12345u;
  EXPECT_EQ(mpsync_rlock_acquire(&rl, 0, 0), MPSYNC_ECORRUPT);

  mpsync_cond_t c{};
  c.state = 0xffffffffu;
  EXPECT_EQ(mpsync_cond_acquire(&c, 0, 0), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_cond_wait(&c, 0.01), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_cond_notify(&c, 1), MPSYNC_ECORRUPT);
  c.state = 3u << 16;  // lock kind 3
  EXPECT_EQ(mpsync_cond_acquire(&c, 0, 0), MPSYNC_ECORRUPT);
  c.state = 1u << 16;  // an external Lock, but the offset slot's check word is wrong
  c.lock.reserved[0] = 64;
  EXPECT_EQ(mpsync_cond_acquire(&c, 0, 0), MPSYNC_ECORRUPT);
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_ECORRUPT);

  mpsync_barrier_t b{};  // parties 0 cannot come from init
  EXPECT_EQ(mpsync_barrier_wait(&b, 0.01, nullptr, nullptr, nullptr), MPSYNC_ECORRUPT);
  b.parties = 2;
  b.state = 5;  // 5 arrived of 2
  EXPECT_EQ(mpsync_barrier_wait(&b, 0.01, nullptr, nullptr, nullptr), MPSYNC_ECORRUPT);
}

TEST(Misuse, M2_GarbageLock) {
  std::mt19937 rng(1);
  mpsync_lock_t l;
  for (int iter = 0; iter < kIters; ++iter) {
    fill(&l, sizeof l, iter, rng);
    TIMED(mpsync_lock_acquire(&l, 0, 1e9), kLockAcq, 0.0);
    TIMED(mpsync_lock_acquire(&l, 1, 0.01), kLockAcq, 0.01);
    (void)mpsync_lock_is_mine(&l);
    (void)mpsync_lock_locked(&l);
    TIMED(mpsync_lock_release(&l), kLockRel, 0.0);
    TIMED(mpsync_lock_release(&l), kLockRel, 0.0);
  }
}

TEST(Misuse, M2_GarbageRLock) {
  std::mt19937 rng(2);
  mpsync_rlock_t l;
  int acquired = 0;
  for (int iter = 0; iter < kIters; ++iter) {
    fill(&l, sizeof l, iter, rng);
    if (iter >= 3 && iter % 4 == 3) l.word &= ~0x40000000u;  // a live-looking stranger or free
    TIMED(mpsync_rlock_acquire(&l, 0, 1e9), kRLockAcq, 0.0);
    TIMED(mpsync_rlock_acquire(&l, 1, 0.01), kRLockAcq, 0.01);
    (void)mpsync_rlock_count(&l);
    (void)mpsync_rlock_locked(&l);
    acquired += mpsync_rlock_is_mine(&l);
    TIMED(mpsync_rlock_release(&l), kRLockRel, 0.0);
    // Never leave a held RLock on this thread's robust list before overwriting it.
    for (int k = 0; k < 4 && mpsync_rlock_is_mine(&l); ++k) TIMED(mpsync_rlock_release(&l), kRLockRel, 0.0);
    ASSERT_EQ(mpsync_rlock_is_mine(&l), 0) << iter;
  }
  EXPECT_GT(acquired, 0);  // some garbage was a valid (free or dead-owner) state
}

TEST(Misuse, M2_GarbageSemaphore) {
  std::mt19937 rng(3);
  mpsync_sem_t s;
  for (int iter = 0; iter < kIters; ++iter) {
    fill(&s, sizeof s, iter, rng);
    if (iter >= 3 && iter % 4 == 3) s.value &= 0x80000000u;  // count 0: the timed wait sleeps
    TIMED(mpsync_sem_acquire(&s, 0, 1e9), kSemAcq, 0.0);
    TIMED(mpsync_sem_acquire(&s, 1, 0.01), kSemAcq, 0.01);
    const int v = mpsync_sem_get_value(&s);
    ASSERT_TRUE(v >= 0 || v == MPSYNC_ECORRUPT) << v;
    TIMED(mpsync_sem_release(&s), kSemRel, 0.0);
  }
}

TEST(Misuse, M2_GarbageEvent) {  // every bit pattern is a valid state
  std::mt19937 rng(4);
  mpsync_event_t e;
  for (int iter = 0; iter < kIters; ++iter) {
    fill(&e, sizeof e, iter, rng);
    TIMED(mpsync_event_wait(&e, 0), kWaitRes, 0.0);
    TIMED(mpsync_event_wait(&e, 0.01), kWaitRes, 0.01);
    TIMED(mpsync_event_set(&e), std::set<int>{MPSYNC_OK}, 0.0);
    ASSERT_EQ(mpsync_event_is_set(&e), 1);
    TIMED(mpsync_event_wait(&e, 0.01), std::set<int>{MPSYNC_OK}, 0.0);
    TIMED(mpsync_event_clear(&e), std::set<int>{MPSYNC_OK}, 0.0);
    ASSERT_EQ(mpsync_event_is_set(&e), 0);
  }
}

TEST(Misuse, M2_GarbageCondition) {
  std::mt19937 rng(5);
  mpsync_cond_t c;
  for (int iter = 0; iter < kIters; ++iter) {
    fill(&c, sizeof c, iter, rng);
    // Half the random ones get an embedded-lock kind, so the state checks pass and the garbage
    // reaches the wait and notify logic.
    if (iter >= 3 && iter % 2 == 0) c.state &= 0xffffu;
    if (iter >= 3 && iter % 4 == 0) c.lock.word &= ~0x40000000u;
    TIMED(mpsync_cond_acquire(&c, 0, 1e9), kCondAcq, 0.0);
    TIMED(mpsync_cond_wait(&c, 0.01), kCondWait, 0.01);
    TIMED(mpsync_cond_wait(&c, 0), kCondWait, 0.0);
    TIMED(mpsync_cond_notify(&c, 1), (std::set<int>{MPSYNC_OK, MPSYNC_ENOTOWNER, MPSYNC_ECORRUPT}), 0.0);
    TIMED(mpsync_cond_notify_all(&c), (std::set<int>{MPSYNC_OK, MPSYNC_ENOTOWNER, MPSYNC_ECORRUPT}), 0.0);
    TIMED(mpsync_cond_acquire(&c, 1, 0.01), kCondAcq, 0.01);
    for (int k = 0; k < 4 && mpsync_rlock_is_mine(&c.lock); ++k) TIMED(mpsync_cond_release(&c), kCondRel, 0.0);
    ASSERT_EQ(mpsync_rlock_is_mine(&c.lock), 0) << iter;
  }
}

TEST(Misuse, M2_GarbageBarrier) {
  std::mt19937 rng(6);
  mpsync_barrier_t b;
  for (int iter = 0; iter < kIters; ++iter) {
    fill(&b, sizeof b, iter, rng);
    if (iter >= 3 && iter % 2 == 1) b.parties %= 5;  // small party counts: last-arriver paths
    unsigned idx = 0;
    TIMED(mpsync_barrier_wait(&b, 0, nullptr, nullptr, &idx), kBarrier, 0.0);
    TIMED(mpsync_barrier_wait(&b, 0.01, nullptr, nullptr, &idx), kBarrier, 0.01);
    (void)mpsync_barrier_parties(&b);
    (void)mpsync_barrier_n_waiting(&b);
    (void)mpsync_barrier_broken(&b);
    TIMED(mpsync_barrier_abort(&b), std::set<int>{MPSYNC_OK}, 0.0);
    ASSERT_EQ(mpsync_barrier_broken(&b), 1);
    TIMED(mpsync_barrier_wait(&b, 0.01, nullptr, nullptr, &idx), kBarrier, 0.01);
    TIMED(mpsync_barrier_reset(&b), std::set<int>{MPSYNC_OK}, 0.0);
    ASSERT_EQ(mpsync_barrier_broken(&b), 0);
    TIMED(mpsync_barrier_wait(&b, 0.01, nullptr, nullptr, &idx), kBarrier, 0.01);
  }
}

// ---- M3: sizes; no pointers -------------------------------------------------------------------

TEST(Misuse, M3_SizesNoLargerThanGlibc) {
  EXPECT_LE(sizeof(mpsync_lock_t), 8u);
  EXPECT_LE(sizeof(mpsync_sem_t), 8u);
  EXPECT_LE(sizeof(mpsync_event_t), 8u);
  EXPECT_LE(sizeof(mpsync_cond_t), 56u);
  EXPECT_LE(sizeof(mpsync_cond_t), 16u + sizeof(mpsync_rlock_t));
  EXPECT_LE(sizeof(mpsync_barrier_t), 16u);
  EXPECT_LE(sizeof(mpsync_rlock_t), 40u);
  EXPECT_LE(sizeof(mpsync_rlock_t), sizeof(pthread_mutex_t));
  EXPECT_LE(sizeof(mpsync_sem_t), sizeof(sem_t));
  EXPECT_LE(sizeof(mpsync_barrier_t), sizeof(pthread_barrier_t));
  // The C++ objects are the same words.
  EXPECT_EQ(sizeof(mpsync::Lock), sizeof(mpsync_lock_t));
  EXPECT_EQ(sizeof(mpsync::RLock), sizeof(mpsync_rlock_t));
  EXPECT_EQ(sizeof(mpsync::Semaphore), sizeof(mpsync_sem_t));
  EXPECT_EQ(sizeof(mpsync::BoundedSemaphore), sizeof(mpsync_sem_t));
  EXPECT_EQ(sizeof(mpsync::Event), sizeof(mpsync_event_t));
  EXPECT_EQ(sizeof(mpsync::Condition), sizeof(mpsync_cond_t));
  EXPECT_EQ(sizeof(mpsync::Barrier), sizeof(mpsync_barrier_t));
}

// ---- NaN timeouts -------------------------------------------------------------------------------

TEST(Misuse, NaNTimeoutIsInvalidOnBusyObjects) {
  mpsync_lock_t l;
  mpsync_lock_init(&l);
  ASSERT_EQ(mpsync_lock_acquire(&l, 1, 1.0), MPSYNC_OK);
  mpsync_rlock_t rl;
  mpsync_rlock_init(&rl);
  mpsync_sem_t s;
  mpsync_sem_init(&s, 0);
  mpsync_event_t e;
  mpsync_event_init(&e);
  EXPECT_EQ(mpt::run(mpt::Mode::threads, 1, [&](int) {
              WCHECK(mpsync_rlock_acquire(&rl, 1, 1.0) == MPSYNC_OK);
              return 0;
            }), 0);
  // rl's owner thread exited holding it: an acquire would take it with OWNER_DEAD (the slow
  // path); a NaN timeout must be refused first.
  EXPECT_EQ(mpsync_lock_acquire(&l, 1, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_rlock_acquire(&rl, 1, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_sem_acquire(&s, 1, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_event_wait(&e, kNaN), MPSYNC_EINVAL);
  mpsync_cond_t c;
  mpsync_cond_init(&c, MPSYNC_KIND_RLOCK, nullptr);
  ASSERT_EQ(mpsync_cond_acquire(&c, 1, 1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_wait(&c, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_rlock_is_mine(&c.lock), 1);  // still held
  EXPECT_EQ(mpsync_cond_wait_for(&c, [](void *) { return 0; }, nullptr, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_OK);
  mpsync_barrier_t b;
  mpsync_barrier_init(&b, 2);
  EXPECT_EQ(mpsync_barrier_wait(&b, kNaN, nullptr, nullptr, nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_barrier_n_waiting(&b), 0u);  // the invalid call did not arrive
  EXPECT_EQ(mpsync_barrier_broken(&b), 0);
  EXPECT_EQ(mpsync_lock_release(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_acquire(&rl, 1, 1.0), MPSYNC_OWNER_DEAD);
  EXPECT_EQ(mpsync_rlock_release(&rl), MPSYNC_OK);
  mpsync::Lock cl;
  ASSERT_TRUE(cl.acquire());
  EXPECT_THROW(cl.acquire(true, kNaN), mpsync::invalid_argument);
  cl.release();
}

// API.md: "NaN is MPSYNC_EINVAL" for every blocking call, not only when it would block (CPython
// raises ValueError for a NaN timeout before it looks at the lock).
TEST(Misuse, NaNTimeoutIsInvalidOnFreeObjects) {
  mpsync_lock_t l;
  mpsync_lock_init(&l);
  mpsync_rlock_t rl;
  mpsync_rlock_init(&rl);
  mpsync_sem_t s;
  mpsync_sem_init(&s, 1);
  mpsync_event_t e;
  mpsync_event_init(&e);
  mpsync_event_set(&e);
  EXPECT_EQ(mpsync_lock_acquire(&l, 1, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_lock_locked(&l), 0);
  EXPECT_EQ(mpsync_rlock_acquire(&rl, 1, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_rlock_locked(&rl), 0);
  EXPECT_EQ(mpsync_sem_acquire(&s, 1, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_sem_get_value(&s), 1);
  EXPECT_EQ(mpsync_event_wait(&e, kNaN), MPSYNC_EINVAL);
  // The RLock's recursion path (owner re-acquires) is a fast path too.
  while (mpsync_rlock_is_mine(&rl)) mpsync_rlock_release(&rl);
  ASSERT_EQ(mpsync_rlock_acquire(&rl, 1, 1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_acquire(&rl, 1, kNaN), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_rlock_count(&rl), 1u);
  // Clean up whatever a fast path took.
  while (mpsync_lock_is_mine(&l)) mpsync_lock_release(&l);
  while (mpsync_rlock_is_mine(&rl)) mpsync_rlock_release(&rl);
}

// ---- the C++ exception hierarchy ---------------------------------------------------------------

template <class E, class F>
void expect_throws(F fn, status s) {
  try {
    fn();
    ADD_FAILURE() << "no exception for status " << static_cast<int>(s);
  } catch (const E &e) {
    const mpsync::error &base = e;
    const std::system_error &sys = e;
    EXPECT_EQ(base.code_status(), s);
    EXPECT_EQ(sys.code().value(), static_cast<int>(s));
    EXPECT_STREQ(sys.code().category().name(), "mpsync");
    EXPECT_EQ(sys.code(), mpsync::make_error_code(s));
    EXPECT_STRNE(sys.what(), "");
  }
}

TEST(Misuse, CppExceptionTypes) {
  expect_throws<mpsync::invalid_argument>([] { mpsync::Semaphore s(MPSYNC_SEM_VALUE_MAX + 1u); }, status::invalid);
  expect_throws<mpsync::invalid_argument>([] { mpsync::Barrier b(0); }, status::invalid);
  mpsync::Lock l;
  expect_throws<mpsync::over_release>([&] { l.release(); }, status::over_release);
  mpsync::RLock rl;
  expect_throws<mpsync::not_owner>([&] { rl.release(); }, status::not_owner);
  mpsync::BoundedSemaphore bs(1);
  expect_throws<mpsync::over_release>([&] { bs.release(); }, status::over_release);
  mpsync::Semaphore big(MPSYNC_SEM_VALUE_MAX);
  expect_throws<mpsync::overflow>([&] { big.release(); }, status::overflow);
  // RLock recursion overflow: put the count at its maximum (it lives in the shared words).
  ASSERT_TRUE(rl.acquire());
  mpsync_rlock_t *c = reinterpret_cast<mpsync_rlock_t *>(&rl);
  c->count = ~0u;
  expect_throws<mpsync::overflow>([&] { rl.acquire(); }, status::overflow);
  c->count = 1;
  rl.release();
  mpsync::Barrier b(2);
  b.abort();
  expect_throws<mpsync::broken_barrier>([&] { b.wait(1.0); }, status::broken);
  mpsync::Condition cond;
  expect_throws<mpsync::not_owner>([&] { cond.wait(0.01); }, status::not_owner);
  expect_throws<mpsync::not_owner>([&] { cond.notify(); }, status::not_owner);
  ASSERT_TRUE(l.acquire());
  expect_throws<mpsync::invalid_argument>([&] { l.acquire(true, kNaN); }, status::invalid);
  l.release();
  // The category turns statuses into texts.
  EXPECT_EQ(mpsync::make_error_code(status::corrupt).message(), mpsync_strerror(MPSYNC_ECORRUPT));
  static_assert(std::is_base_of_v<mpsync::error, mpsync::corrupt>);
  static_assert(std::is_base_of_v<std::system_error, mpsync::error>);
}
