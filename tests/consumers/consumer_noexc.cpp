// A C++ program built with -fno-exceptions -fno-rtti against the installed mpsync: the noexcept
// *_status path only.
#include <mpsync/mpsync.hpp>

#include <cstdio>

int main() {
  mpsync::Lock l;
  mpsync::RLock rl;
  mpsync::Semaphore s;
  if (s.init(1, true) != mpsync::status::ok) return 1;
  if (l.acquire_status() != mpsync::status::ok || l.release_status() != mpsync::status::ok) return 1;
  if (l.release_status() != mpsync::status::over_release) return 1;
  if (rl.acquire_status() != mpsync::status::ok || rl.acquire_status() != mpsync::status::ok) return 1;
  if (rl.count() != 2 || rl.release_status() != mpsync::status::ok || rl.release_status() != mpsync::status::ok) return 1;
  if (s.release_status() != mpsync::status::over_release) return 1;
  if (s.acquire_status(true, 0.01) != mpsync::status::ok || s.acquire_status(true, 0.01) != mpsync::status::timedout)
    return 1;
  std::printf("c++ -fno-exceptions consumer: ok (%s)\n", mpsync::version());
  return 0;
}
