// The cooperative waiter table (layout and slot protocol: runtime/region_layout.hpp). A thread
// about to park on a word that lies in a region this process mapped publishes (pid, tid, word,
// since) in that region's table, and clears it when the wait ends, so mpsync-inspect can say who
// waits on what without ptrace. Only the slow path pays (one region lookup, a CAS, a few stores);
// a word outside every registered region (an object in private memory, or in memory the program
// mapped itself) publishes nothing.
//
// THE PROCESS'S REGION REGISTRY (process-local; regions are added when mapped, removed before
// unmapped): kMaxRegions entries, each under its own seqlock word, even = stable. A writer claims
// an entry by CASing its seq from even to odd, rewrites it, and stores seq + 2 (release). A reader
// (any parking thread) reads seq (acquire), the fields, then seq again, and skips the entry if the
// two differ or are odd. No lock: a fork in the middle of a rewrite leaves that one entry odd in the
// child, which then never publishes for that region (the waits themselves are unaffected). A
// high-water mark bounds the scan to the entries ever used (one, for a program with one region).
// Measured (bench/probe_publish, this 2-vCPU EPYC VM): see docs/inspect.md, "Cost".
// Unmapping a region while a thread waits on a word inside it is already undefined behaviour, so
// a reader that found its word's region may use the table until its wait ends.
#ifndef MPSYNC_RUNTIME_WAITERS_HPP
#define MPSYNC_RUNTIME_WAITERS_HPP

#include <cstdint>

#include "mpsync/detail/core.hpp"
#include "mpsync/region.hpp"
#include "region_layout.hpp"

namespace mpsync::waiters {

void add_region(const mpsync_region &h) noexcept;
void remove_region(const mpsync_region &h) noexcept;

// The region (of this process's registry) holding `p`, or false.
bool find_region(const void *p, mpsync_region &out) noexcept;

class published {  // RAII: publishes in the constructor, clears in the destructor
 public:
  published() noexcept = default;
  published(const std::uint32_t *word, std::uint32_t flags) noexcept { add(word, flags); }
  void add(const std::uint32_t *word, std::uint32_t flags) noexcept {
    if (__builtin_expect(arch::load(&g_count, arch::relaxed) != 0, 0) && !slot_) slot_ = publish(word, flags);
  }
  ~published() {
    if (slot_) withdraw(slot_);
  }
  published(const published &) = delete;
  published &operator=(const published &) = delete;

 private:
  static layout::waiter_slot *publish(const std::uint32_t *word, std::uint32_t flags) noexcept;
  static void withdraw(layout::waiter_slot *s) noexcept;
  layout::waiter_slot *slot_ = nullptr;

 public:
  static inline std::uint32_t g_count = 0;  // registered regions with a waiter table
};

}  // namespace mpsync::waiters

#endif
