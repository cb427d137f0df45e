#!/usr/bin/env python3
"""Python's multiprocessing primitives, the standard library's and mpsync's, between processes:
the Python rows of bench/compare's report.

Every scenario runs twice per repetition, once on each implementation (alternating, so drift in
the machine's load hits both alike):
  impl python_mp      multiprocessing.get_context("fork")  (the standard library: POSIX sem_t)
  impl python_mpsync  mpsync.get_context("fork")           (mpsync's primitives; its Queue is the
                                                             standard library's Queue built on them)
Rows (<group>/<impl>/<variant>; the value is the median over --repetitions; target on the ratio
python_mpsync / python_mp, as bench/compare checks it):
  uncontended.lock/IMPL           one Lock acquire()+release() in a tight loop, one process
                                  (lk.acquire(); lk.release()), ns per pair    target <= 0.8x
  uncontended.rlock/IMPL          the same with an RLock                       target <= 0.8x
  handoff.lock/IMPL/process       Lock pair: two Locks that start held, each side releasing the
                                  other's (multiprocessing.Lock permits it); ns per round trip
                                  (no target)
  handoff.lock/IMPL/process_pinned        the same, both processes on one CPU (no target)
  handoff.semaphore/IMPL/process  Semaphore(0) pair ping-pong; ns per round trip  target <= 0.5x
  handoff.semaphore/IMPL/process_pinned   the same, pinned (no target)
  handoff.event/IMPL/process      Event pair: two Events, set / wait / clear; ns per round trip
                                  (no target)
  handoff.event/IMPL/process_pinned       the same, pinned (no target)
  barrier.round/IMPL/processes:4  Barrier(4): this process and 3 children; ns per cycle
                                  (no target)
  queue.put_get/IMPL/process      Queue(): a child puts ints 0..N-1, this process gets them;
                                  real_time = ns per item, counter items_per_s   target >= 1.0x
One round trip = this process hands the turn to the child and waits until it comes back, as
bench_handoff's handoff.* do in C++. Pinned: both processes on one CPU (os.sched_setaffinity).

Every repetition runs in a fresh worker process (its own process group) that forks the partners;
a repetition that gives no result within --timeout seconds is killed with its whole process
group, and the script writes the rows it has and exits 1. mpsync not importable: a message on
stderr, the python_mp rows only, exit status 0 (bench/compare notes it in the report).

Output: Google Benchmark's JSON shape, so compare merges it with the C++ results:
  {"context": {...}, "benchmarks": [{"name": "handoff.semaphore/python_mpsync/process_median",
   "run_name": "handoff.semaphore/python_mpsync/process", "run_type": "aggregate",
   "aggregate_name": "median", "real_time": <ns per round trip>, "time_unit": "ns", ...}]}
(aggregates mean, median, stddev per row).

usage: python_mp.py [--repetitions N] [--rounds M] [--quick] [--filter REGEX] [--timeout S] [--out FILE]
  --rounds M: round trips per repetition (default 20000; --quick: 300); uncontended pairs 25*M,
  Barrier cycles M/10, Queue items 5*M.
"""
import argparse
import json
import multiprocessing as mp
import os
import re
import signal
import statistics
import sys
import time

SUP = mp.get_context("fork")  # runs the workers (never measured)
REAP_S = 10.0  # partners must be done this soon after the last timed round
try:
    import mpsync
    MPSYNC_ERR = None
except ImportError as e:  # the C++-only build; compare uses the stdlib rows alone
    mpsync, MPSYNC_ERR = None, e


def contexts():
    out = {"python_mp": lambda: mp.get_context("fork")}
    if mpsync is not None:
        out["python_mpsync"] = lambda: mpsync.get_context("fork")
    return out


# ---- partners (children) ----
def pingpong_partner(kind, objs, n):
    """Side 1: wait for our turn (objs[1]), hand it back (objs[0])."""
    mine, theirs = objs[1], objs[0]
    if kind == "event":
        wait, clear, give = mine.wait, mine.clear, theirs.set
        for _ in range(n):
            wait()
            clear()
            give()
    else:
        take, give = mine.acquire, theirs.release
        for _ in range(n):
            take()
            give()


def barrier_partner(b, n):
    w = b.wait
    for _ in range(n):
        w()


