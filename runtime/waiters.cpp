// The process's region registry and the waiter-table protocol (both described in waiters.hpp and
// runtime/region_layout.hpp). Nothing here decides a wait: a failed publication (table full of
// live waiters, no registry entry) only makes the inspector blind to that one wait.
//
// SLOT ORDERING (writer = the slot's owner thread; readers = mpsync-inspect, in another process)
//   claim     CAS tid 0 -> mine (or a dead thread's tid -> mine), acquire
//   write     seq := seq + 1 (odd); release fence; pid, flags, word, since; seq := seq + 1 (release)
//   clear     seq := seq + 1 (odd); release fence; word := 0 ...; seq := seq + 1; tid := 0 (release)
// A reader copies the slot, checks seq even and unchanged across the copy, and skips tid 0. It may
// see a slot one wait stale (the thread just woke): the inspector is a snapshot, never a decision.
#include "waiters.hpp"

#include <pthread.h>

#include "futex.hpp"

namespace mpsync::waiters {
namespace {

constexpr unsigned kMaxRegions = 64;
struct entry {
  std::uint32_t seq;
  std::uint32_t cap;        // waiter slots
  std::uintptr_t base;      // 0: free
  std::uint64_t size;
  std::uintptr_t table;
};
entry g_regs[kMaxRegions];
std::uint32_t g_hwm;  // entries [0, g_hwm) have ever been used: lookups scan only those

std::uint32_t g_pid;  // cached getpid(); 0 until first use, cleared in a fork child
void forget_pid() noexcept { g_pid = 0; }
[[maybe_unused]] const int g_atfork = pthread_atfork(nullptr, nullptr, forget_pid);
std::uint32_t self_pid() noexcept {
  std::uint32_t p = arch::load(&g_pid, arch::relaxed);
  if (__builtin_expect(p == 0, 0)) {
    p = sys::getpid();
    arch::store(&g_pid, p, arch::relaxed);
  }
  return p;
}

// Claim entry i for rewriting if `want(e)` holds: returns the odd seq, or 0.
template <class Want>
std::uint32_t claim(entry &e, Want want) noexcept {
  std::uint32_t s = arch::load(&e.seq, arch::acquire);
  if ((s & 1) || !want(e)) return 0;
  if (!arch::cas(&e.seq, s, s + 1, arch::acquire)) return 0;
  if (!want(e)) {  // changed between the test and the claim
    arch::store(&e.seq, s + 2, arch::release);
    return 0;
  }
  return s + 1;
}

void fill(layout::waiter_slot *s, std::uint32_t pid, std::uint32_t flags, std::uint64_t word, std::int64_t since) noexcept {
  // Odd while writing even if a writer that died mid-fill left seq odd (q + 1 would be even then).
  const std::uint32_t q = arch::load(&s->seq, arch::relaxed) | 1u;
  arch::store(&s->seq, q, arch::relaxed);
  arch::fence(arch::release);
  arch::store(&s->pid, pid, arch::relaxed);
  arch::store(&s->flags, flags, arch::relaxed);
  arch::store(&s->word, word, arch::relaxed);
  arch::store(&s->since, since, arch::relaxed);
  arch::store(&s->seq, q + 1, arch::release);
}

// The last wait this thread withdrew: a thread that re-parks on the same word right away (a
// spurious or stolen wake-up, a retry after a timeout slice) is still in the same wait, and keeps
// its start time, so "waiting for 12.0 s" and the inspector's two-read confirmation stay true.
struct last_wait {
  std::uintptr_t word = 0;
  std::int64_t since = 0, ended = 0;
};
__thread last_wait t_last __attribute__((tls_model("initial-exec")));
__thread std::int64_t t_reclaimed __attribute__((tls_model("initial-exec")));  // when this thread last scanned for dead waiters' slots
constexpr std::int64_t kSameWait = 100000000;   // 100 ms
constexpr std::int64_t kReclaimEvery = 1000000000;  // 1 s: a full table costs one /proc scan per second

}  // namespace

void add_region(const mpsync_region &h) noexcept {
  const auto *H = static_cast<const layout::header *>(h.base);
  if (H->version != layout::kVersion || H->waiters_cap == 0) return;
  for (std::uint32_t i = 0; i < kMaxRegions; ++i) {
    entry &e = g_regs[i];
    const std::uint32_t odd = claim(e, [](const entry &x) { return arch::load(&x.base, arch::relaxed) == 0; });
    if (!odd) continue;
    for (std::uint32_t h = arch::load(&g_hwm, arch::relaxed); h < i + 1 && !arch::cas(&g_hwm, h, i + 1, arch::relaxed);) {
    }
    arch::store(&e.size, h.size, arch::relaxed);
    arch::store(&e.cap, H->waiters_cap, arch::relaxed);
    arch::store(&e.table, reinterpret_cast<std::uintptr_t>(h.base) + H->waiters_off, arch::relaxed);
    arch::store(&e.base, reinterpret_cast<std::uintptr_t>(h.base), arch::relaxed);
    arch::store(&e.seq, odd + 1, arch::release);
    arch::fetch_add(&published::g_count, 1u, arch::relaxed);
    return;
  }
}

void remove_region(const mpsync_region &h) noexcept {
  const auto b = reinterpret_cast<std::uintptr_t>(h.base);
  for (entry &e : g_regs) {
    const std::uint32_t odd = claim(e, [b](const entry &x) { return arch::load(&x.base, arch::relaxed) == b; });
    if (!odd) continue;
    arch::store(&e.base, std::uintptr_t{0}, arch::relaxed);
    arch::store(&e.seq, odd + 1, arch::release);
    arch::fetch_sub(&published::g_count, 1u, arch::relaxed);
    return;
  }
}

namespace {
// The registry entry whose region holds p: its base, size and table (seqlock read).
bool lookup(const void *p, entry &out) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::uint32_t n = arch::load(&g_hwm, arch::acquire);
  for (std::uint32_t i = 0; i < n && i < kMaxRegions; ++i) {
    const entry &e = g_regs[i];
    const std::uint32_t s1 = arch::load(&e.seq, arch::acquire);
    if (s1 & 1) continue;
    entry c;
    c.base = arch::load(&e.base, arch::relaxed);
    c.size = arch::load(&e.size, arch::relaxed);
    c.cap = arch::load(&e.cap, arch::relaxed);
    c.table = arch::load(&e.table, arch::relaxed);
    arch::fence(arch::acquire);
    if (arch::load(&e.seq, arch::relaxed) != s1 || c.base == 0) continue;
    if (a >= c.base && a - c.base < c.size) {
      out = c;
      return true;
    }
  }
  return false;
}
}  // namespace

