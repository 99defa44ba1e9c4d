// The decoding graph (TLG) as two flat arrays, read from OpenFst binaries.
//
// OpenFst's binary layout (fst/fst.h FstHeader, fst/vector-fst.h, fst/const-fst.h), all
// little-endian:
//   header: int32 magic 2125659606, string fst_type ("vector" | "const"), string arc_type
//           ("standard"), int32 version, int32 flags, uint64 properties, int64 start,
//           int64 num_states, int64 num_arcs, then optional input/output symbol tables
//           (flags & 1, flags & 2); a string is an int32 length and its bytes.
//   vector: per state: float final, int64 num_arcs, then num_arcs arcs.
//   const:  (aligned to 16 bytes from the file start when flags & 4) num_states
//           ConstState {float final; uint32 first_arc, num_arcs, num_input_eps,
//           num_output_eps}, (aligned again) num_arcs arcs.
//   arc:    int32 ilabel, int32 olabel, float weight, int32 nextstate.
// A const FST whose arrays are 4-byte aligned in the file is used in place (memory-mapped,
// zero copy: an 80 MB graph "loads" in milliseconds); a vector FST is converted into the
// same layout. Every state's arcs are ordered with input-epsilon arcs first, so the search
// visits exactly the arcs it needs.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tingxie {

struct Arc {
  int32_t ilabel;
  int32_t olabel;
  float weight;  // -ln, tropical
  int32_t nextstate;
};

struct GraphState {
  float final_cost;  // +inf when not final
  uint32_t first_arc;
  uint32_t num_arcs;
  uint32_t num_input_eps;  // the first num_input_eps arcs have ilabel 0
  uint32_t num_output_eps;
};
static_assert(sizeof(Arc) == 16, "OpenFst arc layout");
static_assert(sizeof(GraphState) == 20, "OpenFst ConstState layout");

// Where a state's arcs are, in 8 bytes instead of the 20 of OpenFst's state record: the
// search reads this for every token, and the table of a large TLG (9 MB for 1.1M states)
// stays in the last-level cache where the records (22 MB) do not.
struct ArcRange {
  uint32_t first_arc;
  uint16_t num_input_eps;  // the first num_input_eps arcs have ilabel 0
  uint16_t num_arcs;
};

// Bad or unreadable graph files: the binding turns this into common.errors.InputError.
struct GraphError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Graph {
 public:
  explicit Graph(const std::string &path);
  ~Graph();
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  int32_t start() const { return start_; }
  int64_t num_states() const { return num_states_; }
  int64_t num_arcs() const { return num_arcs_; }
  int32_t max_ilabel() const { return max_ilabel_; }
  int32_t max_olabel() const { return max_olabel_; }
  const std::string &fst_type() const { return fst_type_; }
  bool memory_mapped() const { return mapped_states_ != nullptr; }
  bool compact_arc_ranges() const { return !ranges_.empty(); }

  // Writes the graph as an OpenFst const FST aligned to 16 bytes (what `fstconvert
  // --fst_type=const --fst_align` writes): OpenFst reads it, and the decoder maps it in place.
  void WriteAlignedConst(const std::string &path) const;

  const GraphState &state(int32_t s) const { return states_[s]; }
  const Arc *arcs(int32_t s) const { return arcs_ + states_[s].first_arc; }
  // A state's arcs [begin, begin + num_arcs), input-epsilons first, from the compact table
  // when every state fits it (fewer than 65,536 arcs), else from the OpenFst record.
  struct ArcSpan {
    const Arc *begin;
    uint32_t num_input_eps, num_arcs;
  };
  ArcSpan span(int32_t s) const {
    if (!ranges_.empty()) {
      const ArcRange r = ranges_[s];
      return {arcs_ + r.first_arc, r.num_input_eps, r.num_arcs};
    }
    const GraphState &st = states_[s];
    return {arcs_ + st.first_arc, st.num_input_eps, st.num_arcs};
  }
  const void *span_address(int32_t s) const {
    return ranges_.empty() ? static_cast<const void *>(&states_[s])
                           : static_cast<const void *>(&ranges_[s]);
  }
  float final_cost(int32_t s) const { return states_[s].final_cost; }
  // Whether state s has input-epsilon arcs: a bitset small enough to stay in cache, so
  // the search need not touch a new token's state just to ask.
  bool has_epsilons(int32_t s) const { return (has_eps_[s >> 6] >> (s & 63)) & 1; }

 private:
  void ReadVector(const char *data, size_t size, size_t offset);
  void ReadConst(const char *data, size_t size, size_t offset, bool aligned);
  void Validate();

  std::string path_;
  std::string fst_type_;
  int32_t start_ = -1;
  int64_t num_states_ = 0, num_arcs_ = 0;
  int32_t max_ilabel_ = 0, max_olabel_ = 0;
  uint64_t properties_ = 0;
  bool reordered_ = false;  // some state's arcs were put input-epsilons first
  const GraphState *states_ = nullptr;
  const Arc *arcs_ = nullptr;
  std::vector<uint64_t> has_eps_;
  std::vector<ArcRange> ranges_;  // empty when some state has 65,536 arcs or more
  std::vector<GraphState> own_states_;
  std::vector<Arc> own_arcs_;
  void *map_ = nullptr;
  size_t map_size_ = 0;
  const GraphState *mapped_states_ = nullptr;
};

}  // namespace tingxie
