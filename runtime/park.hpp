// The park/unpark interface every primitive's slow path uses, over two backends:
//   futex      FUTEX_WAIT_BITSET / FUTEX_WAKE_BITSET (shared), absolute CLOCK_MONOTONIC deadlines
//   sleeploop  no futex at all: poll the word with spins, yields, then sleeps growing from 1 µs to a
//              1 ms cap, never past the deadline (wake-up latency <= ~1 ms + scheduling)
// Chosen by the meson option wait_backend and, at start-up, MPSYNC_WAIT_BACKEND; if the kernel
// refuses futex (ENOSYS/EPERM: seccomp, emulators) mpsync switches to sleeploop by itself.
// All processes sharing an object must use the same backend (a sleeploop releaser never wakes a
// futex sleeper).
//
// Contract: park() returns when the word may no longer equal `expected` (or spuriously), at the
// deadline, or on a signal when the interrupt check says stop. Callers always re-check their word.
// EINTR is handled here, once: the wait resumes with the same absolute deadline.
#ifndef MPSYNC_RUNTIME_PARK_HPP
#define MPSYNC_RUNTIME_PARK_HPP

#include <cstdint>

#include "mpsync/detail/core.hpp"
#include "mpsync/status.hpp"

namespace mpsync::detail {

struct deadline {
  static constexpr std::int64_t kExpired = -1;         // a non-blocking try: no clock read
  static constexpr std::int64_t kForever = INT64_MAX;
  std::int64_t ns = kForever;                         // absolute CLOCK_MONOTONIC
  bool forever() const noexcept { return ns == kForever; }
};

// Python's (block, timeout) -> a deadline. block false: expired (timeout ignored, even NaN);
// NaN: invalid; timeout <= 0: expired;
// +inf: forever; huge finite values saturate.
status make_deadline(bool block, double timeout, deadline &d) noexcept;
bool expired(const deadline &d) noexcept;
std::int64_t now_ns() noexcept;

enum class park_result { woken, timedout, interrupted };

park_result park(const std::uint32_t *word, std::uint32_t expected, const deadline &d,
                 std::uint32_t bitset = 0xffffffffu, bool interruptible = true) noexcept;
void unpark(const std::uint32_t *word, int n, std::uint32_t bitset = 0xffffffffu) noexcept;
inline constexpr int kAll = 0x7fffffff;

// Several words at once (mpsync_wait_any, runtime/wait_any.cpp): returns when any word may no
// longer hold its expected value (or spuriously), at the deadline, or on a signal when the
// interrupt check says stop. futex backend: one futex_waitv (n >= 2; n == 1 is park()); where the
// kernel refuses futex_waitv (ENOSYS/EPERM: < 5.16, seccomp, qemu-user) or on the sleeploop
// backend it polls all n words with park()'s sleep-loop backoff. n in 1..128.
struct park_word {
  const std::uint32_t *word;
  std::uint32_t expected;
};
park_result park_any(const park_word *w, unsigned n, const deadline &d, bool interruptible = true) noexcept;
bool waitv_refused() noexcept;  // futex_waitv was refused in this process (polling from now on)

// Spinning before parking. A cache-line hand-off to a running partner costs ~0.1 µs; a sleep/wake
// round trip 10-25 µs, and a partner that has just been woken needs about that long before it
// runs. Both spins below share one budget, kSpinScale x spin_iterations() relaxes (calibrated once:
// cpu_relax costs 3-40 ns depending on the core; ~16 µs here), which covers a partner's wake-up: a
// shorter one (4 µs) made both sides of a ping-pong sleep every time — each spin ran out while the
// other side was still waking, so each side slept, and stayed in that state (Semaphore pair 6.3 µs,
// Event pair 2.4 µs per round trip, processes, unpinned; 180 ns and 135 ns with 16 µs, idle machine).
// The budget adapts per thread: four spins in a row that do not pay (the partner is not running,
// e.g. both pinned to one CPU) halve it, down to 1/128 (~125 ns); one that pays restores it; and
// every 128th attempt at the minimum probes the full length, so a thread that moved to another CPU
// recovers. Pinned, that is by arithmetic ~0.25 µs per wait on average (125 ns, plus 16 µs / 128),
// against a ~7 µs sleep/wake round trip; measured pinned pairs sat at 1.01-1.14x the bare futex
// floor (bench/report/REPORT.md).
int spin_iterations() noexcept;  // calibrated ~4 µs of arch::cpu_relax()
inline constexpr int kSpinScale = 4;
inline constexpr unsigned kSpinMaxShift = 7;
struct spin_state {
  unsigned shift = 0;  // the budget is (spin_iterations() * kSpinScale) >> shift, shift in [0, kSpinMaxShift]
  unsigned misses = 0;  // consecutive spins that did not pay
  unsigned probe = 0;
};
spin_state &thread_spin() noexcept;
// CPUs this process may run on, read once per process (at the first call): spinning pays only
// while the thread it waits for can run at the same time, so waits that need many parties running
// (Barrier) spin only when the parties fit on the CPUs.
int cpus() noexcept;

// The adaptive budget, in relaxes, for the next spin.
inline int spin_budget(spin_state &st) noexcept {
  const bool probing = st.shift == kSpinMaxShift && (++st.probe & 127) == 0;
  return (spin_iterations() * kSpinScale) >> (probing ? 0 : st.shift);
}
inline void spin_paid(spin_state &st) noexcept { st.shift = st.misses = 0; }
inline void spin_missed(spin_state &st) noexcept {
  if (++st.misses >= 4 && st.shift < kSpinMaxShift) {
    ++st.shift;
    st.misses = 0;
  }
}

template <class Ready>
inline bool spin_until(Ready ready) noexcept {
  spin_state &st = thread_spin();
  const int n = spin_budget(st);
  for (int i = 0; i < n; ++i) {
    if (ready()) {
      spin_paid(st);
      return true;
    }
    arch::cpu_relax();
  }
  if (ready()) return true;
  spin_missed(st);
  return false;
}

// Spinning for a lock word (Lock, RLock: runtime/lock.cpp, runtime/rlock.cpp) — the contention
// policy. spin_until() above polls as fast as it can, which is what a hand-off wants (a partner
// spinning on a Semaphore or Event while the other works). A lock that many want behaves
// differently: every poll of a spinner pulls the line away from the holder, whose next release
// and re-acquire then pay a cache miss each. So:
//   - poll with a plain load, with exponential backoff between polls (1, 2, 4, ... up to
//     kLockBackoffMax relaxes, ~0.2 µs here), and attempt the CAS only when the word reads free;
//     a failed CAS (another running thread barged in) keeps spinning;
//   - stop spinning at once when the word shows sleepers (W): the releaser will wake one of them,
//     and extra spinners would only fight over the line — with more threads than cores (4 and 8
//     participants on 2 cores) the spinners would also burn the holder's CPU. Not for a W on a
//     Lock the spinner itself holds (a hand-off: the partner releases it): that W is the
//     spinner's own "assume waiters" mark, and heeding it made such a hand-off sleep every round
//     once it had slept once (runtime/lock.cpp);
//   - spin at most the shared budget above (~16 µs: a sleep/wake round trip costs 10-25 µs, so a
//     longer spin cannot pay), adapting exactly as spin_until's does, so when spinning cannot
//     succeed — holder and waiter pinned to one CPU — it costs almost nothing. A word found free
//     at the first poll is no evidence either way and leaves the budget alone: otherwise, pinned,
//     every uncontended re-acquire restored the full budget and the next contended one burned
//     it while the holder could not run (Condition + turn variable, pinned: 41.7 µs round trip
//     vs 12.9-14.2 µs with this rule; pthread_cond 14.4 µs).
// Measured (bench_contended, 2 vCPU EPYC, processes, record + 0 ns critical section, ~100 ns
// between acquisitions, medians of 3-5 windows of 100 ms, one session, started idle; run-to-run
// noise on this VM is +-30 %): the old policy (spin_until's tight polling, ~4 µs) gave 8.7-15.1 M
// ops/s; no spin at all 12.6-13.1; backoff capped at 64 relaxes 12.4-15.8; capped at 4, 8 or 16
// relaxes 12.5-18.7 with no cap clearly better than another (8 is the middle); pthread_mutex
// 10.0-12.8. Budget: ~4 µs (154 relaxes of ~26 ns) lost the partner of the Lock hand-off (7 µs
// round trip) where ~15 µs keeps it (0.9-1.4 µs); ~100 µs, without the adaptive budget, made the
// unpinned hand-off faster still (0.14 µs) and the pinned one slower (9.9 vs 7.4 µs); 15 µs stays
// below one sleep/wake round trip. With a ~1 µs critical section no setting beat pthread_mutex by
// more than noise: at glibc's ~0.7 M ops/s the section alone fills ~70 % of every operation, and
// the rest is the hand-over gap; polling without backoff once the
// wait passed ~0.6 µs (a long hold) measured +10 % there and -20 % with the 0-ns section (noise
// is as large): not adopted.
inline constexpr int kLockBackoffMax = 8;

// poll(): > 0 done (the lock was taken, or is free to take: the caller's loop decides), < 0 stop
// spinning (sleepers), 0 keep spinning. Returns poll's last verdict (0: the budget ran out).
template <class Poll>
inline int spin_take(Poll poll) noexcept {
  spin_state &st = thread_spin();
  const int budget = spin_budget(st);
  int delay = 1;
  for (int spent = 0;; spent += delay) {
    const int r = poll();
    if (r > 0) {
      if (spent > 0) spin_paid(st);  // a word free at once says nothing
      return r;
    }
    if (r < 0) return r;
    if (spent >= budget) break;
    for (int i = 0; i < delay; ++i) arch::cpu_relax();
    if (delay < kLockBackoffMax) delay *= 2;
  }
  spin_missed(st);
  return 0;
}

}  // namespace mpsync::detail

#endif
