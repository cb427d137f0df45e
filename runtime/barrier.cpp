// mpsync::Barrier — generations instead of Python's lock + condition + state variable.
//
// LAYOUT (16 bytes)
//   state    one 64-bit word: phase (high 32 bits) | arrived (low 32 bits)
//            phase = G << 18 | ENDED_BY_RESET (bits 2-17) | W (bit 1) | BROKEN (bit 0)
//              G       generation (14 bits, wraps): +1 each time a cycle completes or is reset
//              ENDED_BY_RESET  bit (g % 16) says how generation g ended: 1 reset (its waiters
//                      return BROKEN), 0 completed (they return OK). Kept in the same word as G so
//                      a waiter that wakes late — after "reset, then a whole new cycle" — still
//                      learns the fate of its own generation; exact while it wakes before 16
//                      further generations end (only possible with more threads than parties)
//              W       a waiter may be asleep on the phase half (futex_wait needs 32 bits: it waits
//                      on the high half, as glibc's sem_t waits on one half of its 64-bit word)
//              BROKEN  broken until reset()
//            arrived = waiters of generation G so far; == parties while the action runs
//   parties  fixed at init (0 is not a valid barrier: ECORRUPT)
//
// STATES (arrived a, parties P)
//   filling  0 <= a < P, !BROKEN      an arrival CASes a -> a+1 (index a) and sleeps until G moves
//   action   a == P, !BROKEN          the last arriver runs the action; late extra threads wait
//                                     for G to move, then arrive in the next generation; one
//                                     whose deadline passes (or that is interrupted) first
//                                     returns BROKEN (INTERRUPTED) and leaves G alone: it is no
//                                     party of G
//   broken   BROKEN                   every wait returns BROKEN at once, until reset()
// a > P is unreachable: ECORRUPT.
//
// TRANSITIONS AND MEMORY ORDER
//   arrive      (G, a) -> (G, a+1)        CAS acq_rel: orders this party's pre-barrier writes
//                                         before the completing arrival reads the word
//   complete    (G, P) -> (G+1, 0)        CAS release by the last arriver after its action (clears
//                                         ENDED_BY_RESET bit G%16); the
//                                         waiters' acquire load of G+1 reads-from it, so all
//                                         writes before every party's wait happen-before every
//                                         party's return (the barrier's whole point)
//   break       BROKEN set (same G)       by a timed-out or interrupted party of G, a failed action, abort()
//   reset       (G, a) -> (G+1, 0)        sets ENDED_BY_RESET bit G%16, clears BROKEN; the old
//                                         generation's sleepers get BROKEN
// Every phase change that can find sleepers drops W and wakes all if W was set.
//
// NO LOST WAKE-UP
//   CPU0 (waiter, generation G)            CPU1 (last arriver)
//   CAS(state -> state | W<<32)
//   futex_wait(phase, G|W)                 CAS((G|W, P) -> (G+1, 0))
//                                          futex_wake(phase, all)
// The kernel compares the phase half with G|W: if CPU1's CAS came first, EAGAIN and CPU0 sees
// G+1; otherwise CPU0 is queued and woken. Every transition out of generation G wakes all, so
// dropping W loses nobody.
//
// A party that dies never arrives: the others return BROKEN at their timeout, and wait forever
// without one (Python's behaviour).
//
// Model: fuzz/model/barrier.pml (spin; scripts/model.sh). Its steps stand for:
//   B_load    wait_status: s = load(state_)        B_arrive  the arrive loop's tests on (ph, a)
//   B_drain   the a == P branch (expired: reload, BROKEN if still G's action; sleep_on)
//   B_last    cas(state_, s, pack(ph, P)); then the action
//   B_cur     cur = load(state_)                   B_turn    the do/while cas(state_, cur, next)
//   B_wake    if (hi(cur) & kW) wake_all
//   B_join    cas(state_, s, s + 1)                B_loop    the wait-for-the-generation loop
//   (the second-to-last arriver's spin_until before B_loop is not a step: it reads the word and
//   only delays, so the model covers it)
//   G_load/G_cas/G_wake  break_gen                 S_cas/S_park/end_B_sleep  sleep_on + park
//   C_rload/C_rcas/C_rwake  reset()                C_abort/C_awake  abort()
// Checked there: lock-step, action once, indexes, each thread gets its generation's fate (also
// when it wakes late), no lost wake-up, no deadlock.
#include "impl.hpp"

