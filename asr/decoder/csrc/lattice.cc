// Lattice pruning and the distinct N-best (the lattice half of Search, see decoder.h).
//
// 1. Backward costs (beta): from the last frame's tokens (their final weights, or 0 when no
//    final state was reached) back over the recorded links, frame by frame; the epsilon
//    links inside a frame are relaxed until nothing changes.
// 2. Pruning: a link survives when forward cost of its source + its weight + backward
//    cost of its target is within lattice_beam of the best path.
// 3. With keep_lattice and determinize_lattice, the kept links become an InputLattice and
//    are determinised on words (determinize.h); the N best paths of that word lattice are
//    Result.lattice's N-best (they agree with the N-best below within lattice_beam).
// 4. N-best: best-first search over word prefixes. A search item is a prefix together with
//    the set of lattice nodes reachable by it (each with its best cost), closed over links
//    without a word label; its priority, min over the set of cost + beta, is exact, so
//    items come off the heap in the order of their best completion, and a prefix followed
//    by "end" is a complete hypothesis whose cost is final. Each word sequence is one path
//    in the prefix tree, so the hypotheses are distinct by construction: this is the
//    determinisation of the lattice over its word labels, done lazily for the N best only.
//    Only sequences within lattice_beam of the best are taken: exactly those the word
//    lattice holds at their best cost, so Result.nbest equals the word lattice's N-best
//    (tests check it) without building the word lattice.
#include <algorithm>
#include <cmath>
#include <queue>
#include <unordered_map>

#include "decoder.h"
#include "determinize.h"

namespace tingxie {
namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int32_t kMaxPrefixExpansions = 200000;  // a bound on pathological lattices
// PruneLattice walks back while extra costs move by more than this fraction of the lattice
// beam (Kaldi's prune_scale).
constexpr float kPruneScale = 0.1f;
// The N-best keeps word sequences within `beam` of the best cost (with a rounding margin).
double NBestLimit(double best, double beam) { return best + beam + 1e-5 * (1.0 + std::fabs(best)); }
}  // namespace

// Backward costs over the recorded links, frame by frame from the last; the epsilon links
// inside a frame are relaxed until nothing changes. beta holds the frontier's costs.
void Search::BackwardCosts(std::vector<float> *beta_out) const {
  std::vector<float> &beta = *beta_out;
  const int32_t num_links = static_cast<int32_t>(links_.size());
  auto relax = [&](const LatticeArc &l) {
    float b = l.graph_cost + l.acoustic_cost + beta[l.dst];
    if (b < beta[l.src]) {
      beta[l.src] = b;
      return true;
    }
    return false;
  };
  const int32_t num_marked = static_cast<int32_t>(eps_begin_.size());
  for (int32_t f = num_marked - 1; f >= 0; --f) {
    int32_t eps_end = f + 1 < static_cast<int32_t>(emit_begin_.size()) ? emit_begin_[f + 1]
                                                                       : num_links;
    for (int32_t pass = 0; pass < 64; ++pass) {
      bool changed = false;
      for (int32_t l = eps_end - 1; l >= eps_begin_[f]; --l) changed |= relax(links_[l]);
      if (!changed) break;
    }
    for (int32_t l = eps_begin_[f] - 1; l >= emit_begin_[f]; --l) relax(links_[l]);
  }
}

// Kaldi's PruneActiveTokens over the frames since the last prune, and further back while
// extra costs keep moving (decoder.h). The newest frame's nodes keep extra cost 0.
void Search::PruneLattice() {
  const int32_t newest = static_cast<int32_t>(node_begin_.size()) - 1;
  extra_.resize(nodes_.size(), 0.0f);  // nodes made since the last prune start at 0
  const float delta = kPruneScale * opts_.lattice_beam;
  int32_t first_removed = newest;
  bool changed = true;
  for (int32_t f = newest - 1; f >= 0; --f) {
    if (f < pruned_frontier_ && !changed) break;  // older frames are as they were
    bool removed = false;
    changed = PruneFrame(f, delta, &removed);
    if (removed) first_removed = f;
  }
  pruned_frontier_ = newest;
  if (first_removed < newest) CompactLattice(first_removed);
}

