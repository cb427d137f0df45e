// The region's on-memory layout: header, name directory, waiter table, allocation tags. Shared by
// the library (runtime/region*.cpp, runtime/waiters.cpp) and the inspector (tools/inspect), which
// reads the same bytes from another process and trusts none of them.
//
// LAYOUT (version 2; offsets from the region's base)
//   0     header (64 bytes)
//           magic u64 "mpsyncR1"  written last by the creator (release), checked first by openers
//           size u64              the mapped length, checked against fstat()
//           used u64              bump pointer: the first free byte; CAS acq_rel; always a multiple of 8
//           version u32           2; 0 in regions made before the directory existed (no directory,
//                                 no waiter table, no tags: still fully usable)
//           dir_cap u32           directory entries (0: none — a region under kMetaMinSize)
//           dir_off u64
//           waiters_cap u32, reserved u32
//           waiters_off u64
//           heap_off u64          the first allocation's tag; heap_off <= used <= size
//   dir_off      dir_cap x dir_entry (96 bytes)
//   waiters_off  waiters_cap x waiter_slot (32 bytes)
//   heap_off     allocations, each [tag 16 bytes][padding][object], the next tag at the next
//                multiple of 8 after the object
//
// DIRECTORY ENTRY STATES (the state word; transitions are CASes, never back to free)
//   free 0 -> claimed 1 (a namer owns the entry and writes kind, name, owner, maybe offset)
//   claimed -> named 2   the name is final; the offset may still be 0 (find_or_make constructing)
//   named -> ready 3     offset written and the object constructed (release: find's acquire load of
//                        ready reads-from it, so the object's construction happens-before every use)
//   claimed/named -> dead 4   a namer that lost the race, or an entry whose namer died (reclaimed by
//                        a waiter that saw the owner thread gone), or one stuck claimed for > 1 s
// Free entries are a suffix: a namer claims the first free entry, and entries never return to free,
// so every entry before a claimed one was claimed earlier. THE RULE: among entries that are named
// or ready with one name, the lowest index owns it. A namer, once its entry is named, waits for
// each lower entry to leave "claimed" and yields if a lower one (named or ready) carries the same
// name. Two racers A < B: B's scan waits for A to be named and sees it, so B yields; A's scan never
// sees B. Exactly one wins, whichever runs first (a namer that dies claimed is declared dead after
// 1 s, a dead owner of a named entry as soon as a waiter notices).
//
// WAITER SLOT (published by a thread just before it parks on a word in the region, cleared after:
//   runtime/waiters.cpp; only the slow path pays)
//   tid u32    claim word: 0 free, else the claiming thread (CAS 0 -> tid)
//   seq u32    seqlock: odd while the owner rewrites the slot; readers retry on odd or changed
//   pid u32, flags u32 (kWaitPlain, kWaitAny)
//   word u64   offset of the futex word the thread parks on
//   since i64  CLOCK_REALTIME_COARSE ns when it began to wait (kept across a re-park on the same word
//              within 100 ms of waking: a spurious wake-up does not restart the wait)
// seq is made odd from (seq | 1), so a writer that died mid-write cannot leave readers an even,
// half-written slot. A slot whose tid is gone (the process died while parked) is reclaimed by a
// claimer that finds the table full (each thread scans for those at most once a second); readers
// skip slots whose thread no longer exists. An owner clears its slot only while tid is still its.
#ifndef MPSYNC_RUNTIME_REGION_LAYOUT_HPP
#define MPSYNC_RUNTIME_REGION_LAYOUT_HPP

#include <cstddef>
#include <cstdint>

