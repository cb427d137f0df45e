"""Where multiprocessing's primitives go wrong and mpsync's do not (one test per CPython issue),
plus the exceptions and values a drop-in replacement must match."""
import ctypes
import errno
import os
import signal
import threading
import time

import pytest

import mpsync
from conftest import blocked_in_futex, join, wait_until


# ---- gh-117435: _is_mine() after another process released the lock ----------------------------
def _release(lock, out):
    out.put(lock._is_mine())
    lock.release()


def test_is_mine_follows_the_shared_word_gh117435(ctx):
    lock, out = ctx.Lock(), ctx.Queue()
    assert lock.acquire() and lock._is_mine()
    p = ctx.Process(target=_release, args=(lock, out))
    p.start()
    assert out.get(timeout=30) is False  # the child never owned it
    assert join(p) == 0
    assert not lock._is_mine() and not lock.locked()  # multiprocessing still says True here
    assert lock.acquire(False)
    lock.release()


# ---- bpo-30975: notify must not wait for a waiter that died ------------------------------------
def _wait_forever(cond, ready):
    with cond:
        ready.release()
        cond.wait()


def test_notify_does_not_hang_on_a_dead_waiter_bpo30975(fork_ctx):
    cond, ready = fork_ctx.Condition(), fork_ctx.Semaphore(0)
    p = fork_ctx.Process(target=_wait_forever, args=(cond, ready))
    p.start()
    assert ready.acquire(timeout=30)
    wait_until(lambda: blocked_in_futex(p.pid), what="the waiter to sleep")
    os.kill(p.pid, signal.SIGKILL)
    join(p)
    done = []

    def notifier():
        with cond:
            cond.notify()
            cond.notify_all()
        done.append(True)

    t = threading.Thread(target=notifier, daemon=True)
    t.start()
    t.join(10)
    assert done, "notify blocked on a dead waiter"


# ---- gh-95826: a waiter blocked during set() returns True even if clear() follows at once ---------
def _event_waiter(ev, out):
    out.put(ev.wait(30))


def test_event_set_then_clear_wakes_blocked_waiter_gh95826(fork_ctx):
    for _ in range(5):
        ev, out = fork_ctx.Event(), fork_ctx.Queue()
        p = fork_ctx.Process(target=_event_waiter, args=(ev, out))
        p.start()
        wait_until(lambda: blocked_in_futex(p.pid), what="the waiter to sleep")
        ev.set()
        ev.clear()
        assert out.get(timeout=30) is True
        assert join(p) == 0


# ---- deadlines on CLOCK_MONOTONIC: a wall-clock jump does not end a wait early ------------------
class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _shift_realtime(seconds):
    libc = ctypes.CDLL(None, use_errno=True)
    ts = _Timespec()
    libc.clock_gettime(0, ctypes.byref(ts))
    ts.tv_sec += seconds
    if libc.clock_settime(0, ctypes.byref(ts)) != 0:
        return ctypes.get_errno()
    return 0


def test_timed_wait_ignores_a_wall_clock_jump():
    if _shift_realtime(0) != 0:
        pytest.skip("cannot set CLOCK_REALTIME here (needs CAP_SYS_TIME)")
    sem = mpsync.Semaphore(0)
    jumped = threading.Event()

    def jump():
        time.sleep(0.2)
        _shift_realtime(3600)
        jumped.set()

    t = threading.Thread(target=jump)
    start = time.monotonic()
    t.start()
    try:
        assert sem.acquire(timeout=1.0) is False
        elapsed = time.monotonic() - start
    finally:
        t.join(10)
        if jumped.is_set():
            _shift_realtime(-3600)
    assert 0.95 <= elapsed < 10, elapsed


# ---- BoundedSemaphore: the bound check and the increment are one step ---------------------------
def _racing_release(sem, gate, wins, rounds):
    for _ in range(rounds):
        gate.wait(30)
        try:
            sem.release()
            wins.release()
        except ValueError:
            pass
        gate.wait(30)


def test_bounded_semaphore_release_race_never_passes_the_bound(fork_ctx):
    rounds, n = 200, 3
    sem, wins = fork_ctx.BoundedSemaphore(1), fork_ctx.Semaphore(0)
    gate = fork_ctx.Barrier(n + 1)
    procs = [fork_ctx.Process(target=_racing_release, args=(sem, gate, wins, rounds)) for _ in range(n)]
    for p in procs:
        p.start()
    for r in range(rounds):
        assert sem.acquire(timeout=30)  # value 0: exactly one of the racers may release
        gate.wait(30)
        gate.wait(30)
        assert sem.get_value() == 1
        assert wins.get_value() == r + 1
    for p in procs:
        assert join(p) == 0


