// mpsync._mpsync: the CPython extension behind the mpsync package (python/mpsync/__init__.py).
// This file: handles (their slots, pickling for spawn/forkserver, fork and exit bookkeeping), the
// status -> exception mapping, argument parsing, Ctrl-C, and the module. The object types are in
// objects.cpp and objects2.cpp.
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <vector>

#include "handle.hpp"

namespace mpsync_py {

PyObject *g_broken_barrier, *g_owner_died_warning, *g_corrupt_error;
PyObject *inspect_json(PyObject *, PyObject *args);  // inspect.cpp: mpsync.inspect()
namespace {
Handle g_live;  // sentinel of the live-handle ring (only prev/next are used); guarded by the GIL

// FORK. A fork child's handles need references of their own, and they must be taken in the
// parent BEFORE the fork: Process.start() drops the parent's reference to its arguments as soon
// as os.fork() returns there, so a reference the child added afterwards could land on a slot the
// parent had already freed and handed out again. os.register_at_fork(before=) takes one for every
// counted handle (fork_ref); the GIL can be released between that hook and the fork itself, so a
// handle made in that gap takes its child reference when it is made, and one destroyed in that gap
// leaves its child reference in g_gone, for the child to give back. The parent keeps nothing:
// the references belong to the child (a failed fork leaks them: never a reuse).
bool g_forking;
std::vector<std::pair<Arena *, std::uint32_t>> g_gone;
bool g_forked;  // this process is a fork child (its references go back through a Finalize)

void take_fork_ref(Handle *h) {
  if (!h->counted) return;
  slot_ref(h->arena, h->slot);
  h->fork_ref = true;
}
}  // namespace

void handle_link(Handle *h) {
  h->next = g_live.next;
  h->prev = &g_live;
  g_live.next->prev = h;
  g_live.next = h;
  arena_hold(h->arena);
  if (g_forking) take_fork_ref(h);
}

Handle *handle_new(PyTypeObject *type, std::uint32_t kind, Arena *in) {
  auto *h = reinterpret_cast<Handle *>(type->tp_alloc(type, 0));
  if (!h) return nullptr;
  h->obj = slot_alloc(in, kind, &h->arena, &h->slot);
  if (!h->obj) {
    Py_DECREF(h);  // handle_dealloc skips a handle without a slot
    return nullptr;
  }
  h->kind = kind;
  h->counted = true;
  handle_link(h);
  return h;
}

int handle_traverse(PyObject *self, visitproc visit, void *arg) {
  Handle *h = H(self);
  Py_VISIT(h->lock);
  Py_VISIT(h->action);
  Py_VISIT(h->timeout);
  return 0;
}

int handle_clear(PyObject *self) {
  Handle *h = H(self);
  Py_CLEAR(h->action);
  Py_CLEAR(h->timeout);
  // h->lock stays until dealloc: the Condition's slot must not outlive its lock's slot.
  return 0;
}

void handle_dealloc(PyObject *self) {
  Handle *h = H(self);
  PyObject_GC_UnTrack(self);
  if (h->weakrefs) PyObject_ClearWeakRefs(self);
  handle_clear(self);
  if (h->obj) {
    h->prev->next = h->next;
    h->next->prev = h->prev;
    if (h->counted) slot_unref(h->arena, h->slot);
    if (g_forking && h->fork_ref) {  // the child's reference outlives this handle (see FORK)
      g_gone.emplace_back(h->arena, h->slot);
      arena_hold(h->arena);
    }
    arena_drop(h->arena);
  }
  Py_CLEAR(h->lock);
  Py_TYPE(self)->tp_free(self);
}

PyObject *raise_status(mpsync::status s) {
  using mpsync::status;
  switch (s) {
    case status::interrupted:
      if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
      return nullptr;
    case status::invalid: PyErr_SetString(PyExc_ValueError, "invalid argument (a NaN timeout?)"); return nullptr;
    case status::overflow: PyErr_SetString(PyExc_OverflowError, "a count would pass its maximum"); return nullptr;
    case status::corrupt:
      PyErr_SetString(g_corrupt_error, "the object's shared memory is not a valid state");
      return nullptr;
    case status::system: return PyErr_SetFromErrno(PyExc_OSError);
    default: PyErr_SetString(PyExc_RuntimeError, mpsync_strerror(static_cast<int>(s))); return nullptr;
  }
}

int timeout_arg(PyObject *o, double *t) {
  if (!o || o == Py_None) {
    *t = INFINITY;
    return 0;
  }
  *t = PyFloat_AsDouble(o);
  if (*t == -1.0 && PyErr_Occurred()) return -1;
  if (std::isnan(*t)) {
    PyErr_SetString(PyExc_ValueError, "timeout must not be NaN");
    return -1;
  }
  return 0;
}

int parse_block_timeout(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int *block, double *t,
                        const char *const *names, int first_is_block) {
  PyObject *vals[2] = {nullptr, nullptr};
  const int n = first_is_block ? 2 : 1;
  if (nargs > n) {
    PyErr_Format(PyExc_TypeError, "takes at most %d arguments (%zd given)", n, nargs);
    return -1;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) vals[i] = args[i];
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    const char *key = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, k));
    if (!key) return -1;
    int idx = -1;
    for (int i = 0; i < n; ++i)
      if (std::strcmp(key, names[i]) == 0) idx = i;
    if (idx < 0 || vals[idx]) {
      PyErr_Format(PyExc_TypeError, idx < 0 ? "unexpected keyword argument '%s'" : "argument '%s' given twice", key);
      return -1;
    }
    vals[idx] = args[nargs + k];
  }
  PyObject *tv = first_is_block ? vals[1] : vals[0];
  if (first_is_block) {
    *block = vals[0] ? PyObject_IsTrue(vals[0]) : 1;
    if (*block < 0) return -1;
  }
  return timeout_arg(tv, t);
}