bool Search::PruneFrame(int32_t f, float delta, bool *removed) {
  const float beam = opts_.lattice_beam;
  const int32_t node_first = node_begin_[f], node_end = node_begin_[f + 1];
  const int32_t emit_first = emit_begin_[f + 1], emit_end = eps_begin_[f + 1];
  const int32_t eps_first = eps_begin_[f], eps_end = emit_begin_[f + 1];
  tmp_costs_.assign(node_end - node_first, kInf);  // the new extra costs of frame f
  float *extra = tmp_costs_.data() - node_first;
  auto link_extra = [&](const LatticeArc &a, float dst_extra) {
    return dst_extra + ((nodes_[a.src].cost + a.graph_cost + a.acoustic_cost) -
                        nodes_[a.dst].cost);
  };
  for (int32_t l = emit_first; l < emit_end; ++l) {
    const LatticeArc &a = links_[l];
    if (a.ilabel < 0) continue;
    extra[a.src] = std::min(extra[a.src], link_extra(a, extra_[a.dst]));
  }
  for (int32_t pass = 0; pass < 64; ++pass) {  // epsilon links within the frame
    bool moved = false;
    for (int32_t l = eps_end - 1; l >= eps_first; --l) {
      const LatticeArc &a = links_[l];
      if (a.ilabel < 0) continue;
      const float e = link_extra(a, extra[a.dst]);
      if (e < extra[a.src]) {
        extra[a.src] = e;
        moved = true;
      }
    }
    if (!moved) break;
  }
  for (int32_t l = emit_first; l < emit_end; ++l) {
    LatticeArc &a = links_[l];
    if (a.ilabel >= 0 && !(link_extra(a, extra_[a.dst]) <= beam)) {
      a.ilabel = -1;
      *removed = true;
    }
  }
  for (int32_t l = eps_first; l < eps_end; ++l) {
    LatticeArc &a = links_[l];
    if (a.ilabel >= 0 && !(link_extra(a, extra[a.dst]) <= beam)) {
      a.ilabel = -1;
      *removed = true;
    }
  }
  bool changed = false;
  for (int32_t n = node_first; n < node_end; ++n) {
    float e = extra[n] <= beam ? extra[n] : kInf;
    if (n == 0) e = std::min(e, 0.0f);  // the start stays
    if (e == kInf) *removed = true;
    const float old = extra_[n];
    if (e == kInf ? old != kInf : !(std::fabs(e - old) <= delta)) changed = true;
    extra_[n] = e;
  }
  return changed;
}

// Removes the dead links and nodes of frames first_frame.. (those before are untouched, so
// only the indices from there on move).
void Search::CompactLattice(int32_t first_frame) {
  const int32_t node_first = node_begin_[first_frame];
  const int32_t link_first = emit_begin_[first_frame];
  const int32_t num_nodes = static_cast<int32_t>(nodes_.size());
  const int32_t num_links = static_cast<int32_t>(links_.size());
  gc_map_.assign(num_nodes - node_first + 1, 0);  // nodes kept before each (offset)
  int32_t *nodes_before = gc_map_.data() - node_first;
  int32_t kept = node_first;
  for (int32_t n = node_first; n < num_nodes; ++n) {
    nodes_before[n] = kept;
    if (extra_[n] != kInf) ++kept;
  }
  nodes_before[num_nodes] = kept;
  std::vector<int32_t> &links_before = queue_;  // free between frames
  links_before.assign(num_links - link_first + 1, 0);
  int32_t *lb = links_before.data() - link_first;
  int32_t kept_links = link_first;
  for (int32_t l = link_first; l < num_links; ++l) {
    lb[l] = kept_links;
    if (links_[l].ilabel >= 0) ++kept_links;
  }
  lb[num_links] = kept_links;
  auto node_id = [&](int32_t n) { return n < node_first ? n : nodes_before[n]; };
  auto alive = [&](int32_t n) { return n < node_first || extra_[n] != kInf; };
  for (int32_t n = node_first; n < num_nodes; ++n) {
    if (extra_[n] == kInf) continue;
    Node node = nodes_[n];
    if (node.prev >= 0) node.prev = alive(node.prev) ? node_id(node.prev) : -1;
    if (node.best_link >= link_first)
      node.best_link = links_[node.best_link].ilabel >= 0 ? lb[node.best_link] : -1;
    const int32_t to = nodes_before[n];
    nodes_[to] = node;
    extra_[to] = extra_[n];
  }
  nodes_.resize(kept);
  extra_.resize(kept);
  for (int32_t l = link_first; l < num_links; ++l) {
    LatticeArc a = links_[l];
    if (a.ilabel < 0) continue;
    a.src = node_id(a.src);
    a.dst = node_id(a.dst);
    links_[lb[l]] = a;
  }
  links_.resize(kept_links);
  const int32_t frames = static_cast<int32_t>(node_begin_.size());
  for (int32_t f = first_frame; f < frames; ++f) {
    node_begin_[f] = nodes_before[node_begin_[f]];
    emit_begin_[f] = lb[emit_begin_[f]];
    if (f < static_cast<int32_t>(eps_begin_.size())) eps_begin_[f] = lb[eps_begin_[f]];
  }
  for (Token &tok : cur_) tok.node = node_id(tok.node);
  queue_.clear();
}