# ---- exceptions and values of multiprocessing ------------------------------------------------
def test_errors_match_multiprocessing():
    lock, rlock = mpsync.Lock(), mpsync.RLock()
    with pytest.raises(ValueError, match="released too many times"):
        lock.release()
    with pytest.raises(AssertionError, match="not owned by thread"):
        rlock.release()
    with pytest.raises(ValueError, match="released too many times"):
        mpsync.BoundedSemaphore(0).release()
    with pytest.raises(OSError) as e:
        mpsync.Semaphore(-1)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OverflowError):
        mpsync.Semaphore(mpsync.SEM_VALUE_MAX + 1)
    cond = mpsync.Condition()
    with pytest.raises(AssertionError, match="must acquire"):
        cond.wait()
    with pytest.raises(AssertionError, match="lock is not owned"):
        cond.notify()
    with pytest.raises(TypeError):
        lock.acquire(True, "x")
    with pytest.raises(mpsync.BrokenBarrierError):
        mpsync.Barrier(2).wait(0.05)
    assert mpsync.BrokenBarrierError is threading.BrokenBarrierError


def test_values_and_reprs():
    rlock = mpsync.RLock()
    assert rlock.acquire() and rlock.acquire(False) and rlock.acquire(timeout=-5)
    assert rlock._count() == 3 and rlock._is_mine()
    assert repr(rlock) == "<RLock(MainProcess, 3)>"
    for _ in range(3):
        rlock.release()
    assert repr(rlock) == "<RLock(None, 0)>"
    sem = mpsync.BoundedSemaphore(2)
    assert repr(sem) == "<BoundedSemaphore(value=2, maxvalue=2)>"
    assert isinstance(sem, mpsync.Semaphore)
    lock = mpsync.Lock()
    with lock:
        assert repr(lock) == "<Lock(owner=MainProcess)>"
    assert repr(lock) == "<Lock(owner=None)>"
    ev = mpsync.Event()
    assert repr(ev).endswith("unset>") and ev.wait(0) is False
    b = mpsync.Barrier(1)
    assert b.wait() == 0 and b.parties == 1 and b.n_waiting == 0 and not b.broken


def test_barrier_action_error_reaches_the_last_arriver_and_breaks_it():
    def boom():
        raise KeyError("action")

    b = mpsync.Barrier(2, action=boom)
    got = []
    t = threading.Thread(target=lambda: got.append(_catch(b.wait, 30)))
    t.start()
    res = _catch(b.wait, 30)
    t.join(30)
    kinds = sorted(type(x).__name__ for x in got + [res])
    assert kinds == ["BrokenBarrierError", "KeyError"], kinds
    assert b.broken
    b.reset()
    assert not b.broken


def _catch(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - the test compares exception kinds
        return e


def test_blocked_acquire_releases_the_gil():
    lock = mpsync.Lock()
    lock.acquire()
    t = threading.Thread(target=lambda: lock.acquire(timeout=30), daemon=True)
    t.start()
    counted, end = 0, time.monotonic() + 0.3
    while time.monotonic() < end:  # the main thread keeps running while the other one waits
        counted += 1
    lock.release()
    t.join(30)
    assert not t.is_alive() and counted > 1000


def test_lock_bound_condition_release_is_its_locks():
    """multiprocessing's Condition.release() is its lock's: with a Lock, any thread may release."""
    cond = mpsync.Condition(mpsync.Lock())
    assert cond.acquire()
    t = threading.Thread(target=cond.release)
    t.start()
    t.join(30)
    assert not cond._lock.locked()
    with pytest.raises(ValueError, match="released too many times"):
        cond.release()


def test_argument_and_limit_errors_match_multiprocessing():
    sem = mpsync.Semaphore(mpsync.SEM_VALUE_MAX)
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    rlock = mpsync.RLock()
    with pytest.raises(TypeError):
        rlock.acquire(True, "x")  # parsed before acquiring, as SemLock
    assert not rlock.locked()
    assert rlock.acquire()
    assert rlock.acquire(True, "x") is True  # the owner's re-acquire comes before any parsing
    rlock.release()
    rlock.release()
