// mpsync arch layer, generic part: the atomic read-modify-writes the primitives need on shared
// 32/64-bit words, as GCC/Clang __atomic builtins with explicit memory orders. An ISA's
// mpsync_arch.hpp includes this file and overrides only what it does better (see arch/*/).
//
// Why builtins and not std::atomic<T>: the objects are plain words in C structs (mpsync.h) that a
// C program may embed and zero-fill; the builtins work on such words directly, which is exactly
// std::atomic_ref's contract without its per-call alignment assertions. TSan instruments them.
#ifndef MPSYNC_ARCH_GENERIC_HPP
#define MPSYNC_ARCH_GENERIC_HPP

#include <cstddef>
#include <cstdint>

namespace mpsync::arch {

enum order : int {
  relaxed = __ATOMIC_RELAXED,
  acquire = __ATOMIC_ACQUIRE,
  release = __ATOMIC_RELEASE,
  acq_rel = __ATOMIC_ACQ_REL,
  seq_cst = __ATOMIC_SEQ_CST,
};

template <class T> inline T load(const T *p, order o) noexcept { return __atomic_load_n(p, o); }
template <class T> inline void store(T *p, T v, order o) noexcept { __atomic_store_n(p, v, o); }
template <class T> inline T exchange(T *p, T v, order o) noexcept { return __atomic_exchange_n(p, v, o); }
template <class T> inline T fetch_add(T *p, T v, order o) noexcept { return __atomic_fetch_add(p, v, o); }
template <class T> inline T fetch_sub(T *p, T v, order o) noexcept { return __atomic_fetch_sub(p, v, o); }
template <class T> inline T fetch_or(T *p, T v, order o) noexcept { return __atomic_fetch_or(p, v, o); }
template <class T> inline T fetch_and(T *p, T v, order o) noexcept { return __atomic_fetch_and(p, v, o); }

// Strong compare-and-swap; on failure `expected` receives the current value (loaded with `fail`).
template <class T>
inline bool cas(T *p, T &expected, T desired, order success, order fail = relaxed) noexcept {
  return __atomic_compare_exchange_n(p, &expected, desired, false, success, fail);
}

inline void fence(order o) noexcept { __atomic_thread_fence(o); }

namespace generic {
// A spin-wait hint; the generic version is only a compiler barrier.
inline void cpu_relax() noexcept { __asm__ __volatile__("" ::: "memory"); }
inline constexpr std::size_t cache_line = 64;
}  // namespace generic

// Byte offset of the high 32-bit half of a 64-bit word (futex waits on one half of a 64-bit
// state word, as glibc's semaphore does).
inline constexpr std::size_t high_half_offset = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 4 : 0;

}  // namespace mpsync::arch

#endif
