// The C ABI of include/mpsync.h: thin wrappers over the C++ objects, which are the same words.
#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>

#include "impl.hpp"
#include "robust.hpp"

using namespace mpsync;

namespace {
template <class Cpp, class C>
constexpr bool same_layout = sizeof(Cpp) == sizeof(C) && alignof(Cpp) == alignof(C) &&
                             std::is_standard_layout_v<Cpp> && std::is_trivially_destructible_v<Cpp>;
static_assert(same_layout<Lock, mpsync_lock_t> && sizeof(Lock) == 4);
static_assert(same_layout<RLock, mpsync_rlock_t> && sizeof(RLock) == 40);
static_assert(offsetof(mpsync_rlock_t, next) - offsetof(mpsync_rlock_t, word) == 32, "robust futex_offset -32");
static_assert(offsetof(mpsync_rlock_t, prev) == 24);
static_assert(same_layout<Semaphore, mpsync_sem_t> && sizeof(Semaphore) == 8);
static_assert(same_layout<Event, mpsync_event_t> && sizeof(Event) == 4);
static_assert(same_layout<Condition, mpsync_cond_t> && sizeof(Condition) == 56);
static_assert(same_layout<Barrier, mpsync_barrier_t> && sizeof(Barrier) == 16);

template <class T, class C> T &as(C *p) { return *reinterpret_cast<T *>(p); }
template <class T, class C> const T &as(const C *p) { return *reinterpret_cast<const T *>(p); }
int st(status s) { return static_cast<int>(s); }
}  // namespace

