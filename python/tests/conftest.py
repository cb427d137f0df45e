"""Shared helpers for the mpsync package's tests (pytest). Every wait in these tests is bounded."""
import glob
import multiprocessing
import os
import time

import pytest

import mpsync

LIMIT = 30.0  # seconds: the longest any single wait in a test may take before it counts as a hang


def wait_until(pred, limit=LIMIT, what="condition"):
    end = time.monotonic() + limit
    while not pred():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {limit} s waiting for {what}")
        time.sleep(0.002)


def blocked_in_futex(pid):
    """True when some thread of `pid` sleeps in the kernel's futex wait (seen in /proc)."""
    for wchan in glob.glob(f"/proc/{pid}/task/*/wchan"):
        try:
            with open(wchan) as f:
                if "futex" in f.read():
                    return True
        except OSError:
            pass
    return False


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
