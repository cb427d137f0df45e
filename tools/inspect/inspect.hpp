// mpsync-inspect's model: what it finds in mpsync regions of live processes, read from outside
// (procfs.cpp finds and reads regions, decode.cpp turns bytes into objects, report.cpp prints them
// and finds deadlocks). The library side of what is read here: runtime/region_layout.hpp.
//
// Nothing read from a region is trusted: every offset is range-checked against the copy, a torn
// read (an allocation tag or waiter slot being written while copied) is retried, and a process
// that vanishes while being read is skipped.
#ifndef MPSYNC_TOOLS_INSPECT_HPP
#define MPSYNC_TOOLS_INSPECT_HPP

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpsync::inspect {

struct thread_ref {
  std::uint32_t tid = 0;
  std::uint32_t pid = 0;  // 0 when the thread no longer exists
  std::string comm;
  bool alive = false;
};

struct waiter {
  thread_ref who;
  double since = 0;    // CLOCK_REALTIME seconds when the wait began
  std::int64_t since_ns = 0;  // the same, exact (what identifies one wait across two reads)
  bool any = false;    // one of the objects of an mpsync_wait_any (no deadlock edge: any of them frees it)
  std::uint64_t word = 0;
};

struct object {
  std::string name;  // empty for an unnamed object
  std::uint64_t offset = 0;
  std::string kind;  // lock rlock semaphore bounded_semaphore condition event barrier raw data
  std::uint64_t size = 0;
  std::optional<thread_ref> owner;  // lock, rlock, condition (its embedded RLock)
  std::optional<std::uint32_t> count, value, bound, parties, waiting, generation;
  std::optional<bool> set, broken, owner_died;
  std::vector<waiter> waiters;
  std::uint64_t lock_word = 0;  // offset of the word whose waiters wait for `owner` (0: none)
};

struct mapper {
  pid_t pid;
  std::string comm;
};

struct region {
  std::string name;  // a named region ("/jobs"), else empty
  std::string path;  // how it was read: /dev/shm/jobs, /proc/PID/fd/N, /proc/PID/mem@0x...
  std::string type;  // named, memfd, anonymous
  std::uint64_t size = 0, used = 0;
  std::uint32_t version = 0;
  std::vector<mapper> mapped_by;
  std::vector<object> objects;
  std::vector<std::string> notes;  // partial reads, unreadable parts
};

// Find and read regions. targets empty: every region visible. A target is a named region's name
// ("/jobs" or "jobs"), a path to a region file or a process's fd ("/proc/PID/fd/N"), or "pid:PID"
// (every region that process maps). Returns false with `err` set when a target cannot be read
// (no such region, not an mpsync region, no permission).
bool collect(const std::vector<std::string> &targets, std::vector<region> &out, std::string &err);

// The wait-for graph: cycles of thread -> object it waits on -> owner thread, and waits on locks
// whose owner thread is gone. Only findings present in two snapshots `settle_ms` apart count, so a
// busy queue (waits that end) never reports.
struct edge {
  thread_ref waiter;
  std::string region, object;  // region name/path; the object's name ("" if unnamed)
  std::uint64_t offset = 0;
  std::string kind;
  thread_ref owner;
  double since = 0;  // when the waiter began
  std::int64_t since_ns = 0;  // the same, exact: equal in both reads = the same wait, not a new one
};
struct finding {
  bool dead_owner = false;  // a wait on a lock whose owner is gone (else a cycle)
  std::vector<edge> edges;
};
std::vector<finding> deadlocks(const std::vector<region> &regions);
std::vector<finding> stable(const std::vector<finding> &a, const std::vector<finding> &b);  // in both

// The deadlock check of `mpsync-inspect --deadlocks` (two reads settle_ms apart, stable findings),
// and the JSON both it and Python's mpsync.inspect() print: false (err set) if a target cannot be read.
bool check_deadlocks(const std::vector<std::string> &targets, int settle_ms, std::vector<region> &regions,
                     std::vector<finding> &found, std::string &err);
bool json_report(const std::vector<std::string> &targets, bool deadlocks, std::string &out, std::string &err,
                 int settle_ms = 200);

std::string to_json(const std::vector<region> &regions, const std::vector<finding> *found = nullptr);
std::string to_text(const std::vector<region> &regions, bool details);
std::string to_text(const std::vector<finding> &found);

}  // namespace mpsync::inspect

#endif
