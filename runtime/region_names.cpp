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
//   name() does not wait for a constructing entry: EEXIST while its namer lives, else it is
//   declared dead and the name is free. A winner whose entry was declared dead while it constructed
//   (it looked gone) cannot make it ready (the CAS fails): it looks the name up again, and its
//   object stays allocated but unnamed.
// Every call re-reads and re-checks the header (dview): a header scribbled on after the region was
// opened gives ECORRUPT (name, find_or_make) or "absent" (find), never an access outside the map.
#include <cstring>
#include <new>

#include "futex.hpp"
#include "mpsync/mpsync.hpp"
#include "region_layout.hpp"

namespace mpsync {
namespace {

using layout::dir_entry;

layout::header *hdr(const mpsync_region &h) { return static_cast<layout::header *>(h.base); }

// The directory as the live header describes it, read and checked on every call: another process
// may have scribbled over the header since this one opened the region. ok is false if the header
// is garbage now (the caller answers ECORRUPT); cap is 0 in a region without a directory.
struct dview {
  char *base = nullptr;
  dir_entry *d = nullptr;
  std::uint32_t cap = 0;
  std::uint64_t heap = 0, size = 0;
  std::uint64_t *used = nullptr;
  bool ok = false;
};
dview view(const mpsync_region &h) {
  const layout::header *src = hdr(h);
  layout::header H{};
  H.magic = src->magic;
  H.size = src->size;
  H.used = arch::load(&src->used, arch::acquire);
  H.version = src->version;
  H.dir_cap = src->dir_cap;
  H.dir_off = src->dir_off;
  H.waiters_cap = src->waiters_cap;
  H.waiters_off = src->waiters_off;
  H.heap_off = src->heap_off;
  dview v;
  if (!layout::header_valid(H, h.size)) return v;
  v.base = static_cast<char *>(h.base);
  v.ok = true;
  v.size = H.size;
  v.heap = layout::heap_start(H);
  v.used = &hdr(h)->used;
  if (H.version == layout::kVersion) {
    v.d = reinterpret_cast<dir_entry *>(v.base + H.dir_off);
    v.cap = H.dir_cap;
  }
  return v;
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
bool inside(const dview &v, std::uint64_t off, std::uint32_t kind) {
  const kind_shape k = shape(kind);
  const std::uint64_t used = arch::load(v.used, arch::acquire);  // live: may be garbage by now
  return k.size && used <= v.size && off >= v.heap && off % k.align == 0 && off <= used && k.size <= used - off;
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
int claim(const dview &v, std::string_view n, std::uint32_t kind, std::uint64_t off) {
  dir_entry *d = v.d;
  for (std::uint32_t i = 0; i < v.cap; ++i) {
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
int owner_below(const dview &v, int i, std::string_view n) {
  dir_entry *d = v.d;
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

// What a lookup of a name found: the ready object, or the entry still constructing it, or a
// ready entry whose kind or offset is garbage (corrupt: the name is taken by nothing usable).
struct found {
  void *p = nullptr;
  int kind = 0;
  int constructing = -1;
  bool corrupt = false;
  bool any() const { return p || constructing >= 0 || corrupt; }
};
found lookup(const dview &v, std::string_view n) {
  found f;
  for (std::uint32_t i = 0; i < v.cap; ++i) {
    dir_entry &e = v.d[i];
    const std::uint32_t s = arch::load(&e.state, arch::acquire);
    if (s == layout::kFree) break;  // free entries are a suffix
    if ((s != layout::kNamed && s != layout::kReady) || !same_name(e, n)) continue;
    if (s == layout::kNamed) {
      f.constructing = static_cast<int>(i);
    } else if (inside(v, e.offset, e.kind)) {
      f.p = v.base + e.offset;
      f.kind = static_cast<int>(e.kind);
    } else {
      f.corrupt = true;
    }
    return f;
  }
  return f;
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
  const dview v = view(h);
  if (!v.ok) return false;
  const dir_entry *d = v.d;
  for (std::uint32_t i = 0; i < v.cap; ++i) {
    const std::uint32_t s = arch::load(&d[i].state, arch::acquire);
    if (s > layout::kDead) return false;
    if (s != layout::kReady) continue;
    if (!inside(v, d[i].offset, d[i].kind) || d[i].name[0] == '\0' ||
        std::memchr(d[i].name, '\0', sizeof d[i].name) == nullptr)
      return false;
  }
  return true;
}

status Region::name_object(std::string_view n, int kind, const void *object) noexcept {
  if (!h_.base || !name_ok(n) || !shape(static_cast<std::uint32_t>(kind)).size || !object) return status::invalid;
  const dview v = view(h_);
  if (!v.ok) return status::corrupt;
  const auto off = static_cast<std::uint64_t>(static_cast<const char *>(object) - static_cast<const char *>(h_.base));
  if (static_cast<const char *>(object) < static_cast<const char *>(h_.base) || !inside(v, off, static_cast<std::uint32_t>(kind)))
    return status::invalid;
  if (v.cap == 0) return status::overflow;
  for (;;) {
    const found f = lookup(v, n);
    if (f.corrupt) return status::corrupt;
    if (f.p) return status::exists;
    if (f.constructing >= 0) {  // a find_or_make constructing it: taken, unless its namer died (then free)
      dir_entry &c = v.d[f.constructing];
      if (!sys::thread_gone(c.owner_tid)) return status::exists;
      set_state(c, layout::kNamed, layout::kDead);
      continue;
    }
    const int i = claim(v, n, static_cast<std::uint32_t>(kind), off);
    if (i == -1) {  // full; but a racer may have taken the name meanwhile (then: EEXIST, not EOVERFLOW)
      if (lookup(v, n).any()) continue;
      return status::overflow;
    }
    if (i == -2) continue;
    dir_entry &e = v.d[i];
    if (owner_below(v, i, n) >= 0) {
      set_state(e, layout::kNamed, layout::kDead);
      return status::exists;
    }
    set_state(e, layout::kNamed, layout::kReady);
    return status::ok;
  }
}

void *Region::find_object(std::string_view n, int *kind) const noexcept {
  if (!h_.base || !name_ok(n)) return nullptr;
  const dview v = view(h_);
  const found f = lookup(v, n);  // a garbage header gives cap 0: absent
  if (f.p && kind) *kind = f.kind;
  return f.p;
}

void *Region::find_or_make_object(std::string_view n, int kind, std::uint64_t size, std::uint64_t align,
                                  void (*construct)(void *, void *), void *ctx, int *found_kind) {
  if (!h_.base || !name_ok(n) || !shape(static_cast<std::uint32_t>(kind)).size) detail::fail(status::invalid);
  const dview v = view(h_);
  if (!v.ok) detail::fail(status::corrupt);
  if (v.cap == 0) detail::fail(status::overflow);
  for (;;) {
    const found f = lookup(v, n);
    if (f.corrupt) detail::fail(status::corrupt);
    if (f.p) {
      *found_kind = f.kind;
      return f.p;
    }
    if (f.constructing >= 0) {
      wait_constructed(v.d[f.constructing]);
      continue;
    }
    const int i = claim(v, n, static_cast<std::uint32_t>(kind), 0);
    if (i == -1) {  // full: a racer may hold the name by now
      if (lookup(v, n).any()) continue;
      detail::fail(status::overflow);
    }
    if (i == -2) continue;
    dir_entry &e = v.d[i];
    if (owner_below(v, i, n) >= 0) {  // lost the race: wait for the owner's object
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
    e.offset = static_cast<std::uint64_t>(static_cast<char *>(p) - v.base);
    guard.e = nullptr;
    std::uint32_t named = layout::kNamed;
    if (!arch::cas(&e.state, named, std::uint32_t{layout::kReady}, arch::acq_rel))
      continue;  // declared dead meanwhile (we looked gone): our object stays unnamed; look again
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
