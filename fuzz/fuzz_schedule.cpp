// fuzz_schedule: 2-4 threads each run an op script decoded from the input against shared
// objects (acquire/release, wait/notify, set/clear, barrier waits with timeouts of at most 2 ms,
// plus injected yields and short sleeps). Invariants, checked throughout and at the end:
//   mutual exclusion   at most one thread inside the Lock, the RLock (first level) and the
//                      Condition's lock at any moment (a counter that must read 0 on entry)
//   conservation       BoundedSemaphore(k): tokens held <= k at every moment, every release of a
//                      held token OK, and get_value() == k once everyone has given theirs back
//   notify(n)          under the Condition's lock the harness counts waiters W and outstanding
//                      grants G; notify(n) adds min(n, W - G); a wait may return OK only while
//                      G > 0 (and consumes one): at most n woken per notify(n), no spurious
//                      wake-up; G <= W always; at the end W == G == 0 (no grant was lost)
//   barrier lock-step  a cycle completes only if the action saw all `parties` waiters inside
//                      (one may leave early only when the cycle is broken); every OK index is
//                      in 0..parties-1; a thread's OK passes never outnumber the actions that
//                      succeeded; at the end every index was returned equally often
//   deadlines          no timed call returns later than its timeout + fz::kSlack
//   no deadlock        every wait is timed; the threads must all finish (libFuzzer -timeout)
// Input: one config byte (threads, semaphore k, barrier parties), then bytes dealt round-robin
// to the threads' scripts (at most 24 ops each, so one input runs in well under 50 ms).
#include <sched.h>
#include <time.h>

#include <atomic>
#include <new>
#include <thread>
#include <vector>

#include "fuzz_common.hpp"

using namespace mpsync;

namespace {

constexpr int kMaxThreads = 4, kMaxOps = 24;

struct alignas(64) shared_objs {
  Lock L;
  RLock R;
  Semaphore S;
  Event E;
  Condition C;
  alignas(Barrier) unsigned char b_storage[sizeof(Barrier)];
  Barrier &B() { return *std::launder(reinterpret_cast<Barrier *>(b_storage)); }
};
shared_objs g;

struct checks {
  std::atomic<int> in_L{0}, in_R{0}, in_C{0}, tokens{0};
  std::atomic<int> cw{0}, cg{0};  // Condition waiters / outstanding grants (changed under its lock)
  std::atomic<int> in_B{0}, actions_ok{0};
  std::atomic<int> idx_count[kMaxThreads];
  std::atomic<int> go{0};
  unsigned k = 1, parties = 1;
};
checks c;

double pick_t(unsigned a) {
  static const double table[8] = {0.0, 1e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, -1.0};
  return table[a % 8];
}

struct timer {
  double t0 = fz::now_s(), t;
  const char *what;
  timer(const char *w, double to) : t(to), what(w) {}
  void done() const {
    const double el = fz::now_s() - t0;
    FZ_CHECK(el <= (t > 0 ? t : 0) + fz::kSlack, "%s(%.6f) returned after %.3f s", what, t, el);
  }
};

struct action_ctx {
  bool fail = false;
  bool short_cycle = false;  // set by the action: a party had left before it ran
};
// A party leaves before the action only if generation G was broken or reset meanwhile (abort(),
// reset(), or a party of G whose deadline passed: a deadline is never extended for the action);
// then that cycle must not complete (checked by the caller).
int barrier_action(void *p) {
  auto *ctx = static_cast<action_ctx *>(p);
  ctx->short_cycle = c.in_B.load() < static_cast<int>(c.parties);
  if (ctx->fail) return 1;
  c.actions_ok.fetch_add(1);
  return 0;
}

struct worker {
  const std::uint8_t *ops[kMaxOps];
  int n = 0;
  bool holds_L = false;
  int r_levels = 0, tokens = 0, ok_passes = 0;

