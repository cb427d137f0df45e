// mpsync-inspect: who holds what, who waits for whom, and cross-process deadlocks, read from the
// mpsync regions of live processes without stopping or tracing them. docs/inspect.md is the manual.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "inspect.hpp"

namespace {

const char kUsage[] =
    "usage: mpsync-inspect [--json] [--all] [--watch [SECONDS]] [REGION ...]\n"
    "       mpsync-inspect --deadlocks [--json] [REGION ...]\n"
    "\n"
    "With no REGION, every mpsync region visible: named regions in /dev/shm and the memfd and\n"
    "anonymous regions mapped by live processes, each with the processes that map it (--all: with\n"
    "their objects). REGION is a named region (jobs or /jobs), a path (/dev/shm/jobs,\n"
    "/proc/PID/fd/N), or pid:PID (every region that process maps); its objects are listed with\n"
    "their state, owners and blocked threads.\n"
    "\n"
    "  --json        one JSON document (docs/inspect.md has the schema)\n"
    "  --watch [S]   refresh every S seconds (default 1) until interrupted\n"
    "  --deadlocks   find cycles of threads waiting for locks held by each other, and waits on\n"
    "                locks whose owner thread is gone; exit 2 if any is found, 0 if none\n"
    "  --settle MS   --deadlocks: a finding must persist across two reads MS apart (default 200)\n"
    "Exit status: 0 ok (no deadlock), 1 error, 2 deadlock found.\n";

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

int main(int argc, char **argv) {
  using namespace mpsync::inspect;
  bool json = false, all = false, watch = false, dead = false;
  double interval = 1.0;
  int settle_ms = 200;
  std::vector<std::string> targets;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") json = true;
    else if (a == "--all" || a == "-a") all = true;
    else if (a == "--deadlocks") dead = true;
    else if (a == "--watch") {
      watch = true;
      char *end = nullptr;
      if (i + 1 < argc) {
        const double v = std::strtod(argv[i + 1], &end);
        if (end && *end == '\0' && v > 0) interval = v, ++i;
      }
    } else if (a == "--settle" && i + 1 < argc) settle_ms = std::atoi(argv[++i]);
    else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "mpsync-inspect: unknown option %s\n%s", a.c_str(), kUsage);
      return 1;
    } else targets.push_back(a);
  }
  auto read_all = [&](std::vector<region> &rs) {
    std::string err;
    if (collect(targets, rs, err)) return true;
    std::fprintf(stderr, "mpsync-inspect: %s\n", err.c_str());
    return false;
  };
  if (dead) {
    std::vector<region> rs;
    std::vector<finding> found;
    std::string err;
    if (!check_deadlocks(targets, settle_ms, rs, found, err)) {
      std::fprintf(stderr, "mpsync-inspect: %s\n", err.c_str());
      return 1;
    }
    std::fputs(json ? to_json(rs, &found).c_str() : to_text(found).c_str(), stdout);
    return found.empty() ? 0 : 2;
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  for (;;) {
    std::vector<region> rs;
    if (!read_all(rs)) return 1;
    const std::string out = json ? to_json(rs) : to_text(rs, all || !targets.empty());
    if (watch) std::fputs("\x1b[H\x1b[2J", stdout);
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    if (!watch) return 0;
    for (double t = 0; t < interval && !g_stop; t += 0.05) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (g_stop) return 0;
  }
}
