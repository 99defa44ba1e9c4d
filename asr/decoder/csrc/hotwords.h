// Hotword biasing: a token-level Aho-Corasick automaton whose state travels in each search
// token (issue 8).
//
// Nodes are the prefixes of the hotwords' token spellings (node 0 = the root, the empty
// prefix); goto edges extend a prefix by one token, failure links lead to the longest proper
// suffix that is also a prefix. Each node carries `acc`: the bonus (a cost reduction, >= 0)
// granted so far along its prefix, per-token bonus x hotword weight x depth (in cost units:
// the Python side multiplies the log-posterior bonus by the acoustic scale). Reading a token
// moves s -> s' (goto, else failure links then goto, else the root) and changes the path
// cost by -(acc(s') - acc(s)): a bonus per matched token, and the partial bonus taken back
// when a prefix fails. Reaching the end of a hotword banks acc(s') (up to the cap per
// utterance) and returns to the root, so the bonus is kept. A partial match still open at
// the end of the utterance is taken back with the final weight. The moves are precomputed
// into a dense node x token table (Finish), so a move costs one lookup per emitting arc.
//
// Which tokens are "read": in CTC mode an emitting arc reads its token when it is not blank
// and not a repeat of the path's previous frame (the collapsed token sequence); in sync mode
// every emitting arc reads its token.
//
// Out-of-vocabulary hotwords (words the graph cannot output) get a small word graph beside
// TLG: a trie of their spellings. A search token at a word boundary of TLG may leave it into
// the trie, paying oov_entry_cost (the stand-in for the LM's probability of an unknown word),
// and on completing a spelling returns to the TLG state it left, outputting the word (label
// words.size() + i), so the LM context skips over the name.
//   Word boundary: a TLG state with an input-epsilon arc without output, i.e. G's back-off
// (#0), which in L∘G only a state between two words has: a state inside a word has no
// epsilon arc, or only the #k arc that ends a word that is a prefix of another and carries
// that word's (delayed) output. A unigram G has no back-off: there the final states, which
// are between words too (a word's inside is never final). (Not with higher orders: their
// final unigram state is reached by back-off from states that are boundaries already, and
// entering from it too costs time for paths that lose the LM context.) This holds whatever the spelling -- characters + `|`, BPE
// pieces with `▁` and no end token, Chinese characters where any character may begin or
// continue a word -- so a name never lands inside a word or before a word whose output is
// still pending. (G's unigram state has no back-off, but a token there came by back-off
// from a state that has one. compact topology: only its token-state-0 states, those without
// a token self-loop; the others reach them by epsilon.)
//   CTC: T's state (the last token, for repeats) is not tracked in the trie, so the trie
// reads blanks and repeats in place and returns to the return state's blank successor
// (T's after-blank state) -- at once on the frame that completes the spelling, and again on
// each repeat of its last token, which a token still in the trie ("done") reads. The token
// that returned may not read that last token again as a new token next (it is a repeat of
// the name's end): Token::blocked_ilabel. Sync: returns at once to the state it left.
//   Contexts: a token inside the trie at node n has context -(n + 1); one whose spelling is
// complete ("done", CTC) -(num_oov_nodes + n + 1). Its state is the TLG return state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace tingxie {

struct HotwordAutomaton {
  std::vector<int32_t> edge_begin;  // per node: its goto edges [edge_begin[n], edge_begin[n+1])
  std::vector<int32_t> edge_token;  // sorted per node: token column
  std::vector<int32_t> edge_next;
  std::vector<int32_t> fail;        // failure link per node (root: 0)
  std::vector<float> acc;           // bonus accumulated along the node's prefix
  std::vector<uint8_t> is_end;      // a hotword ends here
  float cap = 0;                    // most bonus banked per utterance
  std::vector<int32_t> root_next;   // dense goto of the root (-1: none), built by Finish()
  std::vector<int32_t> delta;       // dense Next() over all nodes (empty: not built)
  int32_t stride = 0;               // tokens per row of delta
  mutable int32_t checked_for = -1; // the token count it was validated against (binding)

  // The out-of-vocabulary side graph (empty: none).
  std::vector<int32_t> oov_edge_begin{0, 0};  // trie over token columns, node 0 = root
  std::vector<int32_t> oov_edge_token, oov_edge_next;
  std::vector<int32_t> oov_word{-1};  // per trie node: output label if a spelling ends there, else -1
  std::vector<std::string> oov_words;  // their texts, label words.size() + i
  float oov_entry_cost = 0;         // cost of leaving TLG for the side graph
  float oov_bonus = 0;              // per token read in the side graph
  bool compact_topology = false;    // TLG's T is the compact one (boundary test above)
  bool unigram_lm = false;          // G has no back-off: final states are boundaries

