"""Shared helpers for the mpsync package's tests (pytest). Every wait in these tests is bounded."""
import glob
import multiprocessing
import os
import time

import pytest

import mpsync

LIMIT = 30.0  # seconds: the longest any single wait in a test may take before it counts as a hang


def wait_until(pred, limit=LIMIT, what="condition", pid=None):
    end = time.monotonic() + limit
    while not pred():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {limit} s waiting for {what}" + (f": {_where(pid)}" if pid else ""))
        time.sleep(0.002)


def blocked_in_futex(pid):
    """True when some thread of `pid` is parked: asleep in the kernel's futex wait, or in the
    sleep-loop backend's nap (nanosleep, or ppoll behind its signal gate), as /proc shows."""
    for wchan in glob.glob(f"/proc/{pid}/task/*/wchan"):
        try:
            with open(wchan) as f:
                w = f.read()
                if "futex" in w or "nanosleep" in w or "poll" in w:
                    return True
        except OSError:
            pass
    return False


def _where(pid):
    out = []
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            with open(task + "/wchan") as w, open(task + "/stat") as st:
                out.append(f"{task.rsplit('/', 1)[1]}:{st.read().split()[2]}:{w.read()}")
        except OSError:
            out.append(f"{task}: gone")
    return " ".join(out) or "no such process"


def join(p, limit=LIMIT):
    p.join(limit)
    if p.is_alive():
        p.kill()
        p.join(5)
        pytest.fail(f"{p.name} still running after {limit} s")
    return p.exitcode


@pytest.fixture(params=["fork", "spawn"])
def ctx(request):
    return mpsync.get_context(request.param)


@pytest.fixture
def fork_ctx():
    return mpsync.get_context("fork")


def shm_entries():
    return set(os.listdir("/dev/shm"))


__all__ = ["wait_until", "blocked_in_futex", "join", "shm_entries", "LIMIT", "multiprocessing"]