namespace mpsync {
namespace {
constexpr std::uint32_t kBroken = 1, kW = 2, kGen = 1u << 18, kGenMask = ~(kGen - 1), kEnded = 0xffffu << 2;
// The ENDED_BY_RESET bit of the generation whose number (gen field, unshifted) is in `phase`.
constexpr std::uint32_t ended_bit(std::uint32_t phase) { return 4u << ((phase >> 18) & 15); }
// The phase that opens the generation after `ph`'s, recording how `ph`'s ended.
constexpr std::uint32_t next_phase(std::uint32_t ph, bool by_reset) {
  const std::uint32_t ended = by_reset ? ((ph & kEnded) | ended_bit(ph)) : ((ph & kEnded) & ~ended_bit(ph));
  return ((ph & kGenMask) + kGen) | ended;
}

constexpr std::uint32_t lo(std::uint64_t s) { return static_cast<std::uint32_t>(s); }
constexpr std::uint32_t hi(std::uint64_t s) { return static_cast<std::uint32_t>(s >> 32); }
constexpr std::uint64_t pack(std::uint32_t phase, std::uint32_t arrived) {
  return (std::uint64_t{phase} << 32) | arrived;
}
const std::uint32_t *phase_word(const std::uint64_t *s) {
  return reinterpret_cast<const std::uint32_t *>(reinterpret_cast<const char *>(s) + arch::high_half_offset);
}
void wake_all(std::uint64_t *s) { detail::unpark(phase_word(s), detail::kAll); }

// Set BROKEN if the barrier is still in generation `gen`; false if the generation moved first.
bool break_gen(std::uint64_t *state, std::uint32_t gen) noexcept {
  std::uint64_t s = arch::load(state, arch::relaxed);
  for (;;) {
    if ((hi(s) & kGenMask) != gen) return false;
    if (arch::cas(state, s, pack((hi(s) | kBroken) & ~kW, lo(s)), arch::acq_rel)) break;
  }
  if (hi(s) & kW) wake_all(state);
  return true;
}

// Sleep until the phase differs from `ph` (sets W first). Returns the park result.
detail::park_result sleep_on(std::uint64_t *state, std::uint64_t s, const detail::deadline &d) noexcept {
  if (!(hi(s) & kW)) {
    const std::uint64_t with_w = s | (std::uint64_t{kW} << 32);
    if (!arch::cas(state, s, with_w, arch::relaxed)) return detail::park_result::woken;  // re-check
    s = with_w;
  }
  return detail::park(phase_word(state), hi(s), d);
}
}  // namespace

status Barrier::init(unsigned parties) noexcept {
  if (parties == 0) return status::invalid;
  arch::store(&parties_, parties, arch::relaxed);
  arch::store(&reserved_, 0u, arch::relaxed);
  arch::store(&state_, std::uint64_t{0}, arch::release);
  return status::ok;
}

status Barrier::wait_status(timeout t, int (*action)(void *), void *ctx, unsigned *index) noexcept {
  const std::uint32_t P = arch::load(&parties_, arch::relaxed);
  if (P == 0) return status::corrupt;
  detail::deadline d;
  if (status st = detail::make_deadline(true, t.seconds(), d); st != status::ok) return st;

  std::uint64_t s = arch::load(&state_, arch::acquire);
  for (;;) {  // arrive
    const std::uint32_t a = lo(s), ph = hi(s);
    if (ph & kBroken) return status::broken;
    if (a > P) return status::corrupt;
    if (a == P) {  // the action of this generation is running: wait for the next one
      // This thread is no party of generation G, whose parties have all arrived: its deadline
      // or an interrupt must not break G (fuzz/fuzz_schedule found that it did, failing a full
      // cycle; tests/test_fuzz_regress.cpp). It gives up without touching the word; if G has
      // just turned, it arrives in the next generation instead, where an expired deadline
      // breaks that one (Python: it would join the next cycle, then time out there).
      if (detail::expired(d)) {
        s = arch::load(&state_, arch::acquire);
        if ((hi(s) & kGenMask) == (ph & kGenMask) && lo(s) == P && !(hi(s) & kBroken)) return status::broken;
        continue;
      }
      if (sleep_on(&state_, s, d) == detail::park_result::interrupted) return status::interrupted;
      s = arch::load(&state_, arch::acquire);
      continue;
    }
    if (a + 1 == P) {  // the last arriver: run the action, then turn the generation
      if (!arch::cas(&state_, s, pack(ph, P), arch::acq_rel, arch::acquire)) continue;
      const int rc = action ? action(ctx) : 0;
      std::uint64_t cur = arch::load(&state_, arch::relaxed);
      std::uint64_t next;
      do {
        if ((hi(cur) & kGenMask) != (ph & kGenMask) || (hi(cur) & kBroken)) return status::broken;
        next = rc == 0 ? pack(next_phase(ph, false), 0) : pack((hi(cur) | kBroken) & ~kW, lo(cur));
      } while (!arch::cas(&state_, cur, next, arch::release));
      if (hi(cur) & kW) wake_all(&state_);
      if (rc != 0) return status::broken;
      if (index) *index = P - 1;
      return status::ok;
    }
    if (arch::cas(&state_, s, s + 1, arch::acq_rel, arch::acquire)) {
      const std::uint32_t gen = ph & kGenMask;
      // The second-to-last arriver spins before it sleeps (runtime/park.hpp) when all parties fit
      // on the CPUs: the last one is then probably running and turns the generation in well
      // under a microsecond, where a sleep and a wake cost 10-25 us (2 processes: 0.12 us vs
      // pthread_barrier's 35 us a cycle). With more parties than CPUs it sleeps at once, as the
      // earlier arrivers always do: spinning keeps the missing parties off the CPUs (4 and 8
      // parties on 2 CPUs: 54-63 us a cycle with the spin, 40-47 us without; glibc 41-50 us).
      if (a + 2 == P && P <= static_cast<std::uint32_t>(detail::cpus()))
        detail::spin_until([&] {
          const std::uint32_t now = hi(arch::load(&state_, arch::relaxed));
          return (now & kGenMask) != gen || (now & kBroken);
        });
      for (;;) {  // wait for the generation to move
        s = arch::load(&state_, arch::acquire);
        const std::uint32_t now = hi(s);
        if ((now & kGenMask) != gen) {  // how did my generation end?
          if (now & ended_bit(ph)) return status::broken;
          if (index) *index = a;
          return status::ok;
        }
        if (now & kBroken) return status::broken;
        if (detail::expired(d)) {
          if (break_gen(&state_, gen)) return status::broken;
          continue;  // the generation moved just now: decide on it
        }
        if (sleep_on(&state_, s, d) == detail::park_result::interrupted) {
          if (break_gen(&state_, gen)) return status::interrupted;
        }
      }
    }
  }
}

void Barrier::reset() noexcept {
  std::uint64_t s = arch::load(&state_, arch::relaxed);
  while (!arch::cas(&state_, s, pack(next_phase(hi(s), true), 0), arch::acq_rel)) {
  }
  if (hi(s) & kW) wake_all(&state_);
}

void Barrier::abort() noexcept {
  const std::uint64_t s = arch::fetch_or(&state_, std::uint64_t{kBroken} << 32, arch::acq_rel);
  if (hi(s) & kW) wake_all(&state_);
}

unsigned Barrier::n_waiting() const noexcept {
  const std::uint64_t s = arch::load(&state_, arch::relaxed);
  if (hi(s) & kBroken) return 0;
  const std::uint32_t P = parties();
  return lo(s) < P ? lo(s) : P;
}

bool Barrier::broken() const noexcept { return hi(arch::load(&state_, arch::relaxed)) & kBroken; }

}  // namespace mpsync
