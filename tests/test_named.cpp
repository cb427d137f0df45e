// Named objects (mpsync_region_name / mpsync_region_find, Region::make_named / find /
// find_or_make) and the waiter table that mpsync-inspect reads: argument checks, the directory's
// limits, corrupt directories, races between processes, a namer that dies while constructing, and
// a blocked waiter's publication.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <string>

#include "../runtime/region_layout.hpp"
#include "harness.hpp"
#include "mpsync/mpsync.hpp"

namespace {

using namespace mpsync;
using mpt::Mode;

void *mpsync_region_base_for_test(mpsync_region_t *r) { return r->base; }  // the header: not an object

std::string unique_name(const char *tag) { return "/mpsync-named-" + std::to_string(getpid()) + "-" + tag; }

TEST(Named, CNameAndFind) {
  mpsync_region_t *r = nullptr;
  ASSERT_EQ(mpsync_region_create_anon(&r, 1 << 16), MPSYNC_OK);
  auto *l = static_cast<mpsync_lock_t *>(mpsync_region_alloc(r, sizeof(mpsync_lock_t), alignof(mpsync_lock_t)));
  auto *s = static_cast<mpsync_sem_t *>(mpsync_region_alloc(r, sizeof(mpsync_sem_t), alignof(mpsync_sem_t)));
  ASSERT_EQ(mpsync_lock_init(l), MPSYNC_OK);
  ASSERT_EQ(mpsync_bounded_sem_init(s, 2), MPSYNC_OK);
  EXPECT_EQ(mpsync_region_name(r, "jobs", MPSYNC_OBJ_LOCK, l), MPSYNC_OK);
  EXPECT_EQ(mpsync_region_name(r, "slots", MPSYNC_OBJ_SEM, s), MPSYNC_OK);
  EXPECT_EQ(mpsync_region_name(r, "jobs", MPSYNC_OBJ_SEM, s), MPSYNC_EEXIST);
  mpsync_object_kind k{};
  EXPECT_EQ(mpsync_region_find(r, "jobs", &k), l);
  EXPECT_EQ(k, MPSYNC_OBJ_LOCK);
  EXPECT_EQ(mpsync_region_find(r, "slots", &k), s);
  EXPECT_EQ(k, MPSYNC_OBJ_SEM);
  EXPECT_EQ(mpsync_region_find(r, "slots", nullptr), s);
  EXPECT_EQ(mpsync_region_find(r, "absent", &k), nullptr);
  EXPECT_EQ(mpsync_region_find(r, "job", &k), nullptr);  // a prefix is another name
  EXPECT_STREQ(mpsync_strerror(MPSYNC_EEXIST), "the name is taken");
  mpsync_region_close(r);
}

TEST(Named, CArgumentChecks) {
  mpsync_region_t *r = nullptr;
  ASSERT_EQ(mpsync_region_create_anon(&r, 1 << 16), MPSYNC_OK);
  auto *e = static_cast<mpsync_event_t *>(mpsync_region_alloc(r, sizeof(mpsync_event_t), 4));
  mpsync_event_t outside{};
  const std::string longest(MPSYNC_NAME_MAX, 'n'), too_long(MPSYNC_NAME_MAX + 1, 'n');
  EXPECT_EQ(mpsync_region_name(nullptr, "x", MPSYNC_OBJ_EVENT, e), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, nullptr, MPSYNC_OBJ_EVENT, e), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, "", MPSYNC_OBJ_EVENT, e), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, too_long.c_str(), MPSYNC_OBJ_EVENT, e), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, "x", static_cast<mpsync_object_kind>(0), e), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, "x", static_cast<mpsync_object_kind>(7), e), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, "x", MPSYNC_OBJ_EVENT, &outside), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, "x", MPSYNC_OBJ_EVENT, nullptr), MPSYNC_EINVAL);
  // A kind larger than what was allocated there (the event is the last allocation: a Condition
  // would reach past the allocated part).
  EXPECT_EQ(mpsync_region_name(r, "x", MPSYNC_OBJ_COND, e), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, "x", MPSYNC_OBJ_EVENT, mpsync_region_base_for_test(r)), MPSYNC_EINVAL);
  EXPECT_EQ(mpsync_region_name(r, longest.c_str(), MPSYNC_OBJ_EVENT, e), MPSYNC_OK);
  EXPECT_EQ(mpsync_region_find(r, longest.c_str(), nullptr), e);
  EXPECT_EQ(mpsync_region_find(r, too_long.c_str(), nullptr), nullptr);
  EXPECT_EQ(mpsync_region_find(r, nullptr, nullptr), nullptr);
  EXPECT_EQ(mpsync_region_find(nullptr, "x", nullptr), nullptr);
  mpsync_region_close(r);
}

