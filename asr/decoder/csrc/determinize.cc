// Pruned word-label determinisation of an acyclic lattice (see determinize.h).
#include "determinize.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>

namespace tingxie {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kWeightDelta = 1e-6;  // residual weights this close make subsets equal

// Strings of input labels as nodes of a trie: id 0 is the empty string, every other id a
// (parent, label) pair, so appending is a lookup and equal strings have equal ids.
class StringTrie {
 public:
  StringTrie() : parent_(1, -1), label_(1, 0), length_(1, 0) {}
  int32_t Append(int32_t id, int32_t label) {
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(id)) << 32) |
                         static_cast<uint32_t>(label);
    auto it = child_.find(key);
    if (it != child_.end()) return it->second;
    const int32_t next = static_cast<int32_t>(parent_.size());
    parent_.push_back(id);
    label_.push_back(label);
    length_.push_back(length_[id] + 1);
    child_.emplace(key, next);
    return next;
  }
  int32_t Append(int32_t id, const int32_t *labels, int32_t n) {
    for (int32_t i = 0; i < n; ++i) id = Append(id, labels[i]);
    return id;
  }
  int32_t length(int32_t id) const { return length_[id]; }
  int32_t Ancestor(int32_t id, int32_t length) const {  // the prefix of that length
    while (length_[id] > length) id = parent_[id];
    return id;
  }
  int32_t CommonPrefix(int32_t a, int32_t b) const {
    if (length_[a] > length_[b]) a = Ancestor(a, length_[b]);
    if (length_[b] > length_[a]) b = Ancestor(b, length_[a]);
    while (a != b) {
      a = parent_[a];
      b = parent_[b];
    }
    return a;
  }
  // The labels of id after its prefix of length `from`, appended to out.
  void Suffix(int32_t id, int32_t from, std::vector<int32_t> *out) const {
    const size_t begin = out->size();
    for (; length_[id] > from; id = parent_[id]) out->push_back(label_[id]);
    std::reverse(out->begin() + begin, out->end());
  }
  int32_t Rebase(int32_t id, int32_t from) {  // the suffix after `from` labels, as an id
    scratch_.clear();
    Suffix(id, from, &scratch_);
    return Append(0, scratch_.data(), static_cast<int32_t>(scratch_.size()));
  }

 private:
  std::vector<int32_t> parent_, label_, length_;
  std::unordered_map<uint64_t, int32_t> child_;
  std::vector<int32_t> scratch_;
};

struct Element {
  int32_t state;
  double graph, acoustic;  // residual weight
  int32_t string;          // residual string (trie id)
};

// The weight order of determinize.h: total, then graph, then string (shorter, then id).
bool Better(double g1, double a1, int32_t s1, double g2, double a2, int32_t s2,
            const StringTrie &trie) {
  const double t1 = g1 + a1, t2 = g2 + a2;
  if (t1 != t2) return t1 < t2;
  if (g1 != g2) return g1 < g2;
  if (trie.length(s1) != trie.length(s2)) return trie.length(s1) < trie.length(s2);
  return s1 < s2;
}

struct SubsetHash {
  size_t operator()(const std::vector<Element> &subset) const {
    uint64_t h = 1469598103934665603ull;
    for (const Element &e : subset) {
      h = (h ^ static_cast<uint32_t>(e.state)) * 1099511628211ull;
      h = (h ^ static_cast<uint32_t>(e.string)) * 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

struct SubsetEqual {
  bool operator()(const std::vector<Element> &a, const std::vector<Element> &b) const {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].state != b[i].state || a[i].string != b[i].string ||
          std::fabs(a[i].graph - b[i].graph) > kWeightDelta ||
          std::fabs(a[i].acoustic - b[i].acoustic) > kWeightDelta)
        return false;
    }
    return true;
  }
};

class Determinizer {
 public:
  explicit Determinizer(const InputLattice &in) : in_(in) { Prepare(); }

  bool Run(float beam, int32_t max_states, int32_t max_arcs, WordLattice *out);

 private:
  void Prepare();
  // Closes `seeds` (elements with weights relative to an output state at forward cost g)
  // over word-less arcs and returns the minimal, pruned subset sorted by state.
  void Closure(double g, std::vector<Element> *seeds);

