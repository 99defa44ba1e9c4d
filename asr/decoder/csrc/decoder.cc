#include "decoder.h"

#include <algorithm>
#include <cmath>

namespace tingxie {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Blank skipping: a token "could repeat" across a skipped blank run when its posterior is
// above this (ln 0.01) both before and after the run.
const float kLogRepeatFloor = std::log(0.01f);

inline uint32_t HashKey(int32_t state, int32_t context, int32_t lm_state) {
  return static_cast<uint32_t>(state) * 0x9E3779B1u ^ static_cast<uint32_t>(context) * 0x85EBCA77u ^
         static_cast<uint32_t>(lm_state) * 0xC2B2AE3Du;
}

}  // namespace

Search::Search(const Graph &graph, const DecoderOptions &opts, const Vocabulary *vocab,
               const BigLm *big_lm)
    : graph_(graph), opts_(opts), vocab_(vocab), big_(big_lm),
      lattice_mode_(opts.nbest > 1 || opts.keep_lattice) {
  if (big_) lm_states_ = std::make_unique<BigLmStates>(*big_);
  hash_.assign(1024, -1);
  hash_mask_ = 1023;
}

void Search::ClearHash() {
  for (int32_t slot : hash_used_) hash_[slot] = -1;
  hash_used_.clear();
}

int32_t Search::FindOrAdd(int32_t state, int32_t context, int32_t lm_state, bool *inserted) {
  if ((next_.size() + 1) * 2 > hash_.size()) {  // grow and rehash
    hash_.assign(hash_.size() * 2, -1);
    hash_mask_ = static_cast<uint32_t>(hash_.size() - 1);
    hash_used_.clear();
    for (int32_t i = 0; i < static_cast<int32_t>(next_.size()); ++i) {
      uint32_t slot = HashKey(next_[i].state, next_[i].context, next_[i].lm_state) & hash_mask_;
      while (hash_[slot] >= 0) slot = (slot + 1) & hash_mask_;
      hash_[slot] = i;
      hash_used_.push_back(slot);
    }
  }
  uint32_t slot = HashKey(state, context, lm_state) & hash_mask_;
  while (true) {
    int32_t i = hash_[slot];
    if (i < 0) break;
    if (next_[i].state == state && next_[i].context == context && next_[i].lm_state == lm_state) {
      *inserted = false;
      return i;
    }
    slot = (slot + 1) & hash_mask_;
  }
  int32_t i = static_cast<int32_t>(next_.size());
  hash_[slot] = i;
  hash_used_.push_back(slot);
  next_.push_back(Token{state, context, kInf, -1, 0, 0.0f, 0, lm_state});
  *inserted = true;
  return i;
}

// Kaldi's cutoff (beam, tightened by max_active, loosened by min_active). The order
// statistics are computed only when they can bind: the max_active-th cost is below the beam
// cutoff only if more than max_active tokens are inside the beam, and the min_active-th cost
// is above it only if at most min_active are. Same result as always computing them; as in
// Kaldi, with no more than min_active tokens alive nothing is pruned (the cutoff is +inf).
float Search::GetCutoff(float *adaptive_beam, int32_t *best) {
  float best_cost = kInf;
  *best = -1;
  for (int32_t i = 0; i < static_cast<int32_t>(cur_.size()); ++i) {
    if (cur_[i].cost < best_cost) {
      best_cost = cur_[i].cost;
      *best = i;
    }
  }
  const float beam_cutoff = best_cost + opts_.beam;
  const size_t n = cur_.size();
  const size_t max_active = static_cast<size_t>(opts_.max_active);
  const size_t min_active = static_cast<size_t>(opts_.min_active);
  size_t in_beam = 0;
  for (const Token &tok : cur_) in_beam += tok.cost < beam_cutoff;
  const bool max_may_bind = n > max_active && in_beam > max_active;
  const bool min_may_bind = in_beam <= min_active;
  if (min_may_bind && n <= min_active) {
    *adaptive_beam = kInf;
    return kInf;
  }
  if (max_may_bind) {
    tmp_costs_.clear();
    for (const Token &tok : cur_) tmp_costs_.push_back(tok.cost);
    std::nth_element(tmp_costs_.begin(), tmp_costs_.begin() + max_active, tmp_costs_.end());
    const float max_active_cutoff = tmp_costs_[max_active];
    if (max_active_cutoff < beam_cutoff) {
      *adaptive_beam = max_active_cutoff - best_cost + opts_.beam_delta;
      return max_active_cutoff;
    }
  }
  if (min_may_bind) {
    // The min_active-th cost (0-based) overall is, with in_beam costs below the beam
    // cutoff, the (min_active - in_beam)-th of the costs at or above it.
    float min_active_cutoff = best_cost;
    if (min_active > 0) {
      tmp_costs_.clear();
      for (const Token &tok : cur_)
        if (!(tok.cost < beam_cutoff)) tmp_costs_.push_back(tok.cost);
      const size_t k = min_active - in_beam;
      std::nth_element(tmp_costs_.begin(), tmp_costs_.begin() + k, tmp_costs_.end());
      min_active_cutoff = tmp_costs_[k];
    }
    if (min_active_cutoff > beam_cutoff) {
      *adaptive_beam = min_active_cutoff - best_cost + opts_.beam_delta;
      return min_active_cutoff;
    }
  }
  *adaptive_beam = opts_.beam;
  return beam_cutoff;
}

