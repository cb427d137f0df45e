"""Sharing with child processes: inheritance (fork), fd passing (spawn, forkserver), the stdlib's
Queue and Pool on mpsync, nothing left in /dev/shm, and slots given back (python/src/arena.hpp)."""
import gc
import pickle
import subprocess
import sys
import textwrap

import pytest

import mpsync
from conftest import join, shm_entries


def _use_all(lock, rlock, sem, bsem, ev, cond, ext_cond, barrier, out):
    with lock, rlock, cond, ext_cond:
        cond.notify_all()
        ext_cond.notify_all()
    sem.release()
    assert bsem.acquire(timeout=30)
    ev.set()
    out.put(barrier.wait(30))


def _action():
    pass


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_every_primitive_reaches_a_child(method):
    ctx = mpsync.get_context(method)
    rl = ctx.RLock()
    objs = (ctx.Lock(), rl, ctx.Semaphore(0), ctx.BoundedSemaphore(1), ctx.Event(), ctx.Condition(),
            ctx.Condition(rl), ctx.Barrier(2, action=_action), ctx.Queue())
    p = ctx.Process(target=_use_all, args=objs)
    p.start()
    assert objs[2].acquire(timeout=30)  # the child's release
    assert objs[4].wait(30)
    idx = objs[7].wait(30)
    assert sorted([idx, objs[8].get(timeout=30)]) == [0, 1]
    assert join(p) == 0
    assert objs[3].get_value() == 0 and not objs[0].locked()


def test_pickling_outside_spawning_is_refused():
    with pytest.raises(RuntimeError, match="through inheritance"):
        pickle.dumps(mpsync.Lock())


def _square(x):
    return x * x


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_stdlib_pool_and_queue_run_on_mpsync(method):
    ctx = mpsync.get_context(method)
    with ctx.Pool(2) as pool:
        assert pool.map(_square, range(50)) == [x * x for x in range(50)]
    q = ctx.JoinableQueue()
    assert isinstance(q._rlock, mpsync.Lock) and isinstance(q._sem, mpsync.BoundedSemaphore)
    for i in range(100):
        q.put(i)
    assert [q.get(timeout=30) for _ in range(100)] == list(range(100))
    for _ in range(100):
        q.task_done()
    q.join()
    v = ctx.Value("i", 7)
    assert isinstance(v.get_lock(), mpsync.RLock)
    with v.get_lock():
        v.value += 1
    assert v.value == 8


LEFTOVER_CHILD = textwrap.dedent("""
    import mpsync
    def work(q, lock):
        with lock:
            q.put(1)
    if __name__ == "__main__":
        for m in ("spawn", "forkserver", "fork"):
            ctx = mpsync.get_context(m)
            q, lock = ctx.Queue(), ctx.Lock()
            objs = [ctx.Condition() for _ in range(100)]
            p = ctx.Process(target=work, args=(q, lock))
            p.start(); assert q.get(timeout=30) == 1; p.join(30)
        print("ok")
""")


def test_nothing_left_in_dev_shm_and_no_resource_tracker_warning(tmp_path):
    before = shm_entries()
    script = tmp_path / "leftover.py"
    script.write_text(LEFTOVER_CHILD)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "ok", r.stderr
    assert "resource_tracker" not in r.stderr and "leaked" not in r.stderr, r.stderr
    assert shm_entries() - before == set()


def test_dropped_objects_give_their_slots_back():
    gc.collect()
    keep = mpsync.Lock()
    refs, _, arena = mpsync._mpsync._slot_info(keep)
    assert refs == 1
    arenas = set()
    for _ in range(20000):  # more than one arena's slots (16320): only reuse keeps them in one
        x = mpsync.Lock()
        arenas.add(mpsync._mpsync._slot_info(x)[2])
        del x
    assert arenas == {arena}


def _hold(lock, ev, done):
    ev.set()
    done.wait(30)


def test_children_count_their_references(fork_ctx):
    lock, ev, done = fork_ctx.Lock(), fork_ctx.Event(), fork_ctx.Event()
    assert mpsync._mpsync._slot_info(lock)[0] == 1
    p = fork_ctx.Process(target=_hold, args=(lock, ev, done))
    p.start()
    assert ev.wait(30)
    assert mpsync._mpsync._slot_info(lock)[0] == 2  # the fork child holds one too
    done.set()
    assert join(p) == 0
    assert mpsync._mpsync._slot_info(lock)[0] == 1  # given back at its orderly exit


FORK_RACE = textwrap.dedent("""
    import os
    r, w = os.pipe()
    os.register_at_fork(after_in_child=lambda: os.read(r, 1))  # holds the child before mpsync's hook
    import mpsync
    x = mpsync.Event()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if not x.is_set() else 1)  # x must still be this child's own Event
    refs = mpsync._mpsync._slot_info(x)[0]
    del x  # as Process.start() drops its arguments right after the fork
    others = [mpsync.Event() for _ in range(4)]
    for e in others:
        e.set()  # one of them would be x's slot, had the parent freed it
    os.write(w, b"x")
    _, st = os.waitpid(pid, 0)
    print(refs, os.waitstatus_to_exitcode(st))
""")


def test_a_fork_child_holds_its_references_before_the_parent_can_drop_them():
    r = subprocess.run([sys.executable, "-c", FORK_RACE], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["2", "0"], (r.stdout, r.stderr)


def test_a_received_condition_binds_only_its_own_lock():
    cond, other = mpsync.Condition(mpsync.Lock()), mpsync.Lock()
    with pytest.raises(ValueError):
        cond._bind(other)  # already bound
    with pytest.raises(ValueError):
        mpsync.Condition()._bind(mpsync.RLock())  # an embedded-RLock Condition takes none