  bool has_oov() const { return oov_word.size() > 1; }
  int32_t num_oov_nodes() const { return static_cast<int32_t>(oov_word.size()); }
  int32_t OovInside(int32_t node) const { return -(node + 1); }
  int32_t OovDone(int32_t node) const { return -(num_oov_nodes() + node + 1); }
  int32_t OovNode(int32_t context) const {  // context < 0
    const int32_t i = -context - 1;
    return i < num_oov_nodes() ? i : i - num_oov_nodes();
  }
  bool IsOovDone(int32_t context) const { return -context - 1 >= num_oov_nodes(); }
  bool OovHasChildren(int32_t node) const {
    return oov_edge_begin[node] < oov_edge_begin[node + 1];
  }

  // Builds the dense transition table: delta[node * stride + token] = Next(node, token) with
  // the failure links resolved, so that a search token moves in one lookup. Filled in
  // breadth-first order (a failure link leads to a shallower node, whose row is done). Too
  // large a table (> max_dense_entries) or arrays that do not form a trie leave only the root
  // row dense; the binding's check rejects malformed arrays before any search.
  static constexpr int64_t kMaxDenseEntries = int64_t(1) << 22;  // 16 MB
  void Finish(int32_t num_tokens, int64_t max_dense_entries = kMaxDenseEntries) {
    root_next.assign(num_tokens, -1);
    delta.clear();
    stride = num_tokens;
    const int32_t n = num_nodes();
    if (fail.empty() || static_cast<int32_t>(edge_begin.size()) != n + 1) return;
    for (int32_t e = edge_begin[0]; e < edge_begin[1]; ++e)
      if (edge_token[e] >= 0 && edge_token[e] < num_tokens) root_next[edge_token[e]] = edge_next[e];
    if (static_cast<int64_t>(n) * num_tokens > max_dense_entries) return;
    std::vector<int32_t> table(static_cast<size_t>(n) * num_tokens, -1), order{0};
    std::vector<uint8_t> seen(n, 0);
    seen[0] = 1;
    for (size_t i = 0; i < order.size(); ++i) {
      const int32_t v = order[i];
      if (edge_begin[v] < 0 || edge_begin[v] > edge_begin[v + 1] ||
          edge_begin[v + 1] > static_cast<int32_t>(edge_token.size()))
        return;
      const int32_t f = fail[v];
      if (f < 0 || f >= n || (v != 0 && !seen[f]) || (v != 0 && f == v)) return;
      int32_t *row = &table[static_cast<size_t>(v) * num_tokens];
      if (v == 0) {
        for (int32_t t = 0; t < num_tokens; ++t) row[t] = 0;
      } else {
        const int32_t *fail_row = &table[static_cast<size_t>(f) * num_tokens];
        if (fail_row[0] < 0) return;  // the failure node's row is not done yet
        std::copy(fail_row, fail_row + num_tokens, row);
      }
      for (int32_t e = edge_begin[v]; e < edge_begin[v + 1]; ++e) {
        const int32_t t = edge_token[e], next = edge_next[e];
        if (t < 0 || t >= num_tokens || next <= 0 || next >= n || seen[next]) return;
        row[t] = next;
        seen[next] = 1;
        order.push_back(next);
      }
    }
    if (static_cast<int32_t>(order.size()) == n) delta.swap(table);
  }

  int32_t num_nodes() const { return static_cast<int32_t>(fail.size()); }

  int32_t Goto(int32_t node, int32_t token) const {
    int32_t lo = edge_begin[node], hi = edge_begin[node + 1];
    while (lo < hi) {
      int32_t mid = (lo + hi) / 2;
      if (edge_token[mid] < token)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo < edge_begin[node + 1] && edge_token[lo] == token ? edge_next[lo] : -1;
  }

  // The node after reading token from node.
  int32_t Next(int32_t node, int32_t token) const {
    if (!delta.empty())
      return token >= 0 && token < stride ? delta[static_cast<size_t>(node) * stride + token] : 0;
    while (node != 0) {
      int32_t next = Goto(node, token);
      if (next >= 0) return next;
      node = fail[node];
    }
    if (token >= 0 && token < static_cast<int32_t>(root_next.size())) {
      int32_t next = root_next[token];
      return next >= 0 ? next : 0;
    }
    int32_t next = Goto(0, token);
    return next >= 0 ? next : 0;
  }
};

}  // namespace tingxie