TEST(Named, DirectoryFullAndTinyRegions) {
  Region r = Region::anonymous(4096);  // the smallest region with a directory: 4 entries
  for (int i = 0; i < 4; ++i) r.make_named<Event>("e" + std::to_string(i));
  EXPECT_THROW(r.make_named<Event>("e4"), mpsync::overflow);
  EXPECT_THROW(r.find_or_make<Event>("e5"), mpsync::overflow);
  EXPECT_NE(r.find<Event>("e3"), nullptr);
  Region tiny = Region::anonymous(1024);  // no directory at all
  auto *l = tiny.make<Lock>();
  EXPECT_EQ(tiny.name_object("l", MPSYNC_OBJ_LOCK, l), status::overflow);
  EXPECT_EQ(tiny.find<Lock>("l"), nullptr);
  l->acquire();  // still a working region
  l->release();
}

TEST(Named, CppFaceKindsAndErrors) {
  Region r = mpt::shared();
  auto *rl = r.make_named<RLock>("state");
  auto *b = r.make_named<Barrier>("start", 3u);
  auto *bs = r.make_named<BoundedSemaphore>("pool", 2u);
  auto *c = r.make_named<Condition>("changed");
  EXPECT_EQ(r.find<RLock>("state"), rl);
  EXPECT_EQ(r.find<Barrier>("start"), b);
  EXPECT_EQ(r.find<Barrier>("start")->parties(), 3u);
  EXPECT_EQ(r.find<Semaphore>("pool"), bs);  // a BoundedSemaphore is MPSYNC_OBJ_SEM
  EXPECT_EQ(r.find<Condition>("changed"), c);
  EXPECT_EQ(r.find<Lock>("absent"), nullptr);
  EXPECT_THROW(r.find<Lock>("state"), mpsync::invalid_argument);
  EXPECT_THROW(r.make_named<Lock>("state"), mpsync::name_taken);
  EXPECT_THROW(r.make_named<Lock>(""), mpsync::invalid_argument);
  EXPECT_THROW(r.find_or_make<Lock>("state"), mpsync::invalid_argument);  // kind mismatch
  EXPECT_EQ(r.find_or_make<RLock>("state"), rl);
  // A constructor that throws leaves the name free.
  EXPECT_THROW(r.find_or_make<Barrier>("bad", 0u), mpsync::invalid_argument);
  EXPECT_EQ(r.find<Barrier>("bad"), nullptr);
  EXPECT_EQ(r.find_or_make<Barrier>("bad", 2u)->parties(), 2u);
}

TEST(Named, FoundFromAnotherProcessOfANamedRegion) {
  const std::string n = unique_name("open");
  Region::unlink_named(n);
  Region r = Region::create_named(n, 1 << 16);
  r.make_named<Semaphore>("tokens", 5u);
  mpt::Workers w(Mode::processes);
  w.start([&] {
    Region o = Region::open_named(n);
    Semaphore *s = o.find<Semaphore>("tokens");
    WCHECK(s && s->get_value() == 5);
    WCHECK(s->acquire(false));
    return 0;
  });
  EXPECT_EQ(w.join(), 0);
  EXPECT_EQ(r.find<Semaphore>("tokens")->get_value(), 4);
  Region::unlink_named(n);
}

