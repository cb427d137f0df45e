// fuzz_model: the input is a program of operations on every primitive, run by the main thread
// plus one helper thread for the operations that must block. Each result, and the observable
// state after each step (locked, is_mine, count, get_value, is_set, n_waiting, broken), is checked
// against a small reference model of ../shared/CONFORMANCE.md (L1-L3, R1-R5, S1-S4, C2-C9, E1-E3,
// B1-B6, T1/T3/T6).
//
// Determinism: at most one helper call is pending at a time, and the model knows exactly which
// main-thread step unblocks it; right after that step the main thread waits (bounded, kPrompt) for
// the helper's result. Where the step must find the helper already asleep (Condition notify,
// Event set+clear, Barrier arrival) the main thread first observes that it is (the lock released,
// the Event's W bit, n_waiting), which is an observation, not a timing guess. Main-thread calls that
// the model says cannot succeed use timeouts of at most 1 ms.
//
// Input: 4 configuration bytes (semaphore value and bound, Condition's lock, Barrier parties), then
// 2 bytes per step (operation, argument).
#include "fuzz_model.hpp"

using namespace mpsync;

namespace {
using namespace fm;

struct harness {
  world &w = g_w;
  model m;
  helper_thread h;

  // ---- the bound-lock view of targets: 0 L (Lock), 1 R (RLock), 2 the Condition ----
  lock_m &lm(int t) {
    if (t == 0) return m.L;
    if (t == 1) return m.R;
    return m.ckind == MPSYNC_KIND_LOCK ? m.L : m.ckind == MPSYNC_KIND_RLOCK ? m.R : m.CE;
  }
  bool is_rlock(int t) const { return t == 1 || (t == 2 && m.ckind != MPSYNC_KIND_LOCK); }
  int bound_target() const { return m.ckind == MPSYNC_KIND_LOCK ? 0 : m.ckind == MPSYNC_KIND_RLOCK ? 1 : 2; }
  mpsync_rlock_t *embedded() { return &reinterpret_cast<mpsync_cond_t *>(&w.C)->lock; }
  status acquire(int t, bool block, double to) {
    if (t == 0) return w.L.acquire_status(block, to);
    if (t == 1) return w.R.acquire_status(block, to);
    return w.C.acquire_status(block, to);
  }
  status release(int t) {
    if (t == 0) return w.L.release_status();
    if (t == 1) return w.R.release_status();
    return w.C.release_status();
  }
  bool real_locked(int t) {
    if (t == 0) return w.L.locked();
    if (t == 1) return w.R.locked();
    return mpsync_rlock_locked(embedded());
  }
  // What acquire must return, with the model updated.
  int want_acquire(int t, who me, bool block, double to) {
    lock_m &x = lm(t);
    if (block && std::isnan(to)) return MPSYNC_EINVAL;
    if (x.owner == who::none) {
      x.owner = me;
      x.count = 1;
      return MPSYNC_OK;
    }
    if (is_rlock(t) && x.owner == me) {
      ++x.count;
      return MPSYNC_OK;
    }
    return MPSYNC_TIMEDOUT;
  }
  int want_release(int t, who me) {
    lock_m &x = lm(t);
    if (is_rlock(t)) {
      if (x.owner != me) return MPSYNC_ENOTOWNER;
      if (--x.count == 0) x.owner = who::none;
      return MPSYNC_OK;
    }
    if (t == 2 && x.owner != me) return MPSYNC_ENOTOWNER;  // Condition.release checks is_mine
    if (x.owner == who::none) return MPSYNC_EOVERRELEASE;
    x = lock_m{};
    return MPSYNC_OK;
  }
  int want_sem_release() {
    if (m.bounded && m.sv == m.sinit) return MPSYNC_EOVERRELEASE;
    if (m.sv == MPSYNC_SEM_VALUE_MAX) return MPSYNC_EOVERFLOW;
    ++m.sv;
    return MPSYNC_OK;
  }

