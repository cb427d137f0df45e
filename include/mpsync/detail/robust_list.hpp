// The kernel robust-futex list operations an RLock's first acquire and last release need, inline
// so that the uncontended pair is a CAS, an exchange and a few plain stores, with no call. The
// protocol, the geometry shared with glibc and the reasons are in runtime/robust.cpp; this header
// only holds the pieces both the inline fast path and the slow path use.
//
// Only the owning thread ever touches its list (the kernel reads it from the dead thread's own
// context), so the list's stores need compiler ordering only: barrier() keeps "node linked" before
// "head points at it" and "pending set" before the word CAS, as glibc's robust mutexes do.
#ifndef MPSYNC_DETAIL_ROBUST_LIST_HPP
#define MPSYNC_DETAIL_ROBUST_LIST_HPP

#include <cstdint>

// The calling thread's robust-list head (glibc's, in glibc's geometry), looked up once per thread
// by runtime/robust.cpp: 0 = not looked up yet, 1 = unavailable (robustness off: the fallback),
// otherwise the head's address. initial-exec: one %fs-relative load on the fast path.
extern "C" __thread std::uintptr_t mpsync_tls_robust_head __attribute__((tls_model("initial-exec")));

namespace mpsync::robust {

struct list_head {  // the kernel's struct robust_list_head
  void *list;       // the first node's `next` field, or &list itself when empty
  long futex_offset;
  void *list_op_pending;
};

inline void barrier() noexcept { __asm__ __volatile__("" ::: "memory"); }

// A node pointer (to a `next` field; bit 0 is the kernel's PI flag, preserved and masked) -> slots.
inline std::uint64_t *prev_slot(std::uint64_t p) noexcept {
  return reinterpret_cast<std::uint64_t *>((p & ~std::uint64_t{1}) - 8);
}
inline std::uint64_t *next_slot(std::uint64_t p) noexcept {
  return reinterpret_cast<std::uint64_t *>(p & ~std::uint64_t{1});
}

// The head when already looked up and available, else nullptr (the caller takes the slow path,
// which looks it up: runtime/robust.cpp head()).
inline list_head *cached_head() noexcept {
  const std::uintptr_t h = mpsync_tls_robust_head;
  return __builtin_expect(h > 1, 1) ? reinterpret_cast<list_head *>(h) : nullptr;
}

inline void set_pending(list_head *h, std::uint64_t *node) noexcept {
  h->list_op_pending = node;
  barrier();
}
inline void clear_pending(list_head *h) noexcept {
  barrier();
  h->list_op_pending = nullptr;
}
inline void enqueue(list_head *h, std::uint64_t *node) noexcept {  // push at the front (glibc's ENQUEUE)
  const auto first = reinterpret_cast<std::uint64_t>(h->list);
  *prev_slot(first) = reinterpret_cast<std::uint64_t>(node);  // old first (or robust_prev) -> us
  node[0] = first;                                             // our next
  node[-1] = reinterpret_cast<std::uint64_t>(&h->list);        // our prev: the head
  barrier();
  h->list = node;
}
inline void dequeue(std::uint64_t *node) noexcept {  // unlink (glibc's DEQUEUE)
  const std::uint64_t next = node[0], prev = node[-1];
  *prev_slot(next) = prev;
  *next_slot(prev) = next;
  barrier();
  node[0] = node[-1] = 0;
}

}  // namespace mpsync::robust

#endif
