// Named objects: the region's directory (layout, entry states and the race rule are in
// runtime/region_layout.hpp). Every field read here may be garbage written by a buggy or hostile
// process: kinds, offsets and names are checked before use, so a corrupt directory gives
// ECORRUPT or "absent", never a crash.
//
// WHY ONE OF TWO RACING NAMERS WINS (entries i < j, same name)
//   namer A: CAS free->claimed on i; write name; CAS claimed->named; scan 0..i-1
//   namer B: CAS free->claimed on j; write name; CAS claimed->named; scan 0..j-1: waits while i is
//            claimed (A is writing), then reads i named with B's name -> B: named->dead, EEXIST
//   A's scan covers only entries below i, all claimed before i was (free entries are a suffix), so
//   A cannot see B. The named-state CAS is a release and each scan's state load an acquire, so a
//   scanner that reads "named" reads the finished name.
// FIND_OR_MAKE: the winner allocates and constructs, then writes the offset and CASes
//   named->ready (release); losers and finders spin-sleep while the entry is named, and read the
//   object after their acquire load of "ready". A winner whose thread dies while constructing
//   (named, owner gone) is declared dead by a waiter (CAS named->dead), and the waiters race anew;
//   an entry stuck claimed for 1 s is declared dead the same way (a namer that died mid-claim).
#include <cstring>
#include <new>

#include "futex.hpp"
#include "mpsync/mpsync.hpp"
#include "region_layout.hpp"