  // ---- the pending helper call: does the last main step let it finish? ----
  void settle() {
    switch (m.p) {
      case pend::lock: {
        lock_m &x = lm(m.p_target);
        if (x.owner != who::none) return;
        x.owner = who::helper;
        x.count = 1;
        FZ_EXPECT("helper acquire, after the holder released", h.wait("helper acquire"), MPSYNC_OK);
        break;
      }
      case pend::sem:
        if (m.sv == 0) return;
        --m.sv;
        FZ_EXPECT("helper sem acquire, after a release", h.wait("helper sem acquire"), MPSYNC_OK);
        break;
      case pend::cond: {
        lock_m &x = lm(2);
        if (!m.notified || x.owner != who::none) return;
        x.owner = who::helper;
        x.count = m.saved;
        FZ_EXPECT("helper cond wait, notified and the lock free", h.wait("helper cond wait"), MPSYNC_OK);
        break;
      }
      default:
        return;  // event and barrier completions are decided by the step itself
    }
    m.p = pend::none;
  }
  void finish_pending(int want, const char *what) {
    FZ_EXPECT(what, h.wait(what), want);
    m.p = pend::none;
  }

  void check_state() {
    FZ_CHECK(w.L.locked() == (m.L.owner != who::none), "Lock.locked() %d", (int)w.L.locked());
    FZ_CHECK(w.L.is_mine() == (m.L.owner == who::main), "Lock.is_mine() %d", (int)w.L.is_mine());
    FZ_CHECK(w.R.locked() == (m.R.owner != who::none), "RLock.locked() %d", (int)w.R.locked());
    FZ_CHECK(w.R.is_mine() == (m.R.owner == who::main), "RLock.is_mine() %d", (int)w.R.is_mine());
    FZ_CHECK(w.R.count() == m.R.count, "RLock.count() %u, model %u", w.R.count(), m.R.count);
    if (m.ckind == 0) {
      FZ_CHECK(mpsync_rlock_locked(embedded()) == (m.CE.owner != who::none), "embedded RLock locked");
      FZ_CHECK(mpsync_rlock_is_mine(embedded()) == (m.CE.owner == who::main), "embedded RLock is_mine");
      FZ_CHECK(mpsync_rlock_count(embedded()) == m.CE.count, "embedded RLock count %u, model %u",
               mpsync_rlock_count(embedded()), m.CE.count);
    }
    FZ_CHECK(w.S.get_value_status() == static_cast<int>(m.sv), "get_value %d, model %u", w.S.get_value_status(), m.sv);
    FZ_CHECK(w.E.is_set() == m.eset, "Event.is_set() %d", (int)w.E.is_set());
    FZ_CHECK(w.B().broken() == m.broken, "Barrier.broken() %d", (int)w.B().broken());
    FZ_CHECK(w.B().n_waiting() == (m.broken ? 0 : m.bwait), "n_waiting %u, model %u", w.B().n_waiting(), m.bwait);
    FZ_CHECK(w.B().parties() == m.P, "parties");
  }

  // A timed main-thread call that the model says times out: it waits at least its timeout and
  // returns by its deadline plus slack.
  static void check_elapsed(const tmo &t, double t0, int got, const char *what) {
    const double el = fz::now_s() - t0;
    if (t.block && t.t > 0 && got == MPSYNC_TIMEDOUT) FZ_CHECK(el >= t.t * 0.999, "%s: TIMEDOUT after %.6f s < %.6f s", what, el, t.t);
    const double limit = (t.block && t.t > 0 ? t.t : 0) + fz::kSlack;
    FZ_CHECK(el <= limit, "%s: returned after %.3f s, limit %.3f s", what, el, limit);
  }

