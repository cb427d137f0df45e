// CONFORMANCE T1-T7 (timeouts, signals), M1-M3 (misuse, garbage, sizes), shared-memory regions.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <algorithm>
#include <array>
#include <random>
#include <semaphore.h>

#include "harness.hpp"

using namespace mpsync;
using mpt::Mode;

// ---- T1-T7 -----------------------------------------------------------------------------------

TEST(Timeouts, T1_T3_T6_Rules) {
  Lock l;
  Semaphore s;
  ASSERT_TRUE(l.acquire());
  double t0 = mpt::now_s();
  EXPECT_EQ(l.acquire_status(false, 1e9), status::timedout);  // block=0: one try, timeout ignored
  EXPECT_EQ(s.acquire_status(false, MPSYNC_FOREVER), status::timedout);
  EXPECT_EQ(l.acquire_status(true, -5.0), status::timedout);  // negative == 0
  EXPECT_LT(mpt::now_s() - t0, 0.05);
  EXPECT_EQ(l.acquire_status(true, NAN), status::invalid);   // T6
  EXPECT_EQ(s.acquire_status(true, NAN), status::invalid);
  EXPECT_THROW(s.acquire(true, NAN), mpsync::invalid_argument);
  l.release();
}

TEST(Timeouts, T2_T6_ForeverAndHuge) {
  for (double t : {MPSYNC_FOREVER, 1e30, 1e300}) {
    Semaphore s;
    std::thread poster([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the scenario: release later
      s.release();
    });
    EXPECT_EQ(s.acquire_status(true, t), status::ok) << t;  // no overflow, no immediate timeout
    poster.join();
  }
}

TEST(Timeouts, T4_T7_TimeoutMeasuredOnTheMonotonicClock) {
  Semaphore s;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(s.acquire_status(true, 0.1), status::timedout);
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(dt, 0.1);
  EXPECT_LT(dt, 0.1 + mpt::kSlack);
}

