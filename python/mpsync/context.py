"""mpsync.get_context(): a multiprocessing context whose seven primitives are mpsync's.

The context is the standard library's own context class for the start method (fork, spawn,
forkserver) with Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event and Barrier replaced.
Everything built from the context's primitives - Queue, SimpleQueue, JoinableQueue, Pool, Value,
Array - is the standard library's code running on mpsync; Process and Manager are unchanged.
"""
import multiprocessing as _mp

import mpsync as _m

_contexts = {}


def _primitives(base):
    class Context(base):
        def Lock(self):
            """A non-recursive lock object: mpsync.Lock."""
            return _m.Lock(ctx=self.get_context())

        def RLock(self):
            """A recursive lock object: mpsync.RLock."""
            return _m.RLock(ctx=self.get_context())

        def Condition(self, lock=None):
            """A condition object: mpsync.Condition."""
            return _m.Condition(lock, ctx=self.get_context())

        def Semaphore(self, value=1):
            """A semaphore object: mpsync.Semaphore."""
            return _m.Semaphore(value, ctx=self.get_context())

        def BoundedSemaphore(self, value=1):
            """A bounded semaphore object: mpsync.BoundedSemaphore."""
            return _m.BoundedSemaphore(value, ctx=self.get_context())

        def Event(self):
            """An event object: mpsync.Event."""
            return _m.Event(ctx=self.get_context())

        def Barrier(self, parties, action=None, timeout=None):
            """A barrier object: mpsync.Barrier."""
            return _m.Barrier(parties, action, timeout, ctx=self.get_context())

        def get_context(self, method=None):
            return self if method is None else get_context(method)

        def __repr__(self):
            return f"<mpsync context {self._name!r}>"

    Context.__name__ = Context.__qualname__ = "Mpsync" + base.__name__
    return Context


def get_context(method=None):
    """A multiprocessing context for `method` ("fork", "spawn", "forkserver"; None: the platform
    default, as multiprocessing.get_context(None)) whose primitives are mpsync's."""
    base = _mp.get_context(method)
    key = base._name
    ctx = _contexts.get(key)
    if ctx is None:
        ctx = _contexts[key] = _primitives(type(base))()
    return ctx