// Every bad directory is refused at open (ECORRUPT), and a directory or header that turns bad
// after the open makes find answer "absent" and name / find_or_make ECORRUPT, never a crash.
TEST(Named, CorruptDirectoryIsRefused) {
  const std::string n = unique_name("corrupt");
  using layout::dir_entry;
  struct Case {
    const char *what;
    void (*spoil)(dir_entry &e, std::uint64_t size);
    bool ready_garbage;  // the entry still reads "ready victim", with a kind or offset that is not
  };
  const Case cases[] = {
      {"unknown state", [](dir_entry &e, std::uint64_t) { e.state = 9; }, false},
      {"offset past the end", [](dir_entry &e, std::uint64_t size) { e.offset = size + 64; }, true},
      {"offset in the header", [](dir_entry &e, std::uint64_t) { e.offset = 8; }, true},
      {"unknown kind", [](dir_entry &e, std::uint64_t) { e.kind = 77; }, true},
      {"name without NUL", [](dir_entry &e, std::uint64_t) { std::memset(e.name, 'x', sizeof e.name); }, false},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    Region::unlink_named(n);
    Region r = Region::create_named(n, 1 << 16);
    r.make_named<Lock>("victim");
    auto *H = static_cast<layout::header *>(r.base());
    auto *d = reinterpret_cast<dir_entry *>(static_cast<char *>(r.base()) + H->dir_off);
    c.spoil(d[0], r.size());
    mpsync_region_t *o = nullptr;
    EXPECT_EQ(mpsync_region_open_named(&o, n.c_str()), MPSYNC_ECORRUPT);
    EXPECT_EQ(r.find<Lock>("victim"), nullptr);  // the live handle: absent, no crash
    if (c.ready_garbage) {  // the name is taken by garbage: neither EEXIST nor a second entry
      EXPECT_EQ(r.name_object("victim", MPSYNC_OBJ_LOCK, r.make<Lock>()), status::corrupt);
      EXPECT_THROW(r.find_or_make<Lock>("victim"), mpsync::corrupt);
    }
    Region::unlink_named(n);
  }
  // A header pointing outside the region: refused at open; on a live handle, every call checks
  // the header again (a huge offset must not wrap around the range check).
  for (const std::uint64_t bad : {std::uint64_t{(1 << 16) - 8}, ~std::uint64_t{0} - 1023}) {
    SCOPED_TRACE(bad);
    Region::unlink_named(n);
    Region r = Region::create_named(n, 1 << 16);
    Lock *l = r.make_named<Lock>("kept");
    auto *H = static_cast<layout::header *>(r.base());
    const std::uint64_t good = H->dir_off;
    H->dir_off = bad;
    mpsync_region_t *o = nullptr;
    EXPECT_EQ(mpsync_region_open_named(&o, n.c_str()), MPSYNC_ECORRUPT);
    EXPECT_EQ(r.find<Lock>("kept"), nullptr);
    EXPECT_EQ(r.name_object("other", MPSYNC_OBJ_LOCK, l), status::corrupt);
    EXPECT_THROW(r.find_or_make<Lock>("other"), mpsync::corrupt);
    H->dir_off = good;  // repaired: found again
    EXPECT_EQ(r.find<Lock>("kept"), l);
    Region::unlink_named(n);
  }
}

// Racing namers of one name in four processes: exactly one OK per name, the rest EEXIST, and
// every process finds the winner's object afterwards.
TEST(Named, RacingNamersExactlyOneWins) {
  constexpr int kProcs = 4, kNames = 40;
  Region r = mpt::shared();
  auto *go = r.make<Barrier>(static_cast<unsigned>(kProcs));
  auto *wins = static_cast<std::uint32_t *>(r.alloc(sizeof(std::uint32_t) * kNames, 4));
  const int bad = mpt::run(Mode::processes, kProcs, [&](int) {
    for (int i = 0; i < kNames; ++i) {
      auto *mine = r.make<Event>();
      go->wait(30.0);
      const status s = r.name_object("n" + std::to_string(i), MPSYNC_OBJ_EVENT, mine);
      WCHECK(s == status::ok || s == status::exists);
      if (s == status::ok) __atomic_fetch_add(&wins[i], 1u, __ATOMIC_RELAXED);
      WCHECK(s != status::ok || r.find<Event>("n" + std::to_string(i)) == mine);
    }
    return 0;
  });
  ASSERT_EQ(bad, 0);
  for (int i = 0; i < kNames; ++i) EXPECT_EQ(wins[i], 1u) << "name n" << i;
}

// find_or_make racing in four processes: all get one object, constructed once (each process takes
// one unit of a Semaphore(100): a second construction would have reset the value).
TEST(Named, FindOrMakeConstructsOnce) {
  constexpr int kProcs = 4, kNames = 30;
  Region r = mpt::shared();
  auto *go = r.make<Barrier>(static_cast<unsigned>(kProcs));
  auto *offs = static_cast<std::uint64_t *>(r.alloc(sizeof(std::uint64_t) * kProcs * kNames, 8));
  const int bad = mpt::run(Mode::processes, kProcs, [&](int id) {
    for (int i = 0; i < kNames; ++i) {
      go->wait(30.0);
      Semaphore *s = r.find_or_make<Semaphore>("s" + std::to_string(i), 100u);
      WCHECK(s->acquire(false));
      __atomic_store_n(&offs[id * kNames + i], r.offset_of(s), __ATOMIC_RELAXED);
    }
    return 0;
  });
  ASSERT_EQ(bad, 0);
  for (int i = 0; i < kNames; ++i) {
    Semaphore *s = r.find<Semaphore>("s" + std::to_string(i));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->get_value(), 100 - kProcs) << "constructed more than once: s" << i;
    for (int p = 0; p < kProcs; ++p) EXPECT_EQ(offs[p * kNames + i], r.offset_of(s));
  }
}