  const InputLattice &in_;
  std::vector<int32_t> topo_index_;             // input state -> position in topological order
  std::vector<int32_t> first_arc_;              // CSR over input arcs sorted by (src, word)
  std::vector<int32_t> arc_order_;
  std::vector<uint8_t> has_word_arc_;
  std::vector<double> beta_;
  double best_ = kInf;
  double limit_ = kInf;

  StringTrie trie_;
  std::vector<int32_t> final_string_;           // input state -> trie id of its final string
  std::vector<int32_t> arc_string_;             // input arc -> trie id of its string
  std::unordered_map<std::vector<Element>, int32_t, SubsetHash, SubsetEqual> ids_;
  std::vector<const std::vector<Element> *> subsets_;
  std::vector<double> forward_;
  std::vector<uint8_t> expanded_;
  // closure scratch
  std::vector<int32_t> slot_;                   // input state -> index in closed_, -1
  std::vector<Element> closed_;
};

void Determinizer::Prepare() {
  const int32_t n = in_.num_states;
  if (n <= 0 || in_.start < 0 || in_.start >= n)
    throw DeterminizeError("lattice: start state out of range");
  if (static_cast<int32_t>(in_.final_graph.size()) != n ||
      static_cast<int32_t>(in_.final_acoustic.size()) != n ||
      static_cast<int32_t>(in_.final_string_begin.size()) != n ||
      static_cast<int32_t>(in_.final_string_length.size()) != n)
    throw DeterminizeError("lattice: final weights must have one entry per state");
  const int64_t num_labels = static_cast<int64_t>(in_.labels.size());
  auto check_string = [&](int32_t begin, int32_t length) {
    if (begin < 0 || length < 0 || static_cast<int64_t>(begin) + length > num_labels)
      throw DeterminizeError("lattice: string out of range");
  };
  const int32_t num_arcs = static_cast<int32_t>(in_.arcs.size());
  std::vector<int32_t> indegree(n, 0);
  first_arc_.assign(n + 1, 0);
  has_word_arc_.assign(n, 0);
  for (const InputLatticeArc &a : in_.arcs) {
    if (a.src < 0 || a.src >= n || a.dst < 0 || a.dst >= n)
      throw DeterminizeError("lattice: arc state out of range");
    if (a.word < 0) throw DeterminizeError("lattice: negative word label");
    if (std::isnan(a.graph_cost) || std::isnan(a.acoustic_cost))
      throw DeterminizeError("lattice: NaN weight");
    check_string(a.string_begin, a.string_length);
    ++first_arc_[a.src + 1];
    ++indegree[a.dst];
    if (a.word) has_word_arc_[a.src] = 1;
  }
  for (int32_t s = 0; s < n; ++s) {
    check_string(in_.final_string_begin[s], in_.final_string_length[s]);
    if (std::isnan(in_.final_graph[s]) || std::isnan(in_.final_acoustic[s]))
      throw DeterminizeError("lattice: NaN final weight");
  }
  for (int32_t s = 0; s < n; ++s) first_arc_[s + 1] += first_arc_[s];
  arc_order_.resize(num_arcs);
  {
    std::vector<int32_t> fill(first_arc_.begin(), first_arc_.end() - 1);
    for (int32_t i = 0; i < num_arcs; ++i) arc_order_[fill[in_.arcs[i].src]++] = i;
  }
  for (int32_t s = 0; s < n; ++s)  // by word within a state: successors in label order
    std::stable_sort(arc_order_.begin() + first_arc_[s], arc_order_.begin() + first_arc_[s + 1],
                     [&](int32_t x, int32_t y) { return in_.arcs[x].word < in_.arcs[y].word; });
  // Kahn's topological order; a cycle leaves states unordered.
  std::vector<int32_t> order;
  order.reserve(n);
  for (int32_t s = 0; s < n; ++s)
    if (indegree[s] == 0) order.push_back(s);
  for (size_t i = 0; i < order.size(); ++i) {
    const int32_t s = order[i];
    for (int32_t k = first_arc_[s]; k < first_arc_[s + 1]; ++k)
      if (--indegree[in_.arcs[arc_order_[k]].dst] == 0) order.push_back(in_.arcs[arc_order_[k]].dst);
  }
  if (static_cast<int32_t>(order.size()) != n)
    throw DeterminizeError("lattice: has a cycle (determinisation needs an acyclic lattice)");
  topo_index_.assign(n, 0);
  for (int32_t i = 0; i < n; ++i) topo_index_[order[i]] = i;
  // beta: best cost from each state to the end
  beta_.assign(n, kInf);
  for (int32_t i = n - 1; i >= 0; --i) {
    const int32_t s = order[i];
    double b = static_cast<double>(in_.final_graph[s]) + in_.final_acoustic[s];
    if (!(b < kInf)) b = kInf;
    for (int32_t k = first_arc_[s]; k < first_arc_[s + 1]; ++k) {
      const InputLatticeArc &a = in_.arcs[arc_order_[k]];
      b = std::min(b, static_cast<double>(a.graph_cost) + a.acoustic_cost + beta_[a.dst]);
    }
    beta_[s] = b;
  }
  best_ = beta_[in_.start];
  arc_string_.resize(num_arcs);
  for (int32_t i = 0; i < num_arcs; ++i)
    arc_string_[i] = trie_.Append(0, in_.labels.data() + in_.arcs[i].string_begin,
                                  in_.arcs[i].string_length);
  final_string_.resize(n);
  for (int32_t s = 0; s < n; ++s)
    final_string_[s] = trie_.Append(0, in_.labels.data() + in_.final_string_begin[s],
                                    in_.final_string_length[s]);
  slot_.assign(n, -1);
}

