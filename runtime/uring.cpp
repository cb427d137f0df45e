// mpsync_uring_* — asynchronous waits through the caller's io_uring (IORING_OP_FUTEX_WAIT, Linux
// 6.7+). Built only with liburing (meson option `uring`), though it calls no liburing function: the
// SQE is filled by hand (liburing 2.3 has no futex helpers) and the probe uses raw syscalls. The
// only syscalls here are the probe's io_uring_setup / io_uring_register / close.
//
// STATE (mpsync_uring_wait_t, owned by the caller, one per wait in flight)
//   item   the waitable {kind, object}
//   expected  the value the SQE waits on (RLock fallback: the owner seen at arm time)
//   since  Event only: the generation at the first arm (runtime/waitable.hpp, wait_target::since)
//   state  0 idle: the next prep starts a new wait (a plain try first)
//          kArmed: prep announced W on the item and filled an SQE; complete/abandon end it, except
//                  a REARM, which keeps kArmed (and `since`) for the next prep
//          kWatch: with kArmed, an RLock whose owner is not on a kernel robust list
//   Only the thread handling the wait touches it: no atomics.
//
// THE PROTOCOL — each primitive's own (runtime/{lock,rlock,semaphore,event}.cpp), through the
// per-kind interface of runtime/waitable.hpp, with the io_uring wait in place of futex_wait:
//   prep      try_take(item) (idle only); arm(item): set W, capture {word, expected}; fill the SQE:
//             opcode 51, fd = FUTEX2_SIZE_U32 (never FUTEX2_PRIVATE: other processes' wakes and the
//             kernel's robust death wake are shared wakes), addr = word, addr2 = expected,
//             addr3 = FUTEX_BITSET_MATCH_ANY; len, futex_flags, buf_index, file_index = 0.
//   CQE 0 (woken) or -EAGAIN (the word moved before the kernel's compare)
//             complete: try_take(item, armed) — an armed take keeps W ("assume others sleep"), an
//             Event also counts a generation change since the first arm (CONFORMANCE E3);
//             busy -> pass_on (W set again, or wake one if it became free) and REARM.
//   CQE -ECANCELED (linked timeout or ASYNC_CANCEL): TIMEDOUT. Nothing was absorbed (below).
//   abandon   res >= 0: pass_on(item); otherwise nothing is owed.
// Memory order comes from the primitives: the take is an acquire CAS reading-from the release
// that freed the item; W is a relaxed CAS ordered against the release by the futex hash-bucket
// lock, where the kernel compares *word with `expected` at issue time (io_futex_wait ->
// futex_wait_setup), exactly as for the futex_wait syscall. The SQE reaches the kernel through
// liburing's release store of the SQ tail.
//
// NO LOST WAKE-UP 1: arm vs release (Semaphore, value 0; Lock/RLock are the same with T|W)
//   CPU0 (event loop)                      CPU1 (releaser, any process)
//   arm: CAS(0 -> W); SQE {word, W}
//   io_uring_submit: issue compares        CAS(W -> 1)          /* drops W: CPU1 owes a wake */
//     *word == W under the bucket lock     futex_wake(word, 1)
// If CPU1's CAS is first, the compare fails: CQE -EAGAIN, complete takes the token. Otherwise the
// wait is queued before CPU1's wake looks, the wake marks it: CQE 0, complete takes. The SQE may sit
// unsubmitted for any time after arm: the compare happens at issue, so the window is the same as
// a blocking waiter's between its W CAS and its futex_wait.
//
// NO LOST WAKE-UP 2: woken, then cancelled (or its deadline passed, or the loop shuts down)
//   CPU0 (event loop, wait U)    CPU1 (releaser)                 CPU2 (S2 in sem_acquire)
//   U queued (W set)                                             queued behind U
//                                CAS(W -> 1), wake(1): marks U   /* W is now clear */
//   ASYNC_CANCEL(U): -ENOENT     (U is off the queue: the CQE res 0 is on its way)
//   reap U: res 0 -> abandon: pass_on: C = 1 -> futex_wake(1) ----> S2 runs, takes the token
// Without the pass-on S2 sleeps forever beside C = 1. The kernel makes "woken" and "cancelled"
// exclusive: the waker marks and unqueues the futex_q (__futex_wake_mark) and the cancel unqueues
// it (futex_unqueue) under the same bucket lock, and whoever comes second finds it gone. So a
// -ECANCELED wait absorbed no wake (the waker skipped it and counted the next waiter), and a woken
// wait always reports res 0 — whatever the loop meant to do with it, that CQE carries the wake.
//
// NO LOST WAKE-UP 3: timed out, then woken (linked IORING_OP_LINK_TIMEOUT at T, release at T+e)
//   timeout first: U cancelled (-ECANCELED, nothing absorbed); the release finds W (set at arm)
//                  and its wake goes to S2 (or to nobody: then W is only stale, a spare wake).
//   release first: U woken (res 0), the timeout is cancelled; key on U's CQE: complete acquires
//                  (the wake came before the deadline), or the loop applies its own deadline and
//                  abandons -> pass_on, as in 2.
//
// NO LOST WAKE-UP 4: woken, but a barger took it (REARM)
//   CPU0 (loop, U)          CPU1 (holder)                 CPU2 (barger)       CPU3 (S2 asleep)
//                           CAS(T|W -> 0), wake -> U
//                                                         CAS(0 -> B)  /* fast path: no W */
//   complete: busy, pass_on: CAS(B -> B|W); REARM
//                                                         release: B|W -> 0, wake -> S2 (or U re-armed)
// complete re-sets W before it reports REARM, so a loop that drops the wait owes nothing.
//
// Event: set() wakes every sleeper and no waiter consumes anything, so nothing is ever passed on.
// RLock: the kernel's robust exit marks the word OWNER_DIED and wakes one sleeper with a shared
// wake, which completes an io_uring wait too (kernel_glibc_notes §5.3); complete then takes with
// OWNER_DEAD, abandon passes the wake on (an OWNER_DIED word without a TID is free: wake one).
// The owner of an RLock taken in complete is the calling thread (robust-list bracket included).
#include <linux/time_types.h>  // __kernel_timespec, which liburing/io_uring.h uses
#include <liburing/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "waitable.hpp"

