// Lock, RLock, Semaphore and BoundedSemaphore for Python: the C++ inline fast paths, tried once
// with the GIL held; only a blocking wait releases the GIL (as CPython's SemLock since bpo-31653).
// Exceptions and messages are multiprocessing's (../shared/notes/cpython_semantics.md).
#include <cerrno>

#include "objects.hpp"

namespace mpsync_py {

const char *const kAcquireNames[] = {"block", "timeout"};

PyObject *warn_owner_died(Handle *flag) {
  flag->owner_died = true;
  if (PyErr_Occurred()) return nullptr;  // a handler raised during the wait: the lock is held (see bool_or_raise)
  if (PyErr_WarnEx(g_owner_died_warning,
                   "acquired an RLock whose owner died holding it: the data it protects may be inconsistent "
                   "(lock.owner_died is True until the last release)",
                   1) < 0)
    return nullptr;
  Py_RETURN_TRUE;
}

namespace {

// ---- Lock ----
PyObject *lock_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  mpsync::status s;
  return acquire_py(as<mpsync::Lock>(H(self)), args, nargs, kwnames, &s) ? bool_or_raise(s) : nullptr;
}

PyObject *lock_release(PyObject *self, PyObject *) {
  mpsync::status s = as<mpsync::Lock>(H(self)).release_status();
  if (s == mpsync::status::ok) Py_RETURN_NONE;
  if (s == mpsync::status::over_release)
    return (PyErr_SetString(PyExc_ValueError, "semaphore or lock released too many times"), nullptr);
  return raise_status(s);
}

PyObject *lock_exit(PyObject *self, PyObject *const *, Py_ssize_t) { return lock_release(self, nullptr); }
PyObject *lock_is_mine(PyObject *self, PyObject *) { return PyBool_FromLong(as<mpsync::Lock>(H(self)).is_mine()); }
PyObject *lock_locked(PyObject *self, PyObject *) { return PyBool_FromLong(as<mpsync::Lock>(H(self)).locked()); }
PyObject *lock_count(PyObject *self, PyObject *) { return PyLong_FromLong(as<mpsync::Lock>(H(self)).is_mine()); }

PyObject *lock_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  if (!no_args_but_ctx(args, kw)) return nullptr;
  Handle *h = handle_new(type, kLock, nullptr);
  if (h) ::new (h->obj) mpsync::Lock();
  return reinterpret_cast<PyObject *>(h);
}

PyMethodDef lock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))lock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, block=True, timeout=None)\n--\n\nTrue when acquired; False when block is false and the lock "
     "is taken, or at the timeout (seconds, CLOCK_MONOTONIC)."},
    {"release", lock_release, METH_NOARGS,
     "Release the lock (any thread or process may). ValueError if it is not locked."},
    {"__enter__", (PyCFunction)(void (*)(void))lock_acquire, METH_FASTCALL | METH_KEYWORDS, nullptr},
    {"__exit__", (PyCFunction)(void (*)(void))lock_exit, METH_FASTCALL, nullptr},
    {"_is_mine", lock_is_mine, METH_NOARGS, "True if locked and last acquired by the calling thread."},
    {"_count", lock_count, METH_NOARGS, "1 if the calling thread holds the lock, else 0."},
    {"locked", lock_locked, METH_NOARGS, "True if anyone holds the lock."},
    {nullptr, nullptr, 0, nullptr}};

// ---- RLock ----
PyObject *rlock_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  auto &l = as<mpsync::RLock>(H(self));
  if (l.is_mine()) return bool_or_raise(l.acquire_status(false));  // before any parsing, as SemLock
  mpsync::status s;
  if (!acquire_py(l, args, nargs, kwnames, &s)) return nullptr;
  if (s == mpsync::status::owner_dead) return warn_owner_died(H(self));
  return bool_or_raise(s);
}