void Search::Emit(const Token &tok, int32_t state, int32_t context, int32_t lm_state,
                  int32_t ilabel, int32_t olabel, float w, float ac, int32_t blocked_ilabel,
                  float banked, int32_t frame, float *next_cutoff, float adaptive_beam) {
  const float new_cost = w + tok.cost + ac;
  if (!(new_cost < *next_cutoff)) return;
  if (new_cost + adaptive_beam < *next_cutoff) *next_cutoff = new_cost + adaptive_beam;
  const float cost = (tok.cost + w) + ac;
  bool inserted;
  int32_t i = FindOrAdd(state, context, lm_state, &inserted);
  const Node node{tok.node, ilabel, olabel, w, ac, cost, frame + 1, state, context,
                  lattice_mode_ ? static_cast<int32_t>(links_.size()) : -1, lm_state};
  if (inserted || next_[i].cost > cost) {
    if (inserted) {
      next_[i].node = static_cast<int32_t>(nodes_.size());
      nodes_.push_back(node);
      if (context >= 0 && graph_.has_epsilons(state)) queue_.push_back(i);
    } else {
      nodes_[next_[i].node] = node;
    }
    next_[i].cost = cost;
    next_[i].last_ilabel = ilabel;
    next_[i].banked = banked;
    next_[i].blocked_ilabel = blocked_ilabel;
  }
  if (lattice_mode_)
    links_.push_back(LatticeArc{tok.node, next_[i].node, ilabel, olabel, w, ac});
}

