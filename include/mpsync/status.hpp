// mpsync C++ face: statuses, errors and timeouts shared by every primitive.
//
// Two ways to call each primitive:
//  - the Python-parity / std-style members (acquire -> bool, lock(), wait(...)), which throw an
//    mpsync::error (a std::system_error carrying a std::error_code of mpsync's category) on misuse;
//  - the *_status members, noexcept, returning mpsync::status — for code built with
//    -fno-exceptions and for runtimes that want every detail (e.g. status::owner_dead).
#ifndef MPSYNC_STATUS_HPP
#define MPSYNC_STATUS_HPP

#include <chrono>
#include <cmath>
#include <limits>
#include <system_error>

#include "../mpsync.h"

namespace mpsync {

enum class status : int {
  ok = MPSYNC_OK,
  timedout = MPSYNC_TIMEDOUT,
  owner_dead = MPSYNC_OWNER_DEAD,
  broken = MPSYNC_BROKEN,
  interrupted = MPSYNC_INTERRUPTED,
  invalid = MPSYNC_EINVAL,
  not_owner = MPSYNC_ENOTOWNER,
  over_release = MPSYNC_EOVERRELEASE,
  overflow = MPSYNC_EOVERFLOW,
  corrupt = MPSYNC_ECORRUPT,
  not_supported = MPSYNC_ENOTSUP,
  system = MPSYNC_ESYS,
  exists = MPSYNC_EEXIST,
};

// True for the statuses that mean "acquired" (ok, owner_dead).
constexpr bool acquired(status s) noexcept { return s == status::ok || s == status::owner_dead; }

const std::error_category &category() noexcept;
inline std::error_code make_error_code(status s) noexcept { return {static_cast<int>(s), category()}; }

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
// The hierarchy: every mpsync exception is an mpsync::error; the leaves say what went wrong.
struct error : std::system_error {
  explicit error(status s) : std::system_error(make_error_code(s)) {}
  status code_status() const noexcept { return static_cast<status>(code().value()); }
};
struct invalid_argument : error { using error::error; };  // EINVAL  (Python ValueError)
struct not_owner : error { using error::error; };         // ENOTOWNER (RuntimeError/AssertionError)
struct over_release : error { using error::error; };      // EOVERRELEASE (ValueError)
struct overflow : error { using error::error; };          // EOVERFLOW (OverflowError)
struct corrupt : error { using error::error; };           // ECORRUPT
struct broken_barrier : error { using error::error; };    // BROKEN (BrokenBarrierError)
struct interrupted : error { using error::error; };       // INTERRUPTED (KeyboardInterrupt)
struct not_supported : error { using error::error; };     // ENOTSUP
struct system_failure : error { using error::error; };    // ESYS (OSError)
struct name_taken : error { using error::error; };        // EEXIST (FileExistsError): Region::make_named

[[noreturn]] void throw_status(status s);
#endif

namespace detail {
// Misuse in the throwing API: an exception, or a trap when built without exceptions (use the
// *_status members there).
[[noreturn]] inline void fail(status s) {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  throw_status(s);
#else
  (void)s;
  __builtin_trap();
#endif
}
// Statuses that the bool-returning members turn into true/false; everything else throws.
inline bool to_bool(status s) {
  if (acquired(s)) return true;
  if (s == status::timedout) return false;
  fail(s);
}
inline void check(status s) {
  if (s != status::ok) fail(s);
}
}  // namespace detail

// A timeout: seconds as a double (Python), or any std::chrono duration. forever waits without limit.
class timeout {
 public:
  constexpr timeout() noexcept = default;  // forever
  constexpr timeout(double seconds) noexcept : s_(seconds) {}  // NOLINT: implicit on purpose (Python)
  template <class Rep, class Period>
  constexpr timeout(std::chrono::duration<Rep, Period> d) noexcept  // NOLINT
      : s_(std::chrono::duration<double>(d).count()) {}
  constexpr double seconds() const noexcept { return s_; }

 private:
  double s_ = std::numeric_limits<double>::infinity();
};
inline constexpr timeout forever{};

namespace detail {
// A blocking call with a NaN timeout is invalid even when it could succeed at once; with
// block == false the timeout is ignored (one try), NaN included.
constexpr bool bad_timeout(bool block, timeout t) noexcept { return block && t.seconds() != t.seconds(); }
}  // namespace detail

namespace detail {
// The Python-parity and std Lockable / TimedLockable members, written once over a primitive's
// acquire_status / release_status. An empty base: the objects stay standard-layout words.
template <class Self>
struct lockable {
  bool acquire(bool block = true, timeout t = forever) { return to_bool(self().acquire_status(block, t)); }
  void release() { check(self().release_status()); }
  void lock() { to_bool(self().acquire_status(true, forever)); }
  bool try_lock() noexcept { return acquired(self().acquire_status(false, 0.0)); }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period> &d) { return acquire(true, d); }
  template <class Clock, class Dur>
  bool try_lock_until(const std::chrono::time_point<Clock, Dur> &tp) { return acquire(true, tp - Clock::now()); }
  void unlock() { release(); }

 private:
  Self &self() noexcept { return static_cast<Self &>(*this); }
};
}  // namespace detail

}  // namespace mpsync

template <> struct std::is_error_code_enum<mpsync::status> : std::true_type {};

#endif
