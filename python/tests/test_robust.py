"""A peer that dies holding a lock, and Ctrl-C during a wait."""
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import pytest

import mpsync
from conftest import LIMIT, join


def _die_holding(lock, depth, how):
    for _ in range(depth):
        lock.acquire()
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(3)


@pytest.mark.parametrize("how", ["kill", "exit"])
def test_rlock_taken_from_a_dead_owner(fork_ctx, how):
    lock = fork_ctx.RLock()
    p = fork_ctx.Process(target=_die_holding, args=(lock, 2, how))
    p.start()
    join(p)
    with pytest.warns(mpsync.OwnerDiedWarning):
        assert lock.acquire(timeout=LIMIT) is True
    assert lock.owner_died and lock._is_mine() and lock._count() == 1
    assert lock.acquire() and lock.owner_died  # still the same takeover
    lock.release()
    lock.release()
    assert not lock.owner_died and not lock.locked()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lock.acquire(False) is True  # clean again: no warning
    lock.release()


def test_with_block_sees_owner_died_and_releases(fork_ctx):
    lock = fork_ctx.RLock()
    p = fork_ctx.Process(target=_die_holding, args=(lock, 1, "kill"))
    p.start()
    join(p)
    with pytest.warns(mpsync.OwnerDiedWarning):
        with lock:
            assert lock.owner_died
    assert not lock.locked()


def test_with_block_never_leaves_the_lock_held_when_the_warning_is_an_error(fork_ctx):
    lock = fork_ctx.RLock()
    p = fork_ctx.Process(target=_die_holding, args=(lock, 1, "kill"))
    p.start()
    join(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mpsync.OwnerDiedWarning)
        with pytest.raises(mpsync.OwnerDiedWarning):
            with lock:
                pytest.fail("the body must not run")
    assert not lock.locked()


def _cond_die(cond):
    cond.acquire()
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("external", [False, True])
def test_condition_lock_taken_from_a_dead_owner(fork_ctx, external):
    lock = fork_ctx.RLock() if external else None
    cond = fork_ctx.Condition(lock)
    p = fork_ctx.Process(target=_cond_die, args=(cond,))
    p.start()
    join(p)
    flag = lock if external else cond
    with pytest.warns(mpsync.OwnerDiedWarning):
        with cond:
            assert flag.owner_died
            assert cond.wait(0.01) is False  # the Condition works on
    assert not flag.owner_died


def test_condition_waiter_learns_of_a_holder_that_died(fork_ctx):
    from conftest import blocked_in_futex, wait_until
    cond = fork_ctx.Condition()
    with cond:
        p = fork_ctx.Process(target=_cond_die, args=(cond,))
        p.start()  # it blocks on the lock this thread holds
        wait_until(lambda: blocked_in_futex(p.pid), what="the child to block on the lock")
        # wait() lets it in; it dies holding the lock; the wait's re-acquire takes it over
        with pytest.warns(mpsync.OwnerDiedWarning):
            assert cond.wait(2.0) is True  # True: the wait ended in a takeover (see owner_died)
        assert cond.owner_died and cond._is_mine()
    assert not cond.owner_died
    join(p)


CTRL_C_CHILD = textwrap.dedent("""
    import signal, sys, time, mpsync
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    hits = []
    def usr1(*a):  # a handler that does not raise: the wait goes on
        hits.append(1)
        print("usr1", flush=True)
    signal.signal(signal.SIGUSR1, usr1)
    obj = {kind!r}
    if obj == "lock":
        x = mpsync.Lock(); x.acquire(); wait = lambda: x.acquire(timeout=60)
    elif obj == "sem":
        x = mpsync.Semaphore(0); wait = lambda: x.acquire()
    elif obj == "event":
        x = mpsync.Event(); wait = lambda: x.wait()
    elif obj == "cond":
        x = mpsync.Condition(); x.acquire(); wait = lambda: x.wait()
    else:
        x = mpsync.Barrier(2); wait = lambda: x.wait()
    print("waiting", flush=True)
    t0 = time.monotonic()
    try:
        wait()
        print("returned")
    except KeyboardInterrupt:
        held = obj == "cond" and x._is_mine()
        print("interrupted", len(hits), round(time.monotonic() - t0, 1), "held" if held else "")
""")


@pytest.mark.parametrize("kind", ["lock", "sem", "event", "cond", "barrier"])
def test_ctrl_c_interrupts_a_wait_and_handlers_run(kind):
    child = subprocess.Popen([sys.executable, "-c", CTRL_C_CHILD.format(kind=kind)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "waiting"
        from conftest import blocked_in_futex, wait_until
        wait_until(lambda: blocked_in_futex(child.pid), what="the child to sleep")
        child.send_signal(signal.SIGUSR1)  # runs the handler; the wait goes on
        assert child.stdout.readline().strip() == "usr1"
        wait_until(lambda: blocked_in_futex(child.pid), what="the child to sleep again", pid=child.pid)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=LIMIT)
    finally:
        child.kill()
    words = out.split()
    assert words[:2] == ["interrupted", "1"], out
    assert float(words[2]) < 10
    if kind == "cond":  # wait() re-takes the lock before the exception leaves (threading does too)
        assert words[3:] == ["held"]
