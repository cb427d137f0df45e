// Built inside a meson project that embeds mpsync as a subproject (dependency('mpsync') via the
// override): a Barrier and a Condition shared by four threads. Exits 0 only if the counts are exact.
#include <mpsync/mpsync.hpp>

#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

int main() {
  constexpr unsigned kThreads = 4, kPasses = 20;
  mpsync::Barrier barrier(kThreads);
  mpsync::Condition cond;  // the embedded RLock
  unsigned arrived[kPasses] = {};  // guarded by cond; arrived[p] == kThreads once pass p is over
  bool lockstep = true, indexes_ok = true;
  unsigned zero_index[kPasses] = {};  // how many waiters got index 0, per pass (guarded by cond)

  std::vector<std::thread> ts;
  for (unsigned t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (unsigned p = 0; p < kPasses; ++p) {
        {
          std::scoped_lock g(cond);
          if (p > 0 && arrived[p - 1] != kThreads) lockstep = false;  // someone is a pass behind
          ++arrived[p];
        }
        unsigned index = ~0u;
        if (barrier.wait_status(10.0, nullptr, nullptr, &index) != mpsync::status::ok || index >= kThreads)
          indexes_ok = false;
        std::scoped_lock g(cond);
        if (index == 0) ++zero_index[p];
      }
      std::scoped_lock g(cond);
      cond.notify_all();
    });
  {
    // wait_for re-checks the predicate under the lock: all threads finished every pass.
    std::scoped_lock g(cond);
    if (!cond.wait_for([&] { return arrived[kPasses - 1] == kThreads; }, 10.0)) lockstep = false;
  }
  for (auto &t : ts) t.join();
  for (unsigned p = 0; p < kPasses; ++p)
    if (zero_index[p] != 1) indexes_ok = false;
  const bool ok = lockstep && indexes_ok && barrier.n_waiting() == 0 && !barrier.broken();
  std::printf("meson subproject consumer (C++): %s (mpsync %s)\n", ok ? "ok" : "FAILED", mpsync::version());
  return ok ? 0 : 1;
}