void Search::BuildNBest(const std::vector<int32_t> &end_nodes,
                        const std::vector<int32_t> &frame_map,
                        const std::vector<float> &skipped_cost, int32_t num_frames,
                        DecodeResult *out) {
  const int32_t num_nodes = static_cast<int32_t>(nodes_.size());
  const int32_t num_links = static_cast<int32_t>(links_.size());
  std::vector<float> end_cost(num_nodes, kInf);
  for (int32_t n : end_nodes) {
    const int32_t context = nodes_[n].context;
    const float open_bonus = hot_ && context >= 0 ? hot_->acc[context] : 0.0f;
    end_cost[n] = out->reached_final ? EndCost(nodes_[n].state, context, nodes_[n].lm_state)
                                     : (context >= 0 ? open_bonus : 0.0f);
  }

  // 1. beta
  std::vector<float> beta(end_cost);
  BackwardCosts(&beta);
  const float best = beta[0];
  if (!(best < kInf)) return;

  // 2. prune
  const float limit = best + opts_.lattice_beam;
  // N-best entries: within lattice_beam of the best, as the word lattice holds them
  const double nbest_limit = NBestLimit(best, opts_.lattice_beam);
  std::vector<int32_t> kept;
  for (int32_t l = 0; l < num_links; ++l) {
    const LatticeArc &a = links_[l];
    if (nodes_[a.src].cost + a.graph_cost + a.acoustic_cost + beta[a.dst] <= limit)
      kept.push_back(l);
  }
  // out-links per node (CSR over kept links)
  std::vector<int32_t> first(num_nodes + 1, 0);
  for (int32_t l : kept) ++first[links_[l].src + 1];
  for (int32_t n = 0; n < num_nodes; ++n) first[n + 1] += first[n];
  std::vector<int32_t> out_links(kept.size());
  {
    std::vector<int32_t> fill(first.begin(), first.end() - 1);
    for (int32_t l : kept) out_links[fill[links_[l].src]++] = l;
  }

  if (opts_.keep_lattice && opts_.determinize_lattice) {
    BuildWordLattice(kept, end_cost, frame_map, skipped_cost, out);
    WordLatticeNBest(skipped_cost, out);
  } else if (opts_.keep_lattice) {
    Lattice &lat = out->lattice;
    std::vector<int32_t> id(num_nodes, -1);
    id[0] = 0;
    int32_t next_id = 1;
    for (int32_t l : kept) {
      for (int32_t n : {links_[l].src, links_[l].dst})
        if (id[n] < 0) id[n] = next_id++;
    }
    lat.start = 0;
    lat.num_states = next_id;
    lat.final_cost.assign(next_id, kInf);
    lat.state_frame.assign(next_id, 0);
    for (int32_t n = 0; n < num_nodes; ++n) {
      if (id[n] < 0) continue;
      lat.final_cost[id[n]] = end_cost[n];
      int32_t f = nodes_[n].frame;
      lat.state_frame[id[n]] = f > 0 ? frame_map[f - 1] + 1 : 0;
    }
    for (int32_t l : kept) {
      LatticeArc a = links_[l];
      a.src = id[a.src];
      a.dst = id[a.dst];
      lat.arcs.push_back(a);
    }
  }

  // 3. N-best over word prefixes
  struct Entry {
    int32_t node;
    float cost, acoustic;
    int32_t parent;  // entry this one extends, -1 at the start
    int32_t link;
  };
  struct Item {
    float priority;
    int32_t set;       // prefix set to expand, or -1 for a complete hypothesis
    int32_t entry;     // the complete hypothesis' last entry
    bool operator<(const Item &o) const { return priority > o.priority; }
  };
  std::vector<Entry> entries;
  std::vector<std::vector<int32_t>> sets;  // prefix -> entries it starts from
  std::priority_queue<Item> heap;
  entries.push_back(Entry{0, 0.0f, 0.0f, -1, -1});
  sets.push_back({0});
  heap.push(Item{beta[0], 0, -1});
  std::vector<int32_t> local(num_nodes, -1);  // node -> entry within the set being closed
  std::vector<int32_t> touched, work;
  int32_t expansions = 0;
  while (!heap.empty() && static_cast<int32_t>(out->nbest.size()) < opts_.nbest &&
         expansions < kMaxPrefixExpansions) {
    Item item = heap.top();
    heap.pop();
    if (item.priority > nbest_limit) break;  // the rest is outside lattice_beam
    if (item.set < 0) {  // a complete hypothesis
      std::vector<Step> steps;
      for (int32_t e = item.entry; entries[e].parent >= 0; e = entries[e].parent) {
        const LatticeArc &l = links_[entries[e].link];
        steps.push_back(Step{l.ilabel, l.olabel, nodes_[l.dst].frame, l.graph_cost,
                             l.acoustic_cost});
      }
      std::reverse(steps.begin(), steps.end());
      Hypothesis hyp;
      MakeHypothesis(steps, end_cost[entries[item.entry].node], frame_map, skipped_cost, &hyp);
      out->nbest.push_back(std::move(hyp));
      continue;
    }
    ++expansions;
    // Closure over links without a word; word links start child prefixes.
    std::unordered_map<int32_t, std::unordered_map<int32_t, int32_t>> children;
    work.clear();
    touched.clear();
    for (int32_t e : sets[item.set]) {
      int32_t n = entries[e].node;
      if (local[n] < 0 || entries[e].cost < entries[local[n]].cost) {
        if (local[n] < 0) touched.push_back(n);
        local[n] = e;
        work.push_back(n);
      }
    }
    int32_t best_end = -1;
    float best_end_cost = kInf;
    while (!work.empty()) {
      int32_t n = work.back();
      work.pop_back();
      const int32_t e = local[n];
      const Entry cur = entries[e];
      if (end_cost[n] < kInf && cur.cost + end_cost[n] < best_end_cost) {
        best_end_cost = cur.cost + end_cost[n];
        best_end = e;
      }
      for (int32_t k = first[n]; k < first[n + 1]; ++k) {
        const int32_t l = out_links[k];
        const LatticeArc &a = links_[l];
        const float cost = cur.cost + a.graph_cost + a.acoustic_cost;
        if (a.olabel == 0) {
          int32_t &slot = local[a.dst];
          if (slot < 0 || cost < entries[slot].cost) {
            if (slot < 0) touched.push_back(a.dst);
            slot = static_cast<int32_t>(entries.size());
            entries.push_back(Entry{a.dst, cost, cur.acoustic + a.acoustic_cost, e, l});
            work.push_back(a.dst);
          }
        } else {
          auto &child = children[a.olabel];
          auto it = child.find(a.dst);
          if (it == child.end() || cost < entries[it->second].cost) {
            child[a.dst] = static_cast<int32_t>(entries.size());
            entries.push_back(Entry{a.dst, cost, cur.acoustic + a.acoustic_cost, e, l});
          }
        }
      }
    }
    for (int32_t n : touched) local[n] = -1;
    if (best_end >= 0) heap.push(Item{best_end_cost, -1, best_end});
    for (auto &kv : children) {
      std::vector<int32_t> set;
      float priority = kInf;
      for (auto &node_entry : kv.second) {
        set.push_back(node_entry.second);
        priority = std::min(priority, entries[node_entry.second].cost + beta[node_entry.first]);
      }
      if (!(priority < kInf)) continue;
      sets.push_back(std::move(set));
      heap.push(Item{priority, static_cast<int32_t>(sets.size() - 1), -1});
    }
  }
}