void Search::ProcessEmitting(const float *scores, int32_t frame, float *next_cutoff_out) {
  float adaptive_beam;
  int32_t best;
  const float cutoff = GetCutoff(&adaptive_beam, &best);
  const float wip = opts_.word_insertion_penalty;
  next_.clear();
  ClearHash();
  if (lattice_mode_) {
    emit_begin_.push_back(static_cast<int32_t>(links_.size()));
    node_begin_.push_back(static_cast<int32_t>(nodes_.size()));
  }
  float next_cutoff = kInf;
  if (best >= 0 && cur_[best].context >= 0) {  // the best token first: a tight bound
    const Token &tok = cur_[best];
    const Graph::ArcSpan st = graph_.span(tok.state);
    const Arc *arcs = st.begin;
    for (uint32_t a = st.num_input_eps; a < st.num_arcs; ++a) {
      if (arcs[a].ilabel == tok.blocked_ilabel) continue;
      int32_t lm_state;
      float w = arcs[a].weight + (arcs[a].olabel ? wip : 0.0f) +
                BigLmCost(tok.lm_state, arcs[a].olabel, &lm_state);
      float new_cost = w + tok.cost + scores[arcs[a].ilabel];
      if (new_cost + adaptive_beam < next_cutoff) next_cutoff = new_cost + adaptive_beam;
    }
  }
  queue_.clear();  // new tokens with input-epsilon arcs, for ProcessNonEmitting
  for (size_t t = 0; t < cur_.size(); ++t) {
    // Two-stage prefetch: the state of a token 8 ahead, the arcs of the one 4 ahead.
    if (t + 8 < cur_.size()) __builtin_prefetch(graph_.span_address(cur_[t + 8].state));
    if (t + 4 < cur_.size()) __builtin_prefetch(graph_.span(cur_[t + 4].state).begin);
    const Token &tok = cur_[t];  // cur_ does not change while a frame is expanded
    if (!(tok.cost < cutoff)) continue;
    if (tok.context < 0) {  // inside the out-of-vocabulary side graph
      ExpandOov(tok, scores, frame, &next_cutoff, adaptive_beam);
      continue;
    }
    const Graph::ArcSpan st = graph_.span(tok.state);
    const Arc *arcs = st.begin;
    for (uint32_t a = st.num_input_eps; a < st.num_arcs; ++a) {
      const Arc &arc = arcs[a];
      if (arc.ilabel == tok.blocked_ilabel) continue;  // the repeat of a name's last token
      const float ac = scores[arc.ilabel];
      int32_t lm_state;
      float w = arc.weight + (arc.olabel ? wip : 0.0f) + BigLmCost(tok.lm_state, arc.olabel, &lm_state);
      int32_t context = tok.context;
      float banked = tok.banked;
      const bool reads = !opts_.ctc || (arc.ilabel - 1 != opts_.blank_column &&
                                        arc.ilabel != tok.last_ilabel);
      if (hot_ && reads) {
        int32_t next = hot_->Next(context, arc.ilabel - 1);
        float gain = hot_->acc[next] - hot_->acc[context];
        if (hot_->is_end[next]) {  // bank the hotword's bonus (up to the cap), back to root
          const float kept = std::max(0.0f, std::min(hot_->acc[next], hot_->cap - banked));
          gain = kept - hot_->acc[context];
          banked += kept;
          next = 0;
        }
        w -= gain;
        context = next;
      }
      const float new_cost = w + tok.cost + ac;
      if (!(new_cost < next_cutoff)) continue;
      Emit(tok, arc.nextstate, context, lm_state, arc.ilabel, arc.olabel, w, ac, 0, banked,
           frame, &next_cutoff, adaptive_beam);
    }
    if (hot_ && hot_->has_oov() && AtWordBoundary(tok.state))
      EnterOov(tok, scores, frame, &next_cutoff, adaptive_beam);
  }
  *next_cutoff_out = next_cutoff;
}

// A state between two words (hotwords.h): it has an input-epsilon arc without output
// (G's back-off), or, with a unigram G (no back-off), it is final; with the compact T, also
// no token self-loop (T's state 0).
bool Search::AtWordBoundary(int32_t state) const {
  const GraphState &st = graph_.state(state);
  const Arc *arcs = graph_.arcs(state);
  bool boundary = hot_->unigram_lm && graph_.final_cost(state) < kInf;
  for (uint32_t a = 0; a < st.num_input_eps && !boundary; ++a) boundary = arcs[a].olabel == 0;
  if (!boundary || !hot_->compact_topology) return boundary;
  for (uint32_t a = st.num_input_eps; a < st.num_arcs; ++a)
    if (arcs[a].nextstate == state && arcs[a].ilabel != opts_.blank_column + 1) return false;
  return true;
}

// The state a blank leads to from state (T's after-blank state), -1 if none.
int32_t Search::BlankSuccessor(int32_t state) const {
  const int32_t blank = opts_.blank_column + 1;
  const GraphState &st = graph_.state(state);
  const Arc *arcs = graph_.arcs(state);
  for (uint32_t a = st.num_input_eps; a < st.num_arcs && arcs[a].ilabel <= blank; ++a)
    if (arcs[a].ilabel == blank && arcs[a].weight == 0.0f) return arcs[a].nextstate;
  return -1;
}

