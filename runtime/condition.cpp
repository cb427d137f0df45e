// mpsync::Condition — exact notify counts, no stolen wake-ups, notify never blocks.
//
// LAYOUT (16 bytes of its own + a 40-byte lock slot)
//   seq     futex word: bits 1-31 a count bumped by every notify that grants; bit 0 S, "a waiter
//           may be asleep on seq" (set by a waiter, with a CAS, before it parks; cleared by a notify
//           whose grant leaves nobody counted in g1 or g2); waiters sleep on it
//   gen     generation of group G1; group G2 is gen + 1; groups older than G1 are "retired"
//   sizes   low 16: G1 waiters not yet granted (g1)   high 16: G2 waiters (g2)
//   state   low 16: grants given to G1 and not yet taken (grants)
//           bits 16-17: the bound lock: 0 embedded RLock (all-zero memory), 1 Lock, 2 RLock;
//           bits 18-31 zero (else ECORRUPT)
//   lock    the embedded RLock; with an external lock, its self-relative offset (64-bit) and a
//           check word, so any mapping address works and most garbage is detected
// gen, sizes and state's grants are read and written only while holding the bound lock (wait
// registers and decides under it, notify requires it), so the lock's acquire/release orders them.
// All of them are nonetheless accessed with relaxed atomics: state's kind bits (immutable after
// init) are read before the lock is taken, and observers may read sizes without the lock. seq is
// different: notify CASes it under the lock, waiters CAS S into it without the lock, and the
// kernel reads it.
//
// GROUPS (glibc 2.25's idea, with the bound lock doing the bookkeeping)
//   A waiter joins G2 (remembers my = gen + 1), reads seq, releases the lock, spins while the count
//   stays (spin_until, runtime/park.hpp: a notifier on another CPU answers in < 1 us), then sets S
//   and sleeps on seq (with S) with futex bitset 1 << (my % 32), so a wake aimed at G1 never lands
//   on a G2 sleeper.
//   notify(n): while n > 0: if g1 == 0, G2 becomes G1 (gen++, g1 = g2, g2 = 0, grants = 0; the old
//   G1 retires); then k = min(n, g1): g1 -= k, grants += k, count++ (S kept iff g1 or g2 is still
//   non-zero), and FUTEX_WAKE_BITSET(k, G1's bit) iff S was set: a notify whose waiters all spin
//   makes no syscall (Condition + turn variable, processes, unpinned: 103 us a round trip with no
//   spin, 4.4 us with the spin and a wake every time, 1.4 us with S; pthread_cond 86 us).
//   A waiter back from sleep re-takes the lock and decides:
//     my older than gen (retired)  -> OK: a group retires only when g1 == 0, i.e. every member was
//                                     granted or withdrew, and this one did not withdraw
//     my == gen (G1), grants > 0   -> grants--, OK (any G1 member may take any G1 grant: it was
//                                     waiting when that notify came — CONFORMANCE C7)
//     timed out / interrupted      -> withdraw (g1-- or g2--), TIMEDOUT / INTERRUPTED
//     otherwise                    -> sleep again (re-reading seq under the lock)
// INVARIANTS (under the lock)
//   I1  members of G1 not yet returned == g1 + grants;  members of G2 not yet returned == g2
//   I2  G1 members asleep on the current seq <= g1: each grant of k wakes k sleepers of G1's bit
//       (or makes the not-yet-asleep see a new seq), and a member only goes back to sleep when
//       grants == 0, where I1 gives asleep <= g1. So when g1 == 0 no G1 member sleeps, and
//       retiring G1 strands nobody.
//   Hence notify(n) makes exactly min(n, g1 + g2) waits return OK (C6), only waits that had begun
//   (joined a group) before it (C7), and never a spurious OK: OK always consumes a grant.
//
// MEMORY ORDER: every decision is made under the lock, whose acquire/release orders all of gen,
//   sizes, state. seq's CASes (notify's under the lock, a waiter's S without it) are relaxed: they are
//   on one word, so they are totally ordered and each reads the latest value, which is all the NO
//   LOST WAKE-UP argument below uses; the kernel's compare is ordered by its hash-bucket lock.
//
// NO LOST WAKE-UP
//   CPU0 (waiter)                               CPU1 (notifier)
//   lock; join G2; s = seq; unlock
//   spin while count(seq) == count(s)
//   CAS(seq, s, s|S)                            lock; switch; g1--, grants++
//                                               CAS(seq, v, v+2 [S kept or cleared]); v had S?
//   futex_wait_bitset(seq, s|S, bit(my))        futex_wake_bitset(seq, 1, bit(gen))
// CPU1 can only run notify after CPU0 unlocked, so CPU0 had joined. The two CASes on seq are
// ordered. If CPU1's is first, CPU0's fails, CPU0 sees the count moved and re-decides under the
// lock (never sleeps). If CPU0's is first, CPU1 reads S and wakes; CPU0's futex_wait either sees
// the new count (EAGAIN: re-decides) or was queued with bit(my) == bit(gen) before the wake, which
// finds it (I2 says some G1 sleeper or not-yet-sleeper is there for every grant).
// Clearing S strands nobody: a notify clears it only when its grant leaves g1 == g2 == 0, so every
// sleeper on seq is a G1 member (I2: retired groups have none, G2 none), all g1 of them were just
// granted, and its wake of k = g1 dequeues them all. A waiter that sleeps again afterwards sets S
// again before it parks.
//
// DEAD OWNERS (issue #13). With an RLock, a waiter's re-acquire (b.restore) may take the lock
// over from a holder that died: the CAS from OWNER_DIED consumes the only mark of that death, so
// this wait must return OWNER_DEAD, whatever else it decided. It used to drop it on two paths:
//   CPU0 (waiter W1, G1, woken)         CPU1 (W2, G1, timed out)          CPU2
//                                        restore: takes the lock,
//                                        grants 1 -> 0, returns OK;
//                                        mid-update: SIGKILL
//                                        (kernel: word = OD|W, wakes W1)
//   restore: CAS OD|W -> W1|W: OWNER_DEAD
//   age 0, grants 0: "sleep again":
//   release_all (word = 0), park                                          cond_acquire: OK on the
//                                                                         torn data; nobody ever
//                                                                         reports the death
// (and a G2 member woken by a seq change, age -1, took the same branch), and an interrupted wait
// returned INTERRUPTED over OWNER_DEAD. Now a re-acquire that returns OWNER_DEAD ends the wait:
// the waiter withdraws from its group as a timed-out one does (I1, I2 hold: g1-- or g2--) and
// returns OWNER_DEAD with the lock held at its saved depth; OWNER_DEAD outranks OK, TIMEDOUT and
// INTERRUPTED. A notify granted to it is consumed (it returned), exactly as for OK.
// Regression: tests/test_robust.cpp, CondDeadHolder.WaiterTakingOverADeadHolderReportsIt.
//
// DEAD WAITERS (C10): notify never waits for anyone. A waiter killed in wait stays counted; a
// notify(n) may grant to it (as in Python, where a killed waiter swallows its notification), but
// once notify_all has granted both groups, g1 == g2 == 0 and the dead are forgotten entirely.
// Limits: 65535 waiters per group (a further wait returns EOVERFLOW).
//
// Model: fuzz/model/condition.pml (spin; scripts/model.sh). Its steps stand for:
//   W_lock/W_relock  the bound lock's acquire (caller; b.restore)   W_unlock  b.release_all()
//   W_my     cond_wait: my = rd(gen_) + 1          W_join  wr(sizes_, rd(sizes_) + kG2One)
//   W_seq    cond_wait: s = load(seq_)             W_setS   cond_park: count moved ? woken : CAS S in
//   W_park/end_W_sleep  park(&seq_, s|S, d, bit_of(my))  (cond_park's spin is not a step: it only delays)
//   W_spur   r == woken && the count is still s's -> continue
//   W_decide the age/grants decision after b.restore: OK (retired / grants--), withdraw, or ...
//   W_reseq/W_reunlock  ... sleep again: s = load(seq_); saved = b.release_all()
//   N_read   notify_slow: sz = rd(sizes_)          N_switch  the g1 == 0 branch (gen_, sizes_, state_)
//   N_grant  wr(sizes_, sz - k); store(state_, st + k)
//   N_seq    CAS(seq_, v, count+1, S kept iff sz-k) N_wake   v had S: detail::unpark(&seq_, k, bit_of(gen_))
// Checked there: exact counts (P1), no stolen wake-up (P2), no lost wake-up (P3), no deadlock; and
// that parking without S, or clearing S while G2 has members, loses a wake-up (mutants).
#include <cstring>

