// mpsync::Event — Python's Event with threading semantics: a waiter blocked during set() returns
// true even if clear() follows at once. 4 bytes; layout and ordering in runtime/event.cpp.
#ifndef MPSYNC_EVENT_HPP
#define MPSYNC_EVENT_HPP

#include "detail/core.hpp"
#include "status.hpp"

namespace mpsync {

class Event {
 public:
  static constexpr std::uint32_t kSet = 1u, kWaiters = 2u, kGenOne = 4u;

  Event() noexcept = default;  // all-zero: clear
  Event(const Event &) = delete;
  Event &operator=(const Event &) = delete;

  bool is_set() const noexcept { return arch::load(&word_, arch::acquire) & kSet; }
  void set() noexcept;    // async-signal-safe
  void clear() noexcept;  // async-signal-safe
  // true if set (now, or at some moment during the wait); false on timeout. Throws interrupted.
  bool wait(timeout t = forever) { return detail::to_bool(wait_status(t)); }
  status wait_status(timeout t = forever) noexcept {
    if (__builtin_expect(detail::bad_timeout(true, t), 0)) return status::invalid;
    if (__builtin_expect(is_set(), 1)) return status::ok;
    return wait_slow(t.seconds());
  }

 private:
  friend struct detail::impl;
  status wait_slow(double timeout) noexcept;
  std::uint32_t word_ = 0;  // generation (bits 2..31) | kWaiters | kSet
};

}  // namespace mpsync

#endif