PyObject *rlock_release(PyObject *self, PyObject *) {
  auto &l = as<mpsync::RLock>(H(self));
  const bool last = l.is_mine() && l.count() == 1;
  mpsync::status s = l.release_status();
  if (s == mpsync::status::ok) {
    if (last) H(self)->owner_died = false;
    Py_RETURN_NONE;
  }
  if (s == mpsync::status::not_owner)
    return (PyErr_SetString(PyExc_AssertionError, "attempt to release recursive lock not owned by thread"), nullptr);
  return raise_status(s);
}

PyObject *rlock_enter(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  PyObject *r = rlock_acquire(self, args, nargs, kwnames);
  if (!r && H(self)->owner_died && as<mpsync::RLock>(H(self)).is_mine()) {
    // OwnerDiedWarning turned into an error: `with` must not leave the lock held.
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    Py_XDECREF(rlock_release(self, nullptr));
    PyErr_Restore(et, ev, tb);
  }
  return r;
}

PyObject *rlock_exit(PyObject *self, PyObject *const *, Py_ssize_t) { return rlock_release(self, nullptr); }
PyObject *rlock_is_mine(PyObject *self, PyObject *) { return PyBool_FromLong(as<mpsync::RLock>(H(self)).is_mine()); }
PyObject *rlock_locked(PyObject *self, PyObject *) { return PyBool_FromLong(as<mpsync::RLock>(H(self)).locked()); }
PyObject *rlock_count(PyObject *self, PyObject *) {
  auto &l = as<mpsync::RLock>(H(self));
  return PyLong_FromUnsignedLong(l.is_mine() ? l.count() : 0u);
}
PyObject *rlock_owner_count(PyObject *self, PyObject *) {
  return PyLong_FromUnsignedLong(as<mpsync::RLock>(H(self)).count());
}

PyObject *rlock_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  if (!no_args_but_ctx(args, kw)) return nullptr;
  Handle *h = handle_new(type, kRLock, nullptr);
  if (h) ::new (h->obj) mpsync::RLock();
  return reinterpret_cast<PyObject *>(h);
}

PyMethodDef rlock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))rlock_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, block=True, timeout=None)\n--\n\nRecursive: the owner thread's acquire() succeeds at once. "
     "If the owner died holding it, returns True, sets owner_died and issues OwnerDiedWarning."},
    {"release", rlock_release, METH_NOARGS,
     "Release one level. AssertionError if the calling thread does not hold it."},
    {"__enter__", (PyCFunction)(void (*)(void))rlock_enter, METH_FASTCALL | METH_KEYWORDS, nullptr},
    {"__exit__", (PyCFunction)(void (*)(void))rlock_exit, METH_FASTCALL, nullptr},
    {"_is_mine", rlock_is_mine, METH_NOARGS, "True if the calling thread holds the lock."},
    {"_count", rlock_count, METH_NOARGS, "The calling thread's recursion level (0 if it does not hold it)."},
    {"_owner_count", rlock_owner_count, METH_NOARGS, "The holder's recursion level, whoever holds it."},
    {"locked", rlock_locked, METH_NOARGS, "True if anyone holds the lock."},
    {nullptr, nullptr, 0, nullptr}};

// ---- Semaphore, BoundedSemaphore ----
PyObject *sem_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  mpsync::status s;
  return acquire_py(as<mpsync::Semaphore>(H(self)), args, nargs, kwnames, &s) ? bool_or_raise(s) : nullptr;
}

PyObject *sem_release(PyObject *self, PyObject *) {
  mpsync::status s = as<mpsync::Semaphore>(H(self)).release_status();
  if (s == mpsync::status::ok) Py_RETURN_NONE;
  if (s == mpsync::status::over_release)
    return (PyErr_SetString(PyExc_ValueError, "semaphore or lock released too many times"), nullptr);
  if (s == mpsync::status::overflow)  // multiprocessing: the same ValueError as an over-release
    return (PyErr_SetString(PyExc_ValueError, "semaphore or lock released too many times"), nullptr);
  return raise_status(s);
}

PyObject *sem_exit(PyObject *self, PyObject *const *, Py_ssize_t) { return sem_release(self, nullptr); }