// A process that dies while constructing: the next find_or_make notices the dead namer and
// constructs anew instead of waiting forever.
TEST(Named, NamerDyingMidConstructionIsReplaced) {
  Region r = mpt::shared();
  const pid_t child = mpt::fork_child();
  if (child == 0) {
    int kind = 0;
    r.find_or_make_object("half", MPSYNC_OBJ_SEM, sizeof(Semaphore), alignof(Semaphore),
                          [](void *, void *) { _exit(0); }, nullptr, &kind);
    _exit(3);  // not reached
  }
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_EQ(r.find<Semaphore>("half"), nullptr);  // named but never constructed: absent
  const double t0 = mpt::now_s();
  Semaphore *s = r.find_or_make<Semaphore>("half", 3u);
  EXPECT_LT(mpt::now_s() - t0, mpt::kSlack);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->get_value(), 3);
  EXPECT_EQ(r.find<Semaphore>("half"), s);
}

// name() on a name whose find_or_make namer died mid-construction: the name is free again (not
// EEXIST forever); while a namer is alive and constructing, the name is taken.
TEST(Named, NameAfterNamerDiedMidConstruction) {
  Region r = mpt::shared();
  auto *first = r.make<Event>();
  const pid_t child = mpt::fork_child();
  if (child == 0) {
    int kind = 0;
    r.find_or_make_object("orphan", MPSYNC_OBJ_EVENT, sizeof(Event), alignof(Event), [](void *, void *) { _exit(0); },
                          nullptr, &kind);
    _exit(3);
  }
  int st = 0;
  ASSERT_EQ(waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_EQ(r.name_object("orphan", MPSYNC_OBJ_EVENT, first), status::ok);
  EXPECT_EQ(r.find<Event>("orphan"), first);

  struct gate {
    Event *go, *built;
  } g{r.make<Event>(), r.make<Event>()};
  std::thread maker([&] {
    int kind = 0;
    r.find_or_make_object("slow", MPSYNC_OBJ_EVENT, sizeof(Event), alignof(Event),
                          [](void *p, void *ctx) {
                            auto *x = static_cast<gate *>(ctx);
                            x->built->set();
                            x->go->wait(30.0);
                            new (p) Event();
                          },
                          &g, &kind);
  });
  ASSERT_TRUE(g.built->wait(30.0));  // the maker is inside its constructor
  EXPECT_EQ(r.name_object("slow", MPSYNC_OBJ_EVENT, first), status::exists);
  g.go->set();
  maker.join();
  Event *made = r.find<Event>("slow");
  ASSERT_NE(made, nullptr);
  EXPECT_NE(made, first);
}

// The same, with the dead namer still a zombie (not reaped by the thread that waits).
TEST(Named, NamerZombieMidConstructionIsReplaced) {
  Region r = mpt::shared();
  const pid_t child = mpt::fork_child();
  if (child == 0) {
    int kind = 0;
    r.find_or_make_object("z", MPSYNC_OBJ_EVENT, sizeof(Event), alignof(Event), [](void *, void *) { _exit(0); },
                          nullptr, &kind);
    _exit(3);
  }
  ASSERT_TRUE(mpt::eventually([&] {
    siginfo_t si{};
    return waitid(P_PID, static_cast<id_t>(child), &si, WEXITED | WNOWAIT | WNOHANG) == 0 && si.si_pid == child;
  }));
  EXPECT_NE(r.find_or_make<Event>("z"), nullptr);
  int st = 0;
  EXPECT_EQ(waitpid(child, &st, 0), child);
}

// A thread blocked on a Lock in a region publishes itself in the waiter table while it waits,
// and clears the slot when its wait ends.
TEST(Named, BlockedWaiterIsPublished) {
  Region r = mpt::shared();
  auto *l = r.make_named<Lock>("held");
  l->acquire();
  auto *H = static_cast<layout::header *>(r.base());
  auto *slots = reinterpret_cast<layout::waiter_slot *>(static_cast<char *>(r.base()) + H->waiters_off);
  auto find_slot = [&](std::uint32_t &tid) {
    for (std::uint32_t i = 0; i < H->waiters_cap; ++i)
      if (__atomic_load_n(&slots[i].tid, __ATOMIC_ACQUIRE) != 0 &&
          __atomic_load_n(&slots[i].word, __ATOMIC_RELAXED) == r.offset_of(l)) {
        tid = __atomic_load_n(&slots[i].tid, __ATOMIC_RELAXED);
        return true;
      }
    return false;
  };
  std::uint32_t waiter_tid = 0, seen = 0;
  std::thread t([&] {
    __atomic_store_n(&waiter_tid, detail::self_tid(), __ATOMIC_RELEASE);
    l->acquire();
    l->release();
  });
  EXPECT_TRUE(mpt::eventually([&] { return find_slot(seen); }));
  EXPECT_EQ(seen, __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE));
  l->release();
  t.join();
  EXPECT_FALSE(find_slot(seen));  // cleared after the wait
}

}  // namespace