// The kept links as an InputLattice: one label per input frame, so frames skipped by blank
// skipping are put back as blanks (with their acoustic cost) on the next emitting arc, or on
// the final weight after the last searched frame.
void Search::BuildWordLattice(const std::vector<int32_t> &kept,
                              const std::vector<float> &end_cost,
                              const std::vector<int32_t> &frame_map,
                              const std::vector<float> &skipped_cost,
                              DecodeResult *out) const {
  const int32_t num_nodes = static_cast<int32_t>(nodes_.size());
  const int32_t num_frames = static_cast<int32_t>(skipped_cost.size());
  const int32_t blank_label = opts_.blank_column + 1;
  std::vector<double> skipped_before(num_frames + 1, 0.0);  // prefix sums
  for (int32_t t = 0; t < num_frames; ++t)
    skipped_before[t + 1] = skipped_before[t] + skipped_cost[t];
  // input frame read last on reaching a node of `searched` frames (-1 before any)
  auto last_input_frame = [&](int32_t searched) {
    return searched > 0 ? frame_map[searched - 1] : -1;
  };
  InputLattice in;
  std::vector<int32_t> id(num_nodes, -1);
  id[0] = 0;
  int32_t next_id = 1;
  for (int32_t l : kept)
    for (int32_t n : {links_[l].src, links_[l].dst})
      if (id[n] < 0) id[n] = next_id++;
  in.num_states = next_id;
  in.start = 0;
  auto put_blanks = [&](int32_t from, int32_t to) {  // input frames [from, to): skipped
    for (int32_t t = from; t < to; ++t) in.labels.push_back(blank_label);
    return skipped_before[to] - skipped_before[from];
  };
  for (int32_t l : kept) {
    const LatticeArc &a = links_[l];
    InputLatticeArc arc{id[a.src], id[a.dst], a.olabel, a.graph_cost, a.acoustic_cost,
                        static_cast<int32_t>(in.labels.size()), 0};
    if (a.ilabel) {
      const int32_t searched = nodes_[a.dst].frame;
      const int32_t frame = frame_map[searched - 1];
      arc.acoustic_cost += static_cast<float>(put_blanks(last_input_frame(searched - 1) + 1,
                                                         frame));
      in.labels.push_back(a.ilabel);
    }
    arc.string_length = static_cast<int32_t>(in.labels.size()) - arc.string_begin;
    in.arcs.push_back(arc);
  }
  in.final_graph.assign(in.num_states, std::numeric_limits<float>::infinity());
  in.final_acoustic.assign(in.num_states, 0.0f);
  in.final_string_begin.assign(in.num_states, 0);
  in.final_string_length.assign(in.num_states, 0);
  for (int32_t n = 0; n < num_nodes; ++n) {
    if (id[n] < 0 || !(end_cost[n] < kInf)) continue;
    const int32_t s = id[n];
    in.final_graph[s] = end_cost[n];
    in.final_string_begin[s] = static_cast<int32_t>(in.labels.size());
    in.final_acoustic[s] = static_cast<float>(
        put_blanks(last_input_frame(nodes_[n].frame) + 1, num_frames));
    in.final_string_length[s] = static_cast<int32_t>(in.labels.size()) -
                                in.final_string_begin[s];
  }
  DeterminizeOptions det;
  det.beam = opts_.lattice_beam;
  det.max_states = opts_.lattice_max_states;
  det.max_arcs = opts_.lattice_max_arcs;
  DeterminizeWithRetries(in, det, &out->word_lattice);
}

