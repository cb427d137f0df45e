// fuzz_state: CONFORMANCE M2 / API.md "every bit pattern of an object's memory is either a valid
// state or detected". The input is the raw memory of one object (every word arbitrary), then a
// sequence of calls on it, all non-blocking or with timeouts of at most 1 ms. Every call must
// return a status from its documented set, by its deadline plus fz::kSlack (measured on
// CLOCK_MONOTONIC; an overrun aborts so libFuzzer reports it), and never crash or trip ASan/UBSan.
// Where the state before a call was a valid one, a few consequences are checked too (an acquired
// Lock is locked and mine, a valid Semaphore's value moves by one).
//
// Input: kind byte (low 6 bits mod 6: the primitive; bit 7 / bit 6: put this thread's TID / the
// parent process's PID in the owner field of the Lock/RLock words), then the object's bytes (a Condition gets a 128-byte arena: itself at 0 and
// the area an external lock may live in at 64..127), then 2 bytes per call (operation, argument).
//
// Out of contract, so normalised here: a Condition's external lock must live in the same mapping
// (API.md). Garbage whose offset check word happens to be consistent (the library detects every
// other offset) is re-aimed into the arena's lock area, so the bound lock is garbage too but
// addressable. Words the arena does not cover are never dereferenced then.
//
// RLocks that the calls acquire are linked into this thread's kernel robust list, and the next
// input overwrites their memory: the harness releases them through the API at the end, and as a
// backstop restores the list head it saw at the start (only this harness links anything there).
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz_common.hpp"

using namespace mpsync;

namespace {

constexpr std::uint32_t kCondMagic = 0x6d707363u;  // runtime/condition.cpp: the offset check word

alignas(64) unsigned char g_arena[128];

struct robust_head {
  void *list;
  long futex_offset;
  void *pending;
};
robust_head *thread_robust_head() {
  void *h = nullptr;
  std::size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &h, &len) != 0 || len != sizeof(robust_head)) return nullptr;
  return static_cast<robust_head *>(h);
}

struct tiny {
  bool block;
  double t;
};
tiny pick(std::uint8_t b) {
  static const tiny table[10] = {{false, 0.0}, {false, std::numeric_limits<double>::quiet_NaN()},
                                 {true, 0.0},   {true, -1.0},
                                 {true, 1e-6},  {true, 1e-5},
                                 {true, 1e-4},  {true, 5e-4},
                                 {true, 1e-3},  {true, std::numeric_limits<double>::quiet_NaN()}};
  return table[b % 10];
}

// A status in the documented set of the call (a bit per status).
constexpr unsigned bit(int s) { return 1u << (s + 8); }
constexpr unsigned kLockAcq = bit(MPSYNC_OK) | bit(MPSYNC_TIMEDOUT) | bit(MPSYNC_EINVAL) | bit(MPSYNC_ECORRUPT);
constexpr unsigned kRLockAcq = kLockAcq | bit(MPSYNC_OWNER_DEAD) | bit(MPSYNC_EOVERFLOW);
constexpr unsigned kLockRel = bit(MPSYNC_OK) | bit(MPSYNC_EOVERRELEASE) | bit(MPSYNC_ECORRUPT);
constexpr unsigned kRLockRel = bit(MPSYNC_OK) | bit(MPSYNC_ENOTOWNER) | bit(MPSYNC_ECORRUPT);
constexpr unsigned kSemRel = kLockRel | bit(MPSYNC_EOVERFLOW);
constexpr unsigned kEventWait = bit(MPSYNC_OK) | bit(MPSYNC_TIMEDOUT) | bit(MPSYNC_EINVAL);
constexpr unsigned kCondWait = kRLockAcq | bit(MPSYNC_ENOTOWNER);
constexpr unsigned kNotify = bit(MPSYNC_OK) | bit(MPSYNC_ENOTOWNER) | bit(MPSYNC_ECORRUPT);
constexpr unsigned kBarrierWait = bit(MPSYNC_OK) | bit(MPSYNC_BROKEN) | bit(MPSYNC_EINVAL) | bit(MPSYNC_ECORRUPT);

struct timed {
  double t0, limit;
  const char *what;
  timed(const char *w, const tiny &t) : t0(fz::now_s()), limit((t.block && t.t > 0 ? t.t : 0) + fz::kSlack), what(w) {}
  int done(int got, unsigned allowed) const {
    const double el = fz::now_s() - t0;
    FZ_CHECK(el <= limit, "%s returned after %.3f s (deadline + slack %.3f s)", what, el, limit);
    FZ_CHECK(got >= -8 && got <= 8 && (allowed & bit(got)), "%s returned %s (%d), not in its documented set", what, fz::name(got), got);
    return got;
  }
};

int pred_true(void *) { return 1; }
int pred_false(void *) { return 0; }
int act_ok(void *) { return 0; }
int act_fail(void *) { return 1; }

