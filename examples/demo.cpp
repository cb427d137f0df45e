// mpsync demo: one producer and three worker processes share a bounded ring buffer in a region.
//   Semaphores (free slots / filled slots) + a Lock guard the ring; an RLock guards the shared
//   stats; a Barrier separates the two phases; an Event tells the workers to shut down.
// Phase 1 hashes items; phase 2 (after the barrier) each worker checks the phase-1 totals.
// Prints what it did and exits nonzero if any item was lost or counted twice.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "mpsync/mpsync.hpp"

namespace {
constexpr int kWorkers = 3, kSlots = 16;
constexpr long kItems = 200000;

struct Shared {
  mpsync::Semaphore free_slots{kSlots}, filled{0};
  mpsync::Lock ring_lock;
  mpsync::RLock stats_lock;
  mpsync::Barrier phase{kWorkers + 1};
  mpsync::Event shutdown;
  long ring[kSlots] = {};
  unsigned head = 0, tail = 0;
  long per_worker[kWorkers] = {};
  unsigned long long checksum = 0;  // sum of mix(item) over every consumed item
  long consumed = 0;
};

unsigned long long mix(long x) {  // any bijection-ish hash makes "lost or doubled" visible
  unsigned long long z = static_cast<unsigned long long>(x) * 0x9e3779b97f4a7c15ull;
  return z ^ (z >> 29);
}

void add_stats(Shared *s, int w, long item) {
  std::scoped_lock g(s->stats_lock);  // recursive on purpose: nested helper takes it again
  s->per_worker[w] += 1;
  {
    std::scoped_lock again(s->stats_lock);
    s->checksum += mix(item);
    s->consumed += 1;
  }
}

int worker(Shared *s, int w) {
  for (;;) {
    // Wait for an item, or for shutdown once the ring is drained.
    if (!s->filled.acquire(true, 0.05)) {
      if (s->shutdown.is_set() && s->filled.get_value() == 0) break;
      continue;
    }
    long item;
    {
      std::scoped_lock g(s->ring_lock);
      item = s->ring[s->head++ % kSlots];
    }
    s->free_slots.release();
    if (item < 0) break;  // poison pill
    add_stats(s, w, item);
  }
  s->phase.wait(30.0);  // phase 2: everyone sees the same totals
  std::scoped_lock g(s->stats_lock);
  long sum = 0;
  for (long n : s->per_worker) sum += n;
  return sum == s->consumed ? 0 : 1;
}
}  // namespace

int main() {
  auto region = mpsync::Region::anonymous(1 << 16);
  Shared *s = region.make<Shared>();
  pid_t pids[kWorkers];
  for (int w = 0; w < kWorkers; ++w)
    if ((pids[w] = fork()) == 0) _exit(worker(s, w));

  unsigned long long expect = 0;
  for (long i = 1; i <= kItems + kWorkers; ++i) {
    const long item = i <= kItems ? i : -1;  // then one poison pill per worker
    if (item > 0) expect += mix(item);
    s->free_slots.acquire();
    {
      std::scoped_lock g(s->ring_lock);
      s->ring[s->tail++ % kSlots] = item;
    }
    s->filled.release();
  }
  s->shutdown.set();
  s->phase.wait(30.0);

  int bad = 0;
  for (pid_t p : pids) {
    int st = 0;
    waitpid(p, &st, 0);
    bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  std::printf("mpsync demo (%s backend, %s): 1 producer + %d worker processes, %d-slot ring\n",
              mpsync::backend(), mpsync::version(), kWorkers, kSlots);
  for (int w = 0; w < kWorkers; ++w) std::printf("  worker %d consumed %ld items\n", w, s->per_worker[w]);
  const bool ok = bad == 0 && s->consumed == kItems && s->checksum == expect;
  std::printf("  consumed %ld of %ld, checksum %016llx (expected %016llx): %s\n", s->consumed, kItems,
              s->checksum, expect, ok ? "OK" : "MISMATCH");
  return ok ? 0 : 1;
}
