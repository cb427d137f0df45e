// The Python object behind every mpsync primitive: a process-local handle on one arena slot
// (arena.hpp). The shared state is the slot's object; what CPython keeps per process (SemLock's
// count and last_tid) needs nothing here, because mpsync's RLock word names its owner's TID.
#ifndef MPSYNC_PY_HANDLE_HPP
#define MPSYNC_PY_HANDLE_HPP

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "arena.hpp"
#include "mpsync/mpsync.hpp"

namespace mpsync_py {

// Slot kinds: MPSYNC_OBJ_* numbers of API.md ("Named objects and inspection").
enum Kind : std::uint32_t { kLock = 1, kRLock = 2, kSem = 3, kEvent = 4, kCond = 5, kBarrier = 6 };

struct Handle {
  PyObject_HEAD
  Arena *arena;
  std::uint32_t slot;
  std::uint32_t kind;
  void *obj;           // the shared object in the slot
  bool counted;        // holds one of the slot's references (arena.hpp)
  bool fork_ref;       // a reference for the child of the fork in progress was taken (module.cpp)
  bool owner_died;     // RLock / Condition's embedded RLock: taken from a dead owner, until its last release
  PyObject *lock;      // Condition: the Lock/RLock it was given, or NULL (embedded RLock)
  PyObject *action;    // Barrier: the action (or None); Barrier: default timeout in `timeout`
  PyObject *timeout;
  Handle *prev, *next; // this process's live handles (the at-fork hook walks them)
  PyObject *weakrefs;
};

// module.cpp
extern PyObject *g_broken_barrier;    // threading.BrokenBarrierError
extern PyObject *g_owner_died_warning; // mpsync.OwnerDiedWarning
extern PyObject *g_corrupt_error;      // mpsync.CorruptError
Handle *handle_new(PyTypeObject *type, std::uint32_t kind, Arena *in);  // new slot (refs 1)
void handle_link(Handle *h);
void handle_dealloc(PyObject *self);
int handle_traverse(PyObject *self, visitproc visit, void *arg);
int handle_clear(PyObject *self);
PyObject *handle_reduce(PyObject *self, PyObject *);
PyObject *raise_status(mpsync::status s);  // the generic mapping; nullptr
// Parses (block=True, timeout=None) the way SemLock.acquire does; -1 with an exception set.
int parse_block_timeout(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int *block, double *t,
                        const char *const *names, int first_is_block);
int timeout_arg(PyObject *o, double *t);  // None -> forever; number -> seconds; -1 on error

// objects.cpp / objects2.cpp
extern PyTypeObject LockType, RLockType, SemaphoreType, BoundedSemaphoreType, EventType, ConditionType,
    BarrierType;
int ready_types(PyObject *module);

template <class T> T &as(Handle *h) { return *static_cast<T *>(h->obj); }
inline Handle *H(PyObject *o) { return reinterpret_cast<Handle *>(o); }

}  // namespace mpsync_py

#endif