extern "C" {

#define MPSYNC_NULL_CHECK(p) \
  if (!(p)) return MPSYNC_EINVAL

int mpsync_lock_init(mpsync_lock_t *l) { MPSYNC_NULL_CHECK(l); ::new (l) Lock(); return MPSYNC_OK; }
int mpsync_lock_acquire(mpsync_lock_t *l, int block, double t) { MPSYNC_NULL_CHECK(l); return st(as<Lock>(l).acquire_status(block != 0, t)); }
int mpsync_lock_release(mpsync_lock_t *l) { MPSYNC_NULL_CHECK(l); return st(as<Lock>(l).release_status()); }
int mpsync_lock_is_mine(const mpsync_lock_t *l) { return l && as<Lock>(l).is_mine(); }
int mpsync_lock_locked(const mpsync_lock_t *l) { return l && as<Lock>(l).locked(); }

int mpsync_rlock_init(mpsync_rlock_t *l) { MPSYNC_NULL_CHECK(l); ::new (l) RLock(); return MPSYNC_OK; }
int mpsync_rlock_acquire(mpsync_rlock_t *l, int block, double t) { MPSYNC_NULL_CHECK(l); return st(as<RLock>(l).acquire_status(block != 0, t)); }
int mpsync_rlock_release(mpsync_rlock_t *l) { MPSYNC_NULL_CHECK(l); return st(as<RLock>(l).release_status()); }
int mpsync_rlock_is_mine(const mpsync_rlock_t *l) { return l && as<RLock>(l).is_mine(); }
int mpsync_rlock_locked(const mpsync_rlock_t *l) { return l && as<RLock>(l).locked(); }
unsigned mpsync_rlock_count(const mpsync_rlock_t *l) { return l ? as<RLock>(l).count() : 0u; }
int mpsync_rlock_robust_supported(void) { return robust::available() ? 1 : 0; }

int mpsync_sem_init(mpsync_sem_t *s, unsigned v) { MPSYNC_NULL_CHECK(s); return st(as<Semaphore>(s).init(v, false)); }
int mpsync_bounded_sem_init(mpsync_sem_t *s, unsigned v) { MPSYNC_NULL_CHECK(s); return st(as<Semaphore>(s).init(v, true)); }
int mpsync_sem_acquire(mpsync_sem_t *s, int block, double t) { MPSYNC_NULL_CHECK(s); return st(as<Semaphore>(s).acquire_status(block != 0, t)); }
int mpsync_sem_release(mpsync_sem_t *s) { MPSYNC_NULL_CHECK(s); return st(as<Semaphore>(s).release_status()); }
int mpsync_sem_get_value(const mpsync_sem_t *s) { MPSYNC_NULL_CHECK(s); return as<Semaphore>(s).get_value_status(); }

int mpsync_event_init(mpsync_event_t *e) { MPSYNC_NULL_CHECK(e); ::new (e) Event(); return MPSYNC_OK; }
int mpsync_event_set(mpsync_event_t *e) { MPSYNC_NULL_CHECK(e); as<Event>(e).set(); return MPSYNC_OK; }
int mpsync_event_clear(mpsync_event_t *e) { MPSYNC_NULL_CHECK(e); as<Event>(e).clear(); return MPSYNC_OK; }
int mpsync_event_is_set(const mpsync_event_t *e) { return e && as<Event>(e).is_set(); }
int mpsync_event_wait(mpsync_event_t *e, double t) { MPSYNC_NULL_CHECK(e); return st(as<Event>(e).wait_status(t)); }

// A C caller may pass any int as the kind (a C enum is an int), but in C++ loading an enum value
// outside its range is undefined: read the argument's bytes as an int and reject unknown kinds
// here (UBSan -fsanitize=enum, found by fuzz/fuzz_capi; tests/test_fuzz_regress.cpp).
static_assert(sizeof(mpsync_lock_kind) == sizeof(int));
int mpsync_cond_init(mpsync_cond_t *c, mpsync_lock_kind kind, void *lock) {
  MPSYNC_NULL_CHECK(c);
  int k;
  std::memcpy(&k, &kind, sizeof k);
  if (lock && k != MPSYNC_KIND_LOCK && k != MPSYNC_KIND_RLOCK) return MPSYNC_EINVAL;
  return st(as<Condition>(c).init(lock ? static_cast<mpsync_lock_kind>(k) : MPSYNC_KIND_RLOCK, lock));
}
int mpsync_cond_acquire(mpsync_cond_t *c, int block, double t) { MPSYNC_NULL_CHECK(c); return st(as<Condition>(c).acquire_status(block != 0, t)); }
int mpsync_cond_release(mpsync_cond_t *c) { MPSYNC_NULL_CHECK(c); return st(as<Condition>(c).release_status()); }
int mpsync_cond_wait(mpsync_cond_t *c, double t) { MPSYNC_NULL_CHECK(c); return st(as<Condition>(c).wait_status(t)); }
int mpsync_cond_wait_for(mpsync_cond_t *c, int (*pred)(void *), void *ctx, double t) { MPSYNC_NULL_CHECK(c); return st(as<Condition>(c).wait_for_status(pred, ctx, t)); }
int mpsync_cond_notify(mpsync_cond_t *c, unsigned n) { MPSYNC_NULL_CHECK(c); return st(as<Condition>(c).notify_status(n)); }
int mpsync_cond_notify_all(mpsync_cond_t *c) { MPSYNC_NULL_CHECK(c); return st(as<Condition>(c).notify_all_status()); }

int mpsync_barrier_init(mpsync_barrier_t *b, unsigned parties) {
  MPSYNC_NULL_CHECK(b);
  if (parties == 0) return MPSYNC_EINVAL;
  ::new (b) Barrier(parties);  // cannot throw: parties != 0
  return MPSYNC_OK;
}
int mpsync_barrier_wait(mpsync_barrier_t *b, double t, int (*action)(void *), void *ctx, unsigned *index) {
  MPSYNC_NULL_CHECK(b);
  return st(as<Barrier>(b).wait_status(t, action, ctx, index));
}
int mpsync_barrier_reset(mpsync_barrier_t *b) { MPSYNC_NULL_CHECK(b); as<Barrier>(b).reset(); return MPSYNC_OK; }
int mpsync_barrier_abort(mpsync_barrier_t *b) { MPSYNC_NULL_CHECK(b); as<Barrier>(b).abort(); return MPSYNC_OK; }
unsigned mpsync_barrier_parties(const mpsync_barrier_t *b) { return b ? as<Barrier>(b).parties() : 0u; }
unsigned mpsync_barrier_n_waiting(const mpsync_barrier_t *b) { return b ? as<Barrier>(b).n_waiting() : 0u; }
int mpsync_barrier_broken(const mpsync_barrier_t *b) { return b && as<Barrier>(b).broken(); }

}  // extern "C"
