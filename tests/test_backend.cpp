// Wait backends (issue #4): which one runs, and the automatic switch to the sleep loop when the
// kernel refuses futex — proven with a seccomp filter that makes futex fail with ENOSYS.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "harness.hpp"

using namespace mpsync;

namespace {
// Make futex (and futex_waitv) fail with ENOSYS in the calling process, as a seccomp sandbox or
// an emulator would. Returns false if seccomp filters cannot be installed here.
bool refuse_futex() {
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 449 /* futex_waitv */, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
  };
  struct sock_fprog fprog = {static_cast<unsigned short>(sizeof prog / sizeof prog[0]), prog};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) == 0;
}
}  // namespace

TEST(Backend, ReportsTheSelectedOne) {
  const char *env = std::getenv("MPSYNC_WAIT_BACKEND");
  const std::string b = mpsync_backend();
  EXPECT_TRUE(b == "futex" || b == "sleeploop");
  if (env && (std::strcmp(env, "futex") == 0 || std::strcmp(env, "sleeploop") == 0)) {
    EXPECT_EQ(b, env);
  }
}

TEST(Backend, SwitchesToSleepLoopWhenFutexIsRefused) {
  if (std::string(mpsync_backend()) != "futex") GTEST_SKIP() << "this run already uses the sleep loop";
  pid_t probe = mpt::fork_child();  // can this process install a seccomp filter at all?
  if (probe == 0) _exit(refuse_futex() ? 0 : 77);
  int pst = 0;
  waitpid(probe, &pst, 0);
  if (!WIFEXITED(pst) || WEXITSTATUS(pst) != 0) GTEST_SKIP() << "seccomp filters cannot be installed here";
  auto r = mpt::shared();
  auto *sem = r.make<Semaphore>(0u);
  auto *ready = r.make<int>(0);
  mpt::Workers w(mpt::Mode::processes);
  w.start([&] {
    WCHECK(refuse_futex());
    WCHECK(syscall(SYS_futex, ready, 1 /* FUTEX_WAKE */, 1, nullptr, nullptr, 0) == -1 && errno == ENOSYS);
    WCHECK(std::string(mpsync_backend()) == "futex");  // not switched yet: nothing has waited
    const double t0 = mpt::now_s();
    WCHECK(sem->acquire_status(true, 0.1) == status::timedout);  // futex refused -> sleep loop
    WCHECK(mpt::now_s() - t0 >= 0.1);
    WCHECK(std::string(mpsync_backend()) == "sleeploop");
    __atomic_store_n(ready, 1, __ATOMIC_RELEASE);
    WCHECK(sem->acquire_status(true, 30.0) == status::ok);  // the parent's release is seen by polling
    // Every primitive still works without futex.
    Lock l;
    WCHECK(l.acquire() && !l.acquire(false));
    l.release();
    Event e;
    WCHECK(!e.wait(0.02));
    return 0;
  });
  ASSERT_TRUE(mpt::eventually([&] { return __atomic_load_n(ready, __ATOMIC_ACQUIRE) == 1; }, 30.0));
  sem->release();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(std::string(mpsync_backend()), "futex");  // the parent is unaffected
}