void on_lock(Lock &l, std::uint8_t op, const tiny &t) {
  switch (op % 3) {
    case 0: {
      const int got = timed("Lock.acquire", t).done(fz::num(l.acquire_status(t.block, t.t)), kLockAcq);
      if (t.block && std::isnan(t.t)) FZ_EXPECT("Lock.acquire(NaN)", got, MPSYNC_EINVAL);
      if (got == MPSYNC_OK) FZ_CHECK(l.locked() && l.is_mine(), "acquired Lock is not locked+mine");
      break;
    }
    case 1: {
      const int got = timed("Lock.release", t).done(fz::num(l.release_status()), kLockRel);
      if (got == MPSYNC_OK) FZ_CHECK(!l.locked(), "released Lock still locked");
      break;
    }
    default:
      if (!l.locked()) FZ_CHECK(!l.is_mine(), "unlocked Lock is_mine");
  }
}

void on_rlock(RLock &l, std::uint8_t op, const tiny &t) {
  switch (op % 3) {
    case 0: {
      const int got = timed("RLock.acquire", t).done(fz::num(l.acquire_status(t.block, t.t)), kRLockAcq);
      if (t.block && std::isnan(t.t)) FZ_EXPECT("RLock.acquire(NaN)", got, MPSYNC_EINVAL);
      if (acquired(static_cast<status>(got))) FZ_CHECK(l.is_mine() && l.count() >= 1, "acquired RLock not mine");
      break;
    }
    case 1:
      timed("RLock.release", t).done(fz::num(l.release_status()), kRLockRel);
      break;
    default:
      (void)l.count();
      FZ_CHECK(!l.is_mine() || l.locked(), "RLock mine but not locked");
  }
}

void on_sem(Semaphore &s, std::uint8_t op, const tiny &t) {
  const int before = s.get_value_status();
  FZ_CHECK(before >= 0 || before == MPSYNC_ECORRUPT, "get_value %d", before);
  if (op % 2 == 0) {
    const int got = timed("Semaphore.acquire", t).done(fz::num(s.acquire_status(t.block, t.t)), kLockAcq);
    const int after = s.get_value_status();
    if (before >= 0 && after >= 0) FZ_CHECK(after == before - (got == MPSYNC_OK), "sem %d -> %d after %s", before, after, fz::name(got));
    if (before > 0 && !(t.block && std::isnan(t.t))) FZ_EXPECT("acquire on a valid positive Semaphore", got, MPSYNC_OK);
  } else {
    const int got = timed("Semaphore.release", t).done(fz::num(s.release_status()), kSemRel);
    const int after = s.get_value_status();
    if (before >= 0 && after >= 0) FZ_CHECK(after == before + (got == MPSYNC_OK), "sem %d -> %d after %s", before, after, fz::name(got));
  }
}

void on_event(Event &e, std::uint8_t op, const tiny &t) {
  switch (op % 4) {
    case 0: e.set(); FZ_CHECK(e.is_set(), "set Event not set"); break;
    case 1: e.clear(); FZ_CHECK(!e.is_set(), "cleared Event set"); break;
    default: {
      if (!t.block) break;
      const bool was = e.is_set();
      const int got = timed("Event.wait", t).done(fz::num(e.wait_status(t.t)), kEventWait);
      if (std::isnan(t.t)) FZ_EXPECT("Event.wait(NaN)", got, MPSYNC_EINVAL);
      else if (was) FZ_EXPECT("Event.wait on a set Event", got, MPSYNC_OK);
    }
  }
}

void on_cond(Condition &c, std::uint8_t op, std::uint8_t arg, const tiny &t) {
  switch (op % 6) {
    case 0: timed("Condition.acquire", t).done(fz::num(c.acquire_status(t.block, t.t)), kRLockAcq); break;
    case 1: timed("Condition.release", t).done(fz::num(c.release_status()), kRLockRel | kLockRel); break;
    case 2:
      if (t.block) timed("Condition.wait", t).done(fz::num(c.wait_status(t.t)), kCondWait);
      break;
    case 3:
      if (t.block) timed("Condition.wait_for", t).done(fz::num(c.wait_for_status(arg & 0x80 ? pred_true : pred_false, nullptr, t.t)), kCondWait);
      break;
    case 4: timed("Condition.notify", t).done(fz::num(c.notify_status(arg & 0x80 ? ~0u >> (arg & 31) : arg & 7)), kNotify); break;
    default: timed("Condition.notify_all", t).done(fz::num(c.notify_all_status()), kNotify);
  }
}

void on_barrier(Barrier &b, std::uint8_t op, std::uint8_t arg, const tiny &t) {
  switch (op % 4) {
    case 0: case 1: {
      if (!t.block) break;
      unsigned idx = ~0u;
      const int got = timed("Barrier.wait", t).done(fz::num(b.wait_status(t.t, arg & 0x80 ? act_fail : arg & 0x40 ? act_ok : nullptr, nullptr, &idx)), kBarrierWait);
      if (got == MPSYNC_OK) FZ_CHECK(idx < b.parties(), "barrier index %u of %u parties", idx, b.parties());
      break;
    }
    case 2:
      if (arg & 1) {
        b.abort();
        FZ_CHECK(b.broken(), "aborted barrier not broken");
      } else {
        b.reset();
        FZ_CHECK(!b.broken() && b.n_waiting() == 0, "reset barrier broken or waited on");
      }
      break;
    default:
      FZ_CHECK(b.n_waiting() <= b.parties(), "n_waiting %u > parties %u", b.n_waiting(), b.parties());
  }
}

