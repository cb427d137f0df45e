// Robust RLocks through the kernel robust-futex list, shared with glibc.
//
// A thread has exactly ONE robust-list head (set_robust_list overwrites a single per-task
// pointer) and glibc registers it for every thread it creates, for its own robust mutexes. Calling
// set_robust_list here would silently make glibc's robust mutexes non-robust in that thread. So
// mpsync links its RLock nodes into glibc's list, in glibc's own representation, and the kernel
// walks one list that holds both kinds of entries (verified: a glibc robust mutex and mpsync RLocks
// interleaved on one thread both report the death — tests/test_robust.cpp).
//
// GEOMETRY (glibc nptl/descr.h, x86_64 and aarch64; checked at run time, once per thread)
//   head (struct robust_list_head, 24 B): list (the first node's `next` field, or &head->list
//   when empty) | futex_offset | list_op_pending. futex_offset must be -32: the lock word sits 32
//   bytes before the node's `next` field — pthread_mutex_t's __lock / __list.__next, and
//   mpsync_rlock_t's word / next. Every node is {prev @ next-8, next}; both pointers point at the
//   neighbour's `next` field (or at the head), and bit 0 of any pointer is the kernel's PI flag,
//   preserved and masked. glibc keeps the head's own `prev` slot (robust_prev) 8 bytes before it.
//
// PROTOCOL (the one glibc uses, nptl/pthread_mutex_lock.c / _unlock.c)
//   acquire:  pending = node; [CAS word 0 -> tid, or wait]; enqueue(node); pending = NULL
//   release:  pending = node; dequeue(node); word = 0 (+ wake); pending = NULL
//   If the thread dies with `pending` set, the kernel also examines that entry: a word still 0 (we
//   died between the release store and the wake, or before the acquire CAS) gets one waiter woken,
//   and a word holding our TID is marked OWNER_DIED like a listed one.
// The list is strictly thread-local: only compiler barriers order its stores (the kernel reads it
// from the dead thread's own context). Robust operations are therefore not async-signal-safe,
// like glibc's robust mutexes: an RLock must not be taken in a signal handler that can interrupt
// another RLock operation of the same thread.
//
// LIMITS: the kernel walks at most 2048 entries per thread (glibc's and ours together); locks
// beyond that are not marked on death. An RLock must be released by its owner thread before the
// memory holding it is unmapped (as with any robust mutex).
#include "robust.hpp"

#include <cstddef>
#include <cstdlib>

#include "futex.hpp"

// Per thread: 0 = not looked up yet, 1 = unavailable, else the head. Survives fork (same TCB
// address in the child; glibc re-registers the same head there).
__thread std::uintptr_t mpsync_tls_robust_head __attribute__((tls_model("initial-exec"))) = 0;

namespace mpsync::robust {
namespace {

constexpr long kFutexOffset = -32;  // word - next, in mpsync_rlock_t and pthread_mutex_t

list_head *lookup() noexcept {
  const char *e = std::getenv("MPSYNC_ROBUST_LIST");  // "0": never touch the kernel list
  if (e && e[0] == '0') return nullptr;
  void *h = nullptr;
  std::size_t len = 0;
  if (sys::get_robust_list(&h, &len) != 0 || h == nullptr || len != sizeof(list_head) ||
      static_cast<list_head *>(h)->futex_offset != kFutexOffset)
    return nullptr;
  return static_cast<list_head *>(h);
}

}  // namespace

list_head *head() noexcept {
  const std::uintptr_t h = mpsync_tls_robust_head;
  if (__builtin_expect(h > 1, 1)) return reinterpret_cast<list_head *>(h);
  if (h == 1) return nullptr;
  list_head *found = lookup();
  mpsync_tls_robust_head = found ? reinterpret_cast<std::uintptr_t>(found) : 1;
  return found;
}

bool available() noexcept { return head() != nullptr; }

}  // namespace mpsync::robust