bool find_region(const void *p, mpsync_region &out) noexcept {
  entry e;
  if (!lookup(p, e)) return false;
  out = {reinterpret_cast<void *>(e.base), e.size, -1};
  return true;
}

layout::waiter_slot *published::publish(const std::uint32_t *word, std::uint32_t flags) noexcept {
  entry e;
  if (!lookup(word, e) || e.cap == 0) return nullptr;
  auto *table = reinterpret_cast<layout::waiter_slot *>(e.table);
  const std::uint32_t tid = detail::self_tid();
  const std::uint64_t off = reinterpret_cast<std::uintptr_t>(word) - e.base;
  const std::int64_t now = sys::realtime_ns();
  const last_wait &l = t_last;
  const std::int64_t since = l.word == reinterpret_cast<std::uintptr_t>(word) && now - l.ended < kSameWait ? l.since : now;
  // Two passes: a free slot (starting at a per-thread position, so threads rarely collide), then
  // a slot whose thread is gone (it died parked: a killed process never clears its slots). The
  // second pass reads /proc per slot, so a thread makes it at most once a second.
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      const std::int64_t m = sys::monotonic_ns();
      if (t_reclaimed && m - t_reclaimed < kReclaimEvery) break;
      t_reclaimed = m;
    }
    for (std::uint32_t j = 0; j < e.cap; ++j) {
      layout::waiter_slot *s = &table[(tid + j) % e.cap];
      std::uint32_t t = arch::load(&s->tid, arch::relaxed);
      if (pass == 0 ? t != 0 : (t == 0 || t == tid || !sys::thread_gone(t))) continue;
      if (!arch::cas(&s->tid, t, tid, arch::acquire)) continue;
      fill(s, self_pid(), flags, off, since);
      t_last = {reinterpret_cast<std::uintptr_t>(word), since, 0};
      return s;
    }
  }
  return nullptr;
}

void published::withdraw(layout::waiter_slot *s) noexcept {
  const std::uint32_t me = detail::self_tid();
  t_last.ended = sys::realtime_ns();
  // Only a slot still ours: a claimer that (wrongly) judged this thread gone may own it now.
  if (arch::load(&s->tid, arch::relaxed) != me) return;
  fill(s, 0, 0, 0, 0);
  std::uint32_t mine = me;
  arch::cas(&s->tid, mine, 0u, arch::release);
}

}  // namespace mpsync::waiters