void Determinizer::Closure(double g, std::vector<Element> *seeds) {
  closed_.clear();
  using Item = std::pair<int32_t, int32_t>;  // (topological index, state): earliest first
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  auto relax = [&](int32_t state, double graph, double acoustic, int32_t string) {
    if (g + graph + acoustic + beta_[state] > limit_) return;  // outside the beam
    int32_t &slot = slot_[state];
    if (slot < 0) {
      slot = static_cast<int32_t>(closed_.size());
      closed_.push_back(Element{state, graph, acoustic, string});
      queue.emplace(topo_index_[state], state);
    } else {
      Element &e = closed_[slot];
      if (Better(graph, acoustic, string, e.graph, e.acoustic, e.string, trie_))
        e = Element{state, graph, acoustic, string};
    }
  };
  for (const Element &e : *seeds) relax(e.state, e.graph, e.acoustic, e.string);
  while (!queue.empty()) {
    const int32_t s = queue.top().second;
    queue.pop();
    const Element e = closed_[slot_[s]];
    for (int32_t k = first_arc_[s]; k < first_arc_[s + 1]; ++k) {
      const int32_t i = arc_order_[k];
      const InputLatticeArc &a = in_.arcs[i];
      if (a.word) break;  // word arcs come after the word-less ones
      const int32_t string =
          a.string_length ? trie_.Append(e.string, in_.labels.data() + a.string_begin,
                                         a.string_length)
                          : e.string;
      relax(a.dst, e.graph + a.graph_cost, e.acoustic + a.acoustic_cost, string);
    }
  }
  seeds->clear();
  for (const Element &e : closed_) {
    slot_[e.state] = -1;
    if (has_word_arc_[e.state] || in_.final_graph[e.state] < std::numeric_limits<float>::infinity())
      seeds->push_back(e);
  }
  std::sort(seeds->begin(), seeds->end(),
            [](const Element &x, const Element &y) { return x.state < y.state; });
}