// Leaves TLG at a word boundary into the out-of-vocabulary trie. The open hotword prefix of
// the token, if any, is given back (a name ends any match in progress).
void Search::EnterOov(const Token &tok, const float *scores, int32_t frame,
                      float *next_cutoff, float adaptive_beam) {
  const HotwordAutomaton &h = *hot_;
  const int32_t return_state = opts_.ctc ? BlankSuccessor(tok.state) : tok.state;
  if (return_state < 0) return;
  const float w = h.oov_entry_cost - h.oov_bonus + h.acc[tok.context];
  if (!(tok.cost + w + best_score_ < *next_cutoff)) return;  // no entry can survive
  for (int32_t e = h.oov_edge_begin[0]; e < h.oov_edge_begin[1]; ++e) {
    const int32_t column = h.oov_edge_token[e];
    if (opts_.ctc && column + 1 == tok.last_ilabel) continue;  // needs a blank first
    ReadOov(tok, return_state, h.oov_edge_next[e], column, w, scores, frame, next_cutoff,
            adaptive_beam);
  }
}

// Token tok (in TLG or the trie) reads column, reaching trie node `node`.
void Search::ReadOov(const Token &tok, int32_t return_state, int32_t node, int32_t column,
                     float w, const float *scores, int32_t frame, float *next_cutoff,
                     float adaptive_beam) {
  const HotwordAutomaton &h = *hot_;
  const int32_t ilabel = column + 1, word = h.oov_word[node];
  const float ac = scores[ilabel];
  if (word < 0 || h.OovHasChildren(node))  // a longer spelling may go on from here
    Emit(tok, return_state, h.OovInside(node), tok.lm_state, ilabel, 0, w, ac, 0, tok.banked, frame,
         next_cutoff, adaptive_beam);
  if (word < 0) return;
  if (opts_.ctc)  // stays "done" to read the repeats of its last token
    Emit(tok, return_state, h.OovDone(node), tok.lm_state, ilabel, word, w, ac, 0, tok.banked, frame,
         next_cutoff, adaptive_beam);
  Emit(tok, return_state, 0, tok.lm_state, ilabel, word, w, ac, opts_.ctc ? ilabel : 0, tok.banked, frame,
       next_cutoff, adaptive_beam);
}

void Search::ExpandOov(const Token &tok, const float *scores, int32_t frame,
                       float *next_cutoff, float adaptive_beam) {
  const HotwordAutomaton &h = *hot_;
  const int32_t node = h.OovNode(tok.context);
  if (h.IsOovDone(tok.context)) {  // CTC: a repeat of the last token, then back to TLG again
    const int32_t last = tok.last_ilabel;
    Emit(tok, tok.state, tok.context, tok.lm_state, last, 0, 0.0f, scores[last], 0, tok.banked, frame,
         next_cutoff, adaptive_beam);
    Emit(tok, tok.state, 0, tok.lm_state, last, 0, 0.0f, scores[last], last, tok.banked, frame, next_cutoff,
         adaptive_beam);
    return;
  }
  if (opts_.ctc) {  // blank, and the repeat of the last token, stay in place
    const int32_t blank = opts_.blank_column + 1;
    Emit(tok, tok.state, tok.context, tok.lm_state, blank, 0, 0.0f, scores[blank], 0, tok.banked, frame,
         next_cutoff, adaptive_beam);
    if (tok.last_ilabel != blank && tok.last_ilabel > 0)
      Emit(tok, tok.state, tok.context, tok.lm_state, tok.last_ilabel, 0, 0.0f, scores[tok.last_ilabel], 0,
           tok.banked, frame, next_cutoff, adaptive_beam);
  }
  for (int32_t e = h.oov_edge_begin[node]; e < h.oov_edge_begin[node + 1]; ++e) {
    const int32_t column = h.oov_edge_token[e];
    if (opts_.ctc && column + 1 == tok.last_ilabel) continue;  // a repeat, not a new token
    ReadOov(tok, tok.state, h.oov_edge_next[e], column, -h.oov_bonus, scores, frame,
            next_cutoff, adaptive_beam);
  }
}

