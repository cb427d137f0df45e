// Scripted scenes for tests/test_inspect.py: builds a named region in a known state with child
// processes holding and blocked on its objects, prints one JSON line naming the threads involved,
// then keeps the scene alive until stdin closes (or 120 s pass), and tears it down (SIGKILL to
// every child, unlink). Usage: inspect_scene MODE REGION_NAME
//   scene      RLock "state" held twice by one child and wanted by another; Event "ready" set;
//              BoundedSemaphore "slots" (bound 5) at 3; Barrier "start" with 2 of 3 parties in;
//              Condition "changed" with 2 waiters
//   deadlock2  child 1 holds Lock "A" and wants RLock "B"; child 2 holds "B" and wants "A"
//   deadlock3  child i holds Lock "L<i>" and wants "L<i+1 mod 3>"
//   busy       4 children take Lock "q" in turn as fast as they can, and pass a Semaphore
//              "items" around: waits come and go, nothing is stuck
//   deadowner  a child takes Lock "orphan" and exits; another child then waits for it
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "mpsync/mpsync.hpp"

using namespace mpsync;

namespace {

std::vector<pid_t> g_children;
std::uint32_t *g_tids;  // in the region: one per child, 0 until it is in place

template <class F>
void child(int slot, F body) {
  const pid_t p = fork();
  if (p == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    __atomic_store_n(&g_tids[slot], detail::self_tid(), __ATOMIC_RELEASE);
    body();
    pause();
    _exit(0);
  }
  g_children.push_back(p);
}

void wait_tids(int n) {
  for (int i = 0; i < n; ++i)
    while (__atomic_load_n(&g_tids[i], __ATOMIC_ACQUIRE) == 0) usleep(1000);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: inspect_scene MODE REGION_NAME\n");
    return 2;
  }
  const std::string mode = argv[1], name = argv[2];
  Region::unlink_named(name);
  Region r = Region::create_named(name, 1 << 16);
  g_tids = static_cast<std::uint32_t *>(r.alloc(sizeof(std::uint32_t) * 16, 4));
  int n = 0;
  if (mode == "scene") {
    auto *state = r.make_named<RLock>("state");
    auto *ready = r.make_named<Event>("ready");
    auto *slots = r.make_named<BoundedSemaphore>("slots", 5u);
    auto *start = r.make_named<Barrier>("start", 3u);
    auto *changed = r.make_named<Condition>("changed");
    r.make_named<Lock>("caf\xc3\xa9 \xff");  // a name that is not UTF-8: the JSON must still be valid
    auto *held = r.make<Event>();
    slots->acquire();
    slots->acquire();
    ready->set();
    child(0, [&] {
      state->acquire();
      state->acquire();
      held->set();
    });
    held->wait();
    child(1, [&] { state->acquire(); });
    child(2, [&] { start->wait(); });
    child(3, [&] { start->wait(); });
    child(4, [&] { changed->acquire(), changed->wait(); });
    child(5, [&] { changed->acquire(), changed->wait(); });
    n = 6;
  } else if (mode == "deadlock2") {
    auto *a = r.make_named<Lock>("A");
    auto *b = r.make_named<RLock>("B");
    auto *both = r.make<Barrier>(2u);
    child(0, [&] { a->acquire(), both->wait(), b->acquire(); });
    child(1, [&] { b->acquire(), both->wait(), a->acquire(); });
    n = 2;
  } else if (mode == "deadlock3") {
    Lock *l[3];
    for (int i = 0; i < 3; ++i) l[i] = r.make_named<Lock>("L" + std::to_string(i));
    auto *all = r.make<Barrier>(3u);
    for (int i = 0; i < 3; ++i) child(i, [&, i] { l[i]->acquire(), all->wait(), l[(i + 1) % 3]->acquire(); });
    n = 3;
  } else if (mode == "busy") {
    auto *q = r.make_named<Lock>("q");
    auto *items = r.make_named<Semaphore>("items", 1u);
    for (int i = 0; i < 4; ++i)
      child(i, [&] {
        for (;;) {
          items->acquire();
          q->acquire();
          for (int k = 0; k < 20000; ++k) asm volatile("" ::: "memory");  // a short hold
          q->release();
          items->release();
        }
      });
    n = 4;
  } else if (mode == "deadowner") {
    auto *orphan = r.make_named<Lock>("orphan");
    child(0, [&] {
      orphan->acquire();
      _exit(0);
    });
    int st;
    waitpid(g_children[0], &st, 0);
    g_children.clear();
    child(1, [&] { orphan->acquire(); });
    n = 2;
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  wait_tids(n);
  std::printf("{\"pid\": %d, \"tids\": [", static_cast<int>(getpid()));
  for (int i = 0; i < n; ++i) std::printf("%s%u", i ? ", " : "", g_tids[i]);
  std::printf("]}\n");
  std::fflush(stdout);
  pollfd p{0, POLLIN, 0};
  for (int waited = 0; waited < 120000; waited += 100) {  // until stdin closes (EOF), at most 120 s
    if (poll(&p, 1, 100) > 0) {
      char buf[64];
      if (read(0, buf, sizeof buf) <= 0) break;
    }
  }
  for (pid_t c : g_children) kill(c, SIGKILL);
  for (pid_t c : g_children) waitpid(c, nullptr, 0);
  Region::unlink_named(name);
  return 0;
}
