// The C ABI (include/mpsync.h, API.md): every function called through its C name with the
// documented statuses, NULL handling, strerror/backend/version, and a Condition bound to an
// external Lock used from a process that maps the region at another address.
#include <sys/socket.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "harness.hpp"

using mpt::Mode;

namespace {
int yes(void *) { return 1; }
int no(void *) { return 0; }
int flag_is_set(void *ctx) { return __atomic_load_n(static_cast<int *>(ctx), __ATOMIC_ACQUIRE); }
int count_action(void *ctx) {
  ++*static_cast<int *>(ctx);
  return 0;
}
int failing_action(void *) { return 7; }
}  // namespace

TEST(CApi, Lock) {
  mpsync_lock_t l;
  std::memset(&l, 0x5a, sizeof l);
  ASSERT_EQ(mpsync_lock_init(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_locked(&l), 0);
  EXPECT_EQ(mpsync_lock_is_mine(&l), 0);
  EXPECT_EQ(mpsync_lock_acquire(&l, 1, MPSYNC_FOREVER), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_locked(&l), 1);
  EXPECT_EQ(mpsync_lock_is_mine(&l), 1);
  EXPECT_EQ(mpsync_lock_acquire(&l, 0, 0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_lock_acquire(&l, 1, 0.02), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_lock_release(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_release(&l), MPSYNC_EOVERRELEASE);
  EXPECT_EQ(mpsync_lock_locked(&l), 0);
}

TEST(CApi, RLock) {
  mpsync_rlock_t l;
  ASSERT_EQ(mpsync_rlock_init(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_count(&l), 0u);
  for (unsigned i = 1; i <= 3; ++i) {
    EXPECT_EQ(mpsync_rlock_acquire(&l, i == 2 ? 0 : 1, MPSYNC_FOREVER), MPSYNC_OK);
    EXPECT_EQ(mpsync_rlock_count(&l), i);
  }
  EXPECT_EQ(mpsync_rlock_is_mine(&l), 1);
  EXPECT_EQ(mpsync_rlock_locked(&l), 1);
  EXPECT_EQ(mpt::run(Mode::threads, 1, [&](int) {
              WCHECK(mpsync_rlock_acquire(&l, 0, 0) == MPSYNC_TIMEDOUT);
              WCHECK(mpsync_rlock_release(&l) == MPSYNC_ENOTOWNER);
              WCHECK(mpsync_rlock_is_mine(&l) == 0);
              WCHECK(mpsync_rlock_locked(&l) == 1);
              return 0;
            }), 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(mpsync_rlock_release(&l), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(&l), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_rlock_locked(&l), 0);
  EXPECT_EQ(mpsync_rlock_count(&l), 0u);
}

TEST(CApi, Semaphore) {
  mpsync_sem_t s;
  ASSERT_EQ(mpsync_sem_init(&s, 2), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_get_value(&s), 2);
  EXPECT_EQ(mpsync_sem_acquire(&s, 1, MPSYNC_FOREVER), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_acquire(&s, 0, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_acquire(&s, 0, 100.0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_sem_acquire(&s, 1, 0.02), MPSYNC_TIMEDOUT);
  for (int v = 1; v <= 4; ++v) {
    EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_OK);
    EXPECT_EQ(mpsync_sem_get_value(&s), v);
  }
  EXPECT_EQ(mpsync_sem_init(&s, MPSYNC_SEM_VALUE_MAX + 1u), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_bounded_sem_init(&s, MPSYNC_SEM_VALUE_MAX + 1u), MPSYNC_EINVAL);
  ASSERT_EQ(mpsync_sem_init(&s, MPSYNC_SEM_VALUE_MAX), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_EOVERFLOW);
  EXPECT_EQ(mpsync_sem_get_value(&s), static_cast<int>(MPSYNC_SEM_VALUE_MAX));

  ASSERT_EQ(mpsync_bounded_sem_init(&s, 2), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_EOVERRELEASE);
  EXPECT_EQ(mpsync_sem_acquire(&s, 1, 1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_EOVERRELEASE);
  EXPECT_EQ(mpsync_sem_get_value(&s), 2);
  ASSERT_EQ(mpsync_bounded_sem_init(&s, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_sem_release(&s), MPSYNC_EOVERRELEASE);
  EXPECT_EQ(mpsync_sem_get_value(&s), 0);
}

TEST(CApi, Event) {
  mpsync_event_t e;
  ASSERT_EQ(mpsync_event_init(&e), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(&e), 0);
  EXPECT_EQ(mpsync_event_wait(&e, 0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_event_wait(&e, 0.02), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_event_set(&e), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_set(&e), MPSYNC_OK);  // idempotent
  EXPECT_EQ(mpsync_event_is_set(&e), 1);
  EXPECT_EQ(mpsync_event_wait(&e, MPSYNC_FOREVER), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_wait(&e, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_clear(&e), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_is_set(&e), 0);
}

TEST(CApi, ConditionWithEmbeddedRLock) {
  mpsync_cond_t c;
  ASSERT_EQ(mpsync_cond_init(&c, MPSYNC_KIND_RLOCK, nullptr), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_wait(&c, 0.01), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_notify(&c, 1), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_notify_all(&c), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_wait_for(&c, yes, nullptr, 0.01), MPSYNC_ENOTOWNER);
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_ENOTOWNER);
  ASSERT_EQ(mpsync_cond_acquire(&c, 1, MPSYNC_FOREVER), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_acquire(&c, 0, 0), MPSYNC_OK);  // recursive
  EXPECT_EQ(mpsync_cond_wait(&c, 0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_cond_wait(&c, -1), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_cond_wait(&c, 0.02), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_cond_notify(&c, 1), MPSYNC_OK);  // nobody waits: nothing to do
  EXPECT_EQ(mpsync_cond_notify(&c, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_notify_all(&c), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_wait_for(&c, yes, nullptr, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_wait_for(&c, no, nullptr, 0), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_cond_wait_for(&c, no, nullptr, 0.02), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_ENOTOWNER);
}

TEST(CApi, ConditionInitArguments) {
  struct {
    mpsync_cond_t c;
    mpsync_lock_t l;
    mpsync_rlock_t rl;
  } s{};
  EXPECT_EQ(mpsync_cond_init(&s.c, static_cast<mpsync_lock_kind>(7), &s.l), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_init(&s.c, static_cast<mpsync_lock_kind>(0), &s.l), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_init(&s.c, MPSYNC_KIND_RLOCK, &s.c.lock), MPSYNC_EINVAL);  // inside itself
  ASSERT_EQ(mpsync_cond_init(&s.c, MPSYNC_KIND_LOCK, &s.l), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_acquire(&s.c, 1, 1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_is_mine(&s.l), 1);  // the condition's lock is the external one
  EXPECT_EQ(mpsync_cond_wait(&s.c, 0.01), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_lock_is_mine(&s.l), 1);  // re-held on return
  EXPECT_EQ(mpsync_cond_acquire(&s.c, 0, 0), MPSYNC_TIMEDOUT);  // a Lock is not recursive
  EXPECT_EQ(mpsync_cond_release(&s.c), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_locked(&s.l), 0);
  ASSERT_EQ(mpsync_cond_init(&s.c, MPSYNC_KIND_RLOCK, &s.rl), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_acquire(&s.c, 1, 1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_count(&s.rl), 1u);
  EXPECT_EQ(mpsync_cond_notify_all(&s.c), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_release(&s.c), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_locked(&s.rl), 0);
}

TEST(CApi, ConditionNotifyWakesWaiterThread) {
  mpsync_cond_t c;
  ASSERT_EQ(mpsync_cond_init(&c, MPSYNC_KIND_RLOCK, nullptr), MPSYNC_OK);
  int flag = 0;
  mpt::Workers w(Mode::threads);
  w.start([&] {
    WCHECK(mpsync_cond_acquire(&c, 1, MPSYNC_FOREVER) == MPSYNC_OK);
    WCHECK(mpsync_cond_wait_for(&c, flag_is_set, &flag, 30.0) == MPSYNC_OK);
    WCHECK(mpsync_cond_release(&c) == MPSYNC_OK);
    return 0;
  });
  ASSERT_EQ(mpsync_cond_acquire(&c, 1, MPSYNC_FOREVER), MPSYNC_OK);
  __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
  EXPECT_EQ(mpsync_cond_notify(&c, 1), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_OK);
  EXPECT_EQ(w.join(), 0);
}

TEST(CApi, Barrier) {
  mpsync_barrier_t b;
  EXPECT_EQ(mpsync_barrier_init(&b, 0), MPSYNC_EINVAL);
  ASSERT_EQ(mpsync_barrier_init(&b, 1), MPSYNC_OK);
  unsigned idx = 99;
  EXPECT_EQ(mpsync_barrier_wait(&b, MPSYNC_FOREVER, nullptr, nullptr, &idx), MPSYNC_OK);
  EXPECT_EQ(idx, 0u);
  EXPECT_EQ(mpsync_barrier_wait(&b, 0, nullptr, nullptr, nullptr), MPSYNC_OK);  // never blocks
  EXPECT_EQ(mpsync_barrier_parties(&b), 1u);

  ASSERT_EQ(mpsync_barrier_init(&b, 2), MPSYNC_OK);
  EXPECT_EQ(mpsync_barrier_parties(&b), 2u);
  EXPECT_EQ(mpsync_barrier_n_waiting(&b), 0u);
  EXPECT_EQ(mpsync_barrier_broken(&b), 0);
  int runs = 0;
  unsigned got[2] = {9, 9};
  EXPECT_EQ(mpt::run(Mode::threads, 2, [&](int i) {
              WCHECK(mpsync_barrier_wait(&b, 30.0, count_action, &runs, &got[i]) == MPSYNC_OK);
              return 0;
            }), 0);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(std::set<unsigned>({got[0], got[1]}), std::set<unsigned>({0u, 1u}));
  // A waiter's own timeout breaks the barrier.
  EXPECT_EQ(mpsync_barrier_wait(&b, 0.02, nullptr, nullptr, &idx), MPSYNC_BROKEN);
  EXPECT_EQ(mpsync_barrier_broken(&b), 1);
  EXPECT_EQ(mpsync_barrier_reset(&b), MPSYNC_OK);
  EXPECT_EQ(mpsync_barrier_broken(&b), 0);
  EXPECT_EQ(mpsync_barrier_abort(&b), MPSYNC_OK);
  EXPECT_EQ(mpsync_barrier_broken(&b), 1);
  EXPECT_EQ(mpsync_barrier_wait(&b, 1.0, nullptr, nullptr, &idx), MPSYNC_BROKEN);
  EXPECT_EQ(mpsync_barrier_reset(&b), MPSYNC_OK);
  ASSERT_EQ(mpsync_barrier_init(&b, 1), MPSYNC_OK);
  EXPECT_EQ(mpsync_barrier_wait(&b, 1.0, failing_action, nullptr, &idx), MPSYNC_BROKEN);
  EXPECT_EQ(mpsync_barrier_broken(&b), 1);
}

TEST(CApi, StrerrorBackendVersion) {
  std::set<std::string> texts;
  for (int s = -8; s <= 5; ++s) {
    const char *t = mpsync_strerror(s);
    ASSERT_NE(t, nullptr) << s;
    EXPECT_GT(std::strlen(t), 0u) << s;
    if (s >= -7 && s <= 4) texts.insert(t);
  }
  EXPECT_EQ(texts.size(), 12u);  // each documented status has its own text
  EXPECT_NE(mpsync_strerror(1000), nullptr);
  EXPECT_NE(mpsync_strerror(-1000), nullptr);

  const char *b = mpsync_backend();
  ASSERT_NE(b, nullptr);
  const std::string backend = b;
  EXPECT_TRUE(backend == "futex" || backend == "sleeploop") << backend;
  const char *env = std::getenv("MPSYNC_WAIT_BACKEND");
  if (env && (std::string(env) == "futex" || std::string(env) == "sleeploop")) {
    // Read once at start-up. (A kernel refusing futex would switch "futex" to "sleeploop" by
    // itself; this machine has futex.)
    EXPECT_EQ(backend, env);
  }
  EXPECT_STREQ(mpsync::backend(), b);
  ASSERT_NE(mpsync_version(), nullptr);
  EXPECT_GT(std::strlen(mpsync_version()), 0u);
  mpsync_set_interrupt_check(nullptr);  // callable, harmless
}

TEST(CApi, NullObjectPointers) {
  EXPECT_EQ(mpsync_lock_init(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_lock_acquire(nullptr, 1, 1.0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_lock_release(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_lock_is_mine(nullptr), 0);
  EXPECT_EQ(mpsync_lock_locked(nullptr), 0);
  EXPECT_EQ(mpsync_rlock_init(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_rlock_acquire(nullptr, 1, 1.0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_rlock_release(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_rlock_is_mine(nullptr), 0);
  EXPECT_EQ(mpsync_rlock_locked(nullptr), 0);
  EXPECT_EQ(mpsync_rlock_count(nullptr), 0u);
  EXPECT_EQ(mpsync_sem_init(nullptr, 1), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_bounded_sem_init(nullptr, 1), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_sem_acquire(nullptr, 1, 1.0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_sem_release(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_sem_get_value(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_event_init(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_event_set(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_event_clear(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_event_is_set(nullptr), 0);
  EXPECT_EQ(mpsync_event_wait(nullptr, 1.0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_init(nullptr, MPSYNC_KIND_LOCK, nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_acquire(nullptr, 1, 1.0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_release(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_wait(nullptr, 1.0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_wait_for(nullptr, yes, nullptr, 1.0), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_notify(nullptr, 1), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_notify_all(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_barrier_init(nullptr, 2), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_barrier_wait(nullptr, 1.0, nullptr, nullptr, nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_barrier_reset(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_barrier_abort(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_barrier_parties(nullptr), 0u);
  EXPECT_EQ(mpsync_barrier_n_waiting(nullptr), 0u);
  EXPECT_EQ(mpsync_barrier_broken(nullptr), 0);
  // A NULL predicate is a bad argument too.
  mpsync_cond_t c;
  ASSERT_EQ(mpsync_cond_init(&c, MPSYNC_KIND_RLOCK, nullptr), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_acquire(&c, 1, 1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_wait_for(&c, nullptr, nullptr, 0.01), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_OK);
}

// A Condition bound to an external Lock in a memfd region; the child maps the memfd (received
// over a socket) at another address and waits there; the parent notifies through its mapping.
TEST(CApi, ConditionWithExternalLockAcrossMappings) {
  mpsync_region_t *r = nullptr;
  ASSERT_EQ(mpsync_region_create_memfd(&r, 1 << 16), MPSYNC_OK);
  auto *l = static_cast<mpsync_lock_t *>(mpsync_region_alloc(r, sizeof(mpsync_lock_t), 4));
  auto *pad = mpsync_region_alloc(r, 1000, 8);  // the lock is some distance away
  auto *c = static_cast<mpsync_cond_t *>(mpsync_region_alloc(r, sizeof(mpsync_cond_t), 8));
  auto *ready = static_cast<int *>(mpsync_region_alloc(r, sizeof(int), 4));
  auto *data = static_cast<int *>(mpsync_region_alloc(r, sizeof(int), 4));
  ASSERT_TRUE(l && pad && c && ready && data);
  ASSERT_EQ(mpsync_lock_init(l), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_init(c, MPSYNC_KIND_LOCK, l), MPSYNC_OK);
  *ready = *data = 0;
  const std::uint64_t off_l = mpsync_region_offset(r, l), off_c = mpsync_region_offset(r, c);
  const std::uint64_t off_ready = mpsync_region_offset(r, ready), off_data = mpsync_region_offset(r, data);
  int sp[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  mpt::Workers w(Mode::processes);
  w.start([&] {
    int fd = -1;
    WCHECK(mpsync_region_recv_fd(sp[1], &fd) == MPSYNC_OK);
    mpsync_region_t *mine = nullptr;
    WCHECK(mpsync_region_open_fd(&mine, fd) == MPSYNC_OK);
    auto *c2 = static_cast<mpsync_cond_t *>(mpsync_region_at(mine, off_c));
    auto *l2 = static_cast<mpsync_lock_t *>(mpsync_region_at(mine, off_l));
    auto *ready2 = static_cast<int *>(mpsync_region_at(mine, off_ready));
    auto *data2 = static_cast<int *>(mpsync_region_at(mine, off_data));
    WCHECK(static_cast<void *>(c2) != static_cast<void *>(c));  // another address
    WCHECK(mpsync_cond_acquire(c2, 1, 30.0) == MPSYNC_OK);
    WCHECK(mpsync_lock_is_mine(l2) == 1);  // the offset resolved to the same lock
    __atomic_store_n(ready2, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(data2, __ATOMIC_ACQUIRE) == 0) WCHECK(mpsync_cond_wait(c2, 30.0) == MPSYNC_OK);
    WCHECK(mpsync_lock_is_mine(l2) == 1);
    WCHECK(*data2 == 123);
    WCHECK(mpsync_cond_release(c2) == MPSYNC_OK);
    mpsync_region_close(mine);
    return 0;
  });
  ASSERT_EQ(mpsync_region_send_fd(sp[0], mpsync_region_fd(r)), MPSYNC_OK);
  ASSERT_TRUE(mpt::eventually([&] { return __atomic_load_n(ready, __ATOMIC_ACQUIRE) == 1; }, 30.0));
  // The child set `ready` holding the lock and gives it up only inside wait: once we hold it,
  // the child is waiting.
  ASSERT_EQ(mpsync_cond_acquire(c, 1, 30.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_lock_is_mine(l), 1);
  __atomic_store_n(data, 123, __ATOMIC_RELEASE);
  EXPECT_EQ(mpsync_cond_notify(c, 1), MPSYNC_OK);
  EXPECT_EQ(mpsync_cond_release(c), MPSYNC_OK);
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(mpsync_lock_locked(l), 0);
  close(sp[0]);
  close(sp[1]);
  mpsync_region_close(r);
}