// The N best paths of the word lattice (distinct word sequences: it is deterministic), by
// A* over its states with the exact backward costs as the heuristic.
void Search::WordLatticeNBest(const std::vector<float> &skipped_cost, DecodeResult *out) const {
  const WordLattice &lat = out->word_lattice;
  if (lat.start < 0) return;
  const int32_t n = lat.num_states;
  const int32_t num_frames = static_cast<int32_t>(skipped_cost.size());
  std::vector<int32_t> first(n + 1, 0), indegree(n, 0);  // arcs are sorted by source
  for (const WordLatticeArc &a : lat.arcs) {
    ++first[a.src + 1];
    ++indegree[a.dst];
  }
  for (int32_t s = 0; s < n; ++s) first[s + 1] += first[s];
  std::vector<int32_t> order;
  for (int32_t s = 0; s < n; ++s)
    if (!indegree[s]) order.push_back(s);
  for (size_t i = 0; i < order.size(); ++i)
    for (int32_t k = first[order[i]]; k < first[order[i] + 1]; ++k)
      if (!--indegree[lat.arcs[k].dst]) order.push_back(lat.arcs[k].dst);
  std::vector<double> beta(n, kInf);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const int32_t s = *it;
    double b = static_cast<double>(lat.final_graph[s]) + lat.final_acoustic[s];
    for (int32_t k = first[s]; k < first[s + 1]; ++k)
      b = std::min(b, static_cast<double>(lat.arcs[k].graph_cost) + lat.arcs[k].acoustic_cost +
                          beta[lat.arcs[k].dst]);
    beta[s] = b;
  }
  struct Partial {
    int32_t state, arc, parent;  // arc into state (-1 at the start), parent partial
    double cost;
  };
  struct Item {
    double priority;
    int32_t partial;
    bool complete;
    bool operator<(const Item &o) const {
      if (priority != o.priority) return priority > o.priority;
      return partial > o.partial;
    }
  };
  const double limit = NBestLimit(beta[lat.start], lat.beam);
  std::vector<Partial> partials{Partial{lat.start, -1, -1, 0.0}};
  std::priority_queue<Item> heap;
  if (beta[lat.start] < kInf) heap.push(Item{beta[lat.start], 0, false});
  int32_t expansions = 0;
  while (!heap.empty() && static_cast<int32_t>(out->lattice_nbest.size()) < opts_.nbest &&
         expansions < kMaxPrefixExpansions) {
    const Item item = heap.top();
    heap.pop();
    if (item.priority > limit) break;  // beyond the beam costs may be above the best path's
    const Partial p = partials[item.partial];
    if (item.complete) {
      std::vector<int32_t> arcs;
      for (int32_t q = item.partial; partials[q].arc >= 0; q = partials[q].parent)
        arcs.push_back(partials[q].arc);
      std::reverse(arcs.begin(), arcs.end());
      Hypothesis hyp;
      std::vector<int32_t> frame_label;
      double graph = lat.final_graph[p.state], acoustic = lat.final_acoustic[p.state];
      for (int32_t k : arcs) {
        const WordLatticeArc &a = lat.arcs[k];
        hyp.word_ids.push_back(a.word);
        graph += a.graph_cost;
        acoustic += a.acoustic_cost;
        for (int32_t i = 0; i < a.string_length; ++i)
          frame_label.push_back(lat.labels[a.string_begin + i] - 1);
      }
      for (int32_t i = 0; i < lat.final_string_length[p.state]; ++i)
        frame_label.push_back(lat.labels[lat.final_string_begin[p.state] + i] - 1);
      if (static_cast<int32_t>(frame_label.size()) != num_frames)
        throw DeterminizeError("word lattice path does not read one label per frame");
      hyp.graph_cost = graph;
      hyp.acoustic_cost = acoustic;
      hyp.total_cost = graph + acoustic;
      SetTokens(frame_label, &hyp);
      out->lattice_nbest.push_back(std::move(hyp));
      continue;
    }
    ++expansions;
    const double final_cost = static_cast<double>(lat.final_graph[p.state]) +
                              lat.final_acoustic[p.state];
    if (final_cost < kInf) heap.push(Item{p.cost + final_cost, item.partial, true});
    for (int32_t k = first[p.state]; k < first[p.state + 1]; ++k) {
      const WordLatticeArc &a = lat.arcs[k];
      const double cost = p.cost + a.graph_cost + a.acoustic_cost;
      if (!(beta[a.dst] < kInf)) continue;
      partials.push_back(Partial{a.dst, k, item.partial, cost});
      heap.push(Item{cost + beta[a.dst], static_cast<int32_t>(partials.size()) - 1, false});
    }
  }
}

}  // namespace tingxie
