// Not a Google Benchmark binary: two small probes bench/compare and bench/syscalls.sh run.
//   bench_probe sizes          JSON: sizeof every mpsync object next to its glibc counterpart
//   bench_probe list           the names of the syscall cases
//   bench_probe run CASE N     N iterations of CASE, nothing else (strace -f -c -e trace=futex
//                              counts the futex calls; the "baseline" case gives start-up's)
// Every uncontended case must issue no futex call at all: acquire/release pairs, a release or
// notify with nobody waiting, tries that fail, a one-party barrier. "pingpong_pinned" is the
// control: two processes on one CPU handing a Semaphore back and forth must sleep and wake.
// "contended4_*" are diagnostics: futex calls per acquisition with 4 processes on one lock.
#include <pthread.h>
#include <semaphore.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "common.hpp"
#include "mpsync/mpsync.hpp"

namespace {

struct Case {
  const char *name;
  std::function<void(long)> run;
};

template <class T, class... A>
T *obj(A &&...a) { return mpb::shared_new<T>(static_cast<A &&>(a)...); }

void pingpong_pinned(long n) {
  struct Pair {
    mpsync::Semaphore s[2];
  };
  auto *p = obj<Pair>();
  mpb::PinToOneCpu pin(true);
  pid_t c = fork();
  if (c == 0) {
    for (long i = 0; i < n; ++i) {
      (void)p->s[1].acquire_status();
      (void)p->s[0].release_status();
    }
    _exit(0);
  }
  for (long i = 0; i < n; ++i) {
    (void)p->s[1].release_status();
    (void)p->s[0].acquire_status();
  }
  waitpid(c, nullptr, 0);
}

// Diagnostics, not zero cases: 4 processes sharing one lock with a small critical section, n
// acquisitions in all. Futex calls per op under contention (strace slows everyone alike).
template <class L>
void contended4(long n) {
  struct Arena {
    L lock;
    std::uint64_t data[8];
    std::uint32_t ready;
  };
  auto *a = obj<Arena>();
  std::vector<pid_t> kids;
  for (int k = 0; k < 4; ++k) {
    pid_t c = fork();
    if (c == 0) {
      mpb::inc(&a->ready);  // start together, so that they overlap
      while (mpb::ld(&a->ready) < 4) sched_yield();
      std::uint64_t x = std::uint64_t(k);
      for (long i = 0; i < n / 4; ++i) {
        a->lock.lock();
        for (auto &d : a->data) ++d;
        a->lock.unlock();
        for (int j = 0; j < 24; ++j) x = x * 6364136223846793005ull + 1442695040888963407ull;
        benchmark::DoNotOptimize(x);
      }
      _exit(0);
    }
    kids.push_back(c);
  }
  for (pid_t c : kids) waitpid(c, nullptr, 0);
}
struct PtLock {
  pthread_mutex_t m;
  PtLock() { mpb::init_mutex(&m); }
  void lock() { pthread_mutex_lock(&m); }
  void unlock() { pthread_mutex_unlock(&m); }
};

const std::vector<Case> &cases() {
  static const std::vector<Case> all = {
      {"baseline", [](long) {}},
      {"lock", [](long n) {
         auto *l = obj<mpsync::Lock>();
         for (long i = 0; i < n; ++i) (void)l->acquire_status(), (void)l->release_status();
       }},
      {"lock_try_held", [](long n) {
         auto *l = obj<mpsync::Lock>();
         (void)l->acquire_status();
         for (long i = 0; i < n; ++i) (void)l->acquire_status(false);
       }},
      {"rlock", [](long n) {
         auto *l = obj<mpsync::RLock>();
         for (long i = 0; i < n; ++i) (void)l->acquire_status(), (void)l->release_status();
       }},
      {"rlock_reenter", [](long n) {
         auto *l = obj<mpsync::RLock>();
         (void)l->acquire_status();
         for (long i = 0; i < n; ++i) (void)l->acquire_status(), (void)l->release_status();
         (void)l->release_status();
       }},
      {"semaphore", [](long n) {
         auto *s = obj<mpsync::Semaphore>(1u);
         for (long i = 0; i < n; ++i) (void)s->acquire_status(), (void)s->release_status();
       }},
      {"semaphore_release_nowaiter", [](long n) {
         auto *s = obj<mpsync::Semaphore>(0u);
         for (long i = 0; i < n; ++i) (void)s->release_status(), (void)s->acquire_status();
       }},
      {"semaphore_try_empty", [](long n) {
         auto *s = obj<mpsync::Semaphore>(0u);
         for (long i = 0; i < n; ++i) (void)s->acquire_status(false);
       }},
      {"bounded_semaphore", [](long n) {
         auto *s = obj<mpsync::BoundedSemaphore>(1u);
         for (long i = 0; i < n; ++i) (void)s->acquire_status(), (void)s->release_status();
       }},
      {"event_set_clear", [](long n) {
         auto *e = obj<mpsync::Event>();
         for (long i = 0; i < n; ++i) e->set(), e->clear();
       }},
      {"event_wait_set", [](long n) {
         auto *e = obj<mpsync::Event>();
         e->set();
         for (long i = 0; i < n; ++i) (void)e->wait_status();
       }},
      {"condition_notify_nowaiter", [](long n) {
         auto *c = obj<mpsync::Condition>();
         for (long i = 0; i < n; ++i)
           (void)c->acquire_status(), (void)c->notify_status(1), (void)c->release_status();
       }},
      {"condition_notify_all_nowaiter", [](long n) {
         auto *c = obj<mpsync::Condition>();
         for (long i = 0; i < n; ++i)
           (void)c->acquire_status(), (void)c->notify_all_status(), (void)c->release_status();
       }},
      {"barrier1", [](long n) {
         auto *b = obj<mpsync::Barrier>(1u);
         for (long i = 0; i < n; ++i) (void)b->wait();
       }},
      {"glibc_pshared_mutex", [](long n) {
         auto *m = obj<pthread_mutex_t>();
         mpb::init_mutex(m);
         for (long i = 0; i < n; ++i) pthread_mutex_lock(m), pthread_mutex_unlock(m);
       }},
      {"glibc_sem_t", [](long n) {
         auto *s = obj<sem_t>();
         sem_init(s, 1, 1);
         for (long i = 0; i < n; ++i) sem_wait(s), sem_post(s);
       }},
      {"pingpong_pinned", pingpong_pinned},
      {"contended4_lock", contended4<mpsync::Lock>},
      {"contended4_glibc_mutex", contended4<PtLock>},
  };
  return all;
}

struct Size {
  const char *object, *rival;
  std::size_t ours, theirs;
};

int sizes() {
  struct GlibcCondvar {  // what a Condition replaces: a condvar plus its mutex
    pthread_cond_t c;
    pthread_mutex_t m;
  };
  const Size rows[] = {
      {"Lock", "pthread_mutex_t", sizeof(mpsync::Lock), sizeof(pthread_mutex_t)},
      {"RLock", "pthread_mutex_t", sizeof(mpsync::RLock), sizeof(pthread_mutex_t)},
      {"Semaphore", "sem_t", sizeof(mpsync::Semaphore), sizeof(sem_t)},
      {"BoundedSemaphore", "sem_t", sizeof(mpsync::BoundedSemaphore), sizeof(sem_t)},
      {"Event", "pthread_mutex_t + pthread_cond_t + flag", sizeof(mpsync::Event), sizeof(mpb::GlibcEvent)},
      {"Condition (with its RLock)", "pthread_cond_t + pthread_mutex_t", sizeof(mpsync::Condition),
       sizeof(GlibcCondvar)},
      {"Barrier", "pthread_barrier_t", sizeof(mpsync::Barrier), sizeof(pthread_barrier_t)},
  };
  std::printf("{\"sizes\": [\n");
  for (std::size_t i = 0; i < std::size(rows); ++i)
    std::printf("  {\"object\": \"%s\", \"mpsync\": %zu, \"rival\": \"%s\", \"rival_bytes\": %zu}%s\n",
                rows[i].object, rows[i].ours, rows[i].rival, rows[i].theirs,
                i + 1 < std::size(rows) ? "," : "");
  std::printf("]}\n");
  return 0;
}

int usage() {
  std::fprintf(stderr, "usage: bench_probe sizes | list | run CASE N\n");
  return 2;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc == 2 && !std::strcmp(argv[1], "sizes")) return sizes();
  if (argc == 2 && !std::strcmp(argv[1], "list")) {
    for (const Case &c : cases()) std::printf("%s\n", c.name);
    return 0;
  }
  if (argc == 4 && !std::strcmp(argv[1], "run")) {
    const long n = std::atol(argv[3]);
    for (const Case &c : cases())
      if (!std::strcmp(c.name, argv[2])) {
        c.run(n);
        return 0;
      }
    std::fprintf(stderr, "bench_probe: no case %s\n", argv[2]);
  }
  return usage();
}
