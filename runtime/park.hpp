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

// Spinning before parking (about one syscall's worth, ~1 µs): a cache-line handoff to a running
// partner costs ~0.1 µs, a sleep/wake round trip 10-25 µs. The iteration count is calibrated once
// (cpu_relax costs 3-40 ns depending on the core), and adapts per thread: a spin that does not pay
// four times in a row (the partner is not running, e.g. both pinned to one CPU) halves the budget, down to a single
// iteration; a spin that pays restores it; and every 64th attempt at the minimum probes full length,
// so a thread that moved to another CPU recovers.
int spin_iterations() noexcept;  // calibrated ~1 µs of arch::cpu_relax()
struct spin_state {
  unsigned shift = 0;  // the budget is spin_iterations() >> shift, shift in [0, 5]
  unsigned misses = 0;  // consecutive spins that did not pay
  unsigned probe = 0;
};
spin_state &thread_spin() noexcept;

template <class Ready>
inline bool spin_until(Ready ready) noexcept {
  spin_state &st = thread_spin();
  const bool probing = st.shift == 5 && (++st.probe & 63) == 0;
  const int n = spin_iterations() >> (probing ? 0 : st.shift);
  for (int i = 0; i < n; ++i) {
    if (ready()) {
      st.shift = st.misses = 0;
      return true;
    }
    arch::cpu_relax();
  }
  if (ready()) return true;
  if (++st.misses >= 4 && st.shift < 5) {
    ++st.shift;
    st.misses = 0;
  }
  return false;
}

}  // namespace mpsync::detail

#endif
