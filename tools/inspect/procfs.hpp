// Finding regions in /dev/shm and /proc, and reading their bytes (procfs.cpp).
#ifndef MPSYNC_TOOLS_INSPECT_PROCFS_HPP
#define MPSYNC_TOOLS_INSPECT_PROCFS_HPP

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "inspect.hpp"

namespace mpsync::inspect {

// A readable view of a region: pread(fd) at base + offset (base is the mapping's address when fd
// is /proc/PID/mem, else 0).
struct source {
  int fd = -1;
  std::uint64_t base = 0;
  std::uint64_t size = 0;  // the file's size, or the mapping's length
  std::string path;
  bool read(std::uint64_t off, void *dst, std::size_t len) const;
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct map_range {
  pid_t pid;
  unsigned long start, end;
};

struct candidate {
  std::string key;   // device:inode
  std::string type;  // named, memfd, anonymous, file
  std::string name;  // named: "/NAME"
  std::string path;  // a path given on the command line
  unsigned long ino = 0;
  bool named_target = false;  // given by path or name on the command line: must be an mpsync region
  std::vector<mapper> mapped_by;
  std::vector<map_range> maps;
};

std::vector<candidate> candidates();
bool target_candidate(const std::string &t, const std::vector<candidate> &all, std::vector<candidate> &out,
                      std::string &err);
bool open_candidate(const candidate &c, source &s);

thread_ref thread_info(std::uint32_t tid);
std::string process_comm(pid_t pid);
std::string read_small(const std::string &path);

// decode.cpp: read one region through s; false (and err) if it is not an mpsync region.
bool read_region(const source &s, region &out, std::string &err);

}  // namespace mpsync::inspect

#endif
