// Status texts, the std::error_category, the exception hierarchy's thrower, and the version.
#include <string>

#include "mpsync/mpsync.hpp"

#ifndef MPSYNC_VERSION_STRING
#define MPSYNC_VERSION_STRING "0.1.0"
#endif

extern "C" const char *mpsync_strerror(int s) {
  switch (s) {
    case MPSYNC_OK: return "ok";
    case MPSYNC_TIMEDOUT: return "timed out (or would block)";
    case MPSYNC_OWNER_DEAD: return "acquired; the previous owner died holding it";
    case MPSYNC_BROKEN: return "barrier broken";
    case MPSYNC_INTERRUPTED: return "interrupted by a signal";
    case MPSYNC_EINVAL: return "invalid argument";
    case MPSYNC_ENOTOWNER: return "caller does not hold the lock";
    case MPSYNC_EOVERRELEASE: return "released too many times";
    case MPSYNC_EOVERFLOW: return "count would overflow";
    case MPSYNC_ECORRUPT: return "object memory is not a valid state";
    case MPSYNC_ENOTSUP: return "not supported on this kernel or build";
    case MPSYNC_ESYS: return "unexpected operating-system error (see errno)";
    case MPSYNC_EEXIST: return "the name is taken";
    case MPSYNC_URING_SUBMIT: return "io_uring wait prepared: submit the SQE (not acquired)";
    case MPSYNC_URING_REARM: return "woken but not acquired: prepare the wait again";
    default: return "unknown mpsync status";
  }
}

extern "C" const char *mpsync_version(void) { return MPSYNC_VERSION_STRING; }

namespace mpsync {
namespace {
struct category_impl final : std::error_category {
  const char *name() const noexcept override { return "mpsync"; }
  std::string message(int s) const override { return mpsync_strerror(s); }
};
}  // namespace

const std::error_category &category() noexcept {
  static const category_impl c;
  return c;
}

const char *backend() noexcept { return mpsync_backend(); }
const char *version() noexcept { return mpsync_version(); }
void set_interrupt_check(interrupt_fn fn) noexcept { set_interrupt_check(fn, signal_handlers::may_restart); }

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
void throw_status(status s) {
  switch (s) {
    case status::invalid: throw invalid_argument(s);
    case status::not_owner: throw not_owner(s);
    case status::over_release: throw over_release(s);
    case status::overflow: throw overflow(s);
    case status::corrupt: throw corrupt(s);
    case status::broken: throw broken_barrier(s);
    case status::interrupted: throw interrupted(s);
    case status::not_supported: throw not_supported(s);
    case status::system: throw system_failure(s);
    case status::exists: throw name_taken(s);
    default: throw error(s);
  }
}
#endif

}  // namespace mpsync