def queue_producer(q, go, n):
    q.put(-1)  # "running"
    go.wait()
    put = q.put
    for i in range(n):
        put(i)


def start(ctx, target, args, count=1):
    kids = [ctx.Process(target=target, args=args) for _ in range(count)]
    for p in kids:
        p.start()
    return kids


def reap(kids):
    for p in kids:
        p.join(REAP_S)
        if p.is_alive():
            p.terminate()
            p.join(1.0)
            raise RuntimeError(f"partner {p.pid} still running {REAP_S} s after the last round: terminated")
        if p.exitcode != 0:
            raise RuntimeError(f"partner exited with {p.exitcode}")


# ---- measurements (run in the worker; return ns per iteration) ----
_PAIR_LOOP = "def loop(lk, n):\n    for _ in range(n):\n        lk.acquire()\n        lk.release()\n"


def m_uncontended(ctx, kind, n):
    """lk.acquire(); lk.release() as a program writes it. The loop is compiled afresh for each
    measurement: CPython 3.11 specializes a call site for the first type it sees."""
    lk = ctx.Lock() if kind == "lock" else ctx.RLock()
    ns = {}
    exec(_PAIR_LOOP, ns)
    loop = ns["loop"]
    loop(lk, 1000)  # warm up: let the call sites specialize
    t0 = time.perf_counter_ns()
    loop(lk, n)
    return (time.perf_counter_ns() - t0) / n


def m_handoff(ctx, kind, n):
    if kind == "event":
        objs = [ctx.Event(), ctx.Event()]
    elif kind == "semaphore":
        objs = [ctx.Semaphore(0), ctx.Semaphore(0)]
    else:
        objs = [ctx.Lock(), ctx.Lock()]
        objs[0].acquire()
        objs[1].acquire()
    kids = start(ctx, pingpong_partner, (kind, objs, n))
    if kind == "event":
        give, wait, clear = objs[1].set, objs[0].wait, objs[0].clear
        give()  # warm-up round: the child is running before the clock starts
        wait()
        clear()
        t0 = time.perf_counter_ns()
        for _ in range(n - 1):
            give()
            wait()
            clear()
    else:
        give, take = objs[1].release, objs[0].acquire
        give()
        take()
        t0 = time.perf_counter_ns()
        for _ in range(n - 1):
            give()
            take()
    t1 = time.perf_counter_ns()
    reap(kids)
    return (t1 - t0) / max(1, n - 1)


def m_barrier(ctx, _kind, n):
    b = ctx.Barrier(4)
    kids = start(ctx, barrier_partner, (b, n), count=3)
    w = b.wait
    w()  # warm-up cycle: all three children are running
    t0 = time.perf_counter_ns()
    for _ in range(n - 1):
        w()
    t1 = time.perf_counter_ns()
    reap(kids)
    return (t1 - t0) / max(1, n - 1)


def m_queue(ctx, _kind, n):
    q, go = ctx.Queue(), ctx.Event()
    kids = start(ctx, queue_producer, (q, go, n))
    if q.get() != -1:
        raise RuntimeError("queue: unexpected first item")
    get = q.get
    last = None
    t0 = time.perf_counter_ns()
    go.set()
    for _ in range(n):
        last = get()
    t1 = time.perf_counter_ns()
    if last != n - 1:
        raise RuntimeError(f"queue: last item {last!r}, expected {n - 1}")
    reap(kids)
    return (t1 - t0) / n


# (group, variant, measurement, kind, pinned, iterations per --rounds)
SCENARIOS = [
    ("uncontended.lock", "", m_uncontended, "lock", False, 25),
    ("uncontended.rlock", "", m_uncontended, "rlock", False, 25),
    ("handoff.lock", "process", m_handoff, "lock", False, 1),
    ("handoff.lock", "process_pinned", m_handoff, "lock", True, 1),
    ("handoff.semaphore", "process", m_handoff, "semaphore", False, 1),
    ("handoff.semaphore", "process_pinned", m_handoff, "semaphore", True, 1),
    ("handoff.event", "process", m_handoff, "event", False, 1),
    ("handoff.event", "process_pinned", m_handoff, "event", True, 1),
    ("barrier.round", "processes:4", m_barrier, None, False, 0.1),
    ("queue.put_get", "process", m_queue, None, False, 5),
]


