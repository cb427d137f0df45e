// Event, Condition and Barrier for Python (see objects.cpp for the GIL policy), and type set-up.
#include "objects.hpp"

namespace mpsync_py {
namespace {

const char *const kTimeoutName[] = {"timeout"};

// ---- Event ----
PyObject *event_set(PyObject *self, PyObject *) { as<mpsync::Event>(H(self)).set(); Py_RETURN_NONE; }
PyObject *event_clear(PyObject *self, PyObject *) { as<mpsync::Event>(H(self)).clear(); Py_RETURN_NONE; }
PyObject *event_is_set(PyObject *self, PyObject *) { return PyBool_FromLong(as<mpsync::Event>(H(self)).is_set()); }

PyObject *event_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  double t = INFINITY;
  if ((nargs || kwnames) && parse_block_timeout(args, nargs, kwnames, nullptr, &t, kTimeoutName, 0) < 0)
    return nullptr;
  auto &e = as<mpsync::Event>(H(self));
  if (e.is_set()) Py_RETURN_TRUE;
  mpsync::status s;
  Py_BEGIN_ALLOW_THREADS s = e.wait_status(t);
  Py_END_ALLOW_THREADS
  return bool_or_raise(s);
}

PyObject *event_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  if (!no_args_but_ctx(args, kw)) return nullptr;
  Handle *h = handle_new(type, kEvent, nullptr);
  if (h) ::new (h->obj) mpsync::Event();
  return reinterpret_cast<PyObject *>(h);
}

PyMethodDef event_methods[] = {
    {"set", event_set, METH_NOARGS, "Set the flag and wake every waiter."},
    {"clear", event_clear, METH_NOARGS, "Clear the flag."},
    {"is_set", event_is_set, METH_NOARGS, "True if the flag is set."},
    {"wait", (PyCFunction)(void (*)(void))event_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\nTrue as soon as the flag is set; False at the timeout."},
    {nullptr, nullptr, 0, nullptr}};

// ---- Condition ----
Handle *cond_flag(Handle *h) { return h->lock ? H(h->lock) : h; }  // who carries owner_died
unsigned cond_level(Handle *h) {  // the calling thread's recursion level of the bound lock
  if (h->lock && H(h->lock)->kind == kLock) return as<mpsync::Lock>(H(h->lock)).is_mine() ? 1u : 0u;
  auto &l = h->lock ? as<mpsync::RLock>(H(h->lock))
                    : *reinterpret_cast<mpsync::RLock *>(&static_cast<mpsync_cond_t *>(h->obj)->lock);
  return l.is_mine() ? l.count() : 0u;
}

PyObject *cond_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  mpsync::status s;
  if (!acquire_py(as<mpsync::Condition>(H(self)), args, nargs, kwnames, &s)) return nullptr;
  if (s == mpsync::status::owner_dead) return warn_owner_died(cond_flag(H(self)));
  return bool_or_raise(s);
}

PyObject *cond_release(PyObject *self, PyObject *) {
  const bool last = cond_level(H(self)) == 1;
  Handle *h = H(self);
  // A Lock may be released by anyone (multiprocessing's Condition.release is its lock's release).
  mpsync::status s = h->lock && H(h->lock)->kind == kLock ? as<mpsync::Lock>(H(h->lock)).release_status()
                                                          : as<mpsync::Condition>(h).release_status();
  if (s == mpsync::status::ok) {
    if (last) cond_flag(H(self))->owner_died = false;
    Py_RETURN_NONE;
  }
  if (s == mpsync::status::over_release)
    return (PyErr_SetString(PyExc_ValueError, "semaphore or lock released too many times"), nullptr);
  if (s == mpsync::status::not_owner)
    return (PyErr_SetString(PyExc_AssertionError, "attempt to release recursive lock not owned by thread"), nullptr);
  return raise_status(s);
}

PyObject *cond_enter(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  PyObject *r = cond_acquire(self, args, nargs, kwnames);
  if (!r && cond_flag(H(self))->owner_died && cond_level(H(self)) > 0) {  // see rlock_enter
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    Py_XDECREF(cond_release(self, nullptr));
    PyErr_Restore(et, ev, tb);
  }
  return r;
}
PyObject *cond_exit(PyObject *self, PyObject *const *, Py_ssize_t) { return cond_release(self, nullptr); }

