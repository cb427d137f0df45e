// Shared-memory regions through the C functions (mpsync_region_*): anonymous regions inherited by
// fork, bump allocation and offsets, memfd passed over a Unix socket and mapped at another address,
// and the named lifecycle (O_EXCL, 0600, open from another process, unlink), with bad arguments.
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "region_util.hpp"

using mpt::Mode;
using namespace mpt_region;

TEST(RegionC, AnonymousAllocAndFork) {
  mpsync_region_t *r = nullptr;
  EXPECT_EQ(mpsync_region_create_anon(&r, 10), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_create_anon(nullptr, 4096), MPSYNC_EINVAL);
  ASSERT_EQ(mpsync_region_create_anon(&r, 4096), MPSYNC_OK);
  EXPECT_EQ(mpsync_region_fd(r), -1);
  auto *s = static_cast<mpsync_sem_t *>(mpsync_region_alloc(r, sizeof(mpsync_sem_t), alignof(mpsync_sem_t)));
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(mpsync_sem_init(s, 1), MPSYNC_OK);
  EXPECT_EQ(mpsync_region_at(r, mpsync_region_offset(r, s)), s);
  EXPECT_EQ(mpsync_region_at(r, 0), nullptr);
  EXPECT_EQ(mpsync_region_at(r, 4096), nullptr);
  void *al = mpsync_region_alloc(r, 5, 512);
  ASSERT_NE(al, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(al) % 512, 0u);
  EXPECT_EQ(mpsync_region_alloc(r, 5, 3), nullptr);
  EXPECT_EQ(mpsync_region_alloc(r, 8192, 8), nullptr);
  EXPECT_EQ(mpsync_region_alloc(nullptr, 8, 8), nullptr);
  EXPECT_EQ(mpsync_region_at(nullptr, 64), nullptr);
  EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) {
              WCHECK(mpsync_sem_acquire(s, 0, 0) == MPSYNC_OK);
              WCHECK(mpsync_sem_release(s) == MPSYNC_OK);
              WCHECK(mpsync_sem_release(s) == MPSYNC_OK);
              return 0;
            }), 0);
  EXPECT_EQ(mpsync_sem_get_value(s), 2);
  mpsync_region_close(r);
  mpsync_region_close(nullptr);  // harmless
  // A 64 KiB region: a Lock allocated with align 4 is found again by its offset.
  ASSERT_EQ(mpsync_region_create_anon(&r, 1 << 16), MPSYNC_OK);
  auto *l = static_cast<mpsync_lock_t *>(mpsync_region_alloc(r, sizeof(mpsync_lock_t), 4));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(mpsync_region_at(r, mpsync_region_offset(r, l)), l);
  EXPECT_EQ(mpsync_region_fd(r), -1);
  mpsync_region_close(r);
}

TEST(RegionC, MemfdOverSocket) {
  mpsync_region_t *r = nullptr;
  ASSERT_EQ(mpsync_region_create_memfd(&r, 8192), MPSYNC_OK);
  ASSERT_GE(mpsync_region_fd(r), 0);
  auto *e = static_cast<mpsync_event_t *>(mpsync_region_alloc(r, sizeof(mpsync_event_t), 4));
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(mpsync_event_init(e), MPSYNC_OK);
  const std::uint64_t off = mpsync_region_offset(r, e);
  SocketPair sp;
  mpt::Workers w(Mode::processes);
  w.start([&] {
    int fd = -1;
    WCHECK(mpsync_region_recv_fd(sp.fd[1], &fd) == MPSYNC_OK);
    mpsync_region_t *mine = nullptr;
    WCHECK(mpsync_region_open_fd(&mine, fd) == MPSYNC_OK);
    auto *e2 = static_cast<mpsync_event_t *>(mpsync_region_at(mine, off));
    WCHECK(e2 != nullptr && static_cast<void *>(e2) != static_cast<void *>(e));
    WCHECK(mpsync_event_set(e2) == MPSYNC_OK);
    mpsync_region_close(mine);
    return 0;
  });
  ASSERT_EQ(mpsync_region_send_fd(sp.fd[0], mpsync_region_fd(r)), MPSYNC_OK);
  EXPECT_EQ(mpsync_event_wait(e, 30.0), MPSYNC_OK);
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(mpsync_region_recv_fd(sp.fd[1], nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_open_fd(nullptr, 0), MPSYNC_EINVAL);
  mpsync_region_t *x = nullptr;
  EXPECT_EQ(mpsync_region_open_fd(&x, -1), MPSYNC_EINVAL);
  mpsync_region_close(r);
  ASSERT_EQ(mpsync_region_create_memfd(&r, 1 << 16), MPSYNC_OK);  // 64 KiB: an fd as well
  EXPECT_GE(mpsync_region_fd(r), 0);
  mpsync_region_close(r);
}

TEST(RegionC, NamedLifecycle) {
  const std::string name = unique_name("cnamed");
  Unlinker u{name};
  mpsync_region_t *r = nullptr, *r2 = nullptr;
  EXPECT_EQ(mpsync_region_create_named(&r, nullptr, 4096), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_create_named(&r, name.c_str(), 8), MPSYNC_EINVAL);
  ASSERT_EQ(mpsync_region_create_named(&r, name.c_str(), 4096), MPSYNC_OK);
  EXPECT_EQ(mpsync_region_create_named(&r2, name.c_str(), 4096), MPSYNC_ESYS);  // O_EXCL
  EXPECT_EQ(errno, EEXIST);
  struct stat sb;
  ASSERT_EQ(fstat(mpsync_region_fd(r), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  auto *l = static_cast<mpsync_lock_t *>(mpsync_region_alloc(r, sizeof(mpsync_lock_t), 4));
  ASSERT_NE(l, nullptr);
  ASSERT_EQ(mpsync_lock_init(l), MPSYNC_OK);
  ASSERT_EQ(mpsync_lock_acquire(l, 1, MPSYNC_FOREVER), MPSYNC_OK);
  const std::uint64_t off = mpsync_region_offset(r, l);
  EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) {
              mpsync_region_t *o = nullptr;
              WCHECK(mpsync_region_open_named(&o, name.c_str()) == MPSYNC_OK);
              auto *l2 = static_cast<mpsync_lock_t *>(mpsync_region_at(o, off));
              WCHECK(l2 && mpsync_lock_locked(l2) == 1);
              WCHECK(mpsync_lock_release(l2) == MPSYNC_OK);  // any process may release a Lock
              mpsync_region_close(o);
              return 0;
            }), 0);
  EXPECT_EQ(mpsync_lock_locked(l), 0);
  EXPECT_EQ(mpsync_region_unlink_named(name.c_str()), MPSYNC_OK);
  EXPECT_EQ(mpsync_region_unlink_named(name.c_str()), MPSYNC_ESYS);
  EXPECT_EQ(mpsync_region_open_named(&r2, name.c_str()), MPSYNC_ESYS);
  EXPECT_EQ(mpsync_region_unlink_named(nullptr), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_open_named(&r2, nullptr), MPSYNC_EINVAL);
  mpsync_region_close(r);
}
