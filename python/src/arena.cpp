// The slot allocator of arena.hpp (its header holds the layout, states and ordering argument).
#include "arena.hpp"

#include <Python.h>

#include <atomic>
#include <cstring>
#include <random>
#include <vector>

namespace mpsync_py {
namespace {

constexpr std::uint64_t kMagic = 0x3141795079737071ull;  // "mpsyPyA1"-ish, little-endian tag
// The block plus the region's own header, name directory and waiter table (32 KiB at this size).
constexpr std::uint64_t kRegionSize = kBlockSize + 65536;

struct Head {
  std::uint64_t magic, id_hi, id_lo;
  std::uint32_t nslots, slot_size;
};

std::vector<Arena *> g_arenas;  // guarded by the GIL
Arena *g_pinned;                // the newest arena stays mapped with no handle in it (no mmap churn)

Head *head_of_block(unsigned char *block) { return reinterpret_cast<Head *>(block); }
std::uint32_t *bitmap(Arena *a) { return reinterpret_cast<std::uint32_t *>(a->block + 64); }
unsigned char *slot_base(Arena *a, std::uint32_t s) { return a->block + kSlotsOffset + std::uint64_t{s} * kSlotSize; }
std::atomic_ref<std::uint32_t> refs_of(Arena *a, std::uint32_t s) {
  return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t *>(slot_base(a, s)));
}

PyObject *status_error(int st) {
  if (st == MPSYNC_ESYS) return PyErr_SetFromErrno(PyExc_OSError);
  PyErr_Format(PyExc_OSError, "mpsync arena: %s", mpsync_strerror(st));
  return nullptr;
}

bool claim(Arena *a, std::uint32_t *slot) {
  std::uint32_t words = kSlots / 32;
  for (std::uint32_t i = 0; i < words; ++i) {
    std::uint32_t w = (a->hint / 32 + i) % words;
    std::atomic_ref<std::uint32_t> word(bitmap(a)[w]);
    std::uint32_t cur = word.load(std::memory_order_relaxed);
    while (cur != ~0u) {
      std::uint32_t bit = static_cast<std::uint32_t>(__builtin_ctz(~cur));
      if (word.compare_exchange_weak(cur, cur | (1u << bit), std::memory_order_acq_rel)) {
        *slot = w * 32 + bit;
        a->hint = *slot + 1;
        return true;
      }
    }
  }
  return false;
}

Arena *record(mpsync_region_t *r, unsigned char *block, std::uint64_t off) {
  auto *a = new Arena{r, block, off, head_of_block(block)->id_hi, head_of_block(block)->id_lo, 0, 0};
  g_arenas.push_back(a);
  return a;
}

Arena *arena_new() {
  mpsync_region_t *r = nullptr;
  int st = mpsync_region_create_memfd(&r, kRegionSize);
  if (st != MPSYNC_OK) return (status_error(st), nullptr);
  auto *block = static_cast<unsigned char *>(mpsync_region_alloc(r, kBlockSize, 64));
  if (!block) {
    mpsync_region_close(r);
    PyErr_SetString(PyExc_MemoryError, "mpsync arena: region too small");
    return nullptr;
  }
  static std::random_device rd;
  auto *h = reinterpret_cast<Head *>(block);
  h->id_hi = (std::uint64_t{rd()} << 32) ^ rd();
  h->id_lo = (std::uint64_t{rd()} << 32) ^ rd();
  h->nslots = kSlots;
  h->slot_size = kSlotSize;
  std::atomic_ref<std::uint64_t>(h->magic).store(kMagic, std::memory_order_release);
  Arena *a = record(r, block, mpsync_region_offset(r, block));
  arena_hold(a);
  if (g_pinned) arena_drop(g_pinned);
  g_pinned = a;
  return a;
}

}  // namespace

void *slot_object(Arena *a, std::uint32_t slot) { return slot_base(a, slot) + kObjectOffset; }

void *slot_alloc(Arena *in, std::uint32_t kind, Arena **arena, std::uint32_t *slot) {
  Arena *a = in;
  bool got = a && claim(a, slot);
  if (!in) {
    for (Arena *c : g_arenas)
      if ((got = claim(c, slot))) { a = c; break; }
    if (!got) {
      if (!(a = arena_new())) return nullptr;
      got = claim(a, slot);
    }
  }
  if (!got) {
    PyErr_SetString(PyExc_MemoryError,
                    "mpsync: the lock's arena is full (a Condition must live beside its lock)");
    return nullptr;
  }
  unsigned char *s = slot_base(a, *slot);
  std::memset(s + 4, 0, kSlotSize - 4);
  std::memcpy(s + 4, &kind, 4);
  refs_of(a, *slot).store(1, std::memory_order_relaxed);
  *arena = a;
  return s + kObjectOffset;
}

void slot_ref(Arena *a, std::uint32_t slot) { refs_of(a, slot).fetch_add(1, std::memory_order_relaxed); }

void slot_unref(Arena *a, std::uint32_t slot) {
  if (refs_of(a, slot).fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::atomic_ref<std::uint32_t>(bitmap(a)[slot / 32]).fetch_and(~(1u << (slot % 32)), std::memory_order_release);
}

std::uint32_t slot_refs(Arena *a, std::uint32_t slot) { return refs_of(a, slot).load(std::memory_order_acquire); }

bool slot_live(Arena *a, std::uint32_t slot) {
  const std::uint32_t w = std::atomic_ref<std::uint32_t>(bitmap(a)[slot / 32]).load(std::memory_order_acquire);
  return (w >> (slot % 32) & 1u) && slot_refs(a, slot) >= 1;
}

void arena_hold(Arena *a) { ++a->handles; }

void arena_forget_if_unused(Arena *a) {
  if (a->handles != 0) return;
  ++a->handles;
  arena_drop(a);
}

void arena_drop(Arena *a) {
  if (--a->handles != 0) return;
  for (auto it = g_arenas.begin(); it != g_arenas.end(); ++it)
    if (*it == a) { g_arenas.erase(it); break; }
  mpsync_region_close(a->region);
  delete a;
}

Arena *arena_find(std::uint64_t id_hi, std::uint64_t id_lo) {
  for (Arena *a : g_arenas)
    if (a->id_hi == id_hi && a->id_lo == id_lo) return a;
  return nullptr;
}

int arena_fd(Arena *a) { return mpsync_region_fd(a->region); }

Arena *arena_adopt(int fd, std::uint64_t off, std::uint64_t id_hi, std::uint64_t id_lo) {
  if (Arena *a = arena_find(id_hi, id_lo)) return a;  // the caller closes fd (see arena.hpp)
  mpsync_region_t *r = nullptr;
  int st = mpsync_region_open_fd(&r, fd);  // takes the fd, also on failure
  if (st != MPSYNC_OK) return (status_error(st), nullptr);
  auto *block = static_cast<unsigned char *>(mpsync_region_at(r, off));
  if (!block || !mpsync_region_at(r, off + kBlockSize - 1) ||
      std::atomic_ref<std::uint64_t>(head_of_block(block)->magic).load(std::memory_order_acquire) != kMagic ||
      head_of_block(block)->id_hi != id_hi || head_of_block(block)->id_lo != id_lo) {
    mpsync_region_close(r);
    PyErr_SetString(PyExc_ValueError, "mpsync: the received memory is not this object's arena");
    return nullptr;
  }
  return record(r, block, off);
}

}  // namespace mpsync_py