namespace {
using mpsync::status;
using mpsync::detail::take_result;
using mpsync::detail::wait_target;

constexpr std::uint8_t kOpFutexWait = 51;      // IORING_OP_FUTEX_WAIT (not in liburing 2.3)
constexpr std::int32_t kFutex2SizeU32 = 0x02;  // FUTEX2_SIZE_U32; FUTEX2_PRIVATE (0x80) never
constexpr std::uint64_t kMatchAny = 0xffffffffu;
constexpr std::uint32_t kArmed = 1, kWatch = 2;

struct probe_result {
  bool ok;
  const char *why;
};

probe_result run_probe() noexcept {
  if (const char *e = std::getenv("MPSYNC_URING"); e && std::strcmp(e, "0") == 0)
    return {false, "disabled by MPSYNC_URING=0"};
  io_uring_params params;
  std::memset(&params, 0, sizeof params);
  const long fd = syscall(__NR_io_uring_setup, 1u, &params);
  if (fd < 0) {
    switch (errno) {
      case ENOSYS: return {false, "io_uring_setup: ENOSYS (no io_uring: CONFIG_IO_URING=n, kernel < 5.1, or qemu-user)"};
      case EPERM: return {false, "io_uring_setup: EPERM (seccomp profile, or sysctl kernel.io_uring_disabled)"};
      case ENOMEM: return {false, "io_uring_setup: ENOMEM (RLIMIT_MEMLOCK on kernels before 5.12)"};
      default: return {false, "io_uring_setup failed"};
    }
  }
  // IORING_REGISTER_PROBE (5.6+): op 51 flagged supported means FUTEX_WAIT exists (6.7+) and the
  // kernel has CONFIG_FUTEX. LINK_TIMEOUT (15) and ASYNC_CANCEL (14) are older than the probe.
  constexpr unsigned kOps = 256;
  alignas(io_uring_probe) unsigned char buf[sizeof(io_uring_probe) + kOps * sizeof(io_uring_probe_op)];
  std::memset(buf, 0, sizeof buf);
  auto *probe = reinterpret_cast<io_uring_probe *>(buf);
  const long r = syscall(__NR_io_uring_register, static_cast<unsigned>(fd), IORING_REGISTER_PROBE, probe, kOps);
  close(static_cast<int>(fd));
  if (r < 0) return {false, "IORING_REGISTER_PROBE refused (kernel < 5.6)"};
  if (probe->last_op < kOpFutexWait || !(probe->ops[kOpFutexWait].flags & IO_URING_OP_SUPPORTED))
    return {false, "kernel lacks IORING_OP_FUTEX_WAIT (needs Linux 6.7+ with CONFIG_FUTEX)"};
  return {true, nullptr};
}

// The kernel part, probed once per process (a fork child inherits the answer with the kernel);
// the backend part each time, since mpsync may switch to sleeploop on its own (park.cpp).
const char *why_not() noexcept {
  static const probe_result kernel = run_probe();
  if (!kernel.ok) return kernel.why;
  if (std::strcmp(mpsync_backend(), "futex") != 0)
    return "the sleeploop wait backend issues no futex wakes (MPSYNC_WAIT_BACKEND)";
  return nullptr;
}

// Every waitable kind's futex word is the object's first word (checked below).
static_assert(offsetof(mpsync_lock_t, word) == 0 && offsetof(mpsync_rlock_t, word) == 0 &&
              offsetof(mpsync_sem_t, value) == 0 && offsetof(mpsync_event_t, word) == 0);

wait_target target_of(const mpsync_uring_wait_t &w) noexcept {
  wait_target t;
  t.word = static_cast<const std::uint32_t *>(w.item.object);
  t.expected = w.expected;
  t.armed = (w.state & kArmed) != 0;
  t.since = w.since;
  t.watch_owner = (w.state & kWatch) != 0;
  return t;
}

void fill_sqe(io_uring_sqe *sqe, const wait_target &t, const mpsync_uring_wait_t *w) noexcept {
  std::memset(sqe, 0, sizeof *sqe);  // len, futex_flags (rw_flags), buf_index, file_index: 0
  sqe->opcode = kOpFutexWait;
  sqe->fd = kFutex2SizeU32;
  sqe->addr = reinterpret_cast<std::uintptr_t>(t.word);
  sqe->off = t.expected;  // addr2: the value the word must still hold
  sqe->addr3 = kMatchAny;
  sqe->user_data = reinterpret_cast<std::uintptr_t>(w);
}

int st(take_result r) noexcept { return static_cast<int>(mpsync::detail::to_status(r)); }
}  // namespace

