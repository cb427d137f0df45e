// Handoff latency between two processes: a round trip is "post mine, wait for theirs".
// mpsync Semaphore pair vs glibc pshared sem_t pair, in the same binary and run. The backend is
// whatever MPSYNC_WAIT_BACKEND selects (run it twice to compare futex and sleeploop).
#include <benchmark/benchmark.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpsync/mpsync.hpp"

namespace {
template <class Pair, class Post, class Wait>
void ping_pong(benchmark::State &st, Pair *p, Post post, Wait wait) {
  pid_t child = fork();
  if (child == 0) {
    for (;;) {
      wait(p, 0);
      if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) _exit(0);
      post(p, 1);
    }
  }
  for (auto _ : st) {
    post(p, 0);
    wait(p, 1);
  }
  __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
  post(p, 0);
  waitpid(child, nullptr, 0);
  st.SetLabel(mpsync::backend());
}

template <class T>
T *shared_new() {
  void *m = mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return new (m) T();
}

struct MpPair {
  mpsync::Semaphore s[2];
  int stop = 0;
};
struct GlibcPair {
  sem_t s[2];
  int stop = 0;
};

void BM_process_pingpong_mpsync_semaphore(benchmark::State &st) {
  auto *p = shared_new<MpPair>();
  ping_pong(st, p, [](MpPair *q, int i) { (void)q->s[i].release_status(); },
            [](MpPair *q, int i) { (void)q->s[i].acquire_status(); });
  munmap(p, sizeof *p);
}
void BM_process_pingpong_glibc_sem_t(benchmark::State &st) {
  auto *p = shared_new<GlibcPair>();
  sem_init(&p->s[0], 1, 0);
  sem_init(&p->s[1], 1, 0);
  ping_pong(st, p, [](GlibcPair *q, int i) { sem_post(&q->s[i]); },
            [](GlibcPair *q, int i) { while (sem_wait(&q->s[i]) != 0) {} });
  munmap(p, sizeof *p);
}
}  // namespace

BENCHMARK(BM_process_pingpong_mpsync_semaphore)->UseRealTime();
BENCHMARK(BM_process_pingpong_glibc_sem_t)->UseRealTime();
BENCHMARK_MAIN();
