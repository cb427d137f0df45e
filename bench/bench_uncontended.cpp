// Uncontended operations, one thread, mpsync vs glibc in the same binary and run. Every object
// lives in MAP_SHARED memory and every glibc rival is PTHREAD_PROCESS_SHARED, as a cross-process
// user would have them. Each benchmark also reports the object's size as the counter "bytes".
// Names follow bench/common.hpp: uncontended.<what>/<impl>.
#include <semaphore>

#include "common.hpp"
#include "mpsync/mpsync.hpp"

namespace {
using mpb::reg;
using mpb::shared_delete;
using mpb::shared_new;
using State = benchmark::State;

void bytes(State &s, std::size_t n) { s.counters["bytes"] = double(n); }

// The floor: what an acquire+release pair costs at least (one CAS, one release store).
void floor_cas(State &s) {
  auto *w = shared_new<std::uint32_t>(0u);
  for (auto _ : s) {
    std::uint32_t e = 0;
    __atomic_compare_exchange_n(w, &e, 1u, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    __atomic_store_n(w, 0u, __ATOMIC_RELEASE);
    benchmark::ClobberMemory();
  }
  bytes(s, sizeof *w);
  shared_delete(w);
}

template <class L>
void mp_lockable(State &s) {  // mpsync::Lock / RLock acquire+release
  auto *l = shared_new<L>();
  for (auto _ : s) {
    (void)l->acquire_status();
    (void)l->release_status();
  }
  bytes(s, sizeof *l);
  shared_delete(l);
}
void mp_rlock_reenter(State &s) {  // a second level while already held: the inline count
  auto *l = shared_new<mpsync::RLock>();
  (void)l->acquire_status();
  for (auto _ : s) {
    (void)l->acquire_status();
    (void)l->release_status();
  }
  (void)l->release_status();
  bytes(s, sizeof *l);
  shared_delete(l);
}
void pt_mutex(State &s, int type, bool robust, bool reenter) {
  auto *m = shared_new<pthread_mutex_t>();
  mpb::init_mutex(m, type, robust);
  if (reenter) pthread_mutex_lock(m);
  for (auto _ : s) {
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
  }
  if (reenter) pthread_mutex_unlock(m);
  pthread_mutex_destroy(m);
  bytes(s, sizeof *m);
  shared_delete(m);
}
template <bool Bounded>
void mp_semaphore(State &s) {
  auto *m = shared_new<mpsync::Semaphore>();
  (void)m->init(1, Bounded);
  for (auto _ : s) {
    (void)m->acquire_status();
    (void)m->release_status();
  }
  bytes(s, sizeof *m);
  shared_delete(m);
}
void sem_t_pair(State &s) {
  auto *m = shared_new<sem_t>();
  sem_init(m, 1, 1);
  for (auto _ : s) {
    sem_wait(m);
    sem_post(m);
  }
  sem_destroy(m);
  bytes(s, sizeof *m);
  shared_delete(m);
}
void std_counting(State &s) {  // process-local only: a reference, not a cross-process rival
  auto *m = new std::counting_semaphore<>(1);
  for (auto _ : s) {
    m->acquire();
    m->release();
  }
  bytes(s, sizeof *m);
  delete m;
}

void mp_event_set_clear(State &s) {
  auto *e = shared_new<mpsync::Event>();
  for (auto _ : s) {
    e->set();
    e->clear();
  }
  bytes(s, sizeof *e);
  shared_delete(e);
}
void gl_event_set_clear(State &s) {
  auto *e = shared_new<mpb::GlibcEvent>();
  for (auto _ : s) {
    e->set();
    e->clear();
  }
  bytes(s, sizeof *e);
  shared_delete(e);
}
void mp_event_is_set(State &s) {
  auto *e = shared_new<mpsync::Event>();
  for (auto _ : s) benchmark::DoNotOptimize(e->is_set());
  bytes(s, sizeof *e);
  shared_delete(e);
}
void gl_event_is_set(State &s) {
  auto *e = shared_new<mpb::GlibcEvent>();
  for (auto _ : s) benchmark::DoNotOptimize(e->is_set());
  bytes(s, sizeof *e);
  shared_delete(e);
}

// acquire, notify() with nobody waiting, release: no wake may be issued.
void mp_notify_nowaiter(State &s) {
  auto *c = shared_new<mpsync::Condition>();
  for (auto _ : s) {
    (void)c->acquire_status();
    (void)c->notify_status(1);
    (void)c->release_status();
  }
  bytes(s, sizeof *c);
  shared_delete(c);
}
struct GlibcCond {
  pthread_mutex_t m;
  pthread_cond_t c;
  GlibcCond() {
    mpb::init_mutex(&m);
    mpb::init_cond(&c);
  }
};
void gl_notify_nowaiter(State &s) {
  auto *c = shared_new<GlibcCond>();
  for (auto _ : s) {
    pthread_mutex_lock(&c->m);
    pthread_cond_signal(&c->c);
    pthread_mutex_unlock(&c->m);
  }
  bytes(s, sizeof *c);
  shared_delete(c);
}

// A one-party barrier: a whole cycle with nobody to wake.
void mp_barrier1(State &s) {
  auto *b = shared_new<mpsync::Barrier>(1u);
  for (auto _ : s) benchmark::DoNotOptimize(b->wait());
  bytes(s, sizeof *b);
  shared_delete(b);
}
void gl_barrier1(State &s) {
  auto *b = shared_new<pthread_barrier_t>();
  mpb::init_barrier(b, 1);
  for (auto _ : s) benchmark::DoNotOptimize(pthread_barrier_wait(b));
  pthread_barrier_destroy(b);
  bytes(s, sizeof *b);
  shared_delete(b);
}

[[maybe_unused]] const bool registered = [] {
  reg("uncontended.floor", "cas_store", "", floor_cas);
  reg("uncontended.lock", "mpsync", "", mp_lockable<mpsync::Lock>);
  reg("uncontended.lock", "pthread_mutex", "", [](State &s) { pt_mutex(s, PTHREAD_MUTEX_DEFAULT, false, false); });
  reg("uncontended.lock", "sem_t", "", sem_t_pair);
  reg("uncontended.rlock", "mpsync", "", mp_lockable<mpsync::RLock>);
  reg("uncontended.rlock", "pthread_recursive", "", [](State &s) { pt_mutex(s, PTHREAD_MUTEX_RECURSIVE, false, false); });
  reg("uncontended.rlock", "pthread_robust", "", [](State &s) { pt_mutex(s, PTHREAD_MUTEX_DEFAULT, true, false); });
  reg("uncontended.rlock", "pthread_robust_recursive", "", [](State &s) { pt_mutex(s, PTHREAD_MUTEX_RECURSIVE, true, false); });
  reg("uncontended.rlock_reenter", "mpsync", "", mp_rlock_reenter);
  reg("uncontended.rlock_reenter", "pthread_robust_recursive", "", [](State &s) { pt_mutex(s, PTHREAD_MUTEX_RECURSIVE, true, true); });
  reg("uncontended.semaphore", "mpsync", "", mp_semaphore<false>);
  reg("uncontended.semaphore", "sem_t", "", sem_t_pair);
  reg("uncontended.semaphore", "std_counting_semaphore", "", std_counting);
  reg("uncontended.bounded_semaphore", "mpsync", "", mp_semaphore<true>);
  reg("uncontended.bounded_semaphore", "sem_t", "", sem_t_pair);
  reg("uncontended.event_set_clear", "mpsync", "", mp_event_set_clear);
  reg("uncontended.event_set_clear", "pthread_cond", "", gl_event_set_clear);
  reg("uncontended.event_is_set", "mpsync", "", mp_event_is_set);
  reg("uncontended.event_is_set", "pthread_cond", "", gl_event_is_set);
  reg("uncontended.notify_nowaiter", "mpsync", "", mp_notify_nowaiter);
  reg("uncontended.notify_nowaiter", "pthread_cond", "", gl_notify_nowaiter);
  reg("uncontended.barrier1", "mpsync", "", mp_barrier1);
  reg("uncontended.barrier1", "pthread_barrier", "", gl_barrier1);
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
