// Fault-injection soaks (issues #3 and #13): processes update shared state under one RLock (the
// state is inconsistent mid-update) while a killer SIGKILLs random workers and respawns them.
// Every OWNER_DEAD receiver repairs the state. At the end: the state is consistent, no survivor
// hung, and deaths seen == deaths caused — where "caused" is exact: the killer SIGSTOPs the
// victim, reads the lock word while the victim is frozen (does it hold the lock?), then kills it.
//   Soak.KillRandomHolders           plain RLock transactions
//   Soak.KillRandomConditionHolders  issue #13's shape: a bounded queue under one RLock with two
//     Conditions bound to it (C ABI), block=0 and timed acquires through the Conditions, recursive
//     levels, timed waits of 2-50 ms, notify(1) / notify_all. Every acquisition's status says how
//     *that* caller got the lock: an OK that finds the state torn is a lost OWNER_DEAD.
// Duration: MPSYNC_SOAK_SECONDS (default 20 and 15 s).
#include <random>

#include "harness.hpp"

using namespace mpsync;

namespace {
double soak_seconds(double dflt) { return mpt::env_seconds("MPSYNC_SOAK_SECONDS", dflt); }

// Books kept in the region by the workers (each update made under the lock).
struct Books {
  long ops = 0, repairs = 0, seen_dead = 0, hung = 0, inconsistent_unrepaired = 0, odd_status = 0;
  int stop = 0;
};
bool stopping(const Books *b) { return __atomic_load_n(&b->stop, __ATOMIC_ACQUIRE) != 0; }

pid_t spawn(const std::function<int()> &fn) {
  pid_t p = mpt::fork_child();
  if (p == 0) _exit(fn());
  return p;
}

// The killer: every 5-25 ms, freeze a random worker, count it as a holder iff the lock word names
// it, and kill it (every holder, one non-holder in four) and start another. Returns {kills, caused}; afterwards the workers are told to stop
// and are reaped (`bad` counts those that did not exit 0).
struct KillTally {
  long kills = 0, caused = 0;
  int bad = 0;
};
KillTally kill_random(double seconds, int n, const std::uint32_t *lock_word, Books *books,
                      const std::function<int()> &worker) {
  KillTally t;
  std::vector<pid_t> pids(n);
  for (auto &p : pids) p = spawn(worker);
  std::mt19937 rng(12345);
  const double end = mpt::now_s() + seconds;
  while (mpt::now_s() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 20));  // pacing, not sync
    const int i = static_cast<int>(rng() % n);
    kill(pids[i], SIGSTOP);
    int st;
    if (waitpid(pids[i], &st, WUNTRACED) != pids[i] || !WIFSTOPPED(st)) {  // it ended by itself
      ++t.bad;
      pids[i] = spawn(worker);
      continue;
    }
    // Frozen: it holds the lock iff the word carries its TID (its only thread: TID == PID).
    // Most frozen non-holders are let go (stopped and continued, which also restarts their
    // sleeps), so more of the kills land on holders.
    if ((mpt::word(lock_word) & 0x3fffffffu) == static_cast<std::uint32_t>(pids[i])) {
      ++t.caused;
    } else if (rng() % 4 != 0) {
      kill(pids[i], SIGCONT);
      continue;
    }
    kill(pids[i], SIGKILL);
    waitpid(pids[i], &st, 0);
    ++t.kills;
    pids[i] = spawn(worker);
  }
  __atomic_store_n(&books->stop, 1, __ATOMIC_RELEASE);
  for (pid_t p : pids) {
    int st;
    waitpid(p, &st, 0);
    t.bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  return t;
}

void check(const char *what, double seconds, const KillTally &t, const Books &b) {
  std::printf("%s %.0f s: %ld kills, %ld while holding the lock, %ld OWNER_DEAD seen, %ld repairs, %ld ops\n",
              what, seconds, t.kills, t.caused, b.seen_dead, b.repairs, b.ops);
  EXPECT_EQ(t.bad, 0);
  EXPECT_EQ(b.hung, 0);
  EXPECT_EQ(b.odd_status, 0);
  EXPECT_EQ(b.inconsistent_unrepaired, 0) << "an OK acquisition found the state torn: a lost OWNER_DEAD";
  EXPECT_EQ(b.seen_dead, t.caused);
  EXPECT_GT(t.caused, 0) << "the soak never killed a holder: it tested nothing";
}

// ---- plain RLock transactions -------------------------------------------------------------------
struct Record {
  RLock lock;
  long a = 0, b = 0;  // a == b whenever nobody is in the middle of an update
  Books books;
};

// How the caller got the lock: repair after a death, or check that nothing is torn.
void took(Record *r, status s) {
  if (s == status::owner_dead) {
    ++r->books.seen_dead;
    if (r->a != r->b) {  // the dead owner was mid-update: repair
      r->b = r->a;
      ++r->books.repairs;
    }
  } else if (r->a != r->b) {
    ++r->books.inconsistent_unrepaired;  // must never happen: an inconsistency without a death
  }
}

int record_worker(Record *r) {
  while (!stopping(&r->books)) {
    const status s = r->lock.acquire_status(true, 10.0);
    if (s == status::timedout) {
      __atomic_add_fetch(&r->books.hung, 1, __ATOMIC_RELAXED);
      return 1;
    }
    took(r, s);
    ++r->a;
    for (int i = 0; i < 200; ++i) __asm__ __volatile__("" ::: "memory");  // widen the window
    ++r->b;
    ++r->books.ops;
    r->lock.release();
  }
  return 0;
}
}  // namespace