PyObject *cond_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  double t = INFINITY;
  if ((nargs || kwnames) && parse_block_timeout(args, nargs, kwnames, nullptr, &t, kTimeoutName, 0) < 0)
    return nullptr;
  auto &c = as<mpsync::Condition>(H(self));
  mpsync::status s;
  Py_BEGIN_ALLOW_THREADS s = c.wait_status(t);
  Py_END_ALLOW_THREADS
  if (s == mpsync::status::owner_dead) return warn_owner_died(cond_flag(H(self)));
  if (PyErr_Occurred()) return nullptr;  // a handler raised; the lock is held again (as threading's)
  switch (s) {
    case mpsync::status::ok: Py_RETURN_TRUE;
    case mpsync::status::timedout: Py_RETURN_FALSE;
    case mpsync::status::owner_dead: return warn_owner_died(cond_flag(H(self)));
    case mpsync::status::not_owner:
      return (PyErr_SetString(PyExc_AssertionError, "must acquire() condition before using wait()"), nullptr);
    default: return raise_status(s);
  }
}

PyObject *cond_notify(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  static const char *const names[] = {"n"};
  PyObject *no = nargs ? args[0] : (kwnames && PyTuple_GET_SIZE(kwnames) == 1 ? args[0] : nullptr);
  if (nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0) > 1 ||
      (kwnames && PyTuple_GET_SIZE(kwnames) == 1 &&
       PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), names[0]) != 0))
    return (PyErr_SetString(PyExc_TypeError, "notify(n=1)"), nullptr);
  long long n = 1;
  if (no) {
    int overflow = 0;
    n = PyLong_AsLongLongAndOverflow(no, &overflow);
    if (n == -1 && PyErr_Occurred()) return nullptr;
    if (overflow) n = overflow > 0 ? ~0u : 0;
  }
  unsigned un = n <= 0 ? 0u : n >= 0xffffffffLL ? ~0u : static_cast<unsigned>(n);
  mpsync::status s = as<mpsync::Condition>(H(self)).notify_status(un);
  if (s == mpsync::status::ok) Py_RETURN_NONE;
  if (s == mpsync::status::not_owner) return (PyErr_SetString(PyExc_AssertionError, "lock is not owned"), nullptr);
  return raise_status(s);
}

PyObject *cond_notify_all(PyObject *self, PyObject *) {
  mpsync::status s = as<mpsync::Condition>(H(self)).notify_all_status();
  if (s == mpsync::status::ok) Py_RETURN_NONE;
  if (s == mpsync::status::not_owner) return (PyErr_SetString(PyExc_AssertionError, "lock is not owned"), nullptr);
  return raise_status(s);
}

PyObject *cond_is_mine(PyObject *self, PyObject *) { return PyBool_FromLong(cond_level(H(self)) > 0); }

bool is_lock(PyObject *o) { return PyObject_TypeCheck(o, &LockType) || PyObject_TypeCheck(o, &RLockType); }

// A received Condition's lock object (unpickling): only once, only the kind and arena the shared
// Condition was bound to, so the owner_died flag and the lock's lifetime follow the right lock.
PyObject *cond_bind(PyObject *self, PyObject *lock) {
  Handle *h = H(self);
  const std::uint32_t bound = static_cast<mpsync_cond_t *>(h->obj)->state >> 16 & 3u;  // 0: embedded
  if (lock == Py_None) {
    if (bound == 0) Py_RETURN_NONE;
  } else if (!h->lock && is_lock(lock) && H(lock)->kind == bound && H(lock)->arena == h->arena) {
    h->lock = Py_NewRef(lock);
    Py_RETURN_NONE;
  }
  PyErr_SetString(PyExc_ValueError, "mpsync: not the lock this Condition is bound to");
  return nullptr;
}

PyObject *cond_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  static const char *names[] = {"lock", "ctx", nullptr};
  PyObject *lock = Py_None, *ctx = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$O", const_cast<char **>(names), &lock, &ctx)) return nullptr;
  if (lock != Py_None && !is_lock(lock))
    return (PyErr_SetString(PyExc_TypeError, "Condition(lock): lock must be an mpsync Lock or RLock"), nullptr);
  Handle *h = handle_new(type, kCond, lock == Py_None ? nullptr : H(lock)->arena);
  if (!h) return nullptr;
  ::new (h->obj) mpsync::Condition();
  if (lock != Py_None) {
    h->lock = Py_NewRef(lock);
    mpsync::status s = as<mpsync::Condition>(h).init(
        H(lock)->kind == kLock ? MPSYNC_KIND_LOCK : MPSYNC_KIND_RLOCK, H(lock)->obj);
    if (s != mpsync::status::ok) {
      Py_DECREF(h);
      return raise_status(s);
    }
  }
  return reinterpret_cast<PyObject *>(h);
}

