// What mpsync-inspect's waiter table costs a wait (runtime/waiters.hpp): the publication a thread
// makes before it parks on a word inside a Region, and the clearing after. Not a bench_* binary
// (bench/compare has no glibc rival for it); docs/inspect.md quotes its medians.
//   publish/region      publish + withdraw for a word in a registered Region
//   publish/no_region   the same call for a word in plain mmap: the registry lookup finds nothing
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include "mpsync/mpsync.hpp"
#include "waiters.hpp"

namespace {

void publish(benchmark::State &s, bool in_region) {
  static mpsync::Region r = mpsync::Region::anonymous(1 << 20);
  auto *word = in_region ? static_cast<std::uint32_t *>(r.alloc(4, 64))
                         : static_cast<std::uint32_t *>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                                                             MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  for (auto _ : s) {
    mpsync::waiters::published p(word, mpsync::layout::kWaitPlain);
    benchmark::ClobberMemory();
  }
  if (!in_region) munmap(word, 4096);
}

}  // namespace

BENCHMARK_CAPTURE(publish, region, true)->Name("publish/region");
BENCHMARK_CAPTURE(publish, no_region, false)->Name("publish/no_region");
BENCHMARK_MAIN();
