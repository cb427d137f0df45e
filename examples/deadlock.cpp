// A deadlock on purpose, for mpsync-inspect to find (README, "Finding a hang").
//
// Two processes share a named region with two named locks. "transfer" takes "accounts" and then
// wants "ledger"; "audit" takes "ledger" and then wants "accounts". Neither can go on. While it
// hangs, from another terminal:
//     mpsync-inspect --deadlocks            (exit status 2: a deadlock was found)
//     mpsync-inspect /mpsync-deadlock-demo  (every object, its owner and who is blocked on it)
// It ends by itself after SECONDS (default 30), killing both processes and removing the region.
// Usage: deadlock [SECONDS]
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "mpsync/mpsync.hpp"

int main(int argc, char **argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 30;
  const char *name = "/mpsync-deadlock-demo";
  mpsync::Region::unlink_named(name);
  mpsync::Region region = mpsync::Region::create_named(name, 1 << 16);
  auto *accounts = region.make_named<mpsync::Lock>("accounts");
  auto *ledger = region.make_named<mpsync::RLock>("ledger");
  auto *both_hold = region.make<mpsync::Barrier>(2u);

  auto run = [&](const char *comm, auto &first, auto &second) {
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_NAME, comm);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      first.acquire();
      both_hold->wait();  // both hold their first lock: now each wants the other's
      second.acquire();   // never returns
      _exit(0);
    }
    return pid;
  };
  const pid_t transfer = run("transfer", *accounts, *ledger);
  const pid_t audit = run("audit", *ledger, *accounts);
  std::printf("pids %d (transfer) and %d (audit) are deadlocked on %s for %d s.\n"
              "Try: mpsync-inspect --deadlocks\n",
              static_cast<int>(transfer), static_cast<int>(audit), name, seconds);
  std::fflush(stdout);
  sleep(static_cast<unsigned>(seconds));
  kill(transfer, SIGKILL);
  kill(audit, SIGKILL);
  waitpid(transfer, nullptr, 0);
  waitpid(audit, nullptr, 0);
  mpsync::Region::unlink_named(name);
  return 0;
}
