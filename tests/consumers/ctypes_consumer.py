#!/usr/bin/env python3
"""Drive the *installed* libmpsync.so from Python with nothing but the standard library (ctypes).

usage: ctypes_consumer.py /path/to/libmpsync.so

A bounded Semaphore (free ring slots), a Semaphore (filled slots) and three Events live in an
anonymous MAP_SHARED mapping; os.fork() makes a second Python process. The parent hands 200
items through a 4-slot ring to the child; both check every status, the exact semaphore counts,
that each Event set in one process is seen by the other, and that timed waits return TIMEDOUT no
earlier than their deadline. Exits 0 on success, 1 with a message per failed check otherwise.
"""
import ctypes
import math
import mmap
import os
import sys
import time

OK, TIMEDOUT, EINVAL, EOVERRELEASE = 0, 1, -1, -3  # include/mpsync.h
FOREVER = math.inf
ITEMS, SLOTS = 200, 4


class Sem(ctypes.Structure):  # mpsync_sem_t, 8 bytes
    _fields_ = [("value", ctypes.c_uint32), ("bound", ctypes.c_uint32)]


class Event(ctypes.Structure):  # mpsync_event_t, 4 bytes
    _fields_ = [("word", ctypes.c_uint32)]


class Shared(ctypes.Structure):
    _fields_ = [("items", Sem), ("slots", Sem), ("go", Event), ("done", Event), ("never", Event),
                ("ring", ctypes.c_uint32 * SLOTS)]


def load(path):
    lib = ctypes.CDLL(path)
    S, E = ctypes.POINTER(Sem), ctypes.POINTER(Event)
    sigs = {
        "mpsync_sem_init": ([S, ctypes.c_uint], ctypes.c_int),
        "mpsync_bounded_sem_init": ([S, ctypes.c_uint], ctypes.c_int),
        "mpsync_sem_acquire": ([S, ctypes.c_int, ctypes.c_double], ctypes.c_int),
        "mpsync_sem_release": ([S], ctypes.c_int),
        "mpsync_sem_get_value": ([S], ctypes.c_int),
        "mpsync_event_init": ([E], ctypes.c_int),
        "mpsync_event_set": ([E], ctypes.c_int),
        "mpsync_event_is_set": ([E], ctypes.c_int),
        "mpsync_event_wait": ([E, ctypes.c_double], ctypes.c_int),
        "mpsync_strerror": ([ctypes.c_int], ctypes.c_char_p),
        "mpsync_version": ([], ctypes.c_char_p),
        "mpsync_backend": ([], ctypes.c_char_p),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res
    return lib


class Checker:
    def __init__(self, lib, who):
        self.lib, self.who, self.fails = lib, who, 0

    def eq(self, got, want, what, text=""):
        if got != want:
            self.fails += 1
            print(f"ctypes consumer ({self.who}): FAILED {what}: got {got!r}{text}, want {want!r}",
                  file=sys.stderr)
        return got == want

    def st(self, got, want, what):  # a status: name it in the message
        return self.eq(got, want, what, f" ({self.lib.mpsync_strerror(got).decode()})")

    def timed(self, fn, want, at_least, what):
        t0 = time.monotonic()
        st = fn()
        dt = time.monotonic() - t0
        self.st(st, want, what)
        if dt < at_least or dt > at_least + 5.0:
            self.fails += 1
            print(f"ctypes consumer ({self.who}): FAILED {what}: returned after {dt:.3f} s, "
                  f"deadline {at_least} s", file=sys.stderr)


def child(lib, s):
    c = Checker(lib, "child")
    c.st(lib.mpsync_event_wait(s.go, 10.0), OK, "child sees the parent's go event")
    for i in range(ITEMS):
        if not c.st(lib.mpsync_sem_acquire(s.items, 1, 10.0), OK, f"take item {i}"):
            break
        c.eq(s.ring[i % SLOTS], i + 1, f"item {i} intact in its slot")
        c.st(lib.mpsync_sem_release(s.slots), OK, f"free slot after item {i}")
    c.eq(lib.mpsync_sem_get_value(s.items), 0, "no item left over")
    c.st(lib.mpsync_sem_acquire(s.items, 0, 0.0), TIMEDOUT, "non-blocking acquire on 0")
    c.st(lib.mpsync_event_set(s.done), OK, "child sets done")
    return c.fails


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    lib = load(sys.argv[1])
    mm = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    s = Shared.from_buffer(mm)
    c = Checker(lib, "parent")
    c.eq(ctypes.sizeof(Sem), 8, "sizeof(mpsync_sem_t)")
    c.eq(ctypes.sizeof(Event), 4, "sizeof(mpsync_event_t)")
    c.st(lib.mpsync_sem_init(s.items, 0), OK, "sem init")
    c.st(lib.mpsync_bounded_sem_init(s.slots, SLOTS), OK, "bounded sem init")
    c.st(lib.mpsync_sem_init(s.items, 2**31), EINVAL, "sem init above MPSYNC_SEM_VALUE_MAX")
    for ev in (s.go, s.done, s.never):
        c.st(lib.mpsync_event_init(ev), OK, "event init")

    pid = os.fork()
    if pid == 0:
        fails = 1
        try:
            fails = child(lib, s)
        finally:
            os._exit(1 if fails else 0)

    c.eq(lib.mpsync_event_is_set(s.done), 0, "done not set before go")
    c.timed(lambda: lib.mpsync_event_wait(s.never, 0.05), TIMEDOUT, 0.05, "event wait(0.05) times out")
    c.st(lib.mpsync_event_wait(s.never, math.nan), EINVAL, "event wait(NaN)")
    c.st(lib.mpsync_event_set(s.go), OK, "parent sets go")
    for i in range(ITEMS):
        if not c.st(lib.mpsync_sem_acquire(s.slots, 1, 10.0), OK, f"free slot for item {i}"):
            break
        s.ring[i % SLOTS] = i + 1  # published by the release below
        c.st(lib.mpsync_sem_release(s.items), OK, f"publish item {i}")
    c.st(lib.mpsync_event_wait(s.done, 10.0), OK, "parent sees the child's done event")
    _, ws = os.waitpid(pid, 0)
    c.eq(os.waitstatus_to_exitcode(ws) if hasattr(os, "waitstatus_to_exitcode") else ws >> 8, 0,
         "child exit status")
    c.eq(lib.mpsync_sem_get_value(s.slots), SLOTS, "every slot free again")
    c.eq(lib.mpsync_sem_get_value(s.items), 0, "no item left")
    c.st(lib.mpsync_sem_release(s.slots), EOVERRELEASE, "bounded release past its bound")
    c.eq(lib.mpsync_sem_get_value(s.slots), SLOTS, "... leaves the value unchanged")
    c.timed(lambda: lib.mpsync_sem_acquire(s.items, 1, 0.05), TIMEDOUT, 0.05, "sem acquire(0.05) times out")
    c.timed(lambda: lib.mpsync_sem_acquire(s.items, 1, -1.0), TIMEDOUT, 0.0, "negative timeout means 0")
    c.st(lib.mpsync_sem_acquire(s.items, 0, math.nan), TIMEDOUT, "block=0 ignores even a NaN timeout")
    c.st(lib.mpsync_sem_acquire(s.items, 1, math.nan), EINVAL, "blocking acquire with NaN")
    print(f"ctypes consumer: {'FAILED' if c.fails else 'ok'} "
          f"(mpsync {lib.mpsync_version().decode()}, backend {lib.mpsync_backend().decode()}, "
          f"python {sys.version.split()[0]})")
    return 1 if c.fails else 0


if __name__ == "__main__":
    sys.exit(main())
