// Uncontended acquire+release pairs, mpsync vs glibc, in one binary and one run (a smoke pass of
// the benchmark suite; the comparison report is bench/compare's job).
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <semaphore.h>

#include "mpsync/mpsync.hpp"

namespace {
void BM_floor_cas_store(benchmark::State &st) {
  alignas(64) static std::uint32_t w = 0;
  for (auto _ : st) {
    std::uint32_t e = 0;
    __atomic_compare_exchange_n(&w, &e, 1u, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    __atomic_store_n(&w, 0u, __ATOMIC_RELEASE);
    benchmark::ClobberMemory();
  }
}
void BM_mpsync_lock(benchmark::State &st) {
  alignas(64) static mpsync::Lock l;
  for (auto _ : st) {
    (void)l.acquire_status();
    (void)l.release_status();
  }
}
void BM_mpsync_rlock(benchmark::State &st) {
  alignas(64) static mpsync::RLock l;
  for (auto _ : st) {
    (void)l.acquire_status();
    (void)l.release_status();
  }
}
void BM_mpsync_semaphore(benchmark::State &st) {
  alignas(64) static mpsync::Semaphore s(1);
  for (auto _ : st) {
    (void)s.acquire_status();
    (void)s.release_status();
  }
}
void BM_glibc_pshared_mutex(benchmark::State &st) {
  static pthread_mutex_t m;
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&m, &a);
  for (auto _ : st) {
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
  }
}
void BM_glibc_robust_recursive_mutex(benchmark::State &st) {
  static pthread_mutex_t m;
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&m, &a);
  for (auto _ : st) {
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
  }
}
void BM_glibc_sem(benchmark::State &st) {
  static sem_t s;
  sem_init(&s, 1, 1);
  for (auto _ : st) {
    sem_wait(&s);
    sem_post(&s);
  }
}
}  // namespace

BENCHMARK(BM_floor_cas_store);
BENCHMARK(BM_mpsync_lock);
BENCHMARK(BM_glibc_pshared_mutex);
BENCHMARK(BM_mpsync_rlock);
BENCHMARK(BM_glibc_robust_recursive_mutex);
BENCHMARK(BM_mpsync_semaphore);
BENCHMARK(BM_glibc_sem);
BENCHMARK_MAIN();