  void enter(std::atomic<int> &ctr, const char *what) { FZ_CHECK(ctr.fetch_add(1) == 0, "mutual exclusion broken: two threads inside %s", what); }
  void leave(std::atomic<int> &ctr) { ctr.fetch_sub(1); }

  void cond_op(unsigned a, bool notify) {
    const double t = pick_t(a);
    timer tm("Condition.acquire", t);
    const status s = g.C.acquire_status(true, t);
    tm.done();
    if (s == status::timedout) return;
    FZ_EXPECT("Condition.acquire", s, status::ok);
    enter(c.in_C, "the Condition's lock");
    if (notify) {
      const unsigned n = a >= 12 ? ~0u : a % 4;
      const int w = c.cw.load(), gr = c.cg.load();
      FZ_EXPECT("notify", n == ~0u ? g.C.notify_all_status() : g.C.notify_status(n), status::ok);
      const int add = static_cast<int>(n < static_cast<unsigned>(w - gr) ? n : static_cast<unsigned>(w - gr));
      c.cg.store(gr + add);
    } else {
      c.cw.fetch_add(1);
      leave(c.in_C);  // the wait releases the lock
      timer tw("Condition.wait", t);
      const status r = g.C.wait_status(t);
      tw.done();
      enter(c.in_C, "the Condition's lock (after wait)");
      FZ_CHECK(r == status::ok || r == status::timedout, "Condition.wait returned %s", fz::name(r));
      c.cw.fetch_sub(1);
      if (r == status::ok) {
        FZ_CHECK(c.cg.load() > 0, "Condition.wait returned OK with no grant outstanding (spurious or over-wake)");
        c.cg.fetch_sub(1);
      }
      FZ_CHECK(c.cg.load() <= c.cw.load(), "grants %d > waiters %d", c.cg.load(), c.cw.load());
    }
    leave(c.in_C);
    FZ_EXPECT("Condition.release", g.C.release_status(), status::ok);
  }

  void barrier_op(unsigned a) {
    const double t = pick_t(a) > 0 ? pick_t(a) : 1e-3;
    unsigned idx = ~0u;
    c.in_B.fetch_add(1);
    timer tm("Barrier.wait", t);
    action_ctx ctx;
    ctx.fail = a == 15;
    const status s = g.B().wait_status(t, barrier_action, &ctx, &idx);
    tm.done();
    c.in_B.fetch_sub(1);
    FZ_CHECK(s == status::ok || s == status::broken, "Barrier.wait returned %s", fz::name(s));
    FZ_CHECK(!(ctx.short_cycle && s == status::ok), "a cycle completed although a party had left before its action");
    if (s != status::ok) return;
    FZ_CHECK(idx < c.parties, "barrier index %u of %u", idx, c.parties);
    c.idx_count[idx].fetch_add(1);
    ++ok_passes;
    FZ_CHECK(ok_passes <= c.actions_ok.load(), "passed a barrier %d times, only %d actions ran", ok_passes, c.actions_ok.load());
  }

