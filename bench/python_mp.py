#!/usr/bin/env python3
"""Python's multiprocessing.Lock and multiprocessing.Semaphore ping-pong between two processes:
the reference column of bench/compare's handoff tables.

One round trip = the parent hands the turn to the child and waits until it comes back, exactly
as bench_handoff's handoff.lock and handoff.semaphore do in C++ (two Semaphore(0)s; two Locks
that start held, each side releasing the other's, which multiprocessing.Lock permits).

Output: Google Benchmark's JSON shape, so compare merges it with the C++ results:
  {"context": {...}, "benchmarks": [{"name": "handoff.semaphore/python_mp/process_median",
   "run_name": "handoff.semaphore/python_mp/process", "run_type": "aggregate",
   "aggregate_name": "median", "real_time": <ns per round trip>, "time_unit": "ns", ...}]}
Variants: process (unpinned) and process_pinned (both processes on one CPU, via
os.sched_setaffinity), as in bench_handoff.

usage: python_mp.py [--repetitions N] [--rounds M] [--out FILE]
"""
import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time


def partner(objs, rounds):
    """Side 1: wait for our turn (objs[1]), hand it back (objs[0]); same code for both kinds."""
    mine, theirs = objs[1], objs[0]
    for _ in range(rounds):
        mine.acquire()
        theirs.release()


def one_run(ctx, kind, rounds, pinned):
    if kind == "semaphore":
        objs = [ctx.Semaphore(0), ctx.Semaphore(0)]
    else:
        objs = [ctx.Lock(), ctx.Lock()]
        objs[0].acquire()
        objs[1].acquire()
    old = os.sched_getaffinity(0)
    if pinned:
        os.sched_setaffinity(0, {min(old)})
    try:
        p = ctx.Process(target=partner, args=(objs, rounds))
        p.start()
        # warm-up handshake so the child is running before the clock starts
        objs[1].release()
        objs[0].acquire()
        t0 = time.perf_counter_ns()
        for _ in range(rounds - 1):
            objs[1].release()
            objs[0].acquire()
        t1 = time.perf_counter_ns()
        p.join()
    finally:
        if pinned:
            os.sched_setaffinity(0, old)
    if p.exitcode != 0:
        raise RuntimeError(f"partner exited with {p.exitcode}")
    return (t1 - t0) / max(1, rounds - 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=20000)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    ctx = mp.get_context("fork")
    results = []
    for kind in ("lock", "semaphore"):
        for variant, pinned in (("process", False), ("process_pinned", True)):
            samples = [one_run(ctx, kind, a.rounds, pinned) for _ in range(a.repetitions)]
            run_name = f"handoff.{kind}/python_mp/{variant}"
            for agg, val in (("mean", statistics.mean(samples)), ("median", statistics.median(samples)),
                             ("stddev", statistics.stdev(samples) if len(samples) > 1 else 0.0)):
                results.append({"name": f"{run_name}_{agg}", "run_name": run_name, "run_type": "aggregate",
                                "aggregate_name": agg, "repetitions": a.repetitions, "iterations": a.rounds - 1,
                                "real_time": val, "cpu_time": val, "time_unit": "ns",
                                "label": f"CPython {sys.version.split()[0]}"})
    doc = {"context": {"executable": "bench/python_mp.py", "python": sys.version.split()[0],
                       "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
           "benchmarks": results}
    text = json.dumps(doc, indent=1)
    if a.out == "-":
        print(text)
    else:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