// Expands input-epsilon arcs from the tokens in queue_ (those of next_ that have any).
void Search::ProcessNonEmitting(float cutoff, int32_t frame) {
  const float wip = opts_.word_insertion_penalty;
  if (lattice_mode_) eps_begin_.push_back(static_cast<int32_t>(links_.size()));
  while (!queue_.empty()) {
    const int32_t i = queue_.back();
    queue_.pop_back();
    const Token tok = next_[i];
    if (tok.cost > cutoff || tok.context < 0) continue;
    const Graph::ArcSpan st = graph_.span(tok.state);
    const Arc *arcs = st.begin;
    for (uint32_t a = 0; a < st.num_input_eps; ++a) {
      const Arc &arc = arcs[a];
      int32_t lm_state;
      const float w = arc.weight + (arc.olabel ? wip : 0.0f) +
                      BigLmCost(tok.lm_state, arc.olabel, &lm_state);
      const float cost = tok.cost + w;
      if (cost > cutoff) continue;
      bool inserted;
      int32_t j = FindOrAdd(arc.nextstate, tok.context, lm_state, &inserted);
      if (inserted || next_[j].cost > cost) {
        next_[j].cost = cost;
        next_[j].last_ilabel = tok.last_ilabel;
        next_[j].banked = tok.banked;
        next_[j].blocked_ilabel = tok.blocked_ilabel;
        Node node{tok.node, 0, arc.olabel, w, 0.0f, cost, frame, arc.nextstate, tok.context,
                  lattice_mode_ ? static_cast<int32_t>(links_.size()) : -1, lm_state};
        if (inserted) {
          next_[j].node = static_cast<int32_t>(nodes_.size());
          nodes_.push_back(node);
        } else {
          nodes_[next_[j].node] = node;
        }
        if (graph_.has_epsilons(arc.nextstate)) queue_.push_back(j);
      }
      if (lattice_mode_)
        links_.push_back(LatticeArc{tok.node, next_[j].node, 0, arc.olabel, w, 0.0f});
    }
  }
}

// Mark-and-compact of the back-pointer nodes still reachable from the live tokens
// (first-best mode only: lattice links refer to every node).
void Search::CollectGarbage() {
  gc_map_.assign(nodes_.size(), -1);
  for (const Token &tok : cur_) {
    for (int32_t n = tok.node; n >= 0 && gc_map_[n] < 0; n = nodes_[n].prev) gc_map_[n] = 0;
  }
  int32_t kept = 0;
  for (size_t n = 0; n < nodes_.size(); ++n)
    if (gc_map_[n] >= 0) gc_map_[n] = kept++;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    if (gc_map_[n] < 0) continue;
    Node node = nodes_[n];
    if (node.prev >= 0) node.prev = gc_map_[node.prev];
    nodes_[gc_map_[n]] = node;
  }
  nodes_.resize(kept);
  for (Token &tok : cur_) tok.node = gc_map_[tok.node];
}

float Search::EndCost(int32_t state, int32_t context, int32_t lm_state) const {
  if (context < 0) return kInf;  // inside an out-of-vocabulary word
  const float final_cost = graph_.final_cost(state);
  if (final_cost == kInf) return kInf;
  return final_cost + (hot_ ? hot_->acc[context] : 0.0f) + (big_ ? lm_states_->End(lm_state) : 0.0f);
}

DecodeResult Search::Decode(const float *logp, int32_t num_frames, int32_t num_columns,
                            const HotwordAutomaton *hotwords) {
  Init(num_columns, hotwords);
  Advance(logp, num_frames);
  return Finalize();
}

void Search::Init(int32_t num_columns, const HotwordAutomaton *hotwords) {
  hot_ = hotwords && (hotwords->num_nodes() > 1 || hotwords->has_oov()) ? hotwords : nullptr;
  num_columns_ = num_columns;
  const int32_t blank = opts_.blank_column;
  skipping_ = opts_.ctc && opts_.blank_skip_threshold > 0 && blank >= 0 && blank < num_columns;
  log_skip_threshold_ = skipping_ ? std::log(opts_.blank_skip_threshold) : 0.0f;
  frame_map_.clear();
  skipped_cost_.clear();
  last_searched_ = pending_blank_ = -1;
  scores_.assign(num_columns + 1, 0.0f);
  gc_threshold_ = 1 << 14;  // back-pointer nodes before a collection (40 B each)

  nodes_.clear();
  links_.clear();
  emit_begin_.assign(1, 0);  // frame 0 has no emitting links
  eps_begin_.clear();
  node_begin_.assign(1, 0);
  extra_.clear();
  pruned_frontier_ = 0;
  cur_.clear();
  next_.clear();
  ClearHash();
  bool inserted;
  const int32_t lm_start = big_ ? lm_states_->Start() : 0;
  int32_t i = FindOrAdd(graph_.start(), 0, lm_start, &inserted);
  next_[i].cost = 0.0f;
  next_[i].node = 0;
  nodes_.push_back(Node{-1, 0, 0, 0.0f, 0.0f, 0.0f, 0, graph_.start(), 0, -1, lm_start});
  queue_.assign(1, i);
  ProcessNonEmitting(kInf, 0);
  cur_.swap(next_);
}

