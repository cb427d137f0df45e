#!/usr/bin/env python3
"""CPython's own multiprocessing tests, run on mpsync's context.

usage: cpython_mp.py {fork,spawn,forkserver} {mpsync,stdlib} [unittest args...]

Takes the synchronization classes of Lib/test/_test_multiprocessing.py (Debian's
libpython3.11-testsuite) - _TestLock, _TestSemaphore, _TestCondition, _TestEvent, _TestBarrier and
_TestValue, _TestArray, _TestQueue, which build on the primitives - and runs them with the
processes and threads mixins switched to mpsync.get_context(method)'s primitives (and, in the
processes mixin, the context's Queue, JoinableQueue, Value and Array, i.e. the standard library's
code running on mpsync). With "stdlib" the unchanged mixins run, for the comparison.
The last line is "cpython_mp METHOD IMPL: P passed, F failed, S skipped".
"""
import multiprocessing
import sys
import unittest

try:
    from test import _test_multiprocessing as T
except ImportError:  # Debian ships the test package separately
    print("cpython_mp: test._test_multiprocessing missing (apt install libpython3.11-testsuite)")
    print("cpython_mp: 0 passed, 1 failed, 0 skipped")
    sys.exit(1)

METHOD, IMPL = sys.argv[1], sys.argv[2]
CLASSES = ["_TestLock", "_TestSemaphore", "_TestCondition", "_TestEvent", "_TestBarrier",
           "_TestValue", "_TestArray", "_TestQueue"]
PRIMITIVES = ["Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier"]


def mixins():
    if IMPL == "stdlib":
        return {"processes": T.ProcessesMixin, "threads": T.ThreadsMixin}
    import mpsync
    ctx = mpsync.get_context(METHOD)
    names = {n: staticmethod(getattr(ctx, n)) for n in PRIMITIVES}
    proc = dict(names, **{n: staticmethod(getattr(ctx, n))
                          for n in ["Queue", "JoinableQueue", "Value", "Array"]})
    return {"processes": type("MpsyncProcessesMixin", (T.ProcessesMixin,), proc),
            "threads": type("MpsyncThreadsMixin", (T.ThreadsMixin,), names)}


for _name in CLASSES:
    _base = getattr(T, _name)
    for _type, _mixin in mixins().items():
        if _type in _base.ALLOWED_TYPES:
            _cls = type("With" + _type.capitalize() + _name[1:], (_base, _mixin, unittest.TestCase), {})
            _cls.__module__ = __name__
            globals()[_cls.__name__] = _cls


def main():
    multiprocessing.set_start_method(METHOD, force=True)
    T.util.get_temp_dir()
    prog = unittest.main(module=__name__, argv=[sys.argv[0]] + sys.argv[3:], exit=False, verbosity=1)
    r = prog.result
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    skipped = len(r.skipped)
    print(f"cpython_mp {METHOD} {IMPL}: {r.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed or not r.testsRun else 0)


if __name__ == "__main__":
    main()
