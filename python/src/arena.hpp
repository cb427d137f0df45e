// Shared slots for the Python objects: every mpsync Python object (Lock, RLock, Semaphore, Event,
// Condition, Barrier) lives in one 64-byte slot of an arena, an mpsync memfd region that needs no
// name (nothing in /dev/shm). A fork child inherits the mapping; a spawn or forkserver child gets
// the memfd through multiprocessing's fd passing and maps it (the pickle names the arena by id).
//
// LAYOUT (one block, the region's first allocation, 64-byte aligned)
//   head     64 B    magic u64 "mpsyPyA1", id_hi u64, id_lo u64 (random per arena), nslots u32
//   bitmap   nslots/32 u32 words — bit s set: slot s is allocated
//   slots    at kSlotsOffset, nslots x 64 B: { refs u32, kind u32, object bytes [56] }
//
// STATES of a slot: FREE (bit 0, refs 0) -> LIVE (bit 1, refs >= 1) -> FREE.
//   alloc:   CAS the bit 0 -> 1 (acq_rel), then write refs = 1, kind, and initialise the object.
//   +1 ref:  each Python handle in any process holds one reference: the creator's; one per live
//            handle of a fork child, taken by the PARENT before the fork (os.register_at_fork
//            before=; module.cpp "FORK" says why and covers the GIL gap before the fork); one per
//            pickle made for a spawning child (the child's handle adopts it).
//   -1 ref:  a handle's deallocation, or release_all at a process's orderly exit: Py_AtExit, after
//            finalization; a multiprocessing fork child (os._exit) from its last Finalize. Handles
//            stay mapped; they only stop counting.
//   free:    the fetch_sub that takes refs 1 -> 0 (acq_rel) clears the bit (release).
// INVARIANT: while any process can still use the object, refs >= 1, so the bit stays set and no
// allocator can hand the slot out again. A process killed without an orderly exit never gives its
// references back: its slots stay LIVE until every process has unmapped the arena (a bounded leak,
// never a reuse). The reference taken for a pickle is likewise kept if the child never starts.
//
// ORDERING: reuse is the only cross-process hazard. CPU0 (last user) ends with fetch_sub(refs)
// acq_rel then fetch_and(bit) release; CPU1 (allocator) takes the bit with a CAS acq_rel that reads
// CPU0's clear, so everything CPU0 did to the object happens-before CPU1's re-initialisation.
// A reference is only ever added by a process that already holds one (fork, pickle), so refs cannot
// be resurrected from 0. The per-process table of mapped arenas is guarded by the GIL.
#ifndef MPSYNC_PY_ARENA_HPP
#define MPSYNC_PY_ARENA_HPP

#include <cstddef>
#include <cstdint>

#include "mpsync.h"

namespace mpsync_py {

constexpr std::uint32_t kSlotSize = 64;
constexpr std::uint32_t kObjectOffset = 8;  // after refs and kind; 8-aligned
constexpr std::uint32_t kSlots = 16384 - 64;  // a 1 MiB block, minus the head page
constexpr std::uint32_t kSlotsOffset = 4096;
constexpr std::uint64_t kBlockSize = kSlotsOffset + std::uint64_t{kSlots} * kSlotSize;

struct Arena {                 // process-local record of one mapped arena
  mpsync_region_t *region;
  unsigned char *block;        // the layout above
  std::uint64_t block_offset;  // block's offset in the region (sent with pickles)
  std::uint64_t id_hi, id_lo;
  std::size_t handles;         // live handles of this process in this arena
  std::uint32_t hint;          // where the next slot search starts
};

// Allocate one slot (refs = 1) in `in` if given, else in any mapped arena with room, else in a new
// arena. Returns the object's address and fills *arena/*slot, or nullptr with a Python exception.
void *slot_alloc(Arena *in, std::uint32_t kind, Arena **arena, std::uint32_t *slot);
void *slot_object(Arena *a, std::uint32_t slot);
void slot_ref(Arena *a, std::uint32_t slot);    // +1, by a holder of a reference
void slot_unref(Arena *a, std::uint32_t slot);  // -1, frees at 0
std::uint32_t slot_refs(Arena *a, std::uint32_t slot);  // for tests
bool slot_live(Arena *a, std::uint32_t slot);           // allocated, refs >= 1
void arena_forget_if_unused(Arena *a);                  // unmap an arena no handle uses
void arena_hold(Arena *a);
void arena_drop(Arena *a);  // unmaps with the last local handle
// Map an arena received as an fd (takes the fd). Call arena_find first: an arena already mapped
// here is reused, and its duplicate fd is the caller's to close.
Arena *arena_find(std::uint64_t id_hi, std::uint64_t id_lo);
Arena *arena_adopt(int fd, std::uint64_t block_offset, std::uint64_t id_hi, std::uint64_t id_lo);
int arena_fd(Arena *a);

}  // namespace mpsync_py

#endif