// Which frames are searched (blank skipping), and the blank cost of the skipped ones: a
// frame is decided when it arrives, a kept blank of a skipped run when the run ends.
void Search::Advance(const float *logp, int32_t num_frames) {
  const float scale = opts_.acoustic_scale;
  const int32_t blank = opts_.blank_column, columns = num_columns_;
  for (int32_t i = 0; i < num_frames; ++i) {
    const int32_t t = static_cast<int32_t>(skipped_cost_.size());
    const float *row = logp + static_cast<size_t>(i) * columns;
    if (skipping_ && row[blank] > log_skip_threshold_) {
      pending_blank_ = t;
      skipped_cost_.push_back(-scale * row[blank]);
      pending_row_.assign(row, row + columns);
      continue;
    }
    skipped_cost_.push_back(0.0f);
    if (pending_blank_ >= 0 && last_searched_ >= 0) {
      // Keep one blank of the skipped run when a token could repeat across it.
      const float *before = last_row_.data();
      bool repeat_possible = false;
      for (int32_t k = 0; k < columns && !repeat_possible; ++k)
        repeat_possible = k != blank && before[k] > kLogRepeatFloor && row[k] > kLogRepeatFloor;
      if (repeat_possible) {
        frame_map_.push_back(pending_blank_);
        skipped_cost_[pending_blank_] = 0.0f;
        SearchFrame(pending_row_.data());
      }
    }
    pending_blank_ = -1;
    last_searched_ = t;
    if (skipping_) last_row_.assign(row, row + columns);
    frame_map_.push_back(t);
    SearchFrame(row);
  }
}

void Search::SearchFrame(const float *row) {
  const int32_t f = static_cast<int32_t>(frame_map_.size()) - 1;
  if (cur_.empty()) return;  // every path was pruned (e.g. -inf posteriors everywhere)
  const float scale = opts_.acoustic_scale;
  float *scores = scores_.data();
  scores[0] = 0.0f;
  for (int32_t k = 0; k < num_columns_; ++k) scores[k + 1] = -(scale * row[k]);
  if (hot_ && hot_->has_oov()) best_score_ = *std::min_element(scores + 1, scores + num_columns_ + 1);
  float cutoff;
  ProcessEmitting(scores, f, &cutoff);
  ProcessNonEmitting(cutoff, f + 1);
  cur_.swap(next_);
  if (cur_.empty()) return;
  if (lattice_mode_ && (f + 1) % opts_.prune_interval == 0) PruneLattice();
  if (!lattice_mode_ && nodes_.size() > gc_threshold_) {
    CollectGarbage();
    gc_threshold_ = std::max<size_t>(1 << 14, nodes_.size() * 2);
  }
}

bool Search::Partial(Hypothesis *hyp) const {
  int32_t best_node = -1;
  float best_cost = kInf;
  for (const Token &tok : cur_) {
    if (tok.cost < best_cost) {
      best_cost = tok.cost;
      best_node = tok.node;
    }
  }
  if (best_node < 0) return false;
  Traceback(best_node, 0.0f, frame_map_, skipped_cost_, hyp);
  return true;
}