namespace {

bool is_mpsync_type(PyTypeObject *t) {
  for (PyTypeObject *k : {&LockType, &RLockType, &SemaphoreType, &EventType, &ConditionType, &BarrierType})
    if (PyType_IsSubtype(t, k)) return true;
  return false;
}

std::uint32_t kind_of(PyTypeObject *t) {
  if (PyType_IsSubtype(t, &LockType)) return kLock;
  if (PyType_IsSubtype(t, &RLockType)) return kRLock;
  if (PyType_IsSubtype(t, &SemaphoreType)) return kSem;
  if (PyType_IsSubtype(t, &EventType)) return kEvent;
  if (PyType_IsSubtype(t, &ConditionType)) return kCond;
  return kBarrier;
}

// ---- pickling (spawn / forkserver): the Python side (mpsync._reduce) wraps the fd in DupFd ----
PyObject *share(PyObject *, PyObject *self) {
  if (!is_mpsync_type(Py_TYPE(self))) return (PyErr_SetString(PyExc_TypeError, "not an mpsync object"), nullptr);
  Handle *h = H(self);
  slot_ref(h->arena, h->slot);  // the child's handle adopts this reference
  return Py_BuildValue("(iKKKI)", arena_fd(h->arena), static_cast<unsigned long long>(h->arena->block_offset),
                       static_cast<unsigned long long>(h->arena->id_hi),
                       static_cast<unsigned long long>(h->arena->id_lo), h->slot);
}

PyObject *arena_fd_of(PyObject *, PyObject *args) {  // the mapped arena's fd, or -2 if not mapped here
  unsigned long long hi, lo;
  if (!PyArg_ParseTuple(args, "KK", &hi, &lo)) return nullptr;
  Arena *a = arena_find(hi, lo);
  return PyLong_FromLong(a ? arena_fd(a) : -2);
}

// _adopt(cls, fd, block_offset, id_hi, id_lo, slot): a handle on a received slot; fd is -1 when
// the arena is already mapped here (the caller closed its duplicate).
PyObject *adopt(PyObject *, PyObject *args) {
  PyTypeObject *cls;
  int fd;
  unsigned long long off, hi, lo;
  unsigned slot;
  if (!PyArg_ParseTuple(args, "O!iKKKI", &PyType_Type, &cls, &fd, &off, &hi, &lo, &slot)) return nullptr;
  if (!is_mpsync_type(cls)) return (PyErr_SetString(PyExc_TypeError, "not an mpsync type"), nullptr);
  if (slot >= kSlots) return (PyErr_SetString(PyExc_ValueError, "mpsync: slot out of range"), nullptr);
  Arena *a = fd < 0 ? arena_find(hi, lo) : arena_adopt(fd, off, hi, lo);
  if (!a) return PyErr_Occurred() ? nullptr : (PyErr_SetString(PyExc_ValueError, "mpsync: arena not mapped"), nullptr);
  std::uint32_t kind;
  std::memcpy(&kind, static_cast<unsigned char *>(slot_object(a, slot)) - 4, 4);
  if (!slot_live(a, slot) || kind != kind_of(cls)) {
    arena_forget_if_unused(a);
    PyErr_SetString(PyExc_ValueError, "mpsync: the received slot does not hold a live object of this type");
    return nullptr;
  }
  auto *h = reinterpret_cast<Handle *>(cls->tp_alloc(cls, 0));
  if (!h) return nullptr;
  h->arena = a;
  h->slot = slot;
  h->obj = slot_object(a, slot);
  std::memcpy(&h->kind, static_cast<unsigned char *>(h->obj) - 4, 4);
  h->counted = true;
  handle_link(h);
  return reinterpret_cast<PyObject *>(h);
}

PyObject *before_fork(PyObject *, PyObject *) {
  g_forking = true;
  for (Handle *h = g_live.next; h != &g_live; h = h->next) take_fork_ref(h);
  Py_RETURN_NONE;
}

void end_fork(bool child) {
  g_forking = false;
  for (Handle *h = g_live.next; h != &g_live; h = h->next) {
    if (child && !h->fork_ref) h->counted = false;  // (cannot happen: every handle was counted)
    h->fork_ref = false;
  }
  for (auto &[a, slot] : g_gone) {
    if (child) slot_unref(a, slot);
    arena_drop(a);
  }
  g_gone.clear();
}

PyObject *after_fork_parent(PyObject *, PyObject *) {
  end_fork(false);
  Py_RETURN_NONE;
}

PyObject *after_fork_child(PyObject *, PyObject *) {
  end_fork(true);
  g_forked = true;
  Py_RETURN_NONE;
}

void release_all_c() {
  for (Handle *h = g_live.next; h != &g_live; h = h->next)
    if (h->counted) {
      h->counted = false;
      slot_unref(h->arena, h->slot);
    }
}

PyObject *release_all(PyObject *, PyObject *) {
  release_all_c();
  Py_RETURN_NONE;
}

PyObject *forked(PyObject *, PyObject *) { return PyBool_FromLong(g_forked); }

PyObject *slot_info(PyObject *, PyObject *o) {  // (refs, slot, arena id) — tests only
  if (!is_mpsync_type(Py_TYPE(o))) return (PyErr_SetString(PyExc_TypeError, "not an mpsync object"), nullptr);
  Handle *h = H(o);
  return Py_BuildValue("(IIK)", slot_refs(h->arena, h->slot), h->slot, static_cast<unsigned long long>(h->arena->id_lo));
}

// Ctrl-C: a wait interrupted by a signal asks Python whether a handler raised (CPython's SemLock
// does the same with PyErr_CheckSignals after EINTR). Runs on the waiting thread, GIL released.
int interrupt_check() {
  PyGILState_STATE g = PyGILState_Ensure();
  int r = PyErr_CheckSignals();
  PyGILState_Release(g);
  return r != 0;
}

PyMethodDef module_methods[] = {
    {"_share", share, METH_O, "count one more reference for a pickle; (fd, offset, id_hi, id_lo, slot)"},
    {"_arena_fd", arena_fd_of, METH_VARARGS, nullptr},
    {"_adopt", adopt, METH_VARARGS, nullptr},
    {"_before_fork", before_fork, METH_NOARGS, "os.register_at_fork(before=...) hook"},
    {"_after_fork_parent", after_fork_parent, METH_NOARGS, "os.register_at_fork(after_in_parent=...) hook"},
    {"_after_fork_child", after_fork_child, METH_NOARGS, "os.register_at_fork(after_in_child=...) hook"},
    {"_release_all", release_all, METH_NOARGS, "give back this process's slot references (a fork child's exit)"},
    {"_forked", forked, METH_NOARGS, "True in a fork child"},
    {"_slot_info", slot_info, METH_O, nullptr},
    {"_inspect", inspect_json, METH_VARARGS, "(targets tuple, deadlocks bool) -> mpsync-inspect's JSON"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "mpsync._mpsync",
                          "The C++ core of mpsync's Python primitives (use the mpsync package).", -1,
                          module_methods};

}  // namespace
}  // namespace mpsync_py