PyObject *cond_lock(PyObject *self, void *) { return Py_NewRef(H(self)->lock ? H(self)->lock : Py_None); }
PyGetSetDef cond_getset[] = {
    {"owner_died", owner_died_get, nullptr,
     "True from an acquire that took the embedded RLock over from a dead owner until the holder's last "
     "release\n(with a lock given at construction, see that lock's owner_died).", nullptr},
    {"_lock", cond_lock, nullptr, "The Lock/RLock given at construction, or None (the embedded RLock).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMethodDef cond_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))cond_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, block=True, timeout=None)\n--\n\nAcquire the underlying lock; True when acquired."},
    {"release", cond_release, METH_NOARGS, "Release the underlying lock."},
    {"__enter__", (PyCFunction)(void (*)(void))cond_enter, METH_FASTCALL | METH_KEYWORDS, nullptr},
    {"__exit__", (PyCFunction)(void (*)(void))cond_exit, METH_FASTCALL, nullptr},
    {"wait", (PyCFunction)(void (*)(void))cond_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\nRelease the lock (every recursion level), sleep until notified or the "
     "timeout, re-acquire it at the same level. False only at the timeout."},
    {"notify", (PyCFunction)(void (*)(void))cond_notify, METH_FASTCALL | METH_KEYWORDS,
     "notify($self, /, n=1)\n--\n\nWake up to n of the threads already waiting (a later waiter cannot steal it)."},
    {"notify_all", cond_notify_all, METH_NOARGS, "Wake every thread already waiting."},
    {"_is_mine", cond_is_mine, METH_NOARGS, "True if the calling thread holds the lock."},
    {"_bind", cond_bind, METH_O, nullptr},
    {nullptr, nullptr, 0, nullptr}};

// ---- Barrier ----
struct ActionCtx {
  PyObject *action, *et = nullptr, *ev = nullptr, *tb = nullptr;
};
int run_action(void *p) {  // in the last arriver, GIL released around the wait
  auto *ctx = static_cast<ActionCtx *>(p);
  PyGILState_STATE g = PyGILState_Ensure();
  PyObject *r = PyObject_CallNoArgs(ctx->action);
  if (r) Py_DECREF(r);
  else PyErr_Fetch(&ctx->et, &ctx->ev, &ctx->tb);
  PyGILState_Release(g);
  return r ? 0 : 1;
}

PyObject *barrier_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  Handle *h = H(self);
  PyObject *tv = nullptr;
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  if (nargs + nkw > 1 || (nkw == 1 && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "timeout") != 0))
    return (PyErr_SetString(PyExc_TypeError, "wait(timeout=None)"), nullptr);
  if (nargs + nkw == 1) tv = args[0];
  if (!tv || tv == Py_None) tv = h->timeout;  // the Barrier's default
  double t;
  if (timeout_arg(tv, &t) < 0) return nullptr;
  PyObject *action = h->action;
  ActionCtx ctx{action};
  const bool act = action && action != Py_None;
  Py_XINCREF(action);
  unsigned index = 0;
  mpsync::status s;
  Py_BEGIN_ALLOW_THREADS s = as<mpsync::Barrier>(H(self)).wait_status(t, act ? run_action : nullptr, &ctx, &index);
  Py_END_ALLOW_THREADS
  Py_XDECREF(action);
  if (ctx.et) {  // the action raised: that exception, in this thread (threading.Barrier does so)
    PyErr_Restore(ctx.et, ctx.ev, ctx.tb);
    return nullptr;
  }
  if (PyErr_Occurred()) return nullptr;  // a signal handler raised during the wait
  if (s == mpsync::status::ok) return PyLong_FromUnsignedLong(index);
  if (s == mpsync::status::broken) return (PyErr_SetNone(g_broken_barrier), nullptr);
  return raise_status(s);
}

PyObject *barrier_reset(PyObject *self, PyObject *) { as<mpsync::Barrier>(H(self)).reset(); Py_RETURN_NONE; }
PyObject *barrier_abort(PyObject *self, PyObject *) { as<mpsync::Barrier>(H(self)).abort(); Py_RETURN_NONE; }
PyObject *barrier_parties(PyObject *self, void *) { return PyLong_FromUnsignedLong(as<mpsync::Barrier>(H(self)).parties()); }
PyObject *barrier_n_waiting(PyObject *self, void *) { return PyLong_FromUnsignedLong(as<mpsync::Barrier>(H(self)).n_waiting()); }
PyObject *barrier_broken(PyObject *self, void *) { return PyBool_FromLong(as<mpsync::Barrier>(H(self)).broken()); }