namespace mpsync::layout {

inline constexpr std::uint64_t kMagic = 0x3152636e7973706dull;  // "mpsyncR1" little-endian
inline constexpr std::uint32_t kVersion = 2;

struct header {
  std::uint64_t magic, size, used;
  std::uint32_t version, dir_cap;
  std::uint64_t dir_off;
  std::uint32_t waiters_cap, reserved;
  std::uint64_t waiters_off, heap_off;
};
static_assert(sizeof(header) == 64);

inline constexpr std::size_t kNameMax = 63;
enum dir_state : std::uint32_t { kFree = 0, kClaimed = 1, kNamed = 2, kReady = 3, kDead = 4 };
struct dir_entry {
  std::uint32_t state, kind;
  std::uint64_t offset;         // the object; 0 until known
  std::uint32_t owner_pid, owner_tid;  // the namer (liveness of a constructing find_or_make)
  std::uint64_t claimed_ns;     // CLOCK_MONOTONIC when claimed (a namer stuck claimed > 1 s is dead)
  char name[kNameMax + 1];      // NUL-terminated
};
static_assert(sizeof(dir_entry) == 96);

enum wait_flags : std::uint32_t { kWaitPlain = 1, kWaitAny = 2 };
struct waiter_slot {
  std::uint32_t tid, seq, pid, flags;
  std::uint64_t word;
  std::int64_t since;
};
static_assert(sizeof(waiter_slot) == 32);

// Allocation kinds in a tag: 0 raw bytes (mpsync_region_alloc), 1-6 the MPSYNC_OBJ_* kinds, and
// kData for a make<T>() of a type that is not an mpsync primitive.
inline constexpr std::uint32_t kTagMagic = 0x6d700000u;  // "mp" in the high half
inline constexpr std::uint32_t kRaw = 0, kData = 0x7f;
struct tag {
  std::uint32_t magic_kind;  // kTagMagic | kind
  std::uint32_t delta;       // object = tag + delta
  std::uint64_t size;        // the object's bytes
};
static_assert(sizeof(tag) == 16);
inline constexpr bool tag_valid(const tag &t) noexcept { return (t.magic_kind & 0xffff0000u) == kTagMagic; }
inline constexpr std::uint64_t round8(std::uint64_t x) noexcept { return (x + 7) & ~std::uint64_t{7}; }

// Metadata is laid out only in regions of at least kMetaMinSize; capacities grow with the size.
inline constexpr std::uint64_t kMetaMinSize = 4096;
inline constexpr std::uint32_t clamp_cap(std::uint64_t n, std::uint32_t lo) noexcept {
  return static_cast<std::uint32_t>(n < lo ? lo : n > 256 ? 256 : n);
}
// 4 entries + 8 slots (640 B) at 4 KiB, 32 + 64 (5 KiB) at 64 KiB, 256 + 256 (32 KiB) from 512 KiB.
inline constexpr std::uint32_t dir_cap_for(std::uint64_t size) noexcept {
  return size < kMetaMinSize ? 0 : clamp_cap(size / 2048, 4);
}
inline constexpr std::uint32_t waiters_cap_for(std::uint64_t size) noexcept {
  return size < kMetaMinSize ? 0 : clamp_cap(size / 1024, 8);
}

// A header read from untrusted memory: true if its directory, waiter table and heap are inside the
// region and do not overlap (version 0: no metadata, heap right after the header).
inline bool header_valid(const header &h, std::uint64_t mapped) noexcept {
  if (h.magic != kMagic || h.size != mapped || h.size < sizeof(header)) return false;
  if (h.version == 0) return h.used >= sizeof(header) && h.used <= h.size;
  if (h.version != kVersion) return false;
  if (h.dir_cap > 4096 || h.waiters_cap > 4096) return false;
  // Each offset within the region first, so the sums below cannot wrap around.
  if (h.dir_off > h.size || h.waiters_off > h.size || h.heap_off > h.size) return false;
  const std::uint64_t dir_end = h.dir_off + std::uint64_t{h.dir_cap} * sizeof(dir_entry);
  const std::uint64_t w_end = h.waiters_off + std::uint64_t{h.waiters_cap} * sizeof(waiter_slot);
  return h.dir_off >= sizeof(header) && h.dir_off % 8 == 0 && dir_end <= h.waiters_off && h.waiters_off % 8 == 0 &&
         w_end <= h.heap_off && h.heap_off % 8 == 0 && h.heap_off <= h.used && h.used <= h.size;
}
inline std::uint64_t heap_start(const header &h) noexcept { return h.version == 0 ? sizeof(header) : h.heap_off; }

}  // namespace mpsync::layout

#endif
