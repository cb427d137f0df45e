// The per-thread TID cache behind detail::self_tid(). A fork child's only thread has a new TID, so
// the child handler clears the cache of the thread that forked (the only one the child has).
#include <pthread.h>

#include "futex.hpp"
#include "mpsync/detail/core.hpp"

__thread std::uint32_t mpsync_tls_tid __attribute__((tls_model("initial-exec"))) = 0;

namespace mpsync::detail {
namespace {
void forget_tid_in_child() noexcept { mpsync_tls_tid = 0; }
[[maybe_unused]] const int g_atfork = pthread_atfork(nullptr, nullptr, forget_tid_in_child);
}  // namespace

std::uint32_t load_tid() noexcept {
  std::uint32_t t = sys::gettid() & kTidMask;
  mpsync_tls_tid = t;
  return t;
}

}  // namespace mpsync::detail