DecodeResult Search::Finalize() {
  DecodeResult result;
  const int32_t num_frames = static_cast<int32_t>(skipped_cost_.size());
  result.frames_searched = static_cast<int32_t>(frame_map_.size());
  result.work_bytes = WorkBytes();

  // The best token: final states first, any state as the fallback.
  int32_t best_node = -1;
  float best_total = kInf, best_final = 0.0f;
  for (const Token &tok : cur_) {
    float final_cost = EndCost(tok.state, tok.context, tok.lm_state);
    float total = tok.cost + final_cost;
    if (total < best_total) {
      best_total = total;
      best_node = tok.node;
      best_final = final_cost;
    }
  }
  result.reached_final = best_node >= 0;
  if (!result.reached_final) {
    for (const Token &tok : cur_) {
      const float open_bonus = hot_ && tok.context >= 0 ? hot_->acc[tok.context] : 0.0f;
      if (tok.cost + open_bonus < best_total) {
        best_total = tok.cost + open_bonus;
        best_node = tok.node;
        best_final = open_bonus;
      }
    }
  }
  if (best_node < 0) return result;  // nothing survived: empty hypothesis, not final
  Traceback(best_node, best_final, frame_map_, skipped_cost_, &result.best);
  if (result.best.total_cost == kInf) result.reached_final = false;

  if (lattice_mode_) {
    std::vector<int32_t> final_nodes;
    for (const Token &tok : cur_) final_nodes.push_back(tok.node);
    BuildNBest(final_nodes, frame_map_, skipped_cost_, num_frames, &result);
  }
  return result;
}

int64_t Search::WorkBytes() const {
  return static_cast<int64_t>(
      (cur_.capacity() + next_.capacity()) * sizeof(Token) +
      (hash_.capacity() + hash_used_.capacity() + queue_.capacity() + gc_map_.capacity() +
       emit_begin_.capacity() + eps_begin_.capacity() + node_begin_.capacity() +
      frame_map_.capacity()) * sizeof(int32_t) +
      (tmp_costs_.capacity() + extra_.capacity() + skipped_cost_.capacity()) * sizeof(float) + nodes_.capacity() * sizeof(Node) +
      links_.capacity() * sizeof(LatticeArc));
}

// Fills hyp from the back-pointer chain ending at node, plus the final weight.
void Search::Traceback(int32_t node, float final_cost, const std::vector<int32_t> &frame_map,
                       const std::vector<float> &skipped_cost, Hypothesis *hyp) const {
  std::vector<Step> steps;
  for (int32_t n = node; n >= 0 && nodes_[n].prev >= 0; n = nodes_[n].prev) {
    const Node &nd = nodes_[n];
    steps.push_back(Step{nd.ilabel, nd.olabel, nd.frame, nd.graph_cost, nd.acoustic_cost});
  }
  std::reverse(steps.begin(), steps.end());
  MakeHypothesis(steps, final_cost, frame_map, skipped_cost, hyp);
}

void Search::MakeHypothesis(const std::vector<Step> &steps, float final_cost,
                            const std::vector<int32_t> &frame_map,
                            const std::vector<float> &skipped_cost, Hypothesis *hyp) const {
  std::vector<int32_t> frame_label(skipped_cost.size(), opts_.ctc ? opts_.blank_column : -1);
  double graph = final_cost, acoustic = 0.0;
  for (const Step &step : steps) {
    graph += step.graph_cost;
    acoustic += step.acoustic_cost;
    if (step.olabel) hyp->word_ids.push_back(step.olabel);
    if (step.ilabel) frame_label[frame_map[step.frame - 1]] = step.ilabel - 1;
  }
  for (float c : skipped_cost) acoustic += c;
  hyp->graph_cost = graph;
  hyp->acoustic_cost = acoustic;
  hyp->total_cost = graph + acoustic;
  SetTokens(frame_label, hyp);
}

void Search::SetTokens(const std::vector<int32_t> &frame_label, Hypothesis *hyp) const {
  // Tokens: CTC collapses repeats and drops blanks; label-synchronous keeps every position.
  const int32_t blank = opts_.ctc ? opts_.blank_column : -1;
  int32_t prev = -1;
  for (int32_t t = 0; t < static_cast<int32_t>(frame_label.size()); ++t) {
    int32_t k = frame_label[t];
    if (k < 0 || k == blank) {
      prev = -1;
      continue;
    }
    if (opts_.ctc && k == prev) {
      hyp->token_frames.back().second = t;
    } else {
      hyp->tokens.push_back(k);
      hyp->token_frames.emplace_back(t, t);
    }
    prev = k;
  }
  if (vocab_) vocab_->SplitWords(hyp, hot_ ? &hot_->oov_words : nullptr);
}

}  // namespace tingxie