namespace mpsync {
namespace {

using layout::dir_entry;

layout::header *hdr(const mpsync_region &h) { return static_cast<layout::header *>(h.base); }
dir_entry *dir(const mpsync_region &h) {
  return reinterpret_cast<dir_entry *>(static_cast<char *>(h.base) + hdr(h)->dir_off);
}
std::uint32_t dir_cap(const mpsync_region &h) {
  const layout::header *H = hdr(h);
  return H->version == layout::kVersion ? H->dir_cap : 0;
}

bool name_ok(std::string_view n) { return !n.empty() && n.size() <= layout::kNameMax && n.find('\0') == n.npos; }

struct kind_shape {
  std::uint64_t size, align;
};
kind_shape shape(std::uint32_t kind) {
  switch (kind) {
    case MPSYNC_OBJ_LOCK: return {sizeof(mpsync_lock_t), alignof(mpsync_lock_t)};
    case MPSYNC_OBJ_RLOCK: return {sizeof(mpsync_rlock_t), alignof(mpsync_rlock_t)};
    case MPSYNC_OBJ_SEM: return {sizeof(mpsync_sem_t), alignof(mpsync_sem_t)};
    case MPSYNC_OBJ_EVENT: return {sizeof(mpsync_event_t), alignof(mpsync_event_t)};
    case MPSYNC_OBJ_COND: return {sizeof(mpsync_cond_t), alignof(mpsync_cond_t)};
    case MPSYNC_OBJ_BARRIER: return {sizeof(mpsync_barrier_t), alignof(mpsync_barrier_t)};
    default: return {0, 0};
  }
}

// An object of `kind` at `off` lies wholly inside the region's allocated part.
bool inside(const mpsync_region &h, std::uint64_t off, std::uint32_t kind) {
  const kind_shape k = shape(kind);
  const std::uint64_t used = arch::load(&hdr(h)->used, arch::acquire);
  return k.size && off >= layout::heap_start(*hdr(h)) && off % k.align == 0 && off <= used && k.size <= used - off;
}

bool same_name(const dir_entry &e, std::string_view n) {
  return std::memcmp(e.name, n.data(), n.size()) == 0 && e.name[n.size()] == '\0';
}

// The state of entry e once it is not "claimed": a claimed entry is waited for, and declared dead
// after 1 s (its namer died between claiming and naming).
std::uint32_t settled(dir_entry &e) {
  std::int64_t since = 0;
  for (;;) {
    std::uint32_t s = arch::load(&e.state, arch::acquire);
    if (s != layout::kClaimed) return s;
    const std::int64_t now = sys::monotonic_ns();
    if (!since) {
      since = now;
    } else if (now - since > 1000000000) {
      if (arch::cas(&e.state, s, std::uint32_t{layout::kDead}, arch::acq_rel)) return layout::kDead;
      return s;  // it moved on: read it again above
    }
    sys::yield();
  }
}

// Claim the first free entry and make it named with this name, kind and offset. Returns the
// index, -1 when the directory is full, -2 when our entry was declared dead before it was named.
int claim(const mpsync_region &h, std::string_view n, std::uint32_t kind, std::uint64_t off) {
  dir_entry *d = dir(h);
  for (std::uint32_t i = 0; i < dir_cap(h); ++i) {
    std::uint32_t s = layout::kFree;
    if (arch::load(&d[i].state, arch::relaxed) != s || !arch::cas(&d[i].state, s, std::uint32_t{layout::kClaimed}, arch::acq_rel))
      continue;
    dir_entry &e = d[i];
    e.kind = kind;
    e.offset = off;
    e.owner_pid = sys::getpid();
    e.owner_tid = detail::self_tid();
    e.claimed_ns = static_cast<std::uint64_t>(sys::monotonic_ns());
    std::memset(e.name, 0, sizeof e.name);
    std::memcpy(e.name, n.data(), n.size());
    s = layout::kClaimed;
    return arch::cas(&e.state, s, std::uint32_t{layout::kNamed}, arch::release) ? static_cast<int>(i) : -2;
  }
  return -1;
}

// The lowest entry below i that owns name n (named or ready), or -1.
int owner_below(const mpsync_region &h, int i, std::string_view n) {
  dir_entry *d = dir(h);
  for (int j = 0; j < i; ++j) {
    const std::uint32_t s = settled(d[j]);
    if ((s == layout::kNamed || s == layout::kReady) && same_name(d[j], n)) return j;
  }
  return -1;
}

[[noreturn]] void region_full() {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  throw std::bad_alloc();
#else
  __builtin_trap();
#endif
}

void set_state(dir_entry &e, std::uint32_t from, std::uint32_t to) { arch::cas(&e.state, from, to, arch::acq_rel); }

// A ready entry's object, checked; nullptr (and *kind untouched) if it is garbage.
void *object_of(const mpsync_region &h, const dir_entry &e, int *kind) {
  const std::uint32_t k = e.kind;
  const std::uint64_t off = e.offset;
  if (!inside(h, off, k)) return nullptr;
  if (kind) *kind = static_cast<int>(k);
  return static_cast<char *>(h.base) + off;
}

// Look n up: the ready object (returned), or the index of an entry still constructing it.
void *lookup(const mpsync_region &h, std::string_view n, int *kind, int *constructing) {
  dir_entry *d = dir(h);
  *constructing = -1;
  for (std::uint32_t i = 0; i < dir_cap(h); ++i) {
    const std::uint32_t s = arch::load(&d[i].state, arch::acquire);
    if (s == layout::kFree) break;  // free entries are a suffix
    if ((s != layout::kNamed && s != layout::kReady) || !same_name(d[i], n)) continue;
    if (s == layout::kReady) return object_of(h, d[i], kind);
    *constructing = static_cast<int>(i);
    return nullptr;
  }
  return nullptr;
}

// Wait while entry i is named (being constructed); declare it dead if its namer's thread is gone.
void wait_constructed(dir_entry &e) {
  for (int round = 0;; ++round) {
    if (arch::load(&e.state, arch::acquire) != layout::kNamed) return;
    if (round % 64 == 63 && sys::thread_gone(e.owner_tid)) return set_state(e, layout::kNamed, layout::kDead);
    if (round < 64) sys::yield();
    else sys::sleep_ns(1000000);
  }
}

}  // namespace

// Called by the region opener (runtime/region.cpp) after the header checked out.
bool names_valid(const mpsync_region &h) noexcept {
  const dir_entry *d = dir(h);
  for (std::uint32_t i = 0; i < dir_cap(h); ++i) {
    const std::uint32_t s = arch::load(&d[i].state, arch::acquire);
    if (s > layout::kDead) return false;
    if (s != layout::kReady) continue;
    if (!inside(h, d[i].offset, d[i].kind) || d[i].name[0] == '\0' ||
        std::memchr(d[i].name, '\0', sizeof d[i].name) == nullptr)
      return false;
  }
  return true;
}

status Region::name_object(std::string_view n, int kind, const void *object) noexcept {
  if (!h_.base || !name_ok(n) || !shape(static_cast<std::uint32_t>(kind)).size || !object) return status::invalid;
  const auto off = static_cast<std::uint64_t>(static_cast<const char *>(object) - static_cast<const char *>(h_.base));
  if (static_cast<const char *>(object) < static_cast<const char *>(h_.base) || !inside(h_, off, kind))
    return status::invalid;
  if (dir_cap(h_) == 0) return status::overflow;
  for (;;) {
    int constructing = -1;
    if (lookup(h_, n, nullptr, &constructing) || constructing >= 0) return status::exists;
    const int i = claim(h_, n, static_cast<std::uint32_t>(kind), off);
    if (i == -1) return status::overflow;
    if (i == -2) continue;
    dir_entry &e = dir(h_)[i];
    if (owner_below(h_, i, n) >= 0) {
      set_state(e, layout::kNamed, layout::kDead);
      return status::exists;
    }
    set_state(e, layout::kNamed, layout::kReady);
    return status::ok;
  }
}

void *Region::find_object(std::string_view n, int *kind) const noexcept {
  if (!h_.base || !name_ok(n) || dir_cap(h_) == 0) return nullptr;
  int constructing;
  return lookup(h_, n, kind, &constructing);
}

void *Region::find_or_make_object(std::string_view n, int kind, std::uint64_t size, std::uint64_t align,
                                  void (*construct)(void *, void *), void *ctx, int *found_kind) {
  if (!h_.base || !name_ok(n) || !shape(static_cast<std::uint32_t>(kind)).size) detail::fail(status::invalid);
  if (dir_cap(h_) == 0) detail::fail(status::overflow);
  for (;;) {
    int constructing = -1;
    if (void *p = lookup(h_, n, found_kind, &constructing)) return p;
    if (constructing >= 0) {
      wait_constructed(dir(h_)[constructing]);
      continue;
    }
    const int i = claim(h_, n, static_cast<std::uint32_t>(kind), 0);
    if (i == -1) detail::fail(status::overflow);
    if (i == -2) continue;
    dir_entry &e = dir(h_)[i];
    if (owner_below(h_, i, n) >= 0) {  // lost the race: wait for the owner's object
      set_state(e, layout::kNamed, layout::kDead);
      continue;
    }
    struct abandon {  // the constructor threw, or the region is full: free the name again
      dir_entry *e;
      ~abandon() {
        if (e) set_state(*e, layout::kNamed, layout::kDead);
      }
    } guard{&e};
    void *p = alloc_object(size, align, static_cast<unsigned>(kind));
    if (!p) region_full();
    construct(p, ctx);
    e.offset = static_cast<std::uint64_t>(static_cast<char *>(p) - static_cast<char *>(h_.base));
    guard.e = nullptr;
    set_state(e, layout::kNamed, layout::kReady);
    *found_kind = kind;
    return p;
  }
}

}  // namespace mpsync

// ---- the C functions ---------------------------------------------------------------------------
extern "C" {
int mpsync_region_name(mpsync_region_t *r, const char *name, mpsync_object_kind kind, const void *object) {
  if (!r || !name) return MPSYNC_EINVAL;
  const std::size_t len = strnlen(name, mpsync::layout::kNameMax + 1);
  mpsync::Region reg(*r);
  const mpsync::status s = reg.name_object(std::string_view(name, len), static_cast<int>(kind), object);
  reg.release_handle();
  return static_cast<int>(s);
}
void *mpsync_region_find(mpsync_region_t *r, const char *name, mpsync_object_kind *kind) {
  if (!r || !name) return nullptr;
  mpsync::Region reg(*r);
  int k = 0;
  void *p = reg.find_object(std::string_view(name, strnlen(name, mpsync::layout::kNameMax + 1)), &k);
  reg.release_handle();
  if (p && kind) *kind = static_cast<mpsync_object_kind>(k);
  return p;
}
}