TEST(Soak, KillRandomHolders) {
  if (!mpsync_rlock_robust_supported()) GTEST_SKIP() << "kernel robust list unavailable here";
  const double seconds = soak_seconds(20.0);
  auto region = mpt::shared();
  auto *r = region.make<Record>();
  const KillTally t = kill_random(seconds, 6, reinterpret_cast<const std::uint32_t *>(&r->lock), &r->books,
                                  [r] { return record_worker(r); });
  // A death just before the stop may not have been seen by a worker yet: the parent takes it.
  const status last = r->lock.acquire_status(true, 10.0);
  ASSERT_TRUE(acquired(last));
  took(r, last);
  check("soak", seconds, t, r->books);
  EXPECT_EQ(r->a, r->b);
  r->lock.release();
}

// ---- issue #13: a bounded queue under one RLock and two Conditions bound to it ------------------
namespace {
constexpr int kCap = 1;
struct Queue {
  mpsync_rlock_t lock;
  mpsync_cond_t not_empty, not_full;
  int items[kCap];
  int head = 0, count = 0;
  int dirty = 0;  // set for ~1 ms in the middle of every update
  long produced = 0, consumed = 0;
  Books books;
};

void took(Queue *q, int s) {
  if (s == MPSYNC_OWNER_DEAD) {
    ++q->books.seen_dead;
    if (q->dirty) {  // repair: the dead holder's update is undone or completed; either is fine
      q->dirty = 0;
      ++q->books.repairs;
    }
  } else if (s == MPSYNC_OK) {
    if (q->dirty) ++q->books.inconsistent_unrepaired;
  } else {
    ++q->books.odd_status;
  }
}

int queue_worker(Queue *q) {
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  while (!stopping(&q->books)) {
    const bool producer = rng() % 2;
    mpsync_cond_t *mine = producer ? &q->not_full : &q->not_empty;
    mpsync_cond_t *other = producer ? &q->not_empty : &q->not_full;
    int s;
    if (rng() % 3 == 0) {  // block=0, retried
      const double give_up = mpt::now_s() + 10.0;
      while ((s = mpsync_cond_acquire(mine, 0, 0)) == MPSYNC_TIMEDOUT && mpt::now_s() < give_up) sched_yield();
    } else {
      s = mpsync_cond_acquire(mine, 1, 10.0);
    }
    if (s == MPSYNC_TIMEDOUT) {
      __atomic_add_fetch(&q->books.hung, 1, __ATOMIC_RELAXED);
      return 1;
    }
    took(q, s);
    int depth = 1;
    if (rng() % 2) {  // a recursive level on the bound RLock
      if (mpsync_rlock_acquire(&q->lock, 1, 10.0) != MPSYNC_OK) ++q->books.odd_status;
      ++depth;
    }
    bool ready = true;
    while (producer ? q->count == kCap : q->count == 0) {
      s = mpsync_cond_wait(mine, 0.002 + 0.001 * static_cast<double>(rng() % 48));
      if (s == MPSYNC_TIMEDOUT) {
        if (q->dirty) ++q->books.inconsistent_unrepaired;
        if (rng() % 2) {
          ready = false;  // give up this round
          break;
        }
        continue;
      }
      took(q, s);
    }
    if (ready) {
      q->dirty = 1;
      if (producer) {
        q->items[(q->head + q->count) % kCap] = static_cast<int>(q->produced++);
        ++q->count;
      } else {
        q->head = (q->head + 1) % kCap;
        --q->count;
        ++q->consumed;
      }
      const double until = mpt::now_s() + 0.001;  // widen the torn window
      while (mpt::now_s() < until) {
      }
      q->dirty = 0;
      ++q->books.ops;
      if (rng() % 4) {
        if (mpsync_cond_notify(other, 1) != MPSYNC_OK) ++q->books.odd_status;
      } else if (mpsync_cond_notify_all(other) != MPSYNC_OK) {
        ++q->books.odd_status;
      }
    }
    if (mpsync_rlock_count(&q->lock) != static_cast<unsigned>(depth)) ++q->books.odd_status;
    while (depth-- > 1)
      if (mpsync_rlock_release(&q->lock) != MPSYNC_OK) ++q->books.odd_status;
    if (mpsync_cond_release(mine) != MPSYNC_OK) ++q->books.odd_status;
  }
  return 0;
}
}  // namespace

TEST(Soak, KillRandomConditionHolders) {
  if (!mpsync_rlock_robust_supported()) GTEST_SKIP() << "kernel robust list unavailable here";
  const double seconds = soak_seconds(15.0);
  auto region = mpt::shared();
  auto *q = region.make<Queue>();
  ASSERT_EQ(mpsync_rlock_init(&q->lock), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_init(&q->not_empty, MPSYNC_KIND_RLOCK, &q->lock), MPSYNC_OK);
  ASSERT_EQ(mpsync_cond_init(&q->not_full, MPSYNC_KIND_RLOCK, &q->lock), MPSYNC_OK);
  const KillTally t = kill_random(seconds, 8, reinterpret_cast<const std::uint32_t *>(&q->lock), &q->books,
                                  [q] { return queue_worker(q); });
  const int last = mpsync_rlock_acquire(&q->lock, 1, 10.0);
  ASSERT_TRUE(last == MPSYNC_OK || last == MPSYNC_OWNER_DEAD);
  took(q, last);
  check("condition soak", seconds, t, q->books);
  EXPECT_EQ(q->dirty, 0);
  EXPECT_GE(q->count, 0);
  EXPECT_LE(q->count, kCap);
  mpsync_rlock_release(&q->lock);
}
