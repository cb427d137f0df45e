"""mpsync: multiprocessing's synchronization primitives on shared-memory futex words.

Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event and Barrier behave exactly like
``multiprocessing``'s (same signatures, return values and exceptions) and work between processes
and threads alike. ``get_context(method)`` gives a multiprocessing context whose seven primitives
are these, so the standard library's own Queue, Pool, Value and Array run on them::

    import mpsync
    ctx = mpsync.get_context("spawn")
    lock, items = ctx.Lock(), ctx.Semaphore(0)
    q = ctx.Queue()

What differs from multiprocessing, on purpose:
  * Nothing is created in /dev/shm: objects live in unnamed shared memory (a memfd) that a fork
    child inherits and a spawn/forkserver child receives as a file descriptor.
  * Deadlines run on CLOCK_MONOTONIC, so a wall-clock jump neither shortens nor lengthens a wait.
  * ``Lock._is_mine()`` and ``RLock`` ownership are per thread and exact in every process
    (gh-117435); ``Condition.notify()`` never hangs on a waiter that timed out (bpo-30975);
    ``BoundedSemaphore.release()`` past the bound is refused atomically.
  * A process that dies holding an RLock (or a Condition's RLock) does not hang the others: the
    next acquirer gets the lock, ``lock.owner_died`` becomes True until it releases it, and an
    ``OwnerDiedWarning`` is issued (docs/python.md shows the recovery idiom).
  * Ctrl-C interrupts any wait at once with KeyboardInterrupt, nothing acquired.
"""
import os as _os
import threading as _threading
import time as _time
from multiprocessing import context as _mpctx
from multiprocessing import popen_spawn_posix as _popen_spawn_posix
from multiprocessing import reduction as _reduction
from multiprocessing import util as _util

from . import _mpsync
from ._mpsync import BrokenBarrierError, CorruptError, OwnerDiedWarning, SEM_VALUE_MAX

__all__ = ["Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier",
           "BrokenBarrierError", "OwnerDiedWarning", "CorruptError", "get_context", "SEM_VALUE_MAX"]  # not inspect: `import *` would shadow the stdlib module
__version__ = _mpsync.version
backend = _mpsync.backend


# ---- sharing with child processes -----------------------------------------------------------
def _reduce(obj, state):
    """Pickle `obj` for a child being spawned (spawn, forkserver): the arena's fd travels with it."""
    _mpctx.assert_spawning(obj)
    fd, off, hi, lo, slot = _mpsync._share(obj)  # counts a reference the child adopts
    popen = _mpctx.get_spawning_popen()
    if isinstance(popen, _popen_spawn_posix.Popen) and fd in popen._fds:
        # spawn passes an fd under its own number and refuses to pass one twice: objects of one
        # arena share the one the first of them registered
        dupfd = popen.DupFd(fd)
    else:
        dupfd = _reduction.DupFd(fd)
    return _rebuild, (type(obj), dupfd, off, hi, lo, slot, state)


def _rebuild(cls, dupfd, off, hi, lo, slot, state):
    fd = dupfd.detach()
    mapped = _mpsync._arena_fd(hi, lo)  # -2: not mapped here
    if mapped != -2:
        if fd != mapped:  # a duplicate (forkserver sends one per object)
            _os.close(fd)
        fd = -1
    obj = _mpsync._adopt(cls, fd, off, hi, lo, slot)
    obj._setstate(state)
    return obj


def _owner_name(obj):
    if obj._is_mine():
        name = _mpctx.process.current_process().name
        if _threading.current_thread().name != "MainThread":
            name += "|" + _threading.current_thread().name
        return name
    return "SomeOtherThread" if obj.locked() else "None"


# ---- the primitives: C types (mpsync._mpsync) with their Python-level parts added -------------
Lock, RLock, Semaphore, BoundedSemaphore = _mpsync.Lock, _mpsync.RLock, _mpsync.Semaphore, _mpsync.BoundedSemaphore
Condition, Event, Barrier = _mpsync.Condition, _mpsync.Event, _mpsync.Barrier


def _add(cls):
    """Copy the functions of the decorated class body onto the C type `cls`."""
    def put(body):
        for name, value in vars(body).items():
            if name not in ("__module__", "__dict__", "__weakref__", "__doc__", "__qualname__"):
                setattr(cls, name, value)
        return cls
    return put


for _cls in (Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier):
    @_add(_cls)
    class _Shared:
        def __reduce__(self):
            return _reduce(self, self._getstate())

        def _getstate(self):
            return None

        def _setstate(self, state):
            pass

        @property
        def _semlock(self):
            """multiprocessing's own code reaches through ``obj._semlock``: here the object is its own."""
            return self


