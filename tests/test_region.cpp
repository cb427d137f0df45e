// Shared-memory regions through the C++ face (mpsync::Region): anonymous (fork), memfd (SCM_RIGHTS,
// mapped at another address), named POSIX shm (O_EXCL, 0600, verified on open: short or foreign
// files are a clear error, never SIGBUS), bump allocation (alignment, exhaustion, atomic across
// processes). The C functions: test_region_c.cpp.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <utility>

#include "region_util.hpp"

using mpsync::Event;
using mpsync::Region;
using mpsync::Semaphore;
using mpsync::status;
using mpt::Mode;
using namespace mpt_region;

namespace {

// Expect `fn` to throw an mpsync::error with status `s`.
template <class F>
void expect_status_throw(F fn, status s) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const mpsync::error &e) {
    EXPECT_EQ(e.code_status(), s) << e.what();
    EXPECT_STREQ(e.code().category().name(), "mpsync");
  }
}

// Make a named shm object of `size` bytes (not an mpsync region): fill, fill + step, fill + 2 step...
void make_raw_shm(const std::string &name, off_t size, unsigned char fill, unsigned step = 7) {
  const int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, size), 0);
  if (size > 0) {
    std::string junk(static_cast<std::size_t>(size), static_cast<char>(fill));
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(fill + i * step);
    ASSERT_EQ(pwrite(fd, junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
  }
  close(fd);
}

}  // namespace

TEST(Region, AnonymousIsInheritedByFork) {
  Region r = Region::anonymous(1 << 16);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.fd(), -1);
  auto *sem = r.make<Semaphore>(1);
  auto *data = r.make<long>(0);
  EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) {
              WCHECK(sem->acquire_status(false) == status::ok);
              WCHECK(sem->get_value() == 0);
              *data = 42;
              WCHECK(sem->release_status() == status::ok);
              WCHECK(sem->release_status() == status::ok);
              return 0;
            }), 0);
  EXPECT_EQ(sem->get_value(), 2);
  EXPECT_EQ(*data, 42);
  // The smallest region, one page, works the same.
  Region page = Region::anonymous(4096);
  auto *s0 = page.make<Semaphore>(0u);
  EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) { s0->release(); return 0; }), 0);
  EXPECT_EQ(s0->get_value(), 1);
}

TEST(Region, MemfdSentOverSocketIsMappedElsewhere) {
  Region r = Region::memfd(1 << 16);
  ASSERT_TRUE(r);
  ASSERT_GE(r.fd(), 0);
  auto *ev = r.make<Event>();
  auto *back = r.make<Event>();
  auto *sem = r.make<Semaphore>(0);
  const std::uint64_t ev_off = r.offset_of(ev), back_off = r.offset_of(back), sem_off = r.offset_of(sem);
  EXPECT_EQ(r.at<Event>(ev_off), ev);
  SocketPair sp;
  const auto parent_base = reinterpret_cast<std::uintptr_t>(r.base());
  mpt::Workers w(Mode::processes);
  w.start([&] {
    void *block = mmap(nullptr, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);  // shift the layout
    (void)block;
    int fd = -1;
    WCHECK(Region::recv_fd(sp.fd[1], fd) == status::ok);
    WCHECK(fd >= 0);
    Region mine = Region::from_fd(fd);
    WCHECK(mine.size() == std::uint64_t{1} << 16);
    // The inherited mapping is still here, so the new one is necessarily elsewhere: only
    // offsets can find the objects.
    WCHECK(reinterpret_cast<std::uintptr_t>(mine.base()) != parent_base);
    Event *e = mine.at<Event>(ev_off);
    WCHECK(e != nullptr && reinterpret_cast<std::uintptr_t>(e) != reinterpret_cast<std::uintptr_t>(ev));
    WCHECK(mine.at<Semaphore>(sem_off)->release_status() == status::ok);
    e->set();
    WCHECK(mine.at<Event>(back_off)->wait(30.0));  // woken through the other mapping
    return 0;
  });
  ASSERT_EQ(Region::send_fd(sp.fd[0], r.fd()), status::ok);
  EXPECT_TRUE(ev->wait(30.0));
  EXPECT_TRUE(sem->acquire(true, 30.0));
  // The child is (or will be) blocked on `back` through its own mapping; wake it through ours.
  back->set();
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(sem->get_value(), 0);
}

