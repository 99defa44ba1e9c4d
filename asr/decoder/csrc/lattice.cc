// Lattice pruning and the distinct N-best (the lattice half of Search, see decoder.h).
//
// 1. Backward costs (beta): from the last frame's tokens (their final weights, or 0 when no
//    final state was reached) back over the recorded links, frame by frame; the epsilon
//    links inside a frame are relaxed until nothing changes.
// 2. Pruning: a link survives when forward cost of its source + its weight + backward
//    cost of its target is within lattice_beam of the best path.
// 3. N-best: best-first search over word prefixes. A search item is a prefix together with
//    the set of lattice nodes reachable by it (each with its best cost), closed over links
//    without a word label; its priority, min over the set of cost + beta, is exact, so
//    items come off the heap in the order of their best completion, and a prefix followed
//    by "end" is a complete hypothesis whose cost is final. Each word sequence is one path
//    in the prefix tree, so the hypotheses are distinct by construction: this is the
//    determinisation of the lattice over its word labels, done lazily for the N best only.
#include <algorithm>
#include <cmath>
#include <queue>
#include <unordered_map>

#include "decoder.h"

namespace tingxie {
namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int32_t kMaxPrefixExpansions = 200000;  // a bound on pathological lattices
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

void Search::PruneLattice() {
  const int32_t num_nodes = static_cast<int32_t>(nodes_.size());
  const int32_t num_links = static_cast<int32_t>(links_.size());
  float best = kInf;
  std::vector<float> beta(num_nodes, kInf);
  for (const Token &tok : cur_) {
    best = std::min(best, tok.cost);
    beta[tok.node] = 0.0f;
  }
  BackwardCosts(&beta);
  const float limit = best + opts_.lattice_beam;
  std::vector<uint8_t> keep_node(num_nodes, 0), keep_link(num_links, 0);
  keep_node[0] = 1;
  for (const Token &tok : cur_) {  // back-pointer chains (and their links) stay
    for (int32_t n = tok.node; n >= 0 && !keep_node[n]; n = nodes_[n].prev) {
      keep_node[n] = 1;
      if (nodes_[n].best_link >= 0) keep_link[nodes_[n].best_link] = 1;
    }
  }
  for (int32_t l = 0; l < num_links; ++l) {
    const LatticeArc &a = links_[l];
    if (keep_link[l] ||
        nodes_[a.src].cost + a.graph_cost + a.acoustic_cost + beta[a.dst] <= limit) {
      keep_link[l] = 1;
      keep_node[a.src] = keep_node[a.dst] = 1;
    }
  }
  // Compact, preserving order (the per-frame link ranges stay contiguous).
  std::vector<int32_t> node_id(num_nodes, -1), links_before(num_links + 1, 0);
  int32_t kept_nodes = 0;
  for (int32_t n = 0; n < num_nodes; ++n)
    if (keep_node[n]) node_id[n] = kept_nodes++;
  for (int32_t l = 0; l < num_links; ++l) links_before[l + 1] = links_before[l] + keep_link[l];
  for (int32_t n = 0; n < num_nodes; ++n) {
    if (!keep_node[n]) continue;
    Node node = nodes_[n];
    node.prev = node.prev >= 0 ? node_id[node.prev] : -1;
    node.best_link =
        node.best_link >= 0 && keep_link[node.best_link] ? links_before[node.best_link] : -1;
    nodes_[node_id[n]] = node;
  }
  nodes_.resize(kept_nodes);
  for (int32_t l = 0; l < num_links; ++l) {
    if (!keep_link[l]) continue;
    LatticeArc a = links_[l];
    a.src = node_id[a.src];
    a.dst = node_id[a.dst];
    links_[links_before[l]] = a;
  }
  links_.resize(links_before[num_links]);
  for (int32_t &mark : emit_begin_) mark = links_before[mark];
  for (int32_t &mark : eps_begin_) mark = links_before[mark];
  for (Token &tok : cur_) tok.node = node_id[tok.node];
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
    end_cost[n] = out->reached_final ? EndCost(nodes_[n].state, context)
                                     : (context >= 0 ? open_bonus : 0.0f);
  }

  // 1. beta
  std::vector<float> beta(end_cost);
  BackwardCosts(&beta);
  const float best = beta[0];
  if (!(best < kInf)) return;

  // 2. prune
  const float limit = best + opts_.lattice_beam;
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

  if (opts_.keep_lattice) {
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

}  // namespace tingxie