@_add(Lock)
class _Lock:
    def _get_value(self):
        return 0 if self.locked() else 1

    def __repr__(self):
        return f"<{type(self).__name__}(owner={_owner_name(self)})>"


@_add(RLock)
class _RLock:
    def _get_value(self):
        return 0 if self.locked() else 1

    def __repr__(self):
        if self._is_mine():
            return f"<{type(self).__name__}({_owner_name(self)}, {self._count()})>"
        if self.locked():
            return f"<{type(self).__name__}(SomeOtherThread, nonzero)>"
        return f"<{type(self).__name__}(None, 0)>"


@_add(Semaphore)
class _Semaphore:
    def _get_value(self):
        return self.get_value()

    def _is_zero(self):
        return self.get_value() == 0

    def __repr__(self):
        return f"<{type(self).__name__}(value={self.get_value()})>"


@_add(BoundedSemaphore)
class _BoundedSemaphore:
    def __repr__(self):
        return f"<{type(self).__name__}(value={self.get_value()}, maxvalue={self.maxvalue})>"


@_add(Event)
class _Event:
    def __repr__(self):
        return f"<{type(self).__name__} at {id(self):#x} {'set' if self.is_set() else 'unset'}>"


@_add(Condition)
class _Condition:
    def _getstate(self):
        return self._lock

    def _setstate(self, lock):
        self._bind(lock)

    # CPython's Condition counts sleepers in three Semaphores; mpsync has no such objects.
    @property
    def _sleeping_count(self):
        raise NotImplementedError("mpsync.Condition keeps no sleeping/woken semaphores")

    _woken_count = _wait_semaphore = _sleeping_count

    def wait_for(self, predicate, timeout=None):
        """wait_for(predicate, timeout=None): wait until predicate() is true (checked with the lock
        held), for at most `timeout` seconds in all; returns predicate()'s last value."""
        result = predicate()
        if result:
            return result
        endtime = None if timeout is None else _time.monotonic() + timeout
        waittime = None
        while not result:
            if endtime is not None:
                waittime = endtime - _time.monotonic()
                if waittime <= 0:
                    break
            self.wait(waittime)
            result = predicate()
        return result

    def __repr__(self):
        if self._lock is not None:
            return f"<{type(self).__name__}({self._lock!r})>"
        return f"<{type(self).__name__}(RLock, mine={self._is_mine()})>"


@_add(Barrier)
class _Barrier:
    def _getstate(self):
        return (self._action, self._timeout)

    def _setstate(self, state):
        self._action, self._timeout = state

    def __repr__(self):
        return (f"<{type(self).__name__}(parties={self.parties}, n_waiting={self.n_waiting}, "
                f"broken={self.broken})>")


del _cls, _Shared, _Lock, _RLock, _Semaphore, _BoundedSemaphore, _Event, _Condition, _Barrier


# ---- process bookkeeping (python/src/arena.hpp: slot references) ----------------------------
_os.register_at_fork(before=_mpsync._before_fork, after_in_parent=_mpsync._after_fork_parent,
                     after_in_child=_mpsync._after_fork_child)


class _ExitHook:
    """A multiprocessing fork child leaves by os._exit, which skips the extension's Py_AtExit:
    it gives its slot references back from a Finalize that runs after every other one."""

    def __init__(self):
        _util.register_after_fork(self, _ExitHook.register)  # run in every multiprocessing child

    def register(self):
        if _mpsync._forked():
            _util.Finalize(None, _mpsync._release_all, exitpriority=-1000)


_exit_hook = _ExitHook()

def inspect(*regions, deadlocks=False):
    """What ``mpsync-inspect --json`` prints, as a dict: every mpsync region this process can see
    (or only ``regions``: a named region, ``/proc/PID/fd/N``, or ``"pid:PID"``), each with its
    objects, their owners and the threads blocked on them. Objects made by this package appear
    with ``"name": None`` and their offset. ``deadlocks=True`` adds a ``"deadlocks"`` list (cycles of
    threads waiting for locks held by each other, and waits on locks whose owner is gone) after
    confirming each finding in a second read 0.2 s later. Raises OSError if a region named in
    ``regions`` cannot be read. The schema is in docs/inspect.md."""
    import json
    return json.loads(_mpsync._inspect(tuple(_os.fspath(r) for r in regions), bool(deadlocks)))


from .context import get_context  # noqa: E402  (needs the classes above)
