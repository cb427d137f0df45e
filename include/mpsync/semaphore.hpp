// mpsync::Semaphore — Python's multiprocessing.Semaphore and BoundedSemaphore in one 8-byte type
// (the bound is fixed at construction); mirrors std::counting_semaphore too. Layout and ordering
// argument in runtime/semaphore.cpp.
#ifndef MPSYNC_SEMAPHORE_HPP
#define MPSYNC_SEMAPHORE_HPP

#include <chrono>

#include "detail/core.hpp"
#include "status.hpp"

namespace mpsync {

class Semaphore {
 public:
  static constexpr unsigned value_max = MPSYNC_SEM_VALUE_MAX;
  static constexpr std::uint32_t kWaiters = 0x80000000u;  // someone may sleep
  static constexpr std::uint32_t kCount = 0x7fffffffu;

  Semaphore() noexcept = default;  // all-zero: unbounded, value 0
  explicit Semaphore(unsigned value) { detail::check(init(value, false)); }
  Semaphore(const Semaphore &) = delete;
  Semaphore &operator=(const Semaphore &) = delete;

  // (Re)initialise in place: value <= value_max, bounded => release() past `value` fails.
  status init(unsigned value, bool bounded) noexcept {
    if (value > value_max) return status::invalid;
    arch::store(&bound_, bounded ? value + 1 : 0u, arch::relaxed);
    arch::store(&value_, value, arch::release);
    return status::ok;
  }

  // Python parity.
  bool acquire(bool block = true, timeout t = forever) { return detail::to_bool(acquire_status(block, t)); }
  void release() { detail::check(release_status()); }
  int get_value() const noexcept { return get_value_status(); }

  // std::counting_semaphore style.
  bool try_acquire() noexcept { return acquire_status(false, 0.0) == status::ok; }
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period> &d) { return acquire(true, d); }
  template <class Clock, class Dur>
  bool try_acquire_until(const std::chrono::time_point<Clock, Dur> &tp) { return acquire(true, tp - Clock::now()); }

  // noexcept status path. Fast paths: one CAS each; release never calls when nobody sleeps.
  status acquire_status(bool block = true, timeout t = forever) noexcept {
    if (__builtin_expect(detail::bad_timeout(block, t), 0)) return status::invalid;
    std::uint32_t v = arch::load(&value_, arch::relaxed);
    if (__builtin_expect((v & kCount) != 0, 1) && arch::cas(&value_, v, v - 1, arch::acquire)) return status::ok;
    return acquire_slow(block, t.seconds());
  }
  status release_status() noexcept {  // async-signal-safe
    std::uint32_t v = arch::load(&value_, arch::relaxed);
    if (__builtin_expect(arch::load(&bound_, arch::relaxed) == 0 && v < kCount, 1) &&
        arch::cas(&value_, v, v + 1, arch::release))
      return status::ok;
    return release_slow();
  }
  int get_value_status() const noexcept;  // >= 0, or status::corrupt

 private:
  friend struct detail::impl;
  status acquire_slow(bool block, double timeout) noexcept;
  status release_slow() noexcept;
  std::uint32_t value_ = 0;  // count | kWaiters
  std::uint32_t bound_ = 0;  // 0: unbounded; else the bound + 1
};

// BoundedSemaphore: the same object, constructed bounded.
class BoundedSemaphore : public Semaphore {
 public:
  BoundedSemaphore() noexcept = default;  // bound 0... use BoundedSemaphore(n)
  explicit BoundedSemaphore(unsigned value) { detail::check(init(value, true)); }
};

}  // namespace mpsync

#endif