  void step(std::uint8_t b) {
    const unsigned a = b >> 4;
    switch (b % 16) {
      case 0: {
        if (holds_L) break;
        const double t = pick_t(a);
        timer tm("Lock.acquire", t);
        const status s = g.L.acquire_status(true, t);
        tm.done();
        if (s == status::timedout) break;
        FZ_EXPECT("Lock.acquire", s, status::ok);
        enter(c.in_L, "the Lock");
        holds_L = true;
        break;
      }
      case 1:
        if (!holds_L) break;
        leave(c.in_L);
        holds_L = false;
        FZ_EXPECT("Lock.release", g.L.release_status(), status::ok);
        break;
      case 2: {
        if (r_levels >= 3) break;
        const double t = pick_t(a);
        timer tm("RLock.acquire", t);
        const status s = g.R.acquire_status(true, t);
        tm.done();
        if (s == status::timedout) break;
        FZ_EXPECT("RLock.acquire", s, status::ok);
        if (r_levels++ == 0) enter(c.in_R, "the RLock");
        FZ_CHECK(g.R.count() == static_cast<unsigned>(r_levels), "RLock.count %u, levels %d", g.R.count(), r_levels);
        break;
      }
      case 3:
        if (r_levels == 0) break;
        if (--r_levels == 0) leave(c.in_R);
        FZ_EXPECT("RLock.release", g.R.release_status(), status::ok);
        break;
      case 4: {
        if (tokens >= 2) break;
        const double t = pick_t(a);
        timer tm("Semaphore.acquire", t);
        const status s = g.S.acquire_status(true, t);
        tm.done();
        if (s == status::timedout) break;
        FZ_EXPECT("Semaphore.acquire", s, status::ok);
        ++tokens;
        FZ_CHECK(c.tokens.fetch_add(1) + 1 <= static_cast<int>(c.k), "more than %u tokens out", c.k);
        break;
      }
      case 5:
        if (tokens == 0) break;
        --tokens;
        c.tokens.fetch_sub(1);
        FZ_EXPECT("Semaphore.release of a held token", g.S.release_status(), status::ok);
        break;
      case 6: g.E.set(); break;
      case 7: g.E.clear(); break;
      case 8: {
        const double t = pick_t(a);
        timer tm("Event.wait", t);
        const status s = g.E.wait_status(t);
        tm.done();
        FZ_CHECK(s == status::ok || s == status::timedout, "Event.wait returned %s", fz::name(s));
        break;
      }
      case 9: cond_op(a, false); break;
      case 10: cond_op(a, true); break;
      case 11: barrier_op(a); break;
      case 12:
        if (a == 0) g.B().abort();
        else if (g.B().broken()) g.B().reset();
        break;
      case 13: sched_yield(); break;
      default: {
        timespec ts{0, static_cast<long>(a) * 20000};
        nanosleep(&ts, nullptr);
      }
    }
  }

  void run() {
    while (c.go.load(std::memory_order_acquire) == 0) {
    }
    for (int i = 0; i < n; ++i) step(*ops[i]);
    if (holds_L) step(1);
    while (r_levels) step(3);
    while (tokens) step(5);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t cfg = data[0];
  const int nt = 2 + cfg % 3;
  std::memset(static_cast<void *>(&g), 0, sizeof g);
  c.k = 1 + (cfg >> 2) % 3;
  c.parties = 1 + static_cast<unsigned>((cfg >> 4) % nt);
  FZ_EXPECT("init", g.S.init(c.k, true), status::ok);
  ::new (g.b_storage) Barrier(c.parties);
  c.in_L = c.in_R = c.in_C = c.tokens = c.cw = c.cg = c.in_B = c.actions_ok = 0;
  for (auto &x : c.idx_count) x = 0;
  c.go = 0;

  worker w[kMaxThreads];
  for (std::size_t i = 1; i < size; ++i) {
    worker &x = w[(i - 1) % nt];
    if (x.n < kMaxOps) x.ops[x.n++] = &data[i];
  }
  std::vector<std::thread> ts;
  for (int i = 0; i < nt; ++i) ts.emplace_back([&w, i] { w[i].run(); });
  c.go.store(1, std::memory_order_release);
  for (auto &t : ts) t.join();

  FZ_CHECK(c.cw.load() == 0 && c.cg.load() == 0, "at the end: %d Condition waiters, %d grants never taken (lost wake-up)", c.cw.load(), c.cg.load());
  FZ_CHECK(c.tokens.load() == 0 && g.S.get_value_status() == static_cast<int>(c.k), "semaphore value %d, expected %u", g.S.get_value_status(), c.k);
  FZ_CHECK(!g.L.locked() && !g.R.locked(), "a lock is still held at the end");
  FZ_CHECK(c.in_B.load() == 0, "barrier counter");
  for (unsigned i = 1; i < c.parties; ++i)
    FZ_CHECK(c.idx_count[i].load() == c.idx_count[0].load(), "barrier index %u returned %d times, index 0 %d times", i, c.idx_count[i].load(), c.idx_count[0].load());
  return 0;
}