def worker(conn, impl, fn, kind, pinned, n):
    os.setpgid(0, 0)  # the supervisor kills this group (this worker and its partners) on a hang
    if pinned:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # inherited by the partners
    conn.send(fn(contexts()[impl](), kind, n))
    conn.close()


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    p.join(2.0)


def one_rep(impl, fn, kind, pinned, n, timeout):
    """-> ns per iteration, or raises RuntimeError (the worker and its partners are gone)."""
    r, w = SUP.Pipe(duplex=False)
    p = SUP.Process(target=worker, args=(w, impl, fn, kind, pinned, n))
    p.start()
    w.close()
    try:
        os.setpgid(p.pid, p.pid)  # also here: no window where a kill would miss the group
    except OSError:
        pass
    val = None
    try:
        if r.poll(timeout):
            val = r.recv()
            p.join(REAP_S)
    except EOFError:  # died without a result (its traceback is on stderr)
        p.join(REAP_S)
    finally:
        if val is None or p.is_alive():
            kill_group(p)
        r.close()
    if val is None:
        why = f"exit status {p.exitcode}" if p.exitcode not in (None, -signal.SIGKILL) else f"no result in {timeout} s: killed"
        raise RuntimeError(why)
    if p.exitcode != 0:
        raise RuntimeError(f"worker exit status {p.exitcode}")
    return val


def aggregates(run_name, samples, n, label, reps, throughput):
    out = []
    stat = {"mean": statistics.mean, "median": statistics.median,
            "stddev": lambda s: statistics.stdev(s) if len(s) > 1 else 0.0}
    for agg, f in stat.items():
        val = f(samples)
        e = {"name": f"{run_name}_{agg}", "run_name": run_name, "run_type": "aggregate",
             "aggregate_name": agg, "repetitions": reps, "iterations": n,
             "real_time": val, "cpu_time": val, "time_unit": "ns", "label": label}
        if throughput:
            e["items_per_s"] = f([1e9 / s for s in samples])
        out.append(e)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=None, help="round trips per repetition (default 20000)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 300 rounds (numbers meaningless)")
    ap.add_argument("--filter", default=None, help="only rows whose name matches this regex")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per repetition before it is killed")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    rounds = a.rounds or (300 if a.quick else 20000)
    if rounds < 2 or a.repetitions < 1:
        ap.error("--rounds must be >= 2 and --repetitions >= 1")
    impls = contexts()
    if MPSYNC_ERR is not None:
        print(f"python_mp.py: mpsync is not importable by {sys.executable} ({MPSYNC_ERR}): "
              "python_mp rows only", file=sys.stderr)
    pyver = sys.version.split()[0]
    labels = {"python_mp": f"CPython {pyver}",
              "python_mpsync": f"CPython {pyver}, mpsync {getattr(mpsync, '__version__', '?')}"}
    results, failed = [], None
    for group, variant, fn, kind, pinned, factor in SCENARIOS:
        n = max(2, int(rounds * factor))
        names = {impl: f"{group}/{impl}" + (f"/{variant}" if variant else "") for impl in impls}
        todo = [impl for impl in impls if not a.filter or re.search(a.filter, names[impl])]
        samples = {impl: [] for impl in todo}
        for rep in range(a.repetitions):
            for impl in todo:
                try:
                    samples[impl].append(one_rep(impl, fn, kind, pinned, n, a.timeout))
                except RuntimeError as e:
                    failed = f"{names[impl]} repetition {rep + 1}: {e}"
                    break
            if failed:
                break
        for impl in todo:
            if samples[impl]:
                results += aggregates(names[impl], samples[impl], n, labels[impl], len(samples[impl]),
                                      group.startswith("queue."))
        if failed:
            break
    doc = {"context": {"executable": "bench/python_mp.py", "python": pyver, "rounds": rounds,
                       "mpsync": getattr(mpsync, "__version__", None) or f"not importable: {MPSYNC_ERR}",
                       "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
           "benchmarks": results}
    text = json.dumps(doc, indent=1)
    if a.out == "-":
        print(text)
    else:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    if failed:
        print(f"python_mp.py: FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