  void init(fz::input &in) {
    std::memset(static_cast<void *>(&w), 0, sizeof w);
    static const std::uint32_t values[6] = {0, 1, 2, 3, MPSYNC_SEM_VALUE_MAX - 1, MPSYNC_SEM_VALUE_MAX};
    const std::uint8_t c0 = in.u8(), c1 = in.u8(), c2 = in.u8(), c3 = in.u8();
    m.sinit = m.sv = values[c0 % 6];
    m.bounded = c1 & 1;
    FZ_EXPECT("sem init", w.S.init(m.sv, m.bounded), MPSYNC_OK);
    m.ckind = c2 % 3;
    if (m.ckind == MPSYNC_KIND_LOCK) FZ_EXPECT("cond init", w.C.init(MPSYNC_KIND_LOCK, &w.L), MPSYNC_OK);
    if (m.ckind == MPSYNC_KIND_RLOCK) FZ_EXPECT("cond init", w.C.init(MPSYNC_KIND_RLOCK, &w.R), MPSYNC_OK);
    m.P = 1 + c3 % 3;
    ::new (w.b_storage) Barrier(m.P);
  }

  static int pred_true(void *) { return 1; }
  static int pred_false(void *) { return 0; }
  static int action_ok(void *ctx) { return static_cast<harness *>(ctx)->action(0); }
  static int action_fail(void *ctx) { return static_cast<harness *>(ctx)->action(1); }
  int actions = 0;
  int action(int rc) {
    ++actions;
    // B3: the action runs before anyone of its cycle is released.
    if (m.p == pend::barrier) FZ_CHECK(!h.finished(), "barrier: a waiter returned before the action ran");
    return rc;
  }