namespace {
volatile sig_atomic_t g_signals = 0;
void on_usr1(int) { g_signals = g_signals + 1; }
int g_stop = 0;
int stop_check() { return __atomic_load_n(&g_stop, __ATOMIC_ACQUIRE); }

// Pester `target` with SIGUSR1 every 20 ms until `done`.
struct Pester {
  explicit Pester(pthread_t target) : th([this, target] {
      while (!done.load()) {
        pthread_kill(target, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }) {}
  ~Pester() {
    done = true;
    th.join();
  }
  std::atomic<bool> done{false};
  std::thread th;
};

void install(bool restart) {
  struct sigaction sa = {};
  sa.sa_handler = on_usr1;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGUSR1, &sa, nullptr);
}
}  // namespace

class SignalTest : public ::testing::TestWithParam<bool> {};  // SA_RESTART or not
INSTANTIATE_TEST_SUITE_P(, SignalTest, ::testing::Values(false, true),
                         [](const auto &i) { return i.param ? std::string("SaRestart") : std::string("NoRestart"); });

TEST_P(SignalTest, T5_HandlerReturnsWaitKeepsItsDeadline) {
  install(GetParam());
  g_signals = 0;
  Semaphore s;
  double dt;
  {
    Pester p(pthread_self());
    const double t0 = mpt::now_s();
    EXPECT_EQ(s.acquire_status(true, 0.5), status::timedout);
    dt = mpt::now_s() - t0;
  }
  EXPECT_GT(g_signals, 3);  // it really was interrupted, repeatedly
  EXPECT_GE(dt, 0.5);       // not cut short...
  EXPECT_LT(dt, 0.5 + mpt::kSlack);  // ...and not extended by each signal
  signal(SIGUSR1, SIG_DFL);
}

TEST_P(SignalTest, T5_InterruptCheckStopsTheWaitNothingHeld) {
  install(GetParam());
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
  mpsync_set_interrupt_check(stop_check);
  Semaphore s;
  Lock held;
  ASSERT_TRUE(held.acquire());
  for (double t : {5.0, MPSYNC_FOREVER}) {
    Pester p(pthread_self());
    const double t0 = mpt::now_s();
    EXPECT_EQ(s.acquire_status(true, t), status::interrupted);
    EXPECT_EQ(held.acquire_status(true, t), status::interrupted);
    EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  }
  EXPECT_EQ(s.get_value(), 0);  // nothing acquired
  {
    Pester p(pthread_self());
    EXPECT_THROW(s.acquire(true, 5.0), mpsync::interrupted);  // the C++ face throws
  }
  mpsync_set_interrupt_check(nullptr);
  held.release();
  signal(SIGUSR1, SIG_DFL);
}

// signal_handlers::never_restart (the Python binding's setting): forever waits sleep untimed, and a
// handler without SA_RESTART still ends them with EINTR, so the check still stops them.
TEST(SignalNoRestart, T5_UntimedWaitStillReachesTheCheck) {
  install(false);
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
  mpsync::set_interrupt_check(stop_check, mpsync::signal_handlers::never_restart);
  Semaphore s;
  Lock held;
  ASSERT_TRUE(held.acquire());
  {
    Pester p(pthread_self());
    const double t0 = mpt::now_s();
    EXPECT_EQ(s.acquire_status(true, MPSYNC_FOREVER), status::interrupted);
    EXPECT_EQ(held.acquire_status(true, MPSYNC_FOREVER), status::interrupted);
    EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  }
  mpsync_set_interrupt_check(nullptr);  // back to may_restart
  held.release();
  signal(SIGUSR1, SIG_DFL);
}

// One signal, at any moment of a forever wait, stops it. The sleep loop used to poll between its
// naps with signals open: a handler that ran there left no EINTR, and the wait slept on to its
// deadline (found through Python's Ctrl-C under MPSYNC_WAIT_BACKEND=sleeploop). The futex backend
// keeps sem_wait's instant between its last look and the syscall (runtime/park.cpp), which a
// random signal would hit now and then, so this runs for the sleep loop.
TEST_P(SignalTest, T5_OneSignalAnywhereInASleepLoopWaitStopsIt) {
  if (std::strcmp(mpsync_backend(), "sleeploop") != 0) GTEST_SKIP() << "the sleep-loop backend's signal gate";
  install(GetParam());
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
  mpsync_set_interrupt_check(stop_check);
  std::mt19937 rng(20261207);
  const pthread_t self = pthread_self();
  int late = 0;
  for (int i = 0; i < 300; ++i) {
    Semaphore s;
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
  mpsync_set_interrupt_check(nullptr);
  signal(SIGUSR1, SIG_DFL);
}

// ---- M1-M3 -------------------------------------------------------------------------------------

TEST(Misuse, M1_ZeroMemoryIsValid) {
  alignas(8) unsigned char mem[64] = {};
  EXPECT_EQ(mpsync_lock_acquire(reinterpret_cast<mpsync_lock_t *>(mem), 0, 0), MPSYNC_OK);
  std::memset(mem, 0, sizeof mem);
  EXPECT_EQ(mpsync_rlock_acquire(reinterpret_cast<mpsync_rlock_t *>(mem), 0, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(reinterpret_cast<mpsync_rlock_t *>(mem)), MPSYNC_OK);
  std::memset(mem, 0, sizeof mem);
  EXPECT_EQ(mpsync_sem_get_value(reinterpret_cast<mpsync_sem_t *>(mem)), 0);
  EXPECT_EQ(mpsync_sem_release(reinterpret_cast<mpsync_sem_t *>(mem)), MPSYNC_OK);
  std::memset(mem, 0, sizeof mem);
  EXPECT_EQ(mpsync_event_is_set(reinterpret_cast<mpsync_event_t *>(mem)), 0);
  std::memset(mem, 0, sizeof mem);
  auto *c = reinterpret_cast<mpsync_cond_t *>(mem);
  EXPECT_EQ(mpsync_cond_acquire(c, 0, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_notify(c, 1), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_wait(c, 0.0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_cond_release(c), MPSYNC_OK);
}

// M2 lives in test_misuse.cpp (M2_KnownCorruptStates, M2_Garbage*). The copy that stood here
// accepted any status, and left garbage RLocks it had taken linked on the main thread's robust
// list after their stack memory was gone (a later test walking the list crashed on it).

TEST(Misuse, M3_Sizes) {
  EXPECT_LE(sizeof(mpsync_lock_t), 8u);
  EXPECT_LE(sizeof(mpsync_sem_t), 8u);
  EXPECT_LE(sizeof(mpsync_event_t), 8u);
  EXPECT_LE(sizeof(mpsync_barrier_t), 16u);
  EXPECT_LE(sizeof(mpsync_rlock_t), sizeof(pthread_mutex_t));
  EXPECT_LE(sizeof(mpsync_cond_t), 16u + sizeof(mpsync_rlock_t));
  EXPECT_LE(sizeof(mpsync_sem_t), sizeof(sem_t));
}

TEST(Misuse, BadArgumentsAndTypedErrors) {
  mpsync_sem_t s;
  EXPECT_EQ(mpsync_sem_init(&s, MPSYNC_SEM_VALUE_MAX + 1u), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_lock_acquire(nullptr, 1, 1.0), MPSYNC_EINVAL);
  mpsync_cond_t c;
  mpsync_lock_t l;
  EXPECT_EQ(mpsync_cond_init(&c, static_cast<mpsync_lock_kind>(7), &l), MPSYNC_EINVAL);
  Lock lk;
  try {
    lk.release();
    FAIL() << "no throw";
  } catch (const mpsync::over_release &e) {
    EXPECT_STREQ(e.code().category().name(), "mpsync");
    EXPECT_EQ(e.code().value(), MPSYNC_EOVERRELEASE);
  }
  for (int st = -8; st <= 5; ++st) EXPECT_NE(mpsync_strerror(st), nullptr);
}

// ---- regions ----------------------------------------------------------------------------------

TEST(Region, AnonymousInheritedByFork) {
  auto r = Region::anonymous(4096);
  auto *s = r.make<Semaphore>(0u);
  EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) { s->release(); return 0; }), 0);
  EXPECT_EQ(s->get_value(), 1);
}

TEST(Region, MemfdPassedOverUnixSocketMapsElsewhere) {
  auto r = Region::memfd(1 << 16);
  auto *e = r.make<Event>();
  const auto off = r.offset_of(e);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  mpt::Workers w(Mode::processes);
  w.start([&] {
    void *block = mmap(nullptr, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);  // shift the layout
    (void)block;
    int fd = -1;
    WCHECK(Region::recv_fd(sv[1], fd) == status::ok);
    Region mine = Region::from_fd(fd);
    WCHECK(mine.base() != r.base());  // a different address, the same objects
    mine.at<Event>(off)->set();
    return 0;
  });
  ASSERT_EQ(Region::send_fd(sv[0], r.fd()), status::ok);
  EXPECT_TRUE(e->wait(30.0));
  EXPECT_EQ(w.join(), 0);
  close(sv[0]);
  close(sv[1]);
}

TEST(Region, NamedExclusiveModeAndVerifiedOpen) {
  const std::string name = "/mpsync-test-" + std::to_string(getpid());
  Region::unlink_named(name);
  {
    auto r = Region::create_named(name, 1 << 16);
    struct stat sb;
    ASSERT_EQ(fstat(r.fd(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0600u);
    EXPECT_THROW(Region::create_named(name, 1 << 16), mpsync::system_failure);  // O_EXCL
    auto *l = r.make<Lock>();
    const auto off = r.offset_of(l);
    ASSERT_TRUE(l->acquire());
    EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) {
                Region other = Region::open_named(name);
                WCHECK(other.at<Lock>(off)->locked());
                WCHECK(other.at<Lock>(off)->release_status() == status::ok);
                return 0;
              }), 0);
    EXPECT_FALSE(l->locked());
  }
  Region::unlink_named(name);
  // A short file and a foreign file: clear errors, never SIGBUS.
  for (int kind = 0; kind < 2; ++kind) {
    int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    if (kind == 0) {
      ASSERT_EQ(ftruncate(fd, 10), 0);
    } else {
      char junk[256];
      std::memset(junk, 0x5a, sizeof junk);
      ASSERT_EQ(write(fd, junk, sizeof junk), static_cast<ssize_t>(sizeof junk));
    }
    close(fd);
    EXPECT_THROW(Region::open_named(name), mpsync::corrupt);
    mpsync_region_t *cr = nullptr;
    EXPECT_EQ(mpsync_region_open_named(&cr, name.c_str()), MPSYNC_ECORRUPT);
    Region::unlink_named(name);
  }
}

TEST(Region, AllocationIsAlignedAtomicAndBounded) {
  auto r = Region::anonymous(1 << 16);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(r.alloc(1, 64)) % 64, 0u);
  EXPECT_EQ(r.alloc(1, 3), nullptr);  // not a power of two
  EXPECT_EQ(r.alloc(1 << 20, 8), nullptr);
  using Big = std::array<char, 1 << 20>;
  EXPECT_THROW(r.make<Big>(), std::bad_alloc);
  auto *slots = r.make<std::array<std::uint64_t, 4 * 200>>();
  EXPECT_EQ(mpt::run(Mode::processes, 4, [&](int i) {
              for (int k = 0; k < 200; ++k) {
                void *p = r.alloc(16, 16);
                WCHECK(p != nullptr);
                (*slots)[i * 200 + k] = r.offset_of(p);
              }
              return 0;
            }), 0);
  std::vector<std::uint64_t> all(slots->begin(), slots->end());
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i], all[i - 1] + 16);  // disjoint blocks
}

TEST(Region, CFunctions) {
  mpsync_region_t *r = nullptr;
  ASSERT_EQ(mpsync_region_create_anon(&r, 1 << 16), MPSYNC_OK);
  auto *l = static_cast<mpsync_lock_t *>(mpsync_region_alloc(r, sizeof(mpsync_lock_t), 4));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(mpsync_region_at(r, mpsync_region_offset(r, l)), l);
  EXPECT_EQ(mpsync_region_fd(r), -1);
  mpsync_region_close(r);
  ASSERT_EQ(mpsync_region_create_memfd(&r, 1 << 16), MPSYNC_OK);
  EXPECT_GE(mpsync_region_fd(r), 0);
  mpsync_region_close(r);
}
