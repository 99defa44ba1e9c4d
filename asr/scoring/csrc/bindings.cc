// Python binding of the edit aligner: one call aligns a whole batch of (ref, hyp) token lists.
// Tokens arrive as Python str objects and are interned to ids here, keyed by their UTF-8 bytes
// (which CPython caches inside each str, so no copy is made).
#include <Python.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edit_alignment.h"

namespace py = pybind11;
using tingxie::scoring::CostScheme;
using tingxie::scoring::EditAligner;
using tingxie::scoring::EditCounts;

namespace {

// A cost matrix above this many cells (4 bytes each) is refused rather than risking the
// machine's memory on one absurdly long pair.
constexpr int64_t kMaxCells = int64_t{1} << 28;

class TokenInterner {
 public:
  // Converts one Python sequence of str into ids appended to `ids` (cleared first).
  void Intern(PyObject* sequence, const char* side, Py_ssize_t index, std::vector<int32_t>* ids) {
    ids->clear();
    PyObject* fast = PySequence_Fast(sequence, "");
    if (fast == nullptr) {
      PyErr_Clear();
      throw py::type_error(std::string(side) + "[" + std::to_string(index) +
                           "] is not a sequence of str tokens");
    }
    Py_ssize_t size = PySequence_Fast_GET_SIZE(fast);
    PyObject** items = PySequence_Fast_ITEMS(fast);
    ids->reserve(size);
    for (Py_ssize_t k = 0; k < size; ++k) {
      Py_ssize_t length = 0;
      const char* utf8 = PyUnicode_Check(items[k]) ? PyUnicode_AsUTF8AndSize(items[k], &length)
                                                   : nullptr;
      if (utf8 == nullptr) {
        PyErr_Clear();
        Py_DECREF(fast);
        throw py::type_error(std::string(side) + "[" + std::to_string(index) + "][" +
                             std::to_string(k) + "] is not a str token");
      }
      auto inserted = ids_.emplace(std::string_view(utf8, length),
                                   static_cast<int32_t>(ids_.size()));
      ids->push_back(inserted.first->second);
    }
    Py_DECREF(fast);
  }

 private:
  // Keys point into the str objects, which the caller's lists keep alive during the call.
  std::unordered_map<std::string_view, int32_t> ids_;
};

CostScheme ParseScheme(const std::string& name) {
  if (name == "sclite") return CostScheme::kSclite;
  if (name == "kaldi") return CostScheme::kKaldi;
  throw py::value_error("costs must be 'sclite' or 'kaldi', not '" + name + "'");
}

// Returns (counts int64 [n, 4] as correct, substitutions, deletions, insertions; ops list of
// str or None).
py::tuple AlignBatch(py::sequence refs, py::sequence hyps, const std::string& costs,
                     bool with_ops) {
  CostScheme scheme = ParseScheme(costs);
  Py_ssize_t count = py::len(refs);
  if (py::len(hyps) != count) {
    throw py::value_error("refs and hyps differ in length (" + std::to_string(count) + " vs " +
                          std::to_string(py::len(hyps)) + ")");
  }
  py::list ref_list(refs), hyp_list(hyps);  // keeps every token alive while ids point at it
  py::array_t<int64_t> counts({static_cast<py::ssize_t>(count), py::ssize_t{4}});
  auto table = counts.mutable_unchecked<2>();
  py::list ops_list(with_ops ? count : 0);

  TokenInterner interner;
  EditAligner aligner(scheme);
  std::vector<int32_t> ref_ids, hyp_ids;
  std::string ops;
  for (Py_ssize_t n = 0; n < count; ++n) {
    interner.Intern(ref_list[n].ptr(), "refs", n, &ref_ids);
    interner.Intern(hyp_list[n].ptr(), "hyps", n, &hyp_ids);
    int64_t cells = (static_cast<int64_t>(ref_ids.size()) + 1) *
                    (static_cast<int64_t>(hyp_ids.size()) + 1);
    if (cells > kMaxCells) {
      throw py::value_error("pair " + std::to_string(n) + " is too long to align (" +
                            std::to_string(ref_ids.size()) + " x " +
                            std::to_string(hyp_ids.size()) + " tokens)");
    }
    EditCounts result = aligner.Align(ref_ids.data(), ref_ids.size(), hyp_ids.data(),
                                      hyp_ids.size(), with_ops ? &ops : nullptr);
    table(n, 0) = result.correct;
    table(n, 1) = result.substitutions;
    table(n, 2) = result.deletions;
    table(n, 3) = result.insertions;
    if (with_ops) ops_list[n] = py::str(ops);
  }
  return py::make_tuple(counts, with_ops ? py::object(ops_list) : py::object(py::none()));
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "Native edit-distance alignment for WER/CER scoring (see edit_alignment.h).";
  m.def("align_batch", &AlignBatch, py::arg("refs"), py::arg("hyps"),
        py::arg("costs") = "sclite", py::arg("with_ops") = false,
        "Align each refs[n] against hyps[n] (sequences of str). Returns (counts int64 [n, 4]: "
        "correct, substitutions, deletions, insertions; ops: list of 'CSDI' strings or None).");
}
