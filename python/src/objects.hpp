// Shared by objects.cpp and objects2.cpp: how a type object is made, and the owner-died flag.
#ifndef MPSYNC_PY_OBJECTS_HPP
#define MPSYNC_PY_OBJECTS_HPP

#include <cmath>
#include <cstddef>
#include <new>

#include "handle.hpp"

namespace mpsync_py {

extern const char *const kAcquireNames[];
// An acquire that took the lock over from a dead owner: set flag->owner_died, warn, return True
// (nullptr with the lock still held if the warning was turned into an error).
PyObject *warn_owner_died(Handle *flag);  // (a pending exception: flag set, nullptr)

// Constructors take multiprocessing's keyword-only ctx= and ignore it (the context only picks
// the start method; an mpsync object works with every one).
inline bool no_args_but_ctx(PyObject *args, PyObject *kw) {
  static const char *names[] = {"ctx", nullptr};
  PyObject *ctx = nullptr;
  return PyArg_ParseTupleAndKeywords(args, kw, "|$O", const_cast<char **>(names), &ctx) != 0;
}

// acquire(block=True, timeout=None) for any lockable T: parse, try once with the GIL held, block
// with it released. false (an exception set) on a bad argument; else the status in *s.
template <class T>
bool acquire_py(T &o, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, mpsync::status *s) {
  int block = 1;
  double t = INFINITY;
  if ((nargs || kwnames) && parse_block_timeout(args, nargs, kwnames, &block, &t, kAcquireNames, 1) < 0)
    return false;
  *s = o.acquire_status(false);
  if (*s == mpsync::status::timedout && block) {
    Py_BEGIN_ALLOW_THREADS *s = o.acquire_status(true, t);
    Py_END_ALLOW_THREADS
  }
  return true;
}

// True / False / the exception for anything else (owner_dead is the caller's to handle first).
// A signal handler that raised during the wait wins even when the wait itself ended otherwise
// (an Event set, a notify granted meanwhile): its exception propagates, as in threading.
inline PyObject *bool_or_raise(mpsync::status s) {
  if (PyErr_Occurred()) return nullptr;
  if (s == mpsync::status::ok) Py_RETURN_TRUE;
  if (s == mpsync::status::timedout) Py_RETURN_FALSE;
  return raise_status(s);
}

inline PyObject *owner_died_get(PyObject *self, void *) { return PyBool_FromLong(H(self)->owner_died); }
inline PyGetSetDef owner_died_getset[] = {
    {"owner_died", owner_died_get, nullptr,
     "True from an acquire that took the lock over from a dead owner until the holder's last release.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

inline PyTypeObject make_type(const char *name, PyMethodDef *methods, PyGetSetDef *getset, newfunc make,
                              PyTypeObject *base, const char *doc) {
  PyTypeObject t = {PyVarObject_HEAD_INIT(nullptr, 0)};
  t.tp_name = name;
  t.tp_basicsize = sizeof(Handle);
  t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC;
  t.tp_dealloc = handle_dealloc;
  t.tp_traverse = handle_traverse;
  t.tp_clear = handle_clear;
  t.tp_weaklistoffset = offsetof(Handle, weakrefs);
  t.tp_methods = methods;
  t.tp_getset = getset;
  t.tp_new = make;
  t.tp_base = base;
  t.tp_doc = doc;
  return t;
}

}  // namespace mpsync_py

#define MPSYNC_PY_TYPE(var, name, methods, getset, make, base, doc) \
  PyTypeObject var = make_type(name, methods, getset, make, base, doc);

#endif