extern "C" {

int mpsync_uring_supported(void) { return why_not() == nullptr; }
const char *mpsync_uring_unsupported_reason(void) { return why_not(); }

int mpsync_uring_wait_init(mpsync_uring_wait_t *w, mpsync_wait_kind kind, void *object) {
  if (!w) return MPSYNC_EINVAL;
  std::memcpy(&w->item.kind, &kind, sizeof kind);  // bytes, not an enum load: validate() checks them
  w->item.object = object;
  w->expected = w->since = w->state = w->reserved = 0;
  return static_cast<int>(mpsync::detail::validate(w->item));
}

int mpsync_uring_prep_wait(struct io_uring_sqe *sqe, mpsync_uring_wait_t *w) {
  if (!sqe || !w) return MPSYNC_EINVAL;
  if (status s = mpsync::detail::validate(w->item); s != status::ok) return static_cast<int>(s);
  if (why_not()) return MPSYNC_ENOTSUP;
  wait_target t = target_of(*w);
  if (!t.armed) {
    const take_result r = mpsync::detail::try_take(w->item, nullptr);
    if (r != take_result::busy) return st(r);  // acquired now, or corrupt/overflow: SQE untouched
  }
  const take_result r = mpsync::detail::arm(w->item, t);
  if (r != take_result::busy) {
    w->state = 0;  // taken while arming (W kept: a spare wake at worst), or corrupt/overflow
    return st(r);
  }
  w->expected = t.expected;
  w->since = t.since;
  w->state = kArmed | (t.watch_owner ? kWatch : 0u);
  fill_sqe(sqe, t, w);
  return MPSYNC_URING_SUBMIT;
}

int mpsync_uring_complete(mpsync_uring_wait_t *w, int32_t res) {
  if (!w || !(w->state & kArmed)) return MPSYNC_EINVAL;  // no wait of ours was submitted
  if (status s = mpsync::detail::validate(w->item); s != status::ok) return static_cast<int>(s);
  const wait_target t = target_of(*w);
  if (res == -ECANCELED) {
    // Cancelled before any wake marked it: nothing absorbed. An unwatched RLock owner may have
    // died meanwhile: mark it as the kernel would, so the next prep takes it with OWNER_DEAD.
    if (t.watch_owner) mpsync::detail::watch(w->item, t);
    w->state = 0;
    return MPSYNC_TIMEDOUT;
  }
  if (res < 0 && res != -EAGAIN) {
    w->state = 0;  // the wait never slept (EINVAL, EFAULT, ...): nothing absorbed
    errno = -res;
    return MPSYNC_ESYS;
  }
  const take_result r = mpsync::detail::try_take(w->item, &t);
  if (r != take_result::busy) {  // acquired (OK / OWNER_DEAD), or corrupt / overflow
    w->state = 0;
    return st(r);
  }
  mpsync::detail::pass_on(w->item);  // another waiter got it: keep its release waking someone
  return MPSYNC_URING_REARM;         // still armed: the next prep keeps `since`
}

int mpsync_uring_abandon(mpsync_uring_wait_t *w, int32_t res) {
  if (!w) return MPSYNC_EINVAL;
  if (status s = mpsync::detail::validate(w->item); s != status::ok) return static_cast<int>(s);
  if ((w->state & kArmed) && res >= 0) mpsync::detail::pass_on(w->item);  // woken: hand the wake on
  w->state = 0;
  return MPSYNC_OK;
}

}  // extern "C"
