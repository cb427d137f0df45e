// mpsync internals the inline fast paths need: the caller's kernel thread id (cached per thread)
// and the friend through which runtime/ reaches the objects' words.
#ifndef MPSYNC_DETAIL_CORE_HPP
#define MPSYNC_DETAIL_CORE_HPP

#include <cstdint>

#include "mpsync_arch.hpp"

// The calling thread's TID, 0 until first use; reset in a fork child (runtime/tid.cpp).
// initial-exec: one %fs-relative load, no __tls_get_addr call on the fast path.
extern "C" __thread std::uint32_t mpsync_tls_tid __attribute__((tls_model("initial-exec")));

namespace mpsync::detail {

std::uint32_t load_tid() noexcept;  // slow path: gettid(), cached

inline std::uint32_t self_tid() noexcept {
  std::uint32_t t = mpsync_tls_tid;
  return __builtin_expect(t != 0, 1) ? t : load_tid();
}

// Word bits shared by Lock and RLock: the kernel's robust-futex format.
inline constexpr std::uint32_t kWaiters = 0x80000000u;    // FUTEX_WAITERS: someone may sleep
inline constexpr std::uint32_t kOwnerDied = 0x40000000u;  // FUTEX_OWNER_DIED
inline constexpr std::uint32_t kTidMask = 0x3fffffffu;    // FUTEX_TID_MASK

struct impl;  // runtime/: the out-of-line slow paths, friend of every primitive

}  // namespace mpsync::detail

#endif