TEST(Region, NamedCreateExclusiveMode0600OpenFromOtherProcess) {
  const std::string name = unique_name("named");
  Unlinker u{name};
  Region r = Region::create_named(name, 8192);
  ASSERT_TRUE(r);
  struct stat sb;
  ASSERT_EQ(fstat(r.fd(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  EXPECT_EQ(static_cast<std::uint64_t>(sb.st_size), 8192u);
  // O_EXCL: a second create of the same name fails with an OS error.
  EXPECT_THROW(Region::create_named(name, 8192), mpsync::system_failure);
  // The name without the leading slash is the same object.
  EXPECT_THROW(Region::create_named(name.substr(1), 8192), mpsync::system_failure);

  auto *sem = r.make<Semaphore>(0);
  const std::uint64_t off = r.offset_of(sem);
  auto *lock = r.make<mpsync::Lock>();  // held here, released by the other process
  const std::uint64_t lock_off = r.offset_of(lock);
  ASSERT_TRUE(lock->acquire());
  EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) {
              Region o = Region::open_named(name);
              WCHECK(o.size() == 8192);
              WCHECK(o.base() != r.base());
              WCHECK(o.at<Semaphore>(off)->release_status() == status::ok);
              WCHECK(o.at<mpsync::Lock>(lock_off)->locked());
              WCHECK(o.at<mpsync::Lock>(lock_off)->release_status() == status::ok);
              // An allocation in the other process advances the same bump pointer.
              WCHECK(o.alloc(16, 16) != nullptr);
              return 0;
            }), 0);
  EXPECT_EQ(sem->get_value(), 1);
  EXPECT_FALSE(lock->locked());
  void *next = r.alloc(16, 16);
  ASSERT_NE(next, nullptr);
  EXPECT_GE(r.offset_of(next), lock_off + sizeof(mpsync::Lock) + 16);  // the child's block is skipped

  Region::unlink_named(name);
  EXPECT_THROW(Region::open_named(name), mpsync::system_failure);
  EXPECT_EQ(sem->get_value(), 1);  // the mapping outlives the name
}

TEST(Region, OpenOfShortOrForeignFileIsCorruptNotSigbus) {
  // Every case runs in a child, so a SIGBUS would show up as a failed worker, not kill the suite.
  struct Case {
    const char *what;
    off_t size;
    unsigned step;
  };
  for (Case c : {Case{"empty", 0, 7}, Case{"short", 10, 7}, Case{"header-sized junk", 64, 7}, Case{"junk", 4096, 7},
                 Case{"256 bytes of 0x5a", 256, 0}}) {
    SCOPED_TRACE(c.what);
    const std::string name = unique_name("bad");
    Unlinker u{name};
    make_raw_shm(name, c.size, 0x5a, c.step);
    EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) {
                try {
                  Region r = Region::open_named(name);
                  WCHECK(!"open_named of a bad file succeeded");
                } catch (const mpsync::corrupt &e) {
                  WCHECK(e.code_status() == status::corrupt);
                }
                mpsync_region_t *cr = nullptr;
                WCHECK(mpsync_region_open_named(&cr, name.c_str()) == MPSYNC_ECORRUPT);
                WCHECK(cr == nullptr);
                return 0;
              }), 0);
  }
}

TEST(Region, TruncatedOrGrownRegionIsCorrupt) {
  for (off_t new_size : {off_t{100}, off_t{4096}, off_t{16384}}) {
    const std::string name = unique_name("trunc");
    Unlinker u{name};
    { Region r = Region::create_named(name, 8192); }
    const int fd = shm_open(name.c_str(), O_RDWR, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, new_size), 0);  // header says 8192, the file says otherwise
    close(fd);
    EXPECT_EQ(mpt::run(Mode::processes, 1, [&](int) {
                try {
                  Region r = Region::open_named(name);
                  WCHECK(!"open of a resized region succeeded");
                } catch (const mpsync::corrupt &) {
                }
                return 0;
              }), 0);
  }
}

TEST(Region, FromFdOfForeignMemfdIsCorrupt) {
  const int fd = memfd_create("junk", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 10), 0);
  expect_status_throw([&] { Region r = Region::from_fd(fd); }, status::corrupt);
}