PyObject *sem_get_value(PyObject *self, PyObject *) {
  int v = as<mpsync::Semaphore>(H(self)).get_value_status();
  return v >= 0 ? PyLong_FromLong(v) : raise_status(static_cast<mpsync::status>(v));
}

PyObject *sem_make(PyTypeObject *type, PyObject *args, PyObject *kw, bool bounded) {
  static const char *names[] = {"value", "ctx", nullptr};
  long long value = 1;
  PyObject *ctx = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|L$O", const_cast<char **>(names), &value, &ctx)) return nullptr;
  if (value < 0) {  // multiprocessing: OSError(EINVAL) from sem_open
    errno = EINVAL;
    return PyErr_SetFromErrno(PyExc_OSError);
  }
  if (value > MPSYNC_SEM_VALUE_MAX)
    return (PyErr_SetString(PyExc_OverflowError, "semaphore initial value is over SEM_VALUE_MAX"), nullptr);
  Handle *h = handle_new(type, kSem, nullptr);
  if (h) {
    ::new (h->obj) mpsync::Semaphore();
    as<mpsync::Semaphore>(h).init(static_cast<unsigned>(value), bounded);
  }
  return reinterpret_cast<PyObject *>(h);
}
PyObject *sem_new(PyTypeObject *type, PyObject *args, PyObject *kw) { return sem_make(type, args, kw, false); }
PyObject *bsem_new(PyTypeObject *type, PyObject *args, PyObject *kw) { return sem_make(type, args, kw, true); }

PyObject *sem_maxvalue(PyObject *self, void *) {  // the bound, from the shared word (bound + 1)
  return PyLong_FromUnsignedLong(static_cast<mpsync_sem_t *>(H(self)->obj)->bound - 1u);
}
PyGetSetDef bsem_getset[] = {
    {"maxvalue", sem_maxvalue, nullptr, "The bound: the initial value.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMethodDef sem_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))sem_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, block=True, timeout=None)\n--\n\nTake one unit: True when taken, False at the timeout or "
     "when block is false and the value is 0."},
    {"release", sem_release, METH_NOARGS,
     "Give one unit back. BoundedSemaphore: ValueError past the initial value."},
    {"__enter__", (PyCFunction)(void (*)(void))sem_acquire, METH_FASTCALL | METH_KEYWORDS, nullptr},
    {"__exit__", (PyCFunction)(void (*)(void))sem_exit, METH_FASTCALL, nullptr},
    {"get_value", sem_get_value, METH_NOARGS, "The current value (exact, shared by every process)."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

MPSYNC_PY_TYPE(LockType, "mpsync.Lock", lock_methods, nullptr, lock_new, nullptr,
               "Lock(*, ctx=None)\n--\n\nA non-recursive lock shared by processes and threads "
               "(multiprocessing.Lock):\nany thread or process may release it. Use it in a with statement.")
MPSYNC_PY_TYPE(RLockType, "mpsync.RLock", rlock_methods, owner_died_getset, rlock_new, nullptr,
               "RLock(*, ctx=None)\n--\n\nA recursive lock owned by one thread of one process "
               "(multiprocessing.RLock).\n\nRobust: if its owner dies holding it, the next acquire() returns "
               "True with the lock\nheld, sets owner_died (until that holder's last release) and issues "
               "OwnerDiedWarning.")
MPSYNC_PY_TYPE(SemaphoreType, "mpsync.Semaphore", sem_methods, nullptr, sem_new, nullptr,
               "Semaphore(value=1, *, ctx=None)\n--\n\nA counting semaphore (multiprocessing.Semaphore).")
MPSYNC_PY_TYPE(BoundedSemaphoreType, "mpsync.BoundedSemaphore", nullptr, bsem_getset, bsem_new, &SemaphoreType,
               "BoundedSemaphore(value=1, *, ctx=None)\n--\n\nA semaphore whose release() past the initial "
               "value raises ValueError;\nthe check and the increment are one atomic step.")

}  // namespace mpsync_py