#include "impl.hpp"

namespace mpsync {
namespace {
constexpr std::uint32_t kLow = 0xffffu, kG2One = 0x10000u, kKindShift = 16, kKindMask = 3u << kKindShift;
constexpr std::uint32_t kMagic = 0x6d707363u;  // "mpsc"
constexpr std::uint32_t bit_of(std::uint32_t group) { return 1u << (group & 31); }
constexpr std::uint32_t kSleepers = 1u, kSeqOne = 2u;  // seq_: bit 0 S, bits 1-31 the count
inline bool moved(std::uint32_t v, std::uint32_t s) { return ((v ^ s) & ~kSleepers) != 0; }
// gen and sizes change only under the lock, but observers (tests, debuggers, the fuzzers) may
// read them without it: relaxed atomics, which cost nothing over plain accesses.
inline std::uint32_t rd(const std::uint32_t &w) { return arch::load(&w, arch::relaxed); }
inline void wr(std::uint32_t &w, std::uint32_t v) { arch::store(&w, v, arch::relaxed); }
}  // namespace

// The bound lock, resolved: exactly one of lock / rlock is set.
struct detail::cond_lock {
  Lock *lock = nullptr;
  RLock *rlock = nullptr;

  bool is_mine() const noexcept { return lock ? lock->is_mine() : rlock->is_mine(); }
  unsigned release_all() const noexcept {
    if (lock) return lock->release_status() == status::ok ? 1u : 0u;
    return impl::rlock_release_all(*rlock);
  }
  status restore(unsigned count) const noexcept {
    if (lock) return impl::lock_acquire(*lock, deadline{}, false);
    return impl::rlock_restore(*rlock, count);
  }
};

status detail::impl::cond_resolve(Condition &c, cond_lock &out) noexcept {
  const std::uint32_t st = arch::load(&c.state_, arch::relaxed);  // kind bits: read before the lock
  if (st & ~(kLow | kKindMask)) return status::corrupt;
  const std::uint32_t kind = (st & kKindMask) >> kKindShift;
  if (kind == 0) {
    out.rlock = &c.lock_;
    return status::ok;
  }
  if (kind == 3) return status::corrupt;
  const std::uint32_t *slot = slot_words(c.lock_);
  if ((slot[0] ^ slot[1] ^ kMagic) != slot[2] || slot[3] != 0) return status::corrupt;
  const std::int64_t off = static_cast<std::int64_t>((std::uint64_t{slot[1]} << 32) | slot[0]);
  const std::uintptr_t p = reinterpret_cast<std::uintptr_t>(&c) + static_cast<std::uintptr_t>(off);
  if (p % (kind == MPSYNC_KIND_LOCK ? alignof(Lock) : alignof(RLock)) != 0) return status::corrupt;
  if (kind == MPSYNC_KIND_LOCK)
    out.lock = reinterpret_cast<Lock *>(p);
  else
    out.rlock = reinterpret_cast<RLock *>(p);
  return status::ok;
}

status Condition::init(mpsync_lock_kind kind, void *lock) noexcept {
  if (lock && kind != MPSYNC_KIND_LOCK && kind != MPSYNC_KIND_RLOCK) return status::invalid;
  const auto self = reinterpret_cast<std::uintptr_t>(this);
  const auto at = reinterpret_cast<std::uintptr_t>(lock);
  if (lock && at >= self && at < self + sizeof(Condition)) return status::invalid;
  std::memset(static_cast<void *>(this), 0, sizeof *this);
  if (!lock) return status::ok;
  const auto off = static_cast<std::uint64_t>(at - self);
  std::uint32_t *slot = detail::impl::slot_words(lock_);
  slot[0] = static_cast<std::uint32_t>(off);
  slot[1] = static_cast<std::uint32_t>(off >> 32);
  slot[2] = slot[0] ^ slot[1] ^ kMagic;
  arch::store(&state_, static_cast<std::uint32_t>(kind) << kKindShift, arch::relaxed);
  arch::fence(arch::release);
  return status::ok;
}

status Condition::acquire_slow(bool block, timeout t) noexcept {
  detail::cond_lock b;
  if (status s = detail::impl::cond_resolve(*this, b); s != status::ok) return s;
  return b.lock ? b.lock->acquire_status(block, t) : b.rlock->acquire_status(block, t);
}

status Condition::release_slow() noexcept {
  detail::cond_lock b;
  if (status s = detail::impl::cond_resolve(*this, b); s != status::ok) return s;
  if (b.lock) return b.lock->is_mine() ? b.lock->release_status() : status::not_owner;
  return b.rlock->release_status();
}

namespace {
// Sleep until seq's count moves away from s's (or spuriously, at the deadline, on a signal). Spin
// first, as the other slow paths do (runtime/park.hpp): a notifier running on another CPU hands
// over in well under a microsecond, a sleep and a wake cost 10-25 us. Only then announce a
// sleeper (S) and park on the value with S set; a count that moved meanwhile is a park that
// returned at once.
detail::park_result cond_park(std::uint32_t &seq, std::uint32_t s, const detail::deadline &d, std::uint32_t bit) noexcept {
  using detail::park_result;
  if (detail::spin_until([&] { return moved(arch::load(&seq, arch::relaxed), s); })) return park_result::woken;
  std::uint32_t v = arch::load(&seq, arch::relaxed);
  for (;;) {
    if (moved(v, s)) return park_result::woken;
    if ((v & kSleepers) || arch::cas(&seq, v, v | kSleepers, arch::relaxed)) break;
  }
  return detail::park(&seq, v | kSleepers, d, bit);
}
}  // namespace

status detail::impl::cond_wait(Condition &c, const cond_lock &b, const deadline &d) noexcept {
  if (d.ns == deadline::kExpired) return status::timedout;  // wait(0): nothing to wait for
  if ((rd(c.sizes_) >> 16) == kLow) return status::overflow;
  const std::uint32_t my = rd(c.gen_) + 1;
  wr(c.sizes_, rd(c.sizes_) + kG2One);
  std::uint32_t s = arch::load(&c.seq_, arch::relaxed);
  unsigned saved = b.release_all();
  for (;;) {
    const park_result r = cond_park(c.seq_, s, d, bit_of(my));
    if (r == park_result::woken && !moved(arch::load(&c.seq_, arch::relaxed), s)) continue;  // spurious
    const status relock = b.restore(saved);
    if (!acquired(relock)) return relock;  // a garbage lock word (ECORRUPT): nothing is held
    const bool gave_up = r != park_result::woken;
    const auto age = static_cast<std::int32_t>(rd(c.gen_) - my);  // > 0: retired; 0: G1; -1: G2
    status res;
    if (age > 0) {
      res = status::ok;
    } else if (age == 0 && (arch::load(&c.state_, arch::relaxed) & kLow) != 0) {
      arch::store(&c.state_, arch::load(&c.state_, arch::relaxed) - 1, arch::relaxed);
      res = status::ok;
    } else if (age < -1) {
      res = status::corrupt;
    } else if (gave_up || relock == status::owner_dead) {
      // Leave without a grant: timed out, interrupted, or the lock was taken over from a dead
      // owner — that must be reported now (DEAD OWNERS in the header: sleeping again would give
      // the lock back with its OWNER_DIED mark already consumed).
      const std::uint32_t one = age == 0 ? 1u : kG2One;
      const std::uint32_t have = age == 0 ? (rd(c.sizes_) & kLow) : (rd(c.sizes_) >> 16);
      if (have) wr(c.sizes_, rd(c.sizes_) - one);
      res = r == park_result::interrupted ? status::interrupted : status::timedout;
    } else {  // woken by a grant that another member of my group took: sleep again
      s = arch::load(&c.seq_, arch::relaxed);
      saved = b.release_all();
      continue;
    }
    if (relock == status::owner_dead) return status::owner_dead;  // outranks every other outcome
    return res;
  }
}

status Condition::wait_status(timeout t) noexcept {
  detail::cond_lock b;
  if (status s = detail::impl::cond_resolve(*this, b); s != status::ok) return s;
  if (!b.is_mine()) return status::not_owner;
  detail::deadline d;
  if (status s = detail::make_deadline(true, t.seconds(), d); s != status::ok) return s;
  return detail::impl::cond_wait(*this, b, d);
}

status Condition::wait_for_status(int (*pred)(void *), void *ctx, timeout t) noexcept {
  if (!pred) return status::invalid;
  detail::cond_lock b;
  if (status s = detail::impl::cond_resolve(*this, b); s != status::ok) return s;
  if (!b.is_mine()) return status::not_owner;
  detail::deadline d;
  if (status s = detail::make_deadline(true, t.seconds(), d); s != status::ok) return s;
  for (;;) {
    if (pred(ctx)) return status::ok;
    if (detail::expired(d)) return status::timedout;
    const status s = detail::impl::cond_wait(*this, b, d);  // the same deadline: remaining time
    if (s == status::timedout) return pred(ctx) ? status::ok : status::timedout;
    if (s != status::ok) return s;
  }
}

status Condition::notify_slow(unsigned n) noexcept {
  detail::cond_lock b;
  if (status s = detail::impl::cond_resolve(*this, b); s != status::ok) return s;
  if (!b.is_mine()) return status::not_owner;
  while (n > 0) {
    const std::uint32_t sz = rd(sizes_), g1 = sz & kLow, g2 = sz >> 16;
    if (g1 == 0) {
      if (g2 == 0) break;
      wr(gen_, rd(gen_) + 1);  // G2 becomes G1; the old G1 retires (all of it granted)
      wr(sizes_, g2);
      arch::store(&state_, arch::load(&state_, arch::relaxed) & ~kLow, arch::relaxed);
      continue;
    }
    const std::uint32_t k = n < g1 ? n : g1;
    const std::uint32_t st = arch::load(&state_, arch::relaxed);
    if ((st & kLow) + k > kLow) return status::corrupt;
    wr(sizes_, sz - k);
    arch::store(&state_, st + k, arch::relaxed);
    n -= k;
    // Bump the count; S stays set while anyone is still counted in a group (they may sleep on it),
    // and is cleared once this grant leaves nobody: every sleeper is a G1 member this wake covers.
    const std::uint32_t keep = (sz - k) != 0 ? kSleepers : 0u;
    std::uint32_t v = arch::load(&seq_, arch::relaxed);
    while (!arch::cas(&seq_, v, ((v + kSeqOne) & ~kSleepers) | (v & keep), arch::relaxed)) {
    }
    if (v & kSleepers) detail::unpark(&seq_, static_cast<int>(k), bit_of(rd(gen_)));
  }
  return status::ok;
}

}  // namespace mpsync