TEST(Region, AllocAlignmentAndExhaustion) {
  Region r = Region::anonymous(4096);
  ASSERT_EQ(r.size(), 4096u);
  auto *base = static_cast<char *>(r.base());
  void *a = r.alloc(1, 1);
  ASSERT_NE(a, nullptr);
  EXPECT_GE(static_cast<char *>(a) - base, 64);  // after the header
  for (std::uint64_t align : {2, 8, 64, 256, 1024}) {
    void *p = r.alloc(3, align);
    ASSERT_NE(p, nullptr) << align;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << align;
    EXPECT_EQ(r.at<char>(r.offset_of(p)), p);
  }
  EXPECT_EQ(r.alloc(8, 0), nullptr);  // not a power of two
  EXPECT_EQ(r.alloc(8, 3), nullptr);
  EXPECT_EQ(r.alloc(8, 48), nullptr);
  EXPECT_EQ(r.alloc(~std::uint64_t{0}, 1), nullptr);  // no wrap-around
  EXPECT_EQ(r.alloc(4096, 1), nullptr);
  EXPECT_EQ(r.alloc(1, std::uint64_t{1} << 63), nullptr);
  EXPECT_EQ(r.at<char>(0), nullptr);  // the header is not handed out
  EXPECT_EQ(r.at<char>(4096), nullptr);
  // Fill it up; then alloc returns nullptr and make throws bad_alloc.
  std::uint64_t got = 0;
  while (void *p = r.alloc(8, 8)) {
    std::memset(p, 0x11, 8);
    got += 8;
  }
  // 4096 - header - directory (4 x 96) - waiter table (8 x 32) = 3392 bytes of heap, ~1.4 KiB of it
  // taken above by the aligned blocks; each 8-byte allocation takes 24 with its tag.
  EXPECT_GT(got, 500u);
  EXPECT_EQ(r.alloc(1, 1), nullptr);
  EXPECT_THROW(r.make<Semaphore>(1), std::bad_alloc);
  struct Big { char b[8192]; };
  Region r2 = Region::anonymous(4096);
  EXPECT_THROW(r2.make<Big>(), std::bad_alloc);
  EXPECT_NE(r2.make<Semaphore>(1), nullptr);  // a failed make takes nothing
  EXPECT_THROW(Region::anonymous(10), mpsync::invalid_argument);
  // A 64 KiB region: the same rules, and nothing larger than the region.
  Region r3 = Region::anonymous(1 << 16);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(r3.alloc(1, 64)) % 64, 0u);
  EXPECT_EQ(r3.alloc(1, 3), nullptr);
  EXPECT_EQ(r3.alloc(1 << 20, 8), nullptr);
  using Big1M = std::array<char, 1 << 20>;
  EXPECT_THROW(r3.make<Big1M>(), std::bad_alloc);
}

TEST(Region, ConcurrentAllocFromFourProcessesIsDisjoint) {
  constexpr int kProcs = 4, kPer = 2000;
  Region r = Region::anonymous(4 << 20);
  Region book = Region::anonymous(1 << 20);
  auto *offs = static_cast<std::uint64_t *>(book.alloc(sizeof(std::uint64_t) * 2 * kProcs * kPer, 8));
  auto *arrived = book.make<std::atomic<int>>(0);
  ASSERT_NE(offs, nullptr);
  EXPECT_EQ(mpt::run(Mode::processes, kProcs, [&](int id) {
              arrived->fetch_add(1);
              while (arrived->load() < kProcs) {
              }
              for (int i = 0; i < kPer; ++i) {
                const std::uint64_t size = 8 + (i % 7) * 8, align = std::uint64_t{8} << (i % 4);
                void *p = r.alloc(size, align);
                WCHECK(p != nullptr);
                WCHECK(reinterpret_cast<std::uintptr_t>(p) % align == 0);
                std::memset(p, id + 1, size);
                offs[2 * (id * kPer + i)] = r.offset_of(p);
                offs[2 * (id * kPer + i) + 1] = size;
              }
              return 0;
            }), 0);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> blocks;
  for (int k = 0; k < kProcs * kPer; ++k) blocks.emplace_back(offs[2 * k], offs[2 * k + 1]);
  // Every block still holds its owner's bytes (nobody else wrote into it) ...
  for (int id = 0; id < kProcs; ++id)
    for (int i = 0; i < kPer; ++i) {
      auto [o, s] = blocks[id * kPer + i];
      const auto *p = r.at<unsigned char>(o);
      ASSERT_NE(p, nullptr);
      for (std::uint64_t j = 0; j < s; ++j) ASSERT_EQ(p[j], id + 1) << "block " << o;
    }
  // ... and no two blocks overlap.
  std::sort(blocks.begin(), blocks.end());
  for (std::size_t k = 1; k < blocks.size(); ++k)
    ASSERT_LE(blocks[k - 1].first + blocks[k - 1].second, blocks[k].first) << k;
  EXPECT_GE(blocks.front().first, 64u);
  EXPECT_LE(blocks.back().first + blocks.back().second, r.size());
}

// (The same through the C functions: test_region_c.cpp.)
