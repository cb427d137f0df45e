// park/unpark over the futex and sleep-loop backends (see park.hpp), the deadline arithmetic and
// the interrupt check. No state machine lives here: the primitives own their words.
#include "park.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "futex.hpp"
#include "waiters.hpp"
#include "mpsync/mpsync.hpp"

#ifndef MPSYNC_DEFAULT_SLEEPLOOP
#define MPSYNC_DEFAULT_SLEEPLOOP 0
#endif

namespace mpsync::detail {
namespace {

enum backend_kind : int { kFutex = 0, kSleepLoop = 1 };

int initial_backend() noexcept {
  const char *e = std::getenv("MPSYNC_WAIT_BACKEND");
  if (e && std::strcmp(e, "sleeploop") == 0) return kSleepLoop;
  if (e && std::strcmp(e, "futex") == 0) return kFutex;
  return MPSYNC_DEFAULT_SLEEPLOOP ? kSleepLoop : kFutex;
}

// Read once at start-up (a static initializer runs before main and before any wait); changed only
// by the automatic switch when the kernel refuses futex.
int g_backend = initial_backend();
mpsync_interrupt_fn g_interrupt = nullptr;
int g_untimed_ok = 0;  // signal_handlers::never_restart: an untimed futex wait sees every EINTR

int backend() noexcept { return arch::load(&g_backend, arch::relaxed); }

// The kernel refused futex (seccomp, emulator): everyone in this process polls from now on.
bool futex_refused(int err) noexcept {
  if (err != -ENOSYS && err != -EPERM) return false;
  arch::store(&g_backend, int{kSleepLoop}, arch::relaxed);
  return true;
}

// A signal arrived (EINTR): true if the wait must stop.
bool interrupt_says_stop(bool interruptible) noexcept {
  if (!interruptible) return false;
  mpsync_interrupt_fn fn = arch::load(&g_interrupt, arch::acquire);
  return fn && fn() != 0;
}

// The kernel wants absolute times it can represent; waits beyond ~68 years are re-armed.
constexpr std::int64_t kKernelCap = std::int64_t{0x7fffffff} * 1000000000;

// The sleep-loop backoff, over any "has a word changed?" test (one word: park; several: park_any).
// An interruptible poll (with an interrupt check installed) runs behind the signal gate (futex.hpp):
// a signal that arrives while it polls stays pending until the next nap, which it ends with EINTR,
// so the check always hears of it. (The futex backend has no such gate: a signal handled in the
// instant between its last look at the word and futex_wait leaves no EINTR — sem_wait has the same
// window — and the handler's effect, e.g. Python's pending KeyboardInterrupt, waits for the next
// signal or the end of the wait.)
struct gate_guard {
  explicit gate_guard(bool on) noexcept : on_(on) {
    if (on_) sys::gate_close(g_);
  }
  ~gate_guard() {
    if (on_) sys::gate_open(g_);
  }
  int sleep(std::int64_t ns) const noexcept { return on_ ? sys::sleep_gated(ns, g_) : sys::sleep_ns(ns); }
  bool on_;
  sys::signal_gate g_;
};

template <class Changed>
park_result poll_until(Changed changed, const deadline &d, bool interruptible) noexcept {
  std::int64_t backoff = 1000;  // ns; doubles up to 1 ms
  const gate_guard gate(interruptible && arch::load(&g_interrupt, arch::relaxed));
  for (int i = 0;; ++i) {
    if (changed()) return park_result::woken;
    if (expired(d)) return park_result::timedout;
    if (i < 64) {
      arch::cpu_relax();
    } else if (i < 80) {
      sys::yield();
    } else {
      std::int64_t nap = backoff;
      if (!d.forever()) {
        std::int64_t left = d.ns - now_ns();
        if (left < nap) nap = left > 0 ? left : 0;
      }
      if (gate.sleep(nap) == -EINTR && interrupt_says_stop(interruptible)) return park_result::interrupted;
      if (backoff < 1000000) backoff *= 2;
    }
  }
}

park_result park_sleeploop(const std::uint32_t *word, std::uint32_t expected, const deadline &d,
                           bool interruptible) noexcept {
  return poll_until([&] { return arch::load(word, arch::relaxed) != expected; }, d, interruptible);
}

park_result poll_any(const park_word *w, unsigned n, const deadline &d, bool interruptible) noexcept {
  return poll_until(
      [&] {
        for (unsigned i = 0; i < n; ++i)
          if (arch::load(w[i].word, arch::relaxed) != w[i].expected) return true;
        return false;
      },
      d, interruptible);
}

// futex_waitv refused (ENOSYS: kernel < 5.16 or qemu-user; EPERM: seccomp). This does NOT switch
// the process to the sleeploop backend: plain FUTEX_WAKE still works, and other processes' (and
// this one's) single-object sleepers need this process's releases to keep waking them. Only the
// multi-word sleep polls.
int g_waitv_ok = 1;

int g_spin_iterations = 0;  // 0: not calibrated yet
constexpr std::int64_t kSpinNs = 4000;  // the unit; the spins use kSpinScale (park.hpp) of them
__thread spin_state t_spin __attribute__((tls_model("initial-exec")));

}  // namespace

std::int64_t now_ns() noexcept { return sys::monotonic_ns(); }

int spin_iterations() noexcept {
  int n = arch::load(&g_spin_iterations, arch::relaxed);
  if (__builtin_expect(n != 0, 1)) return n;
  // Calibrate: time 256 relaxes (best of 3, to dodge a preemption), scale to kSpinNs.
  std::int64_t best = INT64_MAX;
  for (int round = 0; round < 3; ++round) {
    const std::int64_t t0 = now_ns();
    for (int i = 0; i < 256; ++i) arch::cpu_relax();
    const std::int64_t dt = now_ns() - t0;
    if (dt < best) best = dt;
  }
  const std::int64_t per = best / 256 > 0 ? best / 256 : 1;  // ns per relax, at least 1
  n = static_cast<int>(kSpinNs / per);
  n = n < 8 ? 8 : n > 4096 ? 4096 : n;
  arch::store(&g_spin_iterations, n, arch::relaxed);
  return n;
}

spin_state &thread_spin() noexcept { return t_spin; }

int cpus() noexcept {
  static const int n = sys::cpus();
  return n;
}

status make_deadline(bool block, double timeout, deadline &d) noexcept {
  if (!block) {  // one try: the timeout is ignored, NaN included
    d.ns = deadline::kExpired;
  } else if (std::isnan(timeout)) {
    return status::invalid;
  } else if (timeout <= 0) {
    d.ns = deadline::kExpired;
  } else if (std::isinf(timeout)) {
    d.ns = deadline::kForever;
  } else {
    const std::int64_t now = now_ns();
    const double add = timeout * 1e9;
    // Saturate: anything past ~292 years from boot is "effectively forever" but still finite.
    d.ns = add >= static_cast<double>(deadline::kForever - 1 - now) ? deadline::kForever - 1
                                                                     : now + static_cast<std::int64_t>(add);
  }
  return status::ok;
}

bool expired(const deadline &d) noexcept {
  if (d.ns == deadline::kExpired) return true;
  return !d.forever() && now_ns() >= d.ns;
}

park_result park(const std::uint32_t *word, std::uint32_t expected, const deadline &d, std::uint32_t bitset,
                 bool interruptible) noexcept {
  if (d.ns == deadline::kExpired) return park_result::timedout;
  const waiters::published pub(word, layout::kWaitPlain);  // mpsync-inspect sees this wait
  if (backend() == kSleepLoop) return park_sleeploop(word, expected, d, interruptible);
  // A timed futex wait returns EINTR for every handled signal, even with SA_RESTART, so the
  // interrupt check sees each signal (an untimed wait would restart silently). So a forever wait
  // passes the kernel-cap timeout when an interrupt check is installed — and no timeout when none
  // is: then nothing could act on EINTR, and the kernel need not arm an hrtimer per sleep (that
  // measured ~0.8 µs per pinned ping-pong round trip, two sleeps).
  // (Unless the program said its handlers never restart: mpsync.hpp's set_interrupt_check.)
  const bool untimed = d.forever() && !(interruptible && arch::load(&g_interrupt, arch::relaxed) &&
                                        !arch::load(&g_untimed_ok, arch::relaxed));
  for (;;) {
    const std::int64_t abs = untimed ? -1 : d.ns < kKernelCap ? d.ns : kKernelCap;
    const int r = sys::futex_wait(word, expected, abs, bitset);
    if (r == 0 || r == -EAGAIN) return park_result::woken;
    if (r == -ETIMEDOUT) {
      if (d.ns <= kKernelCap || expired(d)) return park_result::timedout;
      continue;  // a deadline beyond the kernel cap: re-arm
    }
    if (r == -EINTR) {
      if (interrupt_says_stop(interruptible)) return park_result::interrupted;
      continue;  // same absolute deadline: a signal never extends a wait
    }
    if (futex_refused(r)) return park_sleeploop(word, expected, d, interruptible);
    return park_result::woken;  // EFAULT/EINVAL: let the caller re-check its word
  }
}

// One futex_waitv per sleep. Entries are built once; EINTR resumes with the same absolute deadline.
// Caveat: with an SA_RESTART handler the kernel restarts futex_waitv itself (-ERESTARTSYS, unlike
// a timed FUTEX_WAIT), so such a signal never reaches the interrupt check here; a handler installed
// without SA_RESTART (Python's) does.
park_result park_any(const park_word *w, unsigned n, const deadline &d, bool interruptible) noexcept {
  if (d.ns == deadline::kExpired) return park_result::timedout;
  if (n == 1) return park(w[0].word, w[0].expected, d, 0xffffffffu, interruptible);
  constexpr unsigned kShown = 8;  // mpsync-inspect lists a wait-any under its first kShown words
  waiters::published pub[kShown];
  for (unsigned i = 0; i < n && i < kShown; ++i) pub[i].add(w[i].word, layout::kWaitAny);
  if (backend() == kSleepLoop || !arch::load(&g_waitv_ok, arch::relaxed) || n > sys::kWaitvMax)
    return poll_any(w, n, d, interruptible);
  sys::waitv_entry v[sys::kWaitvMax];
  for (unsigned i = 0; i < n; ++i) sys::waitv_set(v[i], w[i].word, w[i].expected);
  for (;;) {
    const std::int64_t abs = d.ns < kKernelCap ? d.ns : kKernelCap;
    const int r = sys::futex_waitv(v, n, abs);
    if (r >= 0 || r == -EAGAIN) return park_result::woken;
    if (r == -ETIMEDOUT) {
      if (d.ns <= kKernelCap || expired(d)) return park_result::timedout;
      continue;
    }
    if (r == -EINTR) {
      if (interrupt_says_stop(interruptible)) return park_result::interrupted;
      continue;
    }
    if (r == -ENOSYS || r == -EPERM) arch::store(&g_waitv_ok, 0, arch::relaxed);
    return poll_any(w, n, d, interruptible);  // refused, or EINVAL/EFAULT: poll this wait
  }
}

bool waitv_refused() noexcept { return !arch::load(&g_waitv_ok, arch::relaxed); }

void unpark(const std::uint32_t *word, int n, std::uint32_t bitset) noexcept {
  if (backend() == kSleepLoop) return;  // pollers see the word change
  futex_refused(sys::futex_wake(word, n, bitset));
}

}  // namespace mpsync::detail

extern "C" void mpsync_set_interrupt_check(mpsync_interrupt_fn fn) {
  mpsync::set_interrupt_check(fn, mpsync::signal_handlers::may_restart);
}
void mpsync::set_interrupt_check(interrupt_fn fn, signal_handlers handlers) noexcept {
  mpsync::arch::store(&mpsync::detail::g_untimed_ok, handlers == signal_handlers::never_restart ? 1 : 0,
                      mpsync::arch::relaxed);
  mpsync::arch::store(&mpsync::detail::g_interrupt, fn, mpsync::arch::release);
}
extern "C" const char *mpsync_backend(void) {
  return mpsync::detail::backend() == mpsync::detail::kSleepLoop ? "sleeploop" : "futex";
}
