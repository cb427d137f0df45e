// Handoff latency: a ping-pong between two processes (fork, MAP_SHARED) or two threads; one
// iteration is one round trip (A hands to B, B hands back). Variants: process, process_pinned,
// thread, thread_pinned ("pinned": both partners on one CPU, so spinning cannot help and every
// handoff is a sleep and a wake). The wait backend is whatever MPSYNC_WAIT_BACKEND selects; the
// label says which.
//
// Each channel type has pass(to) (hand the turn to side `to`) and await(me) (block until the turn
// is ours, and consume it); pass_await does both, in one critical section where that is the
// natural idiom (condition variables). Side 0 is the benchmark thread, side 1 the partner.
#include "common.hpp"
#include "mpsync/mpsync.hpp"

namespace {
using State = benchmark::State;

struct MpSemaphores {  // two Semaphore(0)s
  mpsync::Semaphore s[2];
  void pass(int to) { (void)s[to].release_status(); }
  void await(int me) { (void)s[me].acquire_status(); }
};
struct SemTs {  // two pshared sem_t
  sem_t s[2];
  SemTs() { sem_init(&s[0], 1, 0), sem_init(&s[1], 1, 0); }
  ~SemTs() { sem_destroy(&s[0]), sem_destroy(&s[1]); }
  void pass(int to) { sem_post(&s[to]); }
  void await(int me) { mpb::sem_wait_retry(&s[me]); }
};
// Lock as Python uses it for a handoff: both start held; anyone may release (multiprocessing.Lock
// semantics), so pass = release the partner's lock, await = acquire ours. glibc's mutexes forbid
// a release by a non-owner; the glibc way to get this object is a binary sem_t (SemTs).
struct MpLocks {
  mpsync::Lock l[2];
  MpLocks() { (void)l[0].acquire_status(), (void)l[1].acquire_status(); }
  void pass(int to) { (void)l[to].release_status(); }
  void await(int me) { (void)l[me].acquire_status(); }
};
struct MpEvents {  // set the partner's Event; wait for ours, then clear it
  mpsync::Event e[2];
  void pass(int to) { e[to].set(); }
  void await(int me) {
    (void)e[me].wait_status();
    e[me].clear();
  }
};
struct GlibcEvents {
  mpb::GlibcEvent e[2];
  void pass(int to) { e[to].set(); }
  void await(int me) {
    pthread_mutex_lock(&e[me].m);
    while (!e[me].flag) pthread_cond_wait(&e[me].c, &e[me].m);
    e[me].flag = 0;
    pthread_mutex_unlock(&e[me].m);
  }
};
struct MpCondition {  // a turn variable under a Condition (embedded RLock, Python's default)
  mpsync::Condition c;
  int turn = 0;
  void pass_await(int to, int me) {
    (void)c.acquire_status();
    turn = to;
    (void)c.notify_status(1);
    while (turn != me) (void)c.wait_status();
    (void)c.release_status();
  }
  void pass(int to) {
    (void)c.acquire_status();
    turn = to;
    (void)c.notify_status(1);
    (void)c.release_status();
  }
  void await(int me) {
    (void)c.acquire_status();
    while (turn != me) (void)c.wait_status();
    (void)c.release_status();
  }
};
struct GlibcCondition {
  pthread_mutex_t m;
  pthread_cond_t c;
  int turn = 0;
  GlibcCondition() { mpb::init_mutex(&m), mpb::init_cond(&c); }
  void pass_await(int to, int me) {
    pthread_mutex_lock(&m);
    turn = to;
    pthread_cond_signal(&c);
    while (turn != me) pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
  }
  void pass(int to) {
    pthread_mutex_lock(&m);
    turn = to;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
  }
  void await(int me) {
    pthread_mutex_lock(&m);
    while (turn != me) pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
  }
};
// The floor: two bare futex words, FUTEX_WAKE on every pass and FUTEX_WAIT while the word is 0
// (no spin, no waiter bookkeeping: the least a sleeping handoff costs).
struct FutexWords {
  alignas(64) std::uint32_t w0 = 0;
  alignas(64) std::uint32_t w1 = 0;
  std::uint32_t *w(int i) { return i ? &w1 : &w0; }
  void pass(int to) {
    mpb::st(w(to), 1);
    mpb::fx_wake(w(to), 1);
  }
  void await(int me) {
    while (__atomic_exchange_n(w(me), 0u, __ATOMIC_ACQUIRE) == 0) mpb::fx_wait(w(me), 0);
  }
};

template <class C>
concept HasPassAwait = requires(C c) { c.pass_await(0, 1); };
template <class C>
void pass_await(C *c, int to, int me) {
  if constexpr (HasPassAwait<C>) {
    c->pass_await(to, me);
  } else {
    c->pass(to);
    c->await(me);
  }
}

template <class C>
struct Shared {
  C chan;
  alignas(64) std::uint32_t stop = 0;
};

template <class C>
void ping_pong(State &s, mpb::Mode mode, bool pinned) {
  auto *sh = mpb::shared_new<Shared<C>>();
  {
    mpb::PinToOneCpu pin(pinned);  // the partner inherits the one-CPU mask
    mpb::Team team(mode);
    team.start(
        [sh](int) {
          sh->chan.await(1);
          while (!mpb::ld(&sh->stop)) pass_await(&sh->chan, 0, 1);
        },
        1);
    pass_await(&sh->chan, 1, 0);  // untimed first round: the partner is up and running
    for (auto _ : s) pass_await(&sh->chan, 1, 0);
    mpb::st(&sh->stop, 1);
    sh->chan.pass(1);
    if (!team.join()) s.SkipWithError("partner failed");
  }
  mpb::shared_delete(sh);
  s.SetLabel(mpsync::backend());
}

template <class C>
void variants(const char *group, const char *impl) {
  struct V {
    const char *name;
    mpb::Mode mode;
    bool pinned;
  };
  for (V v : {V{"process", mpb::Mode::process, false}, V{"process_pinned", mpb::Mode::process, true},
              V{"thread", mpb::Mode::thread, false}, V{"thread_pinned", mpb::Mode::thread, true}})
    mpb::reg(group, impl, v.name, [v](State &s) { ping_pong<C>(s, v.mode, v.pinned); })->UseRealTime();
}

[[maybe_unused]] const bool registered = [] {
  variants<MpSemaphores>("handoff.semaphore", "mpsync");
  variants<SemTs>("handoff.semaphore", "sem_t");
  variants<MpLocks>("handoff.lock", "mpsync");
  variants<SemTs>("handoff.lock", "sem_t");
  variants<MpCondition>("handoff.condition", "mpsync");
  variants<GlibcCondition>("handoff.condition", "pthread_cond");
  variants<MpEvents>("handoff.event", "mpsync");
  variants<GlibcEvents>("handoff.event", "pthread_cond");
  variants<FutexWords>("handoff.floor", "futex_floor");
  return true;
}();
}  // namespace

BENCHMARK_MAIN();