  void step(std::uint8_t op, std::uint8_t arg);
  void barrier_wait(std::uint8_t arg);
  void cond_wait(std::uint8_t arg);
  void end(std::uint8_t how);
};

void harness::barrier_wait(std::uint8_t arg) {
  const tmo t = pick_timeout(arg);
  const int act = (arg >> 3) % 3;  // none, ok, fail
  if (!t.block) return;            // barrier waits always block; use the timeout choices only
  unsigned idx = ~0u;
  const int before = actions;
  const double t0 = fz::now_s();
  const int got = fz::num(w.B().wait_status(t.t, act == 0 ? nullptr : act == 1 ? action_ok : action_fail, this, &idx));
  check_elapsed(t, t0, got, "barrier wait");
  if (std::isnan(t.t)) {
    FZ_EXPECT("barrier wait(NaN)", got, MPSYNC_EINVAL);
    return;
  }
  if (m.broken) {
    FZ_EXPECT("barrier wait while broken", got, MPSYNC_BROKEN);
    return;
  }
  if (m.bwait + 1 == m.P) {  // the last arriver
    FZ_CHECK(actions == before + (act != 0), "the action ran %d times", actions - before);
    m.bwait = 0;
    if (act == 2) {
      m.broken = true;
      FZ_EXPECT("barrier wait, action failed", got, MPSYNC_BROKEN);
      if (m.p == pend::barrier) finish_pending(MPSYNC_BROKEN, "helper barrier wait, action failed");
      return;
    }
    FZ_EXPECT("barrier wait, last arriver", got, MPSYNC_OK);
    FZ_CHECK(idx == m.P - 1, "last arriver's index %u", idx);
    if (m.p == pend::barrier) finish_pending(MPSYNC_OK, "helper barrier wait, cycle complete");
    return;
  }
  FZ_CHECK(actions == before, "the action ran in a waiter that was not the last");
  if (t.t > 0) FZ_CHECK(fz::now_s() - t0 >= t.t * 0.999, "barrier wait broke before its timeout");
  m.broken = true;  // B6: the timeout breaks the barrier, for everyone
  m.bwait = 0;
  FZ_EXPECT("barrier wait that times out", got, MPSYNC_BROKEN);
  if (m.p == pend::barrier) finish_pending(MPSYNC_BROKEN, "helper barrier wait, broken by a timeout");
}

void harness::cond_wait(std::uint8_t arg) {
  const tmo t = pick_timeout(arg);
  if (!t.block) return;
  // While the helper is waiting for the bound lock, a main wait would hand the lock to it and then
  // block in re-acquiring: the model keeps the main thread out of that.
  if ((m.p == pend::cond && m.notified) || (m.p == pend::lock && (m.p_target == 2 || m.p_target == bound_target())))
    return;
  lock_m &x = lm(2);
  const bool mine = x.owner == who::main;
  const unsigned before = x.count;
  const bool use_pred = arg & 0x40;
  const double t0 = fz::now_s();
  int got;
  if (use_pred)
    got = fz::num(w.C.wait_for_status((arg & 0x80) ? pred_true : pred_false, nullptr, t.t));
  else
    got = fz::num(w.C.wait_status(t.t));
  check_elapsed(t, t0, got, "cond wait");
  int want;
  if (!mine)
    want = MPSYNC_ENOTOWNER;  // C2
  else if (std::isnan(t.t))
    want = MPSYNC_EINVAL;
  else if (use_pred && (arg & 0x80))
    want = MPSYNC_OK;  // C9: a true predicate returns at once
  else
    want = MPSYNC_TIMEDOUT;  // nobody else can notify the main thread (C3)
  FZ_EXPECT(use_pred ? "cond wait_for" : "cond wait", got, want);
  (void)before;  // check_state() compares the restored level with the model's (C8)
}

void harness::step(std::uint8_t op, std::uint8_t arg) {
  const bool busy = m.p != pend::none;  // the helper is blocked: no helper steps
  const int tgt = arg % 3;
  switch (op % 20) {
    case 0: case 1: {  // main acquire L / R / Condition
      const tmo t = pick_timeout(arg >> 2);
      const double t0 = fz::now_s();
      const int got = fz::num(acquire(tgt, t.block, t.t));
      check_elapsed(t, t0, got, "acquire");
      FZ_EXPECT("main acquire", got, want_acquire(tgt, who::main, t.block, t.t));
      break;
    }
    case 2: case 3:  // main release
      FZ_EXPECT("main release", release(tgt), want_release(tgt, who::main));
      break;
    case 4: {  // helper acquire (forever): now, or pending until the main thread releases
      if (busy) break;
      lock_m &x = lm(tgt);
      if (x.owner == who::main) {
        m.p = pend::lock;
        m.p_target = tgt;
        h.post([this, tgt] { return fz::num(acquire(tgt, true, MPSYNC_FOREVER)); });
        break;
      }
      if (x.owner == who::helper && !is_rlock(tgt)) break;  // a self-deadlock nobody could end
      const int want = want_acquire(tgt, who::helper, true, MPSYNC_FOREVER);
      FZ_EXPECT("helper acquire", h.run("helper acquire", [this, tgt] { return fz::num(acquire(tgt, true, MPSYNC_FOREVER)); }), want);
      break;
    }
    case 5: {  // helper release (L2: anyone may release a Lock; R3: a non-owner's RLock release fails)
      if (busy) break;
      const int want = want_release(tgt, who::helper);
      FZ_EXPECT("helper release", h.run("helper release", [this, tgt] { return fz::num(release(tgt)); }), want);
      break;
    }
    case 6: {  // helper: non-blocking attempts on a lock (R3 from another thread)
      if (busy) break;
      const int want = want_acquire(tgt, who::helper, false, 0.0);
      FZ_EXPECT("helper try-acquire", h.run("helper try", [this, tgt] { return fz::num(acquire(tgt, false, 0.0)); }), want);
      break;
    }
    case 7: {  // main sem acquire
      const tmo t = pick_timeout(arg);
      const double t0 = fz::now_s();
      const int got = fz::num(w.S.acquire_status(t.block, t.t));
      check_elapsed(t, t0, got, "sem acquire");
      int want = MPSYNC_TIMEDOUT;
      if (t.block && std::isnan(t.t))
        want = MPSYNC_EINVAL;
      else if (m.sv > 0)
        --m.sv, want = MPSYNC_OK;
      FZ_EXPECT("sem acquire", got, want);
      break;
    }
    case 8:  // main sem release
      FZ_EXPECT("sem release", w.S.release_status(), want_sem_release());
      break;
    case 9:  // helper sem acquire / release
      if (busy) break;
      if (arg & 1) {
        const int want = want_sem_release();
        FZ_EXPECT("helper sem release", h.run("helper sem release", [this] { return fz::num(w.S.release_status()); }), want);
      } else if (m.sv > 0) {
        --m.sv;
        FZ_EXPECT("helper sem acquire", h.run("helper sem acquire", [this] { return fz::num(w.S.acquire_status()); }), MPSYNC_OK);
      } else if (!(m.bounded && m.sinit == 0)) {  // BoundedSemaphore(0) can never be released
        m.p = pend::sem;
        h.post([this] { return fz::num(w.S.acquire_status()); });
      }
      break;
    case 10: case 11: {  // Event set / clear / set+clear (E3) / wait
      const int k = arg % 4;
      if (k == 0 || k == 2) {
        w.E.set();
        m.eset = true;
        if (k == 2) w.E.clear(), m.eset = false;
        if (m.p == pend::event) finish_pending(MPSYNC_OK, "helper event wait, set during the wait");
      } else if (k == 1) {
        w.E.clear();
        m.eset = false;
      } else {
        const tmo t = pick_timeout(arg >> 2);
        if (!t.block) break;
        const double t0 = fz::now_s();
        const int got = fz::num(w.E.wait_status(t.t));
        check_elapsed(t, t0, got, "event wait");
        FZ_EXPECT("event wait", got, std::isnan(t.t) ? MPSYNC_EINVAL : m.eset ? MPSYNC_OK : MPSYNC_TIMEDOUT);
      }
      break;
    }
    case 12:  // helper event wait
      if (busy) break;
      if (m.eset) {
        FZ_EXPECT("helper event wait", h.run("helper event wait", [this] { return fz::num(w.E.wait_status()); }), MPSYNC_OK);
      } else {
        // W may be left over from an earlier waiter that timed out ("a waiter may be asleep"):
        // clear it with a set+clear nobody waits for, so that only the helper can set it again.
        w.E.set();
        w.E.clear();
        m.p = pend::event;
        h.post([this] { return fz::num(w.E.wait_status()); });
        observe([this] { return (__atomic_load_n(reinterpret_cast<std::uint32_t *>(&w.E), __ATOMIC_ACQUIRE) & Event::kWaiters) != 0; },
                "the helper asleep in Event.wait (W bit)");
      }
      break;
    case 13: case 14:
      cond_wait(arg);
      break;
    case 15: {  // notify(n) / notify_all (C2, C4, C6)
      const bool all = arg & 0x80;
      const unsigned n = arg & 3;
      const bool mine = lm(2).owner == who::main;
      FZ_EXPECT("cond notify", fz::num(all ? w.C.notify_all_status() : w.C.notify_status(n)),
                mine ? MPSYNC_OK : MPSYNC_ENOTOWNER);
      if (mine && m.p == pend::cond && (all || n > 0)) m.notified = true;
      break;
    }
    case 16: {  // helper cond wait (forever): needs the helper to hold the Condition's lock
      if (busy) break;
      lock_m &x = lm(2);
      if (x.owner != who::helper) {
        FZ_EXPECT("helper cond wait without the lock", h.run("helper cond wait", [this] { return fz::num(w.C.wait_status(0.001)); }),
                  MPSYNC_ENOTOWNER);
        break;
      }
      m.p = pend::cond;
      m.notified = false;
      m.saved = x.count;
      x = lock_m{};  // C8: the wait releases every level
      h.post([this] { return fz::num(w.C.wait_status()); });
      observe([this] { return !real_locked(bound_target()); }, "the helper's cond wait releasing the lock");
      break;
    }
    case 17:
      barrier_wait(arg);
      break;
    case 18: {  // helper barrier wait (forever)
      if (busy) break;
      if (m.broken || m.P == 1) {
        unsigned *none = nullptr;
        FZ_EXPECT("helper barrier wait", h.run("helper barrier wait", [this, none] { return fz::num(w.B().wait_status(forever, nullptr, nullptr, none)); }),
                  m.broken ? MPSYNC_BROKEN : MPSYNC_OK);
        break;
      }
      m.p = pend::barrier;
      m.b_index = m.bwait++;
      h.post([this] {
        unsigned idx = ~0u;
        const int r = fz::num(w.B().wait_status(forever, nullptr, nullptr, &idx));
        if (r == MPSYNC_OK && idx != m.b_index) return 100 + static_cast<int>(idx);  // B2: a wrong index
        return r;
      });
      observe([this] { return w.B().n_waiting() == m.bwait; }, "the helper's barrier arrival");
      break;
    }
    case 19:  // abort / reset (B4, B5)
      if (arg & 1) {
        w.B().abort();
        m.broken = true;
      } else {
        w.B().reset();
        m.broken = false;
      }
      m.bwait = 0;
      if (m.p == pend::barrier) finish_pending(MPSYNC_BROKEN, "helper barrier wait, aborted or reset");
      break;
  }
  settle();
  check_state();
}

// Unblock whatever is pending, then release everything; `how` bit 0: the helper thread ends while
// holding its RLocks, and the main thread must get OWNER_DEAD (R5).
void harness::end(std::uint8_t how) {
  switch (m.p) {
    case pend::lock:
      while (lm(m.p_target).owner == who::main) FZ_EXPECT("final release", release(m.p_target), want_release(m.p_target, who::main));
      break;
    case pend::sem:
      FZ_EXPECT("final sem release", w.S.release_status(), want_sem_release());
      break;
    case pend::event:
      w.E.set();
      m.eset = true;
      finish_pending(MPSYNC_OK, "helper event wait, final set");
      break;
    case pend::cond:
      if (!m.notified) {
        while (lm(2).owner != who::main) FZ_EXPECT("final cond acquire", acquire(2, true, MPSYNC_FOREVER), want_acquire(2, who::main, true, 0));
        FZ_EXPECT("final notify_all", w.C.notify_all_status(), MPSYNC_OK);
        m.notified = true;
      }
      while (lm(2).owner == who::main) FZ_EXPECT("final cond release", release(2), want_release(2, who::main));
      break;
    case pend::barrier:
      w.B().abort();
      m.broken = true;
      finish_pending(MPSYNC_BROKEN, "helper barrier wait, final abort");
      break;
    case pend::none:
      break;
  }
  settle();
  FZ_CHECK(m.p == pend::none, "a helper call is still pending at the end");
  check_state();
  const bool die = how & 1;
  for (int t = 0; t < 3; ++t) {
    if (t == 2 && m.ckind != 0) continue;  // the bound lock is L or R
    lock_m &x = lm(t);
    if (x.owner != who::helper || (die && is_rlock(t))) continue;
    while (x.owner == who::helper) FZ_EXPECT("helper final release", h.run("helper release", [this, t] { return fz::num(release(t)); }), want_release(t, who::helper));
  }
  h.~helper_thread();  // the helper ends now (holding its RLocks when `die`)
  new (&h) helper_thread();
  for (int t = 0; t < 3; ++t) {
    if (t == 2 && m.ckind != 0) continue;
    lock_m &x = lm(t);
    if (x.owner == who::helper && is_rlock(t)) {  // R5: the owner thread exited holding it
      FZ_EXPECT("acquire after the owner thread exited", acquire(t, true, 2.0), MPSYNC_OWNER_DEAD);
      x.owner = who::main;
      x.count = 1;
    }
    if (x.owner == who::helper) x.owner = who::main, x.count = 1;  // a Lock: anyone may release it
    while (x.owner == who::main) FZ_EXPECT("final release", release(t), want_release(t, who::main));
  }
  check_state();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  fz::input in(data, size);
  harness hs;
  hs.init(in);
  int steps = 0;
  while (in.left() >= 2 && steps++ < 256) {
    const std::uint8_t op = in.u8(), arg = in.u8();
    hs.step(op, arg);
  }
  hs.end(size ? data[size - 1] : 0);
  return 0;
}
