// Turning a region's bytes into objects: the header, the directory's names, the allocation tags
// (each tagged allocation is an object of its kind; a Python arena's live slots are objects too),
// each object's state decoded from its words (the word layouts are documented in
// runtime/<primitive>.cpp), and the waiter table's slots attached to the objects whose words they
// park on. The region is copied first, then decoded from the copy; a tag or slot caught half
// written is re-read (up to kRetries times), and what still reads torn is noted, not guessed.
#include <cstring>
#include <map>

#include "../../runtime/region_layout.hpp"
#include "procfs.hpp"

namespace mpsync::inspect {
namespace {

constexpr int kRetries = 5;
constexpr std::uint64_t kMaxCopy = std::uint64_t{256} << 20;  // decode at most the first 256 MiB
constexpr std::uint64_t kPyArenaMagic = 0x3141795079737071ull;  // python/src/arena.cpp
constexpr std::uint64_t kPySlotsOffset = 4096, kPySlotSize = 64, kPyObjectOffset = 8;

struct bytes {
  std::vector<unsigned char> b;
  template <class T>
  bool get(std::uint64_t off, T &v) const {
    if (off > b.size() || sizeof(T) > b.size() - off) return false;
    std::memcpy(&v, b.data() + off, sizeof(T));
    return true;
  }
  std::uint32_t u32(std::uint64_t off) const {
    std::uint32_t v = 0;
    get(off, v);
    return v;
  }
};

const char *kind_name(std::uint32_t k) {
  switch (k) {
    case 1: return "lock";
    case 2: return "rlock";
    case 3: return "semaphore";
    case 4: return "event";
    case 5: return "condition";
    case 6: return "barrier";
    case layout::kData: return "data";
    default: return "raw";
  }
}

std::uint64_t kind_size(std::uint32_t k) {
  static constexpr std::uint64_t sz[] = {0, 4, 40, 8, 4, 56, 16};
  return k >= 1 && k <= 6 ? sz[k] : 0;
}

void set_owner(object &o, std::uint32_t word) {
  constexpr std::uint32_t kTidMask = 0x3fffffffu, kOwnerDied = 0x40000000u;
  if (word & kTidMask) o.owner = thread_info(word & kTidMask);
  else o.owner.reset();
  if (o.kind == "rlock") o.owner_died = (word & kOwnerDied) != 0;
}

// Decode an object of kind k at off from the copy.
object decode(const bytes &m, std::uint64_t off, std::uint32_t k, std::string name) {
  object o;
  o.name = std::move(name);
  o.offset = off;
  o.kind = kind_name(k);
  o.size = kind_size(k);
  switch (k) {
    case 1:  // Lock: owner TID | FUTEX_WAITERS
      set_owner(o, m.u32(off));
      o.lock_word = off;
      break;
    case 2: {  // RLock: word (robust format), count
      const std::uint32_t w = m.u32(off);
      set_owner(o, w);
      o.count = (w & 0x3fffffffu) ? m.u32(off + 4) : 0;
      o.lock_word = off;
      break;
    }
    case 3: {  // Semaphore: value | W, bound + 1 (0: unbounded)
      o.value = m.u32(off) & 0x7fffffffu;
      if (const std::uint32_t b = m.u32(off + 4)) {
        o.kind = "bounded_semaphore";
        o.bound = b - 1;
      }
      break;
    }
    case 4: o.set = (m.u32(off) & 1u) != 0; break;  // Event: generation | W | SET
    case 5: {  // Condition: seq, gen, sizes (G1 low 16 | G2 high 16), state (kind bits 16-17), lock slot
      const std::uint32_t sizes = m.u32(off + 8), state = m.u32(off + 12);
      o.waiting = (sizes & 0xffffu) + (sizes >> 16);
      if (((state >> 16) & 3u) == 0) {  // the embedded RLock: its owner is the condition's owner
        set_owner(o, m.u32(off + 16));
        o.owner_died.reset();
        o.lock_word = off + 16;
      }
      break;
    }
    case 6: {  // Barrier: state u64 = phase (G << 18 | ... | W | BROKEN) << 32 | arrived; parties
      std::uint64_t st = 0;
      m.get(off, st);
      const auto phase = static_cast<std::uint32_t>(st >> 32);
      o.broken = (phase & 1u) != 0;
      o.generation = phase >> 18;
      o.waiting = static_cast<std::uint32_t>(st);
      o.parties = m.u32(off + 8);
      break;
    }
    default: break;
  }
  return o;
}

// A Python arena (one raw allocation): its live slots, each an object.
void python_arena(const bytes &m, std::uint64_t at, std::uint64_t size, std::vector<object> &out) {
  const std::uint32_t nslots = m.u32(at + 24), slot_size = m.u32(at + 28);
  if (slot_size != kPySlotSize || kPySlotsOffset + std::uint64_t{nslots} * kPySlotSize > size) return;
  for (std::uint32_t s = 0; s < nslots; ++s) {
    if (!((m.u32(at + 64 + (s / 32) * 4) >> (s % 32)) & 1u)) continue;
    const std::uint64_t slot = at + kPySlotsOffset + std::uint64_t{s} * kPySlotSize;
    const std::uint32_t refs = m.u32(slot), kind = m.u32(slot + 4);
    if (refs == 0 || kind < 1 || kind > 6) continue;  // being freed or made
    out.push_back(decode(m, slot + kPyObjectOffset, kind, ""));
  }
}

// The waiter slots, each read consistently (seqlock) straight from the source.
std::vector<layout::waiter_slot> read_waiters(const source &s, const layout::header &h, region &r) {
  std::vector<layout::waiter_slot> v;
  for (std::uint32_t i = 0; i < h.waiters_cap; ++i) {
    const std::uint64_t at = h.waiters_off + std::uint64_t{i} * sizeof(layout::waiter_slot);
    for (int t = 0;; ++t) {
      layout::waiter_slot w{};
      std::uint32_t seq2 = 0;
      if (!s.read(at, &w, sizeof w) || !s.read(at + 4, &seq2, sizeof seq2)) return v;
      if (!(w.seq & 1) && w.seq == seq2) {
        if (w.tid != 0 && w.word != 0) v.push_back(w);
        break;
      }
      if (t == kRetries) {
        r.notes.push_back("waiter slot " + std::to_string(i) + " kept changing; skipped");
        break;
      }
    }
  }
  return v;
}

}  // namespace

bool read_region(const source &s, region &r, std::string &err) {
  layout::header h{};
  if (!s.read(0, &h, sizeof h)) {
    err = s.path + ": too short or unreadable";
    return false;
  }
  if (h.magic != layout::kMagic) {
    err = s.path + ": not an mpsync region (no mpsync header)";
    return false;
  }
  if (!layout::header_valid(h, s.size)) {
    err = s.path + ": an mpsync header that does not check out (corrupt, truncated or resized)";
    return false;
  }
  r.path = s.path;
  r.size = h.size;
  r.used = h.used;
  r.version = h.version;
  for (int attempt = 0;; ++attempt) {
    bytes m;
    std::uint64_t used = 0;
    if (!s.read(16, &used, sizeof used) || used > h.size) {
      err = s.path + ": unreadable";
      return false;
    }
    r.used = used;
    const std::uint64_t n = used < kMaxCopy ? used : kMaxCopy;
    m.b.resize(n);
    if (!s.read(0, m.b.data(), n)) {
      err = s.path + ": unreadable";
      return false;
    }
    if (used > n) r.notes = {"only the first 256 MiB decoded"};
    std::map<std::uint64_t, std::pair<std::string, std::uint32_t>> names;  // offset -> (name, kind)
    for (std::uint32_t i = 0; i < (h.version ? h.dir_cap : 0); ++i) {
      layout::dir_entry e{};
      if (!m.get(h.dir_off + std::uint64_t{i} * sizeof e, e) || e.state == layout::kFree) break;
      if (e.state != layout::kReady || !std::memchr(e.name, 0, sizeof e.name) || !kind_size(e.kind)) continue;
      names[e.offset] = {e.name, e.kind};
    }
    r.objects.clear();
    bool torn = false;
    std::uint64_t off = layout::heap_start(h);
    while (h.version == layout::kVersion && off + sizeof(layout::tag) <= n) {
      layout::tag t{};
      m.get(off, t);
      if (!layout::tag_valid(t)) {
        torn = true;
        break;
      }
      const std::uint64_t obj = off + t.delta;
      if (t.delta < sizeof t || obj > n || t.size > n - obj) {
        torn = true;
        break;
      }
      const std::uint32_t k = t.magic_kind & 0xffffu;
      auto named = names.find(obj);
      const std::uint32_t kind = named != names.end() ? named->second.second : k;
      std::string nm = named != names.end() ? named->second.first : "";
      if (named != names.end()) names.erase(named);
      std::uint64_t magic = 0;
      if (kind == layout::kRaw && m.get(obj, magic) && magic == kPyArenaMagic) {
        python_arena(m, obj, t.size, r.objects);
      } else if (kind_size(kind) && kind_size(kind) <= t.size) {
        r.objects.push_back(decode(m, obj, kind, nm));
      } else {
        object o;
        o.name = nm;
        o.offset = obj;
        o.kind = kind_name(kind);
        o.size = t.size;
        r.objects.push_back(o);
      }
      off = layout::round8(obj + t.size);
    }
    for (auto &[o, nk] : names)  // named objects inside raw allocations (the C API names any object)
      if (o + kind_size(nk.second) <= n) r.objects.push_back(decode(m, o, nk.second, nk.first));
    if (torn && attempt < kRetries) continue;
    if (torn) r.notes.push_back("allocation at offset " + std::to_string(off) + " still being made: listing stops there");
    break;
  }
  for (const layout::waiter_slot &w : read_waiters(s, h, r)) {
    // The object the word belongs to: the smallest typed one covering it (a Lock inside a Python
    // arena or a named object inside a raw allocation, rather than the allocation around it).
    object *best = nullptr;
    for (object &o : r.objects) {
      if (w.word < o.offset || w.word - o.offset >= (o.size ? o.size : 1)) continue;
      const bool typed = o.kind != "raw" && o.kind != "data", best_typed = best && best->kind != "raw" && best->kind != "data";
      if (!best || (typed && !best_typed) || (typed == best_typed && o.size < best->size)) best = &o;
    }
    if (!best) continue;
    waiter x;
    x.who = thread_info(w.tid);
    // A slot left by a thread that died parked, or whose tid now names a thread of another process.
    if (!x.who.alive || x.who.pid != w.pid) continue;
    x.since_ns = w.since;
    x.since = static_cast<double>(w.since) / 1e9;
    x.any = (w.flags & layout::kWaitAny) != 0;
    x.word = w.word;
    best->waiters.push_back(x);
  }
  return true;
}

bool collect(const std::vector<std::string> &targets, std::vector<region> &out, std::string &err) {
  const std::vector<candidate> all = candidates();
  std::vector<candidate> want;
  if (targets.empty()) {
    want = all;
  } else {
    for (const std::string &t : targets)
      if (!target_candidate(t, all, want, err)) return false;
  }
  for (const candidate &c : want) {
    source s;
    if (!open_candidate(c, s)) {
      if (!targets.empty()) {
        err = (c.name.empty() ? c.key : c.name) + ": cannot be read (permission?)";
        return false;
      }
      continue;  // a process that vanished, or memory we may not read
    }
    region r;
    std::string why;
    const bool ok = read_region(s, r, why);
    s.close();
    if (!ok) {
      if (c.named_target) {
        err = why;
        return false;
      }
      continue;  // a shared mapping that is not an mpsync region
    }
    r.name = c.type == "named" ? c.name : "";
    r.type = c.type;
    r.mapped_by = c.mapped_by;
    out.push_back(std::move(r));
  }
  return true;
}

}  // namespace mpsync::inspect
