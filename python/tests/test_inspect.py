"""mpsync.inspect(): the package's objects seen from outside, with owners, blocked processes and
deadlocks, and the same document as the mpsync-inspect program prints."""
import json
import os
import subprocess
import threading

import pytest

import mpsync
from conftest import LIMIT, blocked_in_futex, join, wait_until


def objects_of(doc):
    return [o for r in doc["regions"] for o in r["objects"]]


def test_owner_and_blocked_process():
    ctx = mpsync.get_context("fork")
    lock = ctx.RLock()
    lock.acquire()
    lock.acquire()
    p = ctx.Process(target=lock.acquire)
    p.start()
    try:
        wait_until(lambda: blocked_in_futex(p.pid), what="the child to block")

        def mine():
            for o in objects_of(mpsync.inspect(f"pid:{os.getpid()}")):
                if o["kind"] == "rlock" and o["owner"] and o["owner"]["tid"] == threading.get_native_id():
                    return o
            return None

        wait_until(lambda: (mine() or {}).get("waiters"), what="the waiter to be published")
        o = mine()
        assert o["name"] is None and o["count"] == 2 and o["owner"]["pid"] == os.getpid()
        assert [w["pid"] for w in o["waiters"]] == [p.pid]
    finally:
        lock.release()
        lock.release()
        assert join(p) == 0


def _take(first, second, both):
    first.acquire()
    both.wait()
    second.acquire()


def test_deadlock_between_two_processes():
    ctx = mpsync.get_context("fork")
    a, b, both = ctx.Lock(), ctx.Lock(), ctx.Barrier(2)
    p1 = ctx.Process(target=_take, args=(a, b, both))
    p2 = ctx.Process(target=_take, args=(b, a, both))
    p1.start()
    p2.start()
    try:
        def found():
            return mpsync.inspect(f"pid:{p1.pid}", deadlocks=True)["deadlocks"]

        wait_until(lambda: found(), limit=LIMIT, what="the deadlock to be reported")
        (cycle,) = found()
        assert cycle["type"] == "cycle"
        assert sorted(e["waiter"]["pid"] for e in cycle["edges"]) == sorted([p1.pid, p2.pid])
        assert {e["kind"] for e in cycle["edges"]} == {"lock"}
        assert mpsync.inspect(f"pid:{os.getpid()}", deadlocks=True)["deadlocks"] == [cycle]
    finally:
        p1.kill()
        p2.kill()
        join(p1)
        join(p2)


def test_unreadable_target_raises():
    with pytest.raises(OSError, match="No such file"):
        mpsync.inspect("/mpsync-no-such-region-anywhere")
    with pytest.raises(OSError, match="no such process"):
        mpsync.inspect("pid:999999999")


def test_same_document_as_the_program():
    prog = os.environ.get("MPSYNC_INSPECT")
    if not prog or not os.access(prog, os.X_OK):
        pytest.skip("MPSYNC_INSPECT (the built mpsync-inspect) not given")
    ctx = mpsync.get_context("fork")
    sem, ev = ctx.BoundedSemaphore(4), ctx.Event()
    sem.acquire()
    ev.set()
    target = f"pid:{os.getpid()}"
    cli = json.loads(subprocess.run([prog, "--json", target], capture_output=True, text=True, timeout=LIMIT,
                                    check=True).stdout)
    mine = mpsync.inspect(target)
    for doc in (mine, cli):  # who maps an arena may change between the two reads (fork children)
        for r in doc["regions"]:
            assert os.getpid() in [m["pid"] for m in r.pop("mapped_by")]
    assert mine == cli
    assert any(o["kind"] == "bounded_semaphore" and o["value"] == 3 and o["bound"] == 4 for o in objects_of(cli))
