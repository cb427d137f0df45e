// Shared by test_region.cpp and test_region_c.cpp: unique shm names, an unlink at scope exit, and
// a Unix socket pair for passing a region's fd.
#ifndef MPSYNC_TESTS_REGION_UTIL_HPP
#define MPSYNC_TESTS_REGION_UTIL_HPP

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "harness.hpp"

namespace mpt_region {

inline std::string unique_name(const char *tag) {
  static int n = 0;
  return "/mpsync-test-" + std::string(tag) + "-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

// Unlinks a shm name at scope exit, whatever the test did.
struct Unlinker {
  std::string name;
  ~Unlinker() { shm_unlink(name.c_str()); }
};

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd), 0); }
  ~SocketPair() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
};

}  // namespace mpt_region

#endif