using namespace mpsync_py;

PyMODINIT_FUNC PyInit__mpsync(void) {
  g_live.next = g_live.prev = &g_live;
  PyObject *m = PyModule_Create(&module_def);
  if (!m) return nullptr;
  PyObject *threading = PyImport_ImportModule("threading");
  if (!threading) return nullptr;
  g_broken_barrier = PyObject_GetAttrString(threading, "BrokenBarrierError");
  Py_DECREF(threading);
  if (!g_broken_barrier) return nullptr;
  g_owner_died_warning = PyErr_NewExceptionWithDoc(
      "mpsync.OwnerDiedWarning",
      "Issued when an RLock (or a Condition's RLock) is acquired from an owner that died holding it.\n"
      "The caller holds the lock; the data it protects may be half-updated. lock.owner_died is True\n"
      "until the caller's last release.",
      PyExc_RuntimeWarning, nullptr);
  g_corrupt_error = PyErr_NewExceptionWithDoc(
      "mpsync.CorruptError", "The object's shared memory does not hold a valid state (MPSYNC_ECORRUPT).",
      PyExc_RuntimeError, nullptr);
  if (!g_owner_died_warning || !g_corrupt_error) return nullptr;
  Py_INCREF(g_broken_barrier);
  Py_INCREF(g_owner_died_warning);
  Py_INCREF(g_corrupt_error);
  if (PyModule_AddObject(m, "BrokenBarrierError", g_broken_barrier) < 0 ||
      PyModule_AddObject(m, "OwnerDiedWarning", g_owner_died_warning) < 0 ||
      PyModule_AddObject(m, "CorruptError", g_corrupt_error) < 0 || ready_types(m) < 0 ||
      PyModule_AddIntConstant(m, "SEM_VALUE_MAX", MPSYNC_SEM_VALUE_MAX) < 0 ||
      PyModule_AddStringConstant(m, "backend", mpsync_backend()) < 0 ||
      PyModule_AddStringConstant(m, "version", mpsync_version()) < 0)
    return nullptr;
  // An orderly exit gives the references back after finalization, when no Python code (not even a
  // daemon thread) can use the objects any more. A multiprocessing fork child leaves by os._exit,
  // which skips this: it gives them back from a Finalize (mpsync/__init__.py).
  if (Py_AtExit(release_all_c) < 0) return nullptr;
  // Python's signal module installs handlers without SA_RESTART: untimed waits see every EINTR.
  mpsync::set_interrupt_check(&interrupt_check, mpsync::signal_handlers::never_restart);
  return m;
}