PyObject *barrier_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  static const char *names[] = {"parties", "action", "timeout", "ctx", nullptr};
  long long parties;
  PyObject *action = Py_None, *timeout = Py_None, *ctx = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "L|OO$O", const_cast<char **>(names), &parties, &action, &timeout, &ctx))
    return nullptr;
  double t;
  if (timeout_arg(timeout, &t) < 0) return nullptr;
  if (parties <= 0) return (PyErr_SetString(PyExc_ValueError, "parties must be > 0"), nullptr);
  if (parties > 0xffff) return (PyErr_SetString(PyExc_OverflowError, "too many parties"), nullptr);
  Handle *h = handle_new(type, kBarrier, nullptr);
  if (h) {
    ::new (h->obj) mpsync::Barrier(static_cast<unsigned>(parties));
    h->action = Py_NewRef(action);
    h->timeout = Py_NewRef(timeout);
  }
  return reinterpret_cast<PyObject *>(h);
}

int barrier_set(PyObject *self, PyObject *v, void *which) {  // _action / _timeout (unpickling)
  if (!v) return (PyErr_SetString(PyExc_AttributeError, "cannot delete"), -1);
  PyObject **slot = which ? &H(self)->timeout : &H(self)->action;
  Py_XSETREF(*slot, Py_NewRef(v));
  return 0;
}
PyObject *barrier_get(PyObject *self, void *which) {
  PyObject *v = which ? H(self)->timeout : H(self)->action;
  return Py_NewRef(v ? v : Py_None);
}

PyMethodDef barrier_methods[] = {
    {"wait", (PyCFunction)(void (*)(void))barrier_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\nWait until all parties have arrived; returns this party's index "
     "(0..parties-1).\nThe action runs once per cycle in the last arriver. A timeout (default: the "
     "Barrier's),\nabort(), reset() during the wait or a failing action raise BrokenBarrierError."},
    {"reset", barrier_reset, METH_NOARGS, "Back to the empty state; current waiters get BrokenBarrierError."},
    {"abort", barrier_abort, METH_NOARGS, "Break the barrier: every wait raises BrokenBarrierError until reset()."},
    {nullptr, nullptr, 0, nullptr}};
PyGetSetDef barrier_getset[] = {
    {"parties", barrier_parties, nullptr, "The number of threads required to pass the barrier.", nullptr},
    {"n_waiting", barrier_n_waiting, nullptr, "The number of threads waiting in the barrier now.", nullptr},
    {"broken", barrier_broken, nullptr, "True if the barrier is broken.", nullptr},
    {"_action", barrier_get, barrier_set, nullptr, nullptr},
    {"_timeout", barrier_get, barrier_set, nullptr, reinterpret_cast<void *>(1)},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

}  // namespace

MPSYNC_PY_TYPE(EventType, "mpsync.Event", event_methods, nullptr, event_new, nullptr,
               "Event(*, ctx=None)\n--\n\nAn event flag shared by processes and threads (multiprocessing.Event).")
MPSYNC_PY_TYPE(ConditionType, "mpsync.Condition", cond_methods, cond_getset, cond_new, nullptr,
               "Condition(lock=None, *, ctx=None)\n--\n\nA condition variable (multiprocessing.Condition); "
               "lock is an mpsync Lock or RLock\n(default: its own RLock). notify() wakes only threads already "
               "waiting when it is called.")
MPSYNC_PY_TYPE(BarrierType, "mpsync.Barrier", barrier_methods, barrier_getset, barrier_new, nullptr,
               "Barrier(parties, action=None, timeout=None, *, ctx=None)\n--\n\nA barrier "
               "(multiprocessing.Barrier). The action runs once per cycle, in the last\narriver, before anyone "
               "is released.")

int ready_types(PyObject *m) {
  struct { PyTypeObject *t; const char *name; } all[] = {
      {&LockType, "Lock"}, {&RLockType, "RLock"}, {&SemaphoreType, "Semaphore"},
      {&BoundedSemaphoreType, "BoundedSemaphore"}, {&EventType, "Event"}, {&ConditionType, "Condition"},
      {&BarrierType, "Barrier"}};
  for (auto &e : all) {
    if (PyType_Ready(e.t) < 0) return -1;
    // mpsync/__init__.py adds the Python-level parts (repr, pickling, wait_for) to these types
    // themselves: a Python subclass would cost ~35 ns per acquire()/release() pair (CPython 3.11
    // does not specialize a C method call on a subclass instance).
    e.t->tp_flags &= ~Py_TPFLAGS_IMMUTABLETYPE;
    Py_INCREF(e.t);
    if (PyModule_AddObject(m, e.name, reinterpret_cast<PyObject *>(e.t)) < 0) return -1;
  }
  return 0;
}

}  // namespace mpsync_py