// Owner fields naming this very thread, or another live process, are states a fuzzer would
// rarely guess (the TID differs per run): the kind byte's bits 7 and 6 put them in place.
void set_owner(std::uint32_t *word, std::uint8_t kind_byte) {
  std::uint32_t tid = 0;
  if (kind_byte & 0x80) tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
  else if (kind_byte & 0x40) tid = static_cast<std::uint32_t>(getppid());
  if (tid) *word = (*word & ~detail::kTidMask) | (tid & detail::kTidMask);
}

// Re-aim a consistent external-lock offset into the arena's lock area (see the header).
void normalise_cond(Condition &c, std::uint8_t kind_byte) {
  auto *w = reinterpret_cast<std::uint32_t *>(&c);  // seq, gen, sizes, state, lock slot...
  const std::uint32_t kind = (w[3] >> 16) & 3;
  std::uint32_t *slot = w + 4 + 2;                  // mpsync_rlock_t.reserved[0..3]
  set_owner(w + 4, kind_byte);                      // the embedded RLock's word
  if (kind != MPSYNC_KIND_LOCK && kind != MPSYNC_KIND_RLOCK) return;
  if ((slot[0] ^ slot[1] ^ kCondMagic) != slot[2]) return;
  const std::uint32_t size = kind == MPSYNC_KIND_LOCK ? 4 : 40, align = kind == MPSYNC_KIND_LOCK ? 4 : 8;
  const std::uint32_t room = (64 - size) / align + 1;
  const std::uint64_t off = 64 + (slot[0] % room) * align;  // the arena holds the Condition at 0
  slot[0] = static_cast<std::uint32_t>(off);
  slot[1] = 0;
  slot[2] = slot[0] ^ slot[1] ^ kCondMagic;
  set_owner(reinterpret_cast<std::uint32_t *>(g_arena + off), kind_byte);
}

// Release every RLock level this thread holds in the arena; levels beyond a few are collapsed by
// writing the public count field (the calls may have restored a garbage count through
// Condition.wait).
void release_rlock_at(void *p) {
  auto *r = static_cast<mpsync_rlock_t *>(p);
  for (int i = 0; i < 8 && mpsync_rlock_is_mine(r); ++i)
    if (mpsync_rlock_release(r) != MPSYNC_OK) break;
  if (mpsync_rlock_is_mine(r) && __atomic_load_n(&r->count, __ATOMIC_RELAXED) > 1) {
    __atomic_store_n(&r->count, 1u, __ATOMIC_RELAXED);
    mpsync_rlock_release(r);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  fz::input in(data, size);
  robust_head *rh = thread_robust_head();
  void *saved_list = rh ? rh->list : nullptr;
  std::memset(g_arena, 0, sizeof g_arena);
  const std::uint8_t kind_byte = in.u8();
  const int kind = (kind_byte & 0x3f) % 6;
  static const std::size_t sizes[6] = {sizeof(Lock), sizeof(RLock), sizeof(Semaphore), sizeof(Event), sizeof g_arena, sizeof(Barrier)};
  in.bytes(g_arena, sizes[kind]);
  if (kind == 4) normalise_cond(*reinterpret_cast<Condition *>(g_arena), kind_byte);
  if (kind <= 1) set_owner(reinterpret_cast<std::uint32_t *>(g_arena), kind_byte);
  int calls = 0;
  while (in.left() >= 2 && calls++ < 64) {
    const std::uint8_t op = in.u8(), arg = in.u8();
    const tiny t = pick(arg);
    switch (kind) {
      case 0: on_lock(*reinterpret_cast<Lock *>(g_arena), op, t); break;
      case 1: on_rlock(*reinterpret_cast<RLock *>(g_arena), op, t); break;
      case 2: on_sem(*reinterpret_cast<Semaphore *>(g_arena), op, t); break;
      case 3: on_event(*reinterpret_cast<Event *>(g_arena), op, t); break;
      case 4: on_cond(*reinterpret_cast<Condition *>(g_arena), op, arg, t); break;
      default: on_barrier(*std::launder(reinterpret_cast<Barrier *>(g_arena)), op, arg, t); break;
    }
  }
  if (kind == 1 || kind == 4) {
    release_rlock_at(kind == 1 ? g_arena : g_arena + 16);  // the RLock, or the Condition's embedded one
    if (kind == 4)
      for (int off = 64; off + 40 <= 128; off += 8) release_rlock_at(g_arena + off);
  }
  if (rh) {  // backstop: nothing of this input's memory stays on the robust list
    rh->list = saved_list;
    rh->pending = nullptr;
  }
  return 0;
}
