// Finding mpsync regions and reading them from outside: /dev/shm for named regions, every
// process's /proc/PID/maps for shared mappings (named, memfd, anonymous), grouped by (device,
// inode) so a region shared by ten processes is listed once with its ten processes.
//
// How a region is read, first way that works:
//   named      /dev/shm/NAME                      (file permissions)
//   memfd      /proc/PID/fd/N of a process that keeps the fd open (same user, even under Yama
//              ptrace_scope=1), else /proc/PID/map_files/START-END (CAP_SYS_ADMIN)
//   anonymous  /proc/PID/map_files/START-END, else /proc/PID/mem (ptrace read access)
// Everything is pread(): a file truncated under us gives a short read, never a SIGBUS.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "../../runtime/region_layout.hpp"
#include "procfs.hpp"

namespace mpsync::inspect {

bool source::read(std::uint64_t off, void *dst, std::size_t len) const {
  std::size_t got = 0;
  while (got < len) {
    const ssize_t r = pread(fd, static_cast<char *>(dst) + got, len - got, static_cast<off_t>(base + off + got));
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

std::string read_small(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

thread_ref thread_info(std::uint32_t tid) {
  thread_ref t;
  t.tid = tid;
  const std::string st = read_small("/proc/" + std::to_string(tid) + "/status");
  if (st.empty()) return t;  // gone
  std::istringstream in(st);
  std::string line;
  bool zombie = false;
  while (std::getline(in, line)) {
    if (line.rfind("Tgid:", 0) == 0) t.pid = static_cast<std::uint32_t>(std::strtoul(line.c_str() + 5, nullptr, 10));
    if (line.rfind("State:", 0) == 0) zombie = line.find('Z') != std::string::npos || line.find('X') != std::string::npos;
  }
  t.alive = t.pid != 0 && !zombie;
  std::string c = read_small("/proc/" + std::to_string(t.pid) + "/task/" + std::to_string(tid) + "/comm");
  while (!c.empty() && c.back() == '\n') c.pop_back();
  t.comm = c;
  return t;
}

std::string process_comm(pid_t pid) {
  std::string c = read_small("/proc/" + std::to_string(pid) + "/comm");
  while (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

namespace {

std::string dev_key(dev_t dev, ino_t ino) {
  char b[64];
  std::snprintf(b, sizeof b, "%02x:%02x:%lu", major(dev), minor(dev), static_cast<unsigned long>(ino));
  return b;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> v;
  if (DIR *d = opendir("/proc")) {
    while (dirent *e = readdir(d))
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9') v.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
    closedir(d);
  }
  return v;
}

// The shared mappings of pid that could be regions.
void scan_maps(pid_t pid, std::map<std::string, candidate> &out) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  const std::string comm = process_comm(pid);
  while (std::getline(f, line)) {
    unsigned long start = 0, end = 0, offset = 0, ino = 0;
    char perms[8] = {}, dev[16] = {};
    int pos = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %15s %lu %n", &start, &end, perms, &offset, dev, &ino, &pos) < 6)
      continue;
    if (perms[0] != 'r' || perms[3] != 's' || offset != 0 || ino == 0) continue;
    std::string path = pos > 0 && static_cast<std::size_t>(pos) <= line.size() ? line.substr(static_cast<std::size_t>(pos)) : "";
    std::string type;
    if (path.rfind("/memfd:", 0) == 0) type = "memfd";
    else if (path.rfind("/dev/shm/", 0) == 0) type = "named";
    else if (path.rfind("/dev/zero", 0) == 0 || path.rfind("/SYSV", 0) == 0) type = "anonymous";
    else continue;
    const std::string key = std::string(dev) + ":" + std::to_string(ino);
    candidate &c = out[key];
    c.key = key;
    c.type = type;
    c.ino = ino;
    if (type == "named" && c.name.empty()) {
      std::string n = path.substr(8);
      if (const auto d = n.find(" (deleted)"); d != n.npos) n = n.substr(0, d) + " (unlinked)";
      c.name = n;
    }
    bool seen = false;
    for (const mapper &m : c.mapped_by) seen |= m.pid == pid;
    if (!seen) c.mapped_by.push_back({pid, comm});
    c.maps.push_back({pid, start, end});
  }
}

bool open_file(const std::string &path, source &s) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ::close(fd);
    return false;
  }
  s = {fd, 0, static_cast<std::uint64_t>(sb.st_size), path};
  return true;
}

// An fd of pid whose file is the inode `ino`.
bool open_fd_of(pid_t pid, unsigned long ino, source &s) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR *d = opendir(dir.c_str());
  if (!d) return false;
  bool ok = false;
  while (dirent *e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string p = dir + "/" + e->d_name;
    struct stat sb;
    if (stat(p.c_str(), &sb) == 0 && sb.st_ino == ino && open_file(p, s)) {
      ok = true;
      break;
    }
  }
  closedir(d);
  return ok;
}

}  // namespace

bool open_candidate(const candidate &c, source &s) {
  if (c.type == "named" && c.name.find(" (unlinked)") == std::string::npos && open_file("/dev/shm/" + c.name, s)) return true;
  if (!c.path.empty() && open_file(c.path, s)) return true;
  for (const map_range &m : c.maps) {
    if (c.type == "memfd" && open_fd_of(m.pid, c.ino, s)) return true;
    char mf[96];
    std::snprintf(mf, sizeof mf, "/proc/%d/map_files/%lx-%lx", m.pid, m.start, m.end);
    if (open_file(mf, s)) return true;
    const std::string mem = "/proc/" + std::to_string(m.pid) + "/mem";
    const int fd = ::open(mem.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char where[48];
      std::snprintf(where, sizeof where, "@0x%lx", m.start);
      s = {fd, m.start, m.end - m.start, mem + where};
      std::uint64_t probe;
      if (s.read(0, &probe, sizeof probe)) return true;
      ::close(fd);
    }
  }
  return false;
}

// Every candidate region: the shared mappings of all processes, and the files in /dev/shm.
std::vector<candidate> candidates() {
  std::map<std::string, candidate> found;
  for (pid_t p : all_pids()) scan_maps(p, found);
  if (DIR *d = opendir("/dev/shm")) {
    while (dirent *e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      struct stat sb;
      const std::string p = std::string("/dev/shm/") + e->d_name;
      if (stat(p.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 64) continue;
      const std::string key = dev_key(sb.st_dev, sb.st_ino);
      candidate &c = found[key];
      c.key = key;
      c.type = "named";
      c.ino = sb.st_ino;
      c.name = std::string("/") + e->d_name;
    }
    closedir(d);
  }
  std::vector<candidate> v;
  for (auto &[k, c] : found) {
    if (c.type == "named" && !c.name.empty() && c.name[0] != '/') c.name = "/" + c.name;
    v.push_back(std::move(c));
  }
  return v;
}

// A target given on the command line, as a candidate (mapped_by filled from `all`).
bool target_candidate(const std::string &t, const std::vector<candidate> &all, std::vector<candidate> &out,
                      std::string &err) {
  if (t.rfind("pid:", 0) == 0) {
    const pid_t pid = static_cast<pid_t>(std::atoi(t.c_str() + 4));
    if (pid <= 0 || access(("/proc/" + std::to_string(pid)).c_str(), F_OK) != 0) {
      err = t + ": no such process";
      return false;
    }
    for (const candidate &c : all)
      for (const mapper &m : c.mapped_by)
        if (m.pid == pid) {
          out.push_back(c);
          break;
        }
    return true;
  }
  std::string path = t;
  if (t.rfind("/proc/", 0) != 0 && t.rfind("/dev/shm/", 0) != 0) path = "/dev/shm/" + (t[0] == '/' ? t.substr(1) : t);
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) {
    err = t + ": " + std::strerror(errno);
    return false;
  }
  const std::string key = dev_key(sb.st_dev, sb.st_ino);
  candidate c;
  for (const candidate &a : all)
    if (a.key == key) c = a;
  c.key = key;
  c.ino = sb.st_ino;
  c.path = path;
  c.named_target = true;
  if (path.rfind("/dev/shm/", 0) == 0) {
    c.type = "named";
    c.name = path.substr(8);
  } else if (c.type.empty()) {
    char link[256] = {};
    const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
    c.type = n > 0 && std::strncmp(link, "/memfd:", 7) == 0 ? "memfd" : "file";
  }
  out.push_back(c);
  return true;
}

}  // namespace mpsync::inspect
