// Pruned determinisation of an acyclic state-level lattice on its word labels, as Kaldi's
// DeterminizeLatticePruned does (lat/determinize-lattice-pruned.h), written afresh.
//
// The input is an acyclic lattice whose arcs carry a word label (0 = no word), a weight in
// Kaldi's LatticeWeight form (graph cost, acoustic cost) and a string of input labels (the
// token read at each input frame; empty for epsilon arcs). The output is a deterministic,
// epsilon-free word acceptor in Kaldi's CompactLattice form: every arc carries one word, a
// (graph, acoustic) weight and a string of input labels, and so does every final state.
// For every word sequence W kept, the one path reading W has the weight of W's best path in
// the input, and its strings concatenated (final string included) are that path's labels:
// one label per input frame, so the alignment and word timing of W stay available.
//
// Weights are compared by graph + acoustic; ties by graph cost, then by string (shorter or,
// at equal length, the earlier one created: deterministic for a given input).
//
// The algorithm. An output state is a subset of elements (input state, residual weight,
// residual string): the input paths that read the output path's words, each remembered by
// the state it reached and what it still owes beyond the output path's weight and string.
//   1. Closure: from a set of elements, input arcs without a word are followed (in
//      topological order, keeping per input state the best element), and only elements
//      whose state has a word arc or is final are kept (the "minimal" subset: the others are
//      represented by their successors).
//   2. For an output state, its elements' arcs with word w give, after closure, the subset
//      of the w-successor. Its common divisor (the least weight; the longest common prefix
//      of the strings) goes on the output arc, the residuals stay in the subset. Subsets
//      equal in states, strings and (within 1e-6) weights are one output state.
//   3. Final weight of an output state: its best final element (residual + final weight,
//      residual string + final string).
// Pruning (what "pruned by lattice_beam" means): with beta(s) the best cost from input
// state s to the end, an element reached at output forward cost g with residual r is
// dropped when g + r + beta(s) > best + beam: every path through it is outside the beam.
// Output states are expanded best-first by g + min(r + beta) (A* with an exact, consistent
// heuristic), so g is final when a state is expanded, and the best output paths come first.
// Every word sequence within the beam keeps its exact best weight; sequences beyond it may
// be missing, or present at a weight above their best (never below).
//
// Blow-up guard: more than max_states output states or max_arcs arcs abandons the attempt
// (Determinize returns false); DeterminizeWithRetries then tries again with the beam times
// retry_beam_ratio, up to max_retries times, and as a last resort keeps only the best path.
#pragma once

#include <cstdint>
#include <vector>

namespace tingxie {

struct DeterminizeOptions {
  float beam = 6.0f;              // keep word sequences within this of the best (lattice_beam)
  int32_t max_states = 50000;     // abandon an attempt beyond this many output states ...
  int32_t max_arcs = 500000;      // ... or this many output arcs
  float retry_beam_ratio = 0.5f;  // the beam of the next attempt, as a fraction of this one
  int32_t max_retries = 8;        // attempts after the first before keeping the best path only
};

// The input: an acyclic lattice; arc strings index into `labels`.
struct InputLatticeArc {
  int32_t src, dst, word;
  float graph_cost, acoustic_cost;
  int32_t string_begin, string_length;
};

struct InputLattice {
  int32_t num_states = 0;
  int32_t start = 0;
  std::vector<InputLatticeArc> arcs;
  std::vector<float> final_graph, final_acoustic;  // per state; graph +inf: not final
  std::vector<int32_t> final_string_begin, final_string_length;
  std::vector<int32_t> labels;
};

// The output (Kaldi's CompactLattice): start 0, arcs sorted by source then word.
struct WordLatticeArc {
  int32_t src, dst, word;
  float graph_cost, acoustic_cost;
  int32_t string_begin, string_length;  // into WordLattice::labels
};

struct WordLattice {
  int32_t start = -1;  // -1: empty (nothing within the beam reached an end)
  int32_t num_states = 0;
  std::vector<WordLatticeArc> arcs;
  std::vector<float> final_graph, final_acoustic;  // graph +inf: not final
  std::vector<int32_t> final_string_begin, final_string_length;
  std::vector<int32_t> labels;
  std::vector<int32_t> state_frame;  // labels emitted before the state: the same on every
                                     // path when the input is time-synchronous (each input
                                     // state read after a fixed number of labels: the
                                     // decoder's lattices); else those of its first path
  float beam = 0.0f;                 // the beam it was determinised with (after retries)
  int32_t attempts = 0;              // determinisations run (1 unless the guard triggered)
};

class DeterminizeError : public std::exception {
 public:
  explicit DeterminizeError(const char *what) : what_(what) {}
  const char *what() const noexcept override { return what_; }

 private:
  const char *what_;
};

// One attempt at `beam`; false when the guard (max_states / max_arcs) triggered.
// Throws DeterminizeError on a malformed input (a cycle, a label out of range).
bool DeterminizeLattice(const InputLattice &in, float beam, int32_t max_states,
                        int32_t max_arcs, WordLattice *out);

// Attempts at opts.beam, then tighter beams; finally the single best path (always fits).
void DeterminizeWithRetries(const InputLattice &in, const DeterminizeOptions &opts,
                            WordLattice *out);

}  // namespace tingxie
