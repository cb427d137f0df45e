// Regression tests for the library bugs the libFuzzer harnesses (fuzz/) found. Each test names
// the harness, the input that found it and the fix.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "harness.hpp"
#include "mpsync.h"

namespace {

std::uint32_t my_tid() { return static_cast<std::uint32_t>(syscall(SYS_gettid)); }

// An RLock whose memory names the calling thread as owner, count 1, with robust-list links that
// point nowhere (this thread never linked it).
void make_garbage_owned(mpsync_rlock_t *r) {
  std::memset(r, 0, sizeof *r);
  r->word = my_tid();
  r->count = 1;
  r->prev = 0x1234;  // unmapped addresses: following them is a SIGSEGV
  r->next = 0x5670;
}

}  // namespace

// fuzz_state, input: kind RLock with "own TID" bit, word = TID, count 1, prev/next garbage, then
// one release. The release followed the node's garbage links (robust::dequeue) and crashed
// (CONFORMANCE M2). Fix: the node is unlinked only when it is found on this thread's list
// (inline: when it is the list's first node; runtime/rlock.cpp on_my_list otherwise).
TEST(FuzzRegress, RLockGarbageOwnerLinksNotFollowed) {
  alignas(8) mpsync_rlock_t r;
  make_garbage_owned(&r);
  EXPECT_EQ(mpsync_rlock_is_mine(&r), 1);
  EXPECT_EQ(mpsync_rlock_release(&r), MPSYNC_OK);  // released as if unlinked; no crash
  EXPECT_EQ(mpsync_rlock_locked(&r), 0);
  EXPECT_EQ(r.prev, 0x1234u);  // the foreign links are left alone
  EXPECT_EQ(r.next, 0x5670u);
  // And the lock is fully usable afterwards (linked by our own enqueue this time).
  EXPECT_EQ(mpsync_rlock_acquire(&r, 1, 1.0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_acquire(&r, 0, 0), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_count(&r), 2u);
  EXPECT_EQ(mpsync_rlock_release(&r), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(&r), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_release(&r), MPSYNC_ENOTOWNER);
}

// The same garbage reached through a Condition's embedded RLock: wait releases every level
// (release_all -> release_last) and re-acquires.
TEST(FuzzRegress, CondGarbageOwnedEmbeddedRLockWait) {
  alignas(8) mpsync_cond_t c;
  std::memset(&c, 0, sizeof c);
  make_garbage_owned(&c.lock);
  EXPECT_EQ(mpsync_cond_wait(&c, 0.001), MPSYNC_TIMEDOUT);
  EXPECT_EQ(mpsync_rlock_count(&c.lock), 1u);  // restored
  EXPECT_EQ(mpsync_cond_release(&c), MPSYNC_OK);
  EXPECT_EQ(mpsync_rlock_locked(&c.lock), 0);
}

// The fix changed which releases are inline: a release that is not LIFO now takes the slow path
// and finds the node by walking the list. Robustness must be intact: after releasing A out of
// order, B is still on the list (its death is reported) and A is not (no stale entry).
TEST(FuzzRegress, RLockNonLifoReleaseStaysRobust) {
  auto region = mpt::shared();
  auto *a = region.make<mpsync::RLock>();
  auto *b = region.make<mpsync::RLock>();
  std::thread t([&] {
    EXPECT_EQ(a->acquire_status(), mpsync::status::ok);
    EXPECT_EQ(b->acquire_status(), mpsync::status::ok);  // list: b, a
    EXPECT_EQ(a->release_status(), mpsync::status::ok);  // not first: unlinked by the walk
    EXPECT_FALSE(a->locked());
    const auto *ra = reinterpret_cast<const mpsync_rlock_t *>(a);
    EXPECT_EQ(ra->prev, 0u);  // dequeue ran (it clears the node)
    EXPECT_EQ(ra->next, 0u);
    // exits holding b
  });
  t.join();
  EXPECT_EQ(a->acquire_status(true, 1.0), mpsync::status::ok);  // nobody marked a dead
  EXPECT_EQ(a->release_status(), mpsync::status::ok);
  EXPECT_EQ(b->acquire_status(true, 5.0), mpsync::status::owner_dead);
  EXPECT_EQ(b->count(), 1u);
  EXPECT_EQ(b->release_status(), mpsync::status::ok);
}

// fuzz_capi, input: cond_init with kind 42 and a lock. A C caller may pass any int for the enum;
// loading it as mpsync_lock_kind in C++ is undefined (UBSan: "load of value 42, which is not a
// valid value for type 'mpsync_lock_kind'"). Fix: runtime/capi.cpp reads the argument's bytes as
// an int and rejects unknown kinds. The test checks the statuses; the ASan+UBSan build checks the
// absence of the report.
TEST(FuzzRegress, CondInitUnknownKindIsEinval) {
  alignas(8) struct {
    mpsync_cond_t c;
    mpsync_lock_t l;
  } m;
  std::memset(&m, 0, sizeof m);
  for (int k : {0, 3, 42, -1, 0x7fffffff}) {
    mpsync_lock_kind kind;
    std::memcpy(&kind, &k, sizeof kind);  // what a C caller's int looks like
    EXPECT_EQ(mpsync_cond_init(&m.c, kind, &m.l), MPSYNC_EINVAL) << k;
    EXPECT_EQ(mpsync_cond_init(&m.c, kind, nullptr), MPSYNC_OK) << k;  // NULL: the embedded RLock
    EXPECT_EQ(mpsync_cond_acquire(&m.c, 0, 0), MPSYNC_OK);
    EXPECT_EQ(mpsync_cond_release(&m.c), MPSYNC_OK);
  }
  EXPECT_EQ(mpsync_cond_init(&m.c, MPSYNC_KIND_LOCK, &m.l), MPSYNC_OK);
}

// fuzz_capi, input: region_create_memfd with size UINT64_MAX. ftruncate(-1) failed and the call
// returned ESYS, while create_anon says EINVAL for the same size (over the 2^46 limit). Fix:
// runtime/region.cpp checks the limit in every create, before any fd exists (the C++
// Region::memfd / create_named too).
TEST(FuzzRegress, RegionCreateOverLimitIsEinval) {
  for (std::uint64_t size : {~std::uint64_t{0}, (std::uint64_t{1} << 46) + 1, std::uint64_t{1} << 63}) {
    mpsync_region_t *r = nullptr;
    EXPECT_EQ(mpsync_region_create_anon(&r, size), MPSYNC_EINVAL);
    EXPECT_EQ(mpsync_region_create_memfd(&r, size), MPSYNC_EINVAL);
    EXPECT_EQ(mpsync_region_create_named(&r, "/mpsync-fuzz-regress-never-created", size), MPSYNC_EINVAL);
    EXPECT_EQ(r, nullptr);
    EXPECT_THROW(mpsync::Region::memfd(size), mpsync::invalid_argument);
    EXPECT_THROW(mpsync::Region::create_named("/mpsync-fuzz-regress-never-created", size), mpsync::invalid_argument);
  }
  mpsync_region_t *r = nullptr;
  EXPECT_EQ(mpsync_region_open_named(&r, "/mpsync-fuzz-regress-never-created"), MPSYNC_ESYS);  // nothing left behind
}

// fuzz_schedule, input 1a b0 ab a6 94 d1 af ab aa eb 2e 06 6a 04 6a 6a (4 threads, Barrier(2)):
// a third thread that called wait while a full cycle's action was running timed out and broke
// that cycle, so both of its parties got BROKEN (Python: they pass; the latecomer would wait for
// the next cycle). Fix: runtime/barrier.cpp, a thread that is no party of the running generation
// gives up (BROKEN / INTERRUPTED) without breaking it.
TEST(FuzzRegress, BarrierLatecomerTimeoutDoesNotBreakFullCycle) {
  auto region = mpt::shared();
  auto *b = region.make<mpsync::Barrier>(2u);
  static std::atomic<int> in_action, release_action;
  in_action = 0;
  release_action = 0;
  mpsync::status sx{}, sy{}, sw{};
  unsigned ix = 9, iy = 9;
  std::thread x([&] { sx = b->wait_status(mpsync::forever, nullptr, nullptr, &ix); });
  ASSERT_TRUE(mpt::eventually([&] { return b->n_waiting() == 1; }));
  auto action = [](void *) -> int {
    in_action = 1;
    while (!release_action.load()) std::this_thread::yield();
    return 0;
  };
  std::thread y([&] { sy = b->wait_status(mpsync::forever, action, nullptr, &iy); });
  ASSERT_TRUE(mpt::eventually([] { return in_action.load() == 1; }));
  const double t0 = mpt::now_s();
  sw = b->wait_status(0.05, nullptr, nullptr, nullptr);  // the latecomer
  const double el = mpt::now_s() - t0;
  release_action = 1;
  x.join();
  y.join();
  EXPECT_EQ(sw, mpsync::status::broken);
  EXPECT_GE(el, 0.049);
  EXPECT_LT(el, 0.05 + mpt::kSlack);
  EXPECT_EQ(sx, mpsync::status::ok);
  EXPECT_EQ(sy, mpsync::status::ok);
  EXPECT_EQ(ix, 0u);
  EXPECT_EQ(iy, 1u);
  EXPECT_FALSE(b->broken());
  EXPECT_EQ(b->n_waiting(), 0u);
}
