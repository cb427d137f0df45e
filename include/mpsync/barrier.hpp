// mpsync::Barrier — Python's Barrier: `parties` waiters meet, an optional action runs once per
// cycle in the last arriver before anyone leaves; abort/reset/timeouts break it. 16 bytes; layout,
// states and ordering in runtime/barrier.cpp.
#ifndef MPSYNC_BARRIER_HPP
#define MPSYNC_BARRIER_HPP

#include <type_traits>
#include <utility>

#include "detail/core.hpp"
#include "status.hpp"

namespace mpsync {

class Barrier {
 public:
  explicit Barrier(unsigned parties) { detail::check(init(parties)); }
  Barrier(const Barrier &) = delete;
  Barrier &operator=(const Barrier &) = delete;

  status init(unsigned parties) noexcept;  // invalid if 0

  // Returns this waiter's index (0..parties-1); throws broken_barrier.
  unsigned wait(timeout t = forever) { return wait_checked(t, nullptr, nullptr); }
  // The action runs in the last arriver (index parties-1) before anyone is released; it fails by
  // returning false (or nonzero in C), or by throwing — the barrier is then broken for everyone.
  template <class F>
    requires std::is_invocable_v<std::remove_reference_t<F> &>
  unsigned wait(F &&action, timeout t = forever) {
    using Fn = std::remove_reference_t<F>;
    return wait_checked(t, &call<Fn>, const_cast<void *>(static_cast<const void *>(&action)));
  }

  void reset() noexcept;
  void abort() noexcept;
  unsigned parties() const noexcept { return arch::load(&parties_, arch::relaxed); }
  unsigned n_waiting() const noexcept;
  bool broken() const noexcept;

  status wait_status(timeout t, int (*action)(void *), void *ctx, unsigned *index) noexcept;

 private:
  friend struct detail::impl;
  template <class Fn>
  static int call(void *ctx) {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    try {
#endif
      if constexpr (std::is_void_v<std::invoke_result_t<Fn &>>) {
        (*static_cast<Fn *>(ctx))();
        return 0;
      } else {
        static_assert(std::is_same_v<std::invoke_result_t<Fn &>, bool>, "a barrier action returns void or bool");
        return (*static_cast<Fn *>(ctx))() ? 0 : 1;
      }
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    } catch (...) {
      return 1;
    }
#endif
  }
  unsigned wait_checked(timeout t, int (*action)(void *), void *ctx) {
    unsigned index = 0;
    detail::check(wait_status(t, action, ctx, &index));
    return index;
  }
  std::uint64_t state_ = 0;  // phase (high 32) | arrived (low 32)
  std::uint32_t parties_ = 0;
  std::uint32_t reserved_ = 0;
};

}  // namespace mpsync

#endif
