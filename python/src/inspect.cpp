// mpsync.inspect(): the data of `mpsync-inspect --json` (tools/inspect, linked in as a static
// library), as a JSON string that mpsync/__init__.py parses. The scan reads /proc and may sleep
// (the deadlock check's settle time), so it runs with the GIL released.
#include <Python.h>

#include <string>
#include <vector>

#include "inspect.hpp"

namespace mpsync_py {

PyObject *inspect_json(PyObject *, PyObject *args) {
  PyObject *targets = nullptr;
  int deadlocks = 0;
  if (!PyArg_ParseTuple(args, "O!p", &PyTuple_Type, &targets, &deadlocks)) return nullptr;
  std::vector<std::string> t;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(targets); ++i) {
    const char *s = PyUnicode_AsUTF8(PyTuple_GET_ITEM(targets, i));
    if (!s) return nullptr;
    t.emplace_back(s);
  }
  std::string out, err;
  bool ok;
  Py_BEGIN_ALLOW_THREADS
  ok = mpsync::inspect::json_report(t, deadlocks != 0, out, err);
  Py_END_ALLOW_THREADS
  if (!ok) {
    PyErr_SetString(PyExc_OSError, err.c_str());
    return nullptr;
  }
  return PyUnicode_FromStringAndSize(out.data(), static_cast<Py_ssize_t>(out.size()));
}

}  // namespace mpsync_py
