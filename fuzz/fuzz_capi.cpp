// fuzz_capi: arbitrary arguments through the C ABI of include/mpsync.h — NaN (either sign),
// +-inf, negative, denormal, huge and raw-bit timeouts; any `block` int; values and counts up to
// UINT32_MAX; unknown Condition kinds and misplaced locks; NULL wherever a pointer is taken;
// region sizes, offsets and alignments at and past their limits; every status for strerror;
// wait_any with counts past its limit, unknown kinds and NULL items. One
// thread, so a small shadow state predicts every result exactly (API.md's table): e.g. NaN with
// block != 0 is EINVAL even where the call could succeed, block == 0 ignores the timeout, NULL
// objects are EINVAL (predicates 0), a value over MPSYNC_SEM_VALUE_MAX is EINVAL.
// A call the shadow says must wait gets its timeout capped at 1 ms (a long one would just sleep);
// calls that succeed at once get the raw timeout, however huge.
//
// Out of contract, so never generated: re-initialising an RLock (or a Condition's embedded one)
// that this thread holds — its node is on the thread's robust list, like a held robust mutex.
#include "fuzz_common.hpp"

namespace {

alignas(64) struct objs {
  mpsync_lock_t l;
  mpsync_rlock_t r;
  mpsync_sem_t s;
  mpsync_event_t e;
  mpsync_cond_t c;
  mpsync_barrier_t b;
} g;

struct shadow {
  bool l_held = false;
  unsigned r_count = 0;
  std::uint32_t sv = 0, sinit = 0;
  bool bounded = false, eset = false;
  int ckind = 0;  // 0 embedded, 1 bound to g.l, 2 bound to g.r
  unsigned ce_count = 0;
  std::uint32_t parties = 1;
  bool broken = false;
} m;

double pick_timeout(fz::input &in) {
  static const double table[] = {std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                                 0.0, -0.0, -1.0, 4.9e-324, 1e-9, 1e-3, 1.0, 1e30, -1e30,
                                 9.3e18, 1.7976931348623157e308, -1.7976931348623157e308};
  const std::uint8_t b = in.u8();
  if (b < 0xf0) return table[b % (sizeof table / sizeof table[0])];
  return in.raw_double();  // any bit pattern, signalling NaNs included
}

bool is_nan(double t) { return t != t; }
// Cap a timeout for a call that must wait (its result is TIMEDOUT either way).
double cap(double t) { return !is_nan(t) && t > 1e-3 ? 1e-3 : t; }

int pred_true(void *) { return 1; }
int pred_false(void *) { return 0; }
int act(void *ctx) { return ctx ? 1 : 0; }

// The lock a Condition is bound to, as the shadow sees it: held count for this (only) thread.
unsigned &cond_level() { return m.ckind == 2 ? m.r_count : m.ce_count; }
bool cond_held() { return m.ckind == 1 ? m.l_held : cond_level() > 0; }

int want_acquire(bool held, bool recursive, int block, double t) {
  if (block && is_nan(t)) return MPSYNC_EINVAL;
  if (!held || recursive) return MPSYNC_OK;
  return MPSYNC_TIMEDOUT;
}

void step(fz::input &in) {
  const std::uint8_t op = in.u8();
  const bool null = (op & 0xc0) == 0xc0;  // a quarter of the calls pass NULL
  switch (op % 32) {  // 28-31: no-ops
    case 0: FZ_EXPECT("lock_init", mpsync_lock_init(null ? nullptr : &g.l), null ? MPSYNC_EINVAL : MPSYNC_OK);
      if (!null) m.l_held = false;
      break;
    case 1: {
      const int block = static_cast<int>(in.u32());
      double t = pick_timeout(in);
      if (m.l_held) t = cap(t);
      const int want = null ? MPSYNC_EINVAL : want_acquire(m.l_held, false, block, t);
      FZ_EXPECT("lock_acquire", mpsync_lock_acquire(null ? nullptr : &g.l, block, t), want);
      if (want == MPSYNC_OK) m.l_held = true;
      break;
    }
    case 2: {
      const int want = null ? MPSYNC_EINVAL : m.l_held ? MPSYNC_OK : MPSYNC_EOVERRELEASE;
      FZ_EXPECT("lock_release", mpsync_lock_release(null ? nullptr : &g.l), want);
      if (!null) m.l_held = false;
      break;
    }
    case 3:
      if (m.r_count) break;  // never re-init a held RLock
      FZ_EXPECT("rlock_init", mpsync_rlock_init(null ? nullptr : &g.r), null ? MPSYNC_EINVAL : MPSYNC_OK);
      break;
    case 4: {
      const int block = static_cast<int>(in.u32());
      const double t = pick_timeout(in);  // this thread is the only owner: never waits
      const int want = null ? MPSYNC_EINVAL : want_acquire(m.r_count > 0, true, block, t);
      FZ_EXPECT("rlock_acquire", mpsync_rlock_acquire(null ? nullptr : &g.r, block, t), want);
      if (want == MPSYNC_OK) ++m.r_count;
      break;
    }
    case 5: {
      const int want = null ? MPSYNC_EINVAL : m.r_count ? MPSYNC_OK : MPSYNC_ENOTOWNER;
      FZ_EXPECT("rlock_release", mpsync_rlock_release(null ? nullptr : &g.r), want);
      if (want == MPSYNC_OK) --m.r_count;
      break;
    }
    case 6: case 7: {
      const std::uint32_t v = (op & 0x20) ? in.u32() : in.u8() % 4;
      const bool bounded = op % 32 == 7;
      const int want = null || v > MPSYNC_SEM_VALUE_MAX ? MPSYNC_EINVAL : MPSYNC_OK;
      FZ_EXPECT("sem_init", bounded ? mpsync_bounded_sem_init(null ? nullptr : &g.s, v) : mpsync_sem_init(null ? nullptr : &g.s, v), want);
      if (want == MPSYNC_OK) m.sv = m.sinit = v, m.bounded = bounded;
      break;
    }
    case 8: {
      const int block = static_cast<int>(in.u32());
      double t = pick_timeout(in);
      if (m.sv == 0) t = cap(t);
      int want = null ? MPSYNC_EINVAL : (block && is_nan(t)) ? MPSYNC_EINVAL : m.sv ? MPSYNC_OK : MPSYNC_TIMEDOUT;
      FZ_EXPECT("sem_acquire", mpsync_sem_acquire(null ? nullptr : &g.s, block, t), want);
      if (want == MPSYNC_OK) --m.sv;
      break;
    }
    case 9: {
      int want = MPSYNC_OK;
      if (null) want = MPSYNC_EINVAL;
      else if (m.bounded && m.sv == m.sinit) want = MPSYNC_EOVERRELEASE;
      else if (m.sv == MPSYNC_SEM_VALUE_MAX) want = MPSYNC_EOVERFLOW;
      FZ_EXPECT("sem_release", mpsync_sem_release(null ? nullptr : &g.s), want);
      if (want == MPSYNC_OK) ++m.sv;
      break;
    }
    case 10: {
      const int want = null ? MPSYNC_EINVAL : static_cast<int>(m.sv);
      FZ_EXPECT("sem_get_value", mpsync_sem_get_value(null ? nullptr : &g.s), want);
      break;
    }
    case 11: {
      const int k = in.u8() % 3;
      mpsync_event_t *e = null ? nullptr : &g.e;
      const int got = k == 0 ? mpsync_event_init(e) : k == 1 ? mpsync_event_set(e) : mpsync_event_clear(e);
      FZ_EXPECT("event init/set/clear", got, null ? MPSYNC_EINVAL : MPSYNC_OK);
      if (!null) m.eset = k == 1;
      break;
    }
    case 12: {
      double t = pick_timeout(in);
      if (!m.eset) t = cap(t);
      const int want = null || is_nan(t) ? MPSYNC_EINVAL : m.eset ? MPSYNC_OK : MPSYNC_TIMEDOUT;
      FZ_EXPECT("event_wait", mpsync_event_wait(null ? nullptr : &g.e, t), want);
      break;
    }
    case 13: {  // cond_init: unknown kinds, NULL, a lock inside the condition itself
      if (m.ce_count || (m.ckind == 2 && m.r_count)) break;  // never re-init a held embedded RLock
      const std::uint32_t kind = in.u8() < 200 ? in.u8() % 4 : in.u32();
      const int where = in.u8() % 4;  // 0 NULL, 1 &g.l, 2 &g.r, 3 inside the condition
      void *lock = where == 0 ? nullptr : where == 1 ? static_cast<void *>(&g.l) : where == 2 ? static_cast<void *>(&g.r)
                                                                              : static_cast<void *>(&g.c.gen);
      int want = MPSYNC_OK;
      if (null) want = MPSYNC_EINVAL;
      else if (lock && kind != MPSYNC_KIND_LOCK && kind != MPSYNC_KIND_RLOCK) want = MPSYNC_EINVAL;
      else if (where == 3) want = MPSYNC_EINVAL;
      else if ((where == 1 && kind != MPSYNC_KIND_LOCK) || (where == 2 && kind != MPSYNC_KIND_RLOCK)) break;  // wrong type: out of contract
      FZ_EXPECT("cond_init", mpsync_cond_init(null ? nullptr : &g.c, static_cast<mpsync_lock_kind>(kind), lock), want);
      if (want == MPSYNC_OK) m.ckind = where, m.ce_count = 0;
      break;
    }
    case 14: {
      const int block = static_cast<int>(in.u32());
      double t = pick_timeout(in);
      const bool recursive = m.ckind != 1;
      if (m.ckind == 1 && m.l_held) t = cap(t);
      const int want = null ? MPSYNC_EINVAL : want_acquire(cond_held(), recursive, block, t);
      FZ_EXPECT("cond_acquire", mpsync_cond_acquire(null ? nullptr : &g.c, block, t), want);
      if (want == MPSYNC_OK) (m.ckind == 1 ? (void)(m.l_held = true) : (void)++cond_level());
      break;
    }
    case 15: {
      const int want = null ? MPSYNC_EINVAL : cond_held() ? MPSYNC_OK : MPSYNC_ENOTOWNER;
      FZ_EXPECT("cond_release", mpsync_cond_release(null ? nullptr : &g.c), want);
      if (want == MPSYNC_OK) (m.ckind == 1 ? (void)(m.l_held = false) : (void)--cond_level());
      break;
    }
    case 16: case 17: {  // wait / wait_for: nobody notifies, so TIMEDOUT (or at once for a true pred)
      const double t = cap(pick_timeout(in));
      const int p = in.u8() % 3;  // wait_for: NULL, false, true
      int want;
      if (null) want = MPSYNC_EINVAL;
      else if (op % 32 == 17 && p == 0) want = MPSYNC_EINVAL;
      else if (!cond_held()) want = MPSYNC_ENOTOWNER;
      else if (is_nan(t)) want = MPSYNC_EINVAL;
      else want = (op % 32 == 17 && p == 2) ? MPSYNC_OK : MPSYNC_TIMEDOUT;
      mpsync_cond_t *c = null ? nullptr : &g.c;
      const int got = op % 32 == 16 ? mpsync_cond_wait(c, t)
                                    : mpsync_cond_wait_for(c, p == 0 ? nullptr : p == 1 ? pred_false : pred_true, nullptr, t);
      FZ_EXPECT("cond_wait(_for)", got, want);
      break;
    }
    case 18: {
      const std::uint32_t n = in.u32();
      const int want = null ? MPSYNC_EINVAL : cond_held() ? MPSYNC_OK : MPSYNC_ENOTOWNER;
      FZ_EXPECT("cond_notify(_all)", (op & 0x20) ? mpsync_cond_notify_all(null ? nullptr : &g.c) : mpsync_cond_notify(null ? nullptr : &g.c, n), want);
      break;
    }
    case 19: {
      const std::uint32_t p = (op & 0x20) ? in.u32() : in.u8() % 3;
      const int want = null || p == 0 ? MPSYNC_EINVAL : MPSYNC_OK;
      FZ_EXPECT("barrier_init", mpsync_barrier_init(null ? nullptr : &g.b, p), want);
      if (want == MPSYNC_OK) m.parties = p, m.broken = false;
      break;
    }
    case 20: {
      double t = pick_timeout(in);
      const int a = in.u8() % 3;  // no action, ok, failing
      unsigned idx = 77, *pidx = (op & 0x20) ? nullptr : &idx;
      if (m.parties > 1) t = cap(t);
      int want;
      if (null || is_nan(t)) want = MPSYNC_EINVAL;
      else if (m.broken) want = MPSYNC_BROKEN;
      else if (m.parties == 1) want = a == 2 ? MPSYNC_BROKEN : MPSYNC_OK;
      else want = MPSYNC_BROKEN;  // alone, it times out, which breaks the barrier
      const int got = mpsync_barrier_wait(null ? nullptr : &g.b, t, a == 0 ? nullptr : act, a == 2 ? &g : nullptr, pidx);
      FZ_EXPECT("barrier_wait", got, want);
      if (want == MPSYNC_BROKEN) m.broken = true;
      if (got == MPSYNC_OK && pidx) FZ_CHECK(idx == 0, "Barrier(1) index %u", idx);
      if (got != MPSYNC_OK && pidx) FZ_CHECK(idx == 77, "index written on failure");
      break;
    }
    case 21: {
      const bool reset = op & 0x20;
      FZ_EXPECT("barrier_reset/abort", reset ? mpsync_barrier_reset(null ? nullptr : &g.b) : mpsync_barrier_abort(null ? nullptr : &g.b),
                null ? MPSYNC_EINVAL : MPSYNC_OK);
      if (!null) m.broken = !reset;
      break;
    }
    case 22: {  // observers
      FZ_CHECK(mpsync_lock_is_mine(null ? nullptr : &g.l) == (!null && m.l_held), "lock_is_mine");
      FZ_CHECK(mpsync_lock_locked(null ? nullptr : &g.l) == (!null && m.l_held), "lock_locked");
      FZ_CHECK(mpsync_rlock_is_mine(null ? nullptr : &g.r) == (!null && m.r_count), "rlock_is_mine");
      FZ_CHECK(mpsync_rlock_count(null ? nullptr : &g.r) == (null ? 0 : m.r_count), "rlock_count");
      FZ_CHECK(mpsync_event_is_set(null ? nullptr : &g.e) == (!null && m.eset), "event_is_set");
      FZ_CHECK(mpsync_barrier_parties(null ? nullptr : &g.b) == (null ? 0 : m.parties), "barrier_parties");
      FZ_CHECK(mpsync_barrier_n_waiting(null ? nullptr : &g.b) == 0, "barrier_n_waiting");
      FZ_CHECK(mpsync_barrier_broken(null ? nullptr : &g.b) == (!null && m.broken), "barrier_broken");
      break;
    }
    case 23: {
      const int s = static_cast<int>(in.u32());
      const char *txt = mpsync_strerror(s);
      FZ_CHECK(txt && txt[0], "strerror(%d)", s);
      FZ_CHECK(mpsync_backend() && mpsync_version(), "backend/version NULL");
      break;
    }
    case 24: case 25: {  // regions: sizes at and past the limits, alloc/at/offset round trips
      static const std::uint64_t sizes[] = {0, 1, 63, 64, 65, 4096, 1 << 16, (std::uint64_t{1} << 46) + 1, ~std::uint64_t{0}};
      const std::uint64_t size = sizes[in.u8() % (sizeof sizes / sizeof sizes[0])];
      mpsync_region_t *r = nullptr;
      const bool memfd = op % 32 == 25;
      const int got = memfd ? mpsync_region_create_memfd(null ? nullptr : &r, size) : mpsync_region_create_anon(null ? nullptr : &r, size);
      if (null || size < 64 || size > (std::uint64_t{1} << 46)) {
        FZ_EXPECT("region_create bad args", got, MPSYNC_EINVAL);
        break;
      }
      FZ_EXPECT("region_create", got, MPSYNC_OK);
      FZ_CHECK((mpsync_region_fd(r) >= 0) == memfd, "region_fd");
      std::uint64_t heap = size;  // the lowest offset an allocation returned: the heap starts at or before it
      for (int k = 0; k < 4; ++k) {
        const std::uint64_t sz = in.u8() < 128 ? in.u8() : in.u64(), al = in.u8() < 200 ? std::uint64_t{1} << (in.u8() % 13) : in.u64();
        void *p = mpsync_region_alloc(r, sz, al);
        if (!p) continue;
        const std::uint64_t off = mpsync_region_offset(r, p);
        FZ_CHECK(al && (al & (al - 1)) == 0 && off % al == 0, "alloc: offset %llu, align %llu", (unsigned long long)off, (unsigned long long)al);
        FZ_CHECK(off >= 64 && off <= size && sz <= size - off, "alloc out of the region");
        if (sz) FZ_CHECK(mpsync_region_at(r, off) == p, "region_at(offset_of(p)) != p");
        if (off < heap) heap = off;
        std::memset(p, 0xa5, sz);  // ASan: the whole block is addressable
      }
      const std::uint64_t off = in.u64();
      void *q = mpsync_region_at(r, off);
      // NULL below the heap (the header, the name directory and the waiter table are not
      // the caller's) and at or past the end; an address at every offset from the heap on.
      FZ_CHECK(!q || (off >= 64 && off < size), "region_at(%llu) inside the header or past the end", (unsigned long long)off);
      FZ_CHECK(q || off < heap || off >= size, "region_at(%llu) NULL inside the heap (from %llu)", (unsigned long long)off, (unsigned long long)heap);
      FZ_CHECK(mpsync_region_at(nullptr, 64) == nullptr && mpsync_region_alloc(nullptr, 8, 8) == nullptr, "NULL region");
      mpsync_region_close(r);
      break;
    }
    case 26: {
      FZ_EXPECT("region_open_fd(-1)", mpsync_region_open_fd(nullptr, 3), MPSYNC_EINVAL);
      mpsync_region_t *r = nullptr;
      FZ_EXPECT("region_open_fd(bad)", mpsync_region_open_fd(&r, -1 - static_cast<int>(in.u8())), MPSYNC_EINVAL);
      FZ_EXPECT("region_open_named(NULL)", mpsync_region_open_named(&r, nullptr), MPSYNC_EINVAL);
      FZ_EXPECT("region_unlink_named(NULL)", mpsync_region_unlink_named(nullptr), MPSYNC_EINVAL);
      FZ_EXPECT("region_create_named(NULL)", mpsync_region_create_named(&r, nullptr, 4096), MPSYNC_EINVAL);
      FZ_EXPECT("region_open_named(missing)", mpsync_region_open_named(&r, "/mpsync-fuzz-capi-no-such-region"), MPSYNC_ESYS);
      FZ_EXPECT("region_recv_fd(NULL)", mpsync_region_recv_fd(-1, nullptr), MPSYNC_EINVAL);
      mpsync_region_close(nullptr);
      mpsync_set_interrupt_check(nullptr);
      break;
    }
    case 27: {  // wait_any: counts past the limit, unknown kinds (any int), NULL objects, timeouts
      mpsync_waitable items[MPSYNC_WAIT_ANY_MAX + 1];
      const std::uint8_t nb = in.u8();
      const unsigned n = nb < 0xf0 ? 1u + nb % 4u : (nb & 1 ? 0u : MPSYNC_WAIT_ANY_MAX + 1u);
      bool bad = n == 0 || n > MPSYNC_WAIT_ANY_MAX || null;
      int ready = -1;
      for (unsigned i = 0; i < n; ++i) {
        const std::uint8_t kb = in.u8();
        int kind = 1 + kb % 4;  // a valid kind always names its own object
        if (kb >= 0xe0) kind = static_cast<int>(kb) - 0x100 + (kb & 1 ? 0 : 0x105);  // unknown
        void *obj = kind == MPSYNC_WAIT_LOCK ? static_cast<void *>(&g.l)
                    : kind == MPSYNC_WAIT_RLOCK ? static_cast<void *>(&g.r)
                    : kind == MPSYNC_WAIT_SEM ? static_cast<void *>(&g.s)
                    : static_cast<void *>(&g.e);
        if ((kb & 0x18) == 0x18 && kb < 0xe0) obj = nullptr;
        std::memcpy(&items[i].kind, &kind, sizeof kind);  // a C caller may store any int there
        items[i].object = obj;
        if (kind < 1 || kind > 4 || !obj) bad = true;
        const bool is_ready = kind == MPSYNC_WAIT_LOCK ? !m.l_held
                              : kind == MPSYNC_WAIT_RLOCK ? true  // free, or ours: recursion
                              : kind == MPSYNC_WAIT_SEM ? m.sv > 0
                                                        : m.eset;
        if (ready < 0 && is_ready) ready = static_cast<int>(i);
      }
      const double t = pick_timeout(in);
      unsigned index = 0xdead;
      if (bad || is_nan(t)) {
        FZ_EXPECT("wait_any(bad)", mpsync_wait_any(null ? nullptr : items, n, t, &index), MPSYNC_EINVAL);
        break;
      }
      if (ready < 0) {
        FZ_EXPECT("wait_any(none ready)", mpsync_wait_any(items, n, cap(t), &index), MPSYNC_TIMEDOUT);
        break;
      }
      FZ_EXPECT("wait_any(ready)", mpsync_wait_any(items, n, t, &index), MPSYNC_OK);
      FZ_CHECK(index == static_cast<unsigned>(ready), "wait_any took item %u, the lowest ready is %d", index, ready);
      int k;
      std::memcpy(&k, &items[ready].kind, sizeof k);
      if (k == MPSYNC_WAIT_LOCK) m.l_held = true;
      if (k == MPSYNC_WAIT_RLOCK) ++m.r_count;
      if (k == MPSYNC_WAIT_SEM) --m.sv;
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  fz::input in(data, size);
  // Fresh objects; the previous input released every RLock level it held (below).
  std::memset(&g, 0, sizeof g);
  m = shadow{};
  mpsync_barrier_init(&g.b, 1);
  int steps = 0;
  while (!in.empty() && steps++ < 128) step(in);
  for (; m.r_count; --m.r_count) FZ_EXPECT("final rlock_release", mpsync_rlock_release(&g.r), MPSYNC_OK);
  for (; m.ckind == 0 && m.ce_count; --m.ce_count) FZ_EXPECT("final cond_release", mpsync_cond_release(&g.c), MPSYNC_OK);
  return 0;
}