bool Determinizer::Run(float beam, int32_t max_states, int32_t max_arcs, WordLattice *out) {
  *out = WordLattice();
  out->beam = beam;
  ids_.clear();
  subsets_.clear();
  forward_.clear();
  expanded_.clear();
  if (!(best_ < kInf)) return true;  // nothing reaches an end: the empty lattice
  limit_ = best_ + beam + 1e-5 * (1.0 + std::fabs(best_));

  struct Pending {
    double priority;
    int32_t state;
    bool operator<(const Pending &o) const {
      return priority != o.priority ? priority > o.priority : state > o.state;
    }
  };
  std::priority_queue<Pending> heap;
  std::vector<double> priority_of;
  // The output state of a (normalised) subset, new or found, reached at forward cost g.
  auto add_state = [&](std::vector<Element> &&subset, double g) {
    double h = kInf;
    for (const Element &e : subset) h = std::min(h, e.graph + e.acoustic + beta_[e.state]);
    auto it = ids_.find(subset);
    int32_t id;
    if (it == ids_.end()) {
      id = static_cast<int32_t>(subsets_.size());
      auto inserted = ids_.emplace(std::move(subset), id);
      subsets_.push_back(&inserted.first->first);
      forward_.push_back(g);
      expanded_.push_back(0);
      priority_of.push_back(g + h);
      heap.push(Pending{g + h, id});
    } else {
      id = it->second;
      if (g < forward_[id] && !expanded_[id]) {
        forward_[id] = g;
        priority_of[id] = g + h;
        heap.push(Pending{g + h, id});
      }
    }
    return id;
  };

  std::vector<Element> subset{Element{in_.start, 0.0, 0.0, 0}};
  Closure(0.0, &subset);
  add_state(std::move(subset), 0.0);

  struct OutArc {
    int32_t src, dst, word;
    double graph, acoustic;
    int32_t string;
  };
  std::vector<OutArc> arcs;
  std::vector<double> final_graph, final_acoustic;
  std::vector<int32_t> final_string;
  std::vector<Element> successors;
  std::vector<int32_t> words;
  while (!heap.empty()) {
    const Pending top = heap.top();
    heap.pop();
    const int32_t d = top.state;
    if (expanded_[d] || top.priority != priority_of[d]) continue;
    expanded_[d] = 1;
    const double g = forward_[d];
    const std::vector<Element> &elements = *subsets_[d];
    if (final_graph.size() < subsets_.size()) {
      final_graph.resize(subsets_.size(), kInf);
      final_acoustic.resize(subsets_.size(), 0.0);
      final_string.resize(subsets_.size(), 0);
    }
    // 3. final weight
    for (const Element &e : elements) {
      const double fg = in_.final_graph[e.state];
      if (!(fg < kInf)) continue;
      const double graph = e.graph + fg, acoustic = e.acoustic + in_.final_acoustic[e.state];
      if (g + graph + acoustic > limit_) continue;
      const int32_t string = in_.final_string_length[e.state]
                                 ? trie_.Append(e.string, in_.labels.data() +
                                                              in_.final_string_begin[e.state],
                                                in_.final_string_length[e.state])
                                 : e.string;
      if (!(final_graph[d] < kInf) ||
          Better(graph, acoustic, string, final_graph[d], final_acoustic[d], final_string[d],
                 trie_)) {
        final_graph[d] = graph;
        final_acoustic[d] = acoustic;
        final_string[d] = string;
      }
    }
    // 2. successors per word, in word order
    words.clear();
    for (const Element &e : elements)
      for (int32_t k = first_arc_[e.state]; k < first_arc_[e.state + 1]; ++k)
        if (in_.arcs[arc_order_[k]].word) words.push_back(in_.arcs[arc_order_[k]].word);
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    for (int32_t word : words) {
      successors.clear();
      for (const Element &e : elements) {
        for (int32_t k = first_arc_[e.state]; k < first_arc_[e.state + 1]; ++k) {
          const int32_t i = arc_order_[k];
          const InputLatticeArc &a = in_.arcs[i];
          if (a.word != word) continue;
          const int32_t string =
              a.string_length ? trie_.Append(e.string, in_.labels.data() + a.string_begin,
                                             a.string_length)
                              : e.string;
          successors.push_back(Element{a.dst, e.graph + a.graph_cost,
                                       e.acoustic + a.acoustic_cost, string});
        }
      }
      Closure(g, &successors);
      if (successors.empty()) continue;  // every continuation is outside the beam
      // common divisor: the best weight, the longest common prefix
      const Element *least = &successors[0];
      int32_t prefix = successors[0].string;
      for (const Element &e : successors) {
        if (Better(e.graph, e.acoustic, e.string, least->graph, least->acoustic, least->string,
                   trie_))
          least = &e;
        prefix = trie_.CommonPrefix(prefix, e.string);
      }
      const double div_graph = least->graph, div_acoustic = least->acoustic;
      const int32_t prefix_length = trie_.length(prefix);
      for (Element &e : successors) {
        e.graph -= div_graph;
        e.acoustic -= div_acoustic;
        if (prefix_length) e.string = trie_.Rebase(e.string, prefix_length);
      }
      const int32_t dst = add_state(std::move(successors), g + div_graph + div_acoustic);
      successors = std::vector<Element>();
      arcs.push_back(OutArc{d, dst, word, div_graph, div_acoustic, prefix});
      if (static_cast<int32_t>(subsets_.size()) > max_states ||
          static_cast<int32_t>(arcs.size()) > max_arcs)
        return false;
    }
  }

  // Emit: states in creation order (the start is 0), arcs by source then word.
  const int32_t num_states = static_cast<int32_t>(subsets_.size());
  final_graph.resize(num_states, kInf);
  final_acoustic.resize(num_states, 0.0);
  final_string.resize(num_states, 0);
  out->start = 0;
  out->num_states = num_states;
  std::stable_sort(arcs.begin(), arcs.end(), [](const OutArc &x, const OutArc &y) {
    return x.src != y.src ? x.src < y.src : x.word < y.word;
  });
  out->arcs.reserve(arcs.size());
  for (const OutArc &a : arcs) {
    const int32_t begin = static_cast<int32_t>(out->labels.size());
    trie_.Suffix(a.string, 0, &out->labels);
    out->arcs.push_back(WordLatticeArc{a.src, a.dst, a.word, static_cast<float>(a.graph),
                                       static_cast<float>(a.acoustic), begin,
                                       static_cast<int32_t>(out->labels.size()) - begin});
  }
  out->final_graph.assign(num_states, std::numeric_limits<float>::infinity());
  out->final_acoustic.assign(num_states, 0.0f);
  out->final_string_begin.assign(num_states, 0);
  out->final_string_length.assign(num_states, 0);
  for (int32_t s = 0; s < num_states; ++s) {
    if (!(final_graph[s] < kInf)) continue;
    out->final_graph[s] = static_cast<float>(final_graph[s]);
    out->final_acoustic[s] = static_cast<float>(final_acoustic[s]);
    out->final_string_begin[s] = static_cast<int32_t>(out->labels.size());
    trie_.Suffix(final_string[s], 0, &out->labels);
    out->final_string_length[s] = static_cast<int32_t>(out->labels.size()) -
                                  out->final_string_begin[s];
  }
  // Labels emitted before each state. With time-synchronous input they are the same on
  // every path (an element's residual is what its input path read beyond them, and its
  // state fixes how much that path read). Every state but the start was created by a
  // lower-numbered state, so one pass over the arcs in source order reaches it.
  out->state_frame.assign(num_states, -1);
  out->state_frame[0] = 0;
  for (const WordLatticeArc &a : out->arcs)
    if (out->state_frame[a.dst] < 0)
      out->state_frame[a.dst] = out->state_frame[a.src] + a.string_length;
  return true;
}

}  // namespace

bool DeterminizeLattice(const InputLattice &in, float beam, int32_t max_states,
                        int32_t max_arcs, WordLattice *out) {
  Determinizer det(in);
  const bool ok = det.Run(beam, max_states, max_arcs, out);
  out->attempts = 1;
  return ok;
}

void DeterminizeWithRetries(const InputLattice &in, const DeterminizeOptions &opts,
                            WordLattice *out) {
  Determinizer det(in);
  float beam = opts.beam;
  int32_t attempts = 0;
  for (int32_t retry = 0; retry <= opts.max_retries; ++retry, beam *= opts.retry_beam_ratio) {
    ++attempts;
    if (det.Run(beam, opts.max_states, opts.max_arcs, out)) {
      out->attempts = attempts;
      return;
    }
  }
  // Last resort: the best path alone (and exact ties), whatever its size.
  det.Run(0.0f, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::max(), out);
  out->attempts = attempts + 1;
}

}  // namespace tingxie
