// Token-passing Viterbi beam search over a TLG, with an optional word lattice.
//
// The algorithm (Kaldi's FasterDecoder, which it reproduces path for path):
//   A token is a (graph state, context state) pair with the best cost of reaching it so
//   far (graph cost + acoustic cost) and a back-pointer. Decoding starts with one token at
//   the start state and follows its input-epsilon arcs. Then for each frame t:
//     1. cutoff: the best token cost + beam, tightened to the max_active-th best cost when
//        more tokens are alive (histogram pruning), loosened to the min_active-th when
//        fewer would survive, and no pruning at all while at most min_active tokens are
//        alive (as Kaldi); the "adaptive beam" is the beam this implies;
//     2. emitting: every token under the cutoff follows its arcs with input label k >= 1
//        (input label k scores posterior column k-1 of frame t) into next frame's tokens,
//        pruned against a running bound (best new cost + adaptive beam), the best token
//        being expanded first so the bound is tight from the start;
//     3. non-emitting: input-epsilon arcs are followed from the new tokens (a work list;
//        a token whose cost improves is re-expanded), pruned against that bound.
//   At the end, the best token in a final state (cost + final weight) wins; if no token
//   reached a final state the best token is used and the result is flagged.
//
// Costs are -ln. Along a path, the acoustic cost is -acoustic_scale * sum_t logp[t][k_t],
// the graph cost is the sum of the graph arc weights, the final weight, and
// word_insertion_penalty for every arc with a word output. total = graph + acoustic.
//
// Blank skipping (CTC): a frame whose blank log-posterior exceeds ln(blank_skip_threshold)
// is not searched, as WeNet does; to keep repeats right (the two l's of "hello" need a blank
// between them), the last blank frame of a skipped run is searched after all when some
// token has posterior > 0.01 both in the searched frame before the run and in the one
// after it (WeNet compares only the two best tokens, which loses repeats whose frame
// before the run is led by another token). Skipped frames count as blank in the alignment
// and their blank cost is added to acoustic_cost.
//
// Hotwords (issue 8, hotwords.h): the search key is the pair (graph state, context state of
// the per-call Aho-Corasick automaton); context 0 is "no hotword prefix matched", negative
// contexts are positions inside the out-of-vocabulary side graph (entered at word-boundary
// states, hotwords.h). Bonuses and the OOV entry cost are part of the graph cost. Without hotwords the search is exactly FasterDecoder's.
//
// Big LM (big_lm.h): with a BigLm the search key gains a third part, the interned state pair
// of (the graph's own LM, the big LM); every word arc's graph cost gets big LM cost minus small
// LM cost, and the end cost the same for </s>. Lattice links, N-best and hotwords see those
// costs as graph costs. Without one the key's third part is always 0.
//
// Lifecycle (Kaldi's InitDecoding / AdvanceDecoding / GetBestPath / FinalizeDecoding):
// Init, then Advance with posteriors as they come (any number of frames per call), Partial
// for the best path so far, Finalize for the result. Decoding in chunks gives exactly the
// result of one Decode over the whole input: the search state carries over between calls
// (blank skipping keeps the last searched row and a pending skipped blank).
//
// Lattice: with lattice_beam > 0 and nbest > 1 (or a lattice asked for), every expansion
// that survives the beam is kept as a link between tokens. Every 25 frames the links are
// pruned incrementally, as Kaldi's PruneActiveTokens: each node keeps an "extra cost", how
// much worse than the best path through it to the current frame a path via it must be
// (0 at the newest frame); a frame's extra costs are recomputed from the next frame's, links
// whose extra cost exceeds lattice_beam are dropped, and the walk back stops at the first
// older frame whose extra costs did not move by more than a tenth of lattice_beam. This
// loses nothing within lattice_beam of the final best path, and the work per prune is that
// of the recent frames, not of the whole input. At the end links outside
// lattice_beam of the best path (forward + backward cost) are pruned and the distinct
// N-best word sequences within lattice_beam are read off by an exact A* search over word
// prefixes (on-the-fly determinisation of the pruned lattice over its word labels). With
// keep_lattice the pruned lattice is determinised on words (determinize.h, as Kaldi's
// DeterminizeLatticePruned) into the word lattice returned, or, with determinize_lattice
// false, returned as it is (state level).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "big_lm.h"
#include "determinize.h"
#include "graph.h"
#include "hotwords.h"
#include "words.h"

namespace tingxie {

// The search options. Their names, types, defaults, help and ranges are defined once, in
// asr/decoder/options.py (the table every flag and check derives from); the defaults here
// are the table's CTC-mode defaults (tests/test_decoder_options.py holds them equal), and
// the binding fills the struct by name through Register and checks nothing itself: the
// table's check runs before any options reach C++.
struct DecoderOptions {
  float beam = 13.0f;
  int32_t max_active = 7000;
  int32_t min_active = 200;
  float beam_delta = 0.5f;
  float lattice_beam = 6.0f;
  float acoustic_scale = 2.0f;
  float blank_skip_threshold = -1.0f;  // <0: off
  float word_insertion_penalty = 0.0f;
  int32_t nbest = 1;
  bool keep_lattice = false;
  bool determinize_lattice = true;
  int32_t lattice_max_states = 50000;
  int32_t lattice_max_arcs = 500000;
  int32_t prune_interval = 25;
  // Set by the Decoder from the graph and the mode, not user options:
  int32_t blank_column = 0;      // posterior column of the CTC blank
  bool ctc = true;               // CTC (blank, collapsed alignment) or label-synchronous

  // Every field by name (Kaldi's Register): visitor(name, pointer to the field).
  template <class Visitor>
  void Register(Visitor &&visit) {
    visit("beam", &beam);
    visit("max_active", &max_active);
    visit("min_active", &min_active);
    visit("beam_delta", &beam_delta);
    visit("lattice_beam", &lattice_beam);
    visit("acoustic_scale", &acoustic_scale);
    visit("blank_skip_threshold", &blank_skip_threshold);
    visit("word_insertion_penalty", &word_insertion_penalty);
    visit("nbest", &nbest);
    visit("keep_lattice", &keep_lattice);
    visit("determinize_lattice", &determinize_lattice);
    visit("lattice_max_states", &lattice_max_states);
    visit("lattice_max_arcs", &lattice_max_arcs);
    visit("prune_interval", &prune_interval);
    visit("blank_column", &blank_column);
    visit("ctc", &ctc);
  }
};

struct Hypothesis {
  std::vector<int32_t> word_ids;
  std::vector<int32_t> tokens;                   // columns of the collapsed token sequence
  std::vector<std::pair<int32_t, int32_t>> token_frames;  // first/last frame per token
  std::vector<std::pair<int32_t, int32_t>> word_frames;   // filled by the word splitter
  double total_cost = 0, acoustic_cost = 0, graph_cost = 0;
};

struct LatticeArc {
  int32_t src, dst, ilabel, olabel;
  float graph_cost, acoustic_cost;
};

struct Lattice {
  int32_t start = -1;
  int32_t num_states = 0;
  std::vector<LatticeArc> arcs;
  std::vector<float> final_cost;      // per state, +inf when not final
  std::vector<int32_t> state_frame;   // frames consumed when the state is reached
};

struct DecodeResult {
  Hypothesis best;
  bool reached_final = false;
  int32_t frames_searched = 0;
  int64_t work_bytes = 0;             // search buffers held at the end (working memory)
  std::vector<Hypothesis> nbest;      // when options.nbest > 1: distinct, best first
  Lattice lattice;                    // keep_lattice and not determinize_lattice
  WordLattice word_lattice;           // keep_lattice and determinize_lattice
  std::vector<Hypothesis> lattice_nbest;  // the nbest best paths of word_lattice
};

// Reusable search buffers for one thread. Not thread-safe; one per worker.
class Search {
 public:
  // vocab (may be null) splits the token sequence into words for word_frames.
  // big_lm (may be null): on-the-fly rescoring with a big LM (big_lm.h).
  Search(const Graph &graph, const DecoderOptions &opts, const Vocabulary *vocab,
         const BigLm *big_lm = nullptr);
  // logp: T x V row-major float32 log-posteriors, already validated. hotwords: optional,
  // for this call only. Init + Advance + Finalize.
  DecodeResult Decode(const float *logp, int32_t num_frames, int32_t num_columns,
                      const HotwordAutomaton *hotwords = nullptr);

  // The lifecycle: hotwords must outlive the decoding (until Finalize).
  void Init(int32_t num_columns, const HotwordAutomaton *hotwords = nullptr);
  void Advance(const float *logp, int32_t num_frames);  // num_frames rows of num_columns
  // The best path so far (no final weights; Kaldi's GetBestPath(use_final_probs=false));
  // false when no path survives.
  bool Partial(Hypothesis *hyp) const;
  DecodeResult Finalize();
  int32_t frames_received() const { return static_cast<int32_t>(skipped_cost_.size()); }

 private:
  struct Token {
    int32_t state;
    int32_t context;      // hotword automaton state (0 without hotwords)
    float cost;
    int32_t node;         // this token's entry in nodes_
    int32_t last_ilabel;  // input label of the path's last frame (CTC repeat detection)
    float banked;         // hotword bonus kept so far (for the cap)
    int32_t blocked_ilabel;  // may not be read next (CTC, just back from an out-of-
    //                           vocabulary word: a repeat of its last token), else 0
    int32_t lm_state;     // big-LM search: the (small LM, big LM) state pair, else 0
  };
  // A search node: one token of one frame, with its best incoming link inlined.
  struct Node {
    int32_t prev;  // best predecessor node, -1 for the start
    int32_t ilabel, olabel;
    float graph_cost, acoustic_cost;  // of the best incoming link
    float cost;                       // best cost from the start
    int32_t frame;                    // frames consumed
    int32_t state;
    int32_t context;
    int32_t best_link;                // lattice mode: the best incoming link in links_
    int32_t lm_state;
  };

  struct Step {  // one arc of a path
    int32_t ilabel, olabel, frame;
    float graph_cost, acoustic_cost;
  };
  float GetCutoff(float *adaptive_beam, int32_t *best);
  void ProcessEmitting(const float *scores, int32_t frame, float *next_cutoff);
  // Emitting moves of a token inside the out-of-vocabulary side graph, and into it.
  void ExpandOov(const Token &tok, const float *scores, int32_t frame, float *next_cutoff,
                 float adaptive_beam);
  void EnterOov(const Token &tok, const float *scores, int32_t frame, float *next_cutoff,
                float adaptive_beam);
  void ReadOov(const Token &tok, int32_t return_state, int32_t node, int32_t column, float w,
               const float *scores, int32_t frame, float *next_cutoff, float adaptive_beam);
  bool AtWordBoundary(int32_t state) const;
  int32_t BlankSuccessor(int32_t state) const;
  // Relaxes the next-frame token (state, context) with an emitting step from tok.
  void Emit(const Token &tok, int32_t state, int32_t context, int32_t lm_state, int32_t ilabel,
            int32_t olabel, float w, float ac, int32_t blocked_ilabel, float banked,
            int32_t frame, float *next_cutoff, float adaptive_beam);
  // The big-LM cost change of a word arc from tok's state pair (0 without a big LM).
  float BigLmCost(int32_t lm_state, int32_t olabel, int32_t *next_lm_state) {
    *next_lm_state = lm_state;
    if (!big_ || !olabel) return 0.0f;
    return lm_states_->Advance(lm_state, olabel, next_lm_state);
  }
  void ProcessNonEmitting(float cutoff, int32_t frame);
  // Finds or inserts the token for key in next_; returns its index (new ones have cost inf).
  int32_t FindOrAdd(int32_t state, int32_t context, int32_t lm_state, bool *inserted);
  void ClearHash();
  void CollectGarbage();
  void Traceback(int32_t node, float final_cost, const std::vector<int32_t> &frame_map,
                 const std::vector<float> &skipped_cost, Hypothesis *hyp) const;
  // final weight + open hotword bonus + the big LM's </s> change
  float EndCost(int32_t state, int32_t context, int32_t lm_state) const;
  void MakeHypothesis(const std::vector<Step> &steps, float final_cost,
                      const std::vector<int32_t> &frame_map,
                      const std::vector<float> &skipped_cost, Hypothesis *hyp) const;
  // Tokens, token_frames and word_frames from the token column read at each input frame
  // (blank or -1 where none).
  void SetTokens(const std::vector<int32_t> &frame_label, Hypothesis *hyp) const;
  void BackwardCosts(std::vector<float> *beta) const;  // beta given at the frontier
  void SearchFrame(const float *row);  // one searched frame (row: num_columns log-probs)
  void PruneLattice();  // every prune_interval frames: bounds lattice memory
  // PruneLattice's step for frame f: new extra costs from frame f + 1's; dead links get
  // ilabel -1, dead nodes extra cost +inf. Returns whether an extra cost moved by > delta.
  bool PruneFrame(int32_t f, float delta, bool *removed);
  void CompactLattice(int32_t first_frame);  // drops the dead from first_frame on
  void BuildNBest(const std::vector<int32_t> &final_nodes, const std::vector<int32_t> &frame_map,
                  const std::vector<float> &skipped_cost, int32_t num_frames, DecodeResult *out);
  // keep_lattice with determinize_lattice: the word lattice of the kept links, and its N-best.
  void BuildWordLattice(const std::vector<int32_t> &kept, const std::vector<float> &end_cost,
                        const std::vector<int32_t> &frame_map,
                        const std::vector<float> &skipped_cost, DecodeResult *out) const;
  void WordLatticeNBest(const std::vector<float> &skipped_cost, DecodeResult *out) const;

  int64_t WorkBytes() const;

  const Graph &graph_;
  DecoderOptions opts_;
  const Vocabulary *vocab_;
  const HotwordAutomaton *hot_ = nullptr;
  const BigLm *big_ = nullptr;
  std::unique_ptr<BigLmStates> lm_states_;
  float best_score_ = 0.0f;  // the frame's lowest acoustic cost (OOV entry pruning)
  bool lattice_mode_;
  std::vector<Token> cur_, next_;
  std::vector<int32_t> hash_;  // open addressing, values index next_, -1 empty
  std::vector<int32_t> hash_used_;
  uint32_t hash_mask_ = 0;
  std::vector<Node> nodes_;
  std::vector<LatticeArc> links_;  // lattice mode: every surviving expansion (src/dst = nodes)
  // lattice mode: per searched frame f, links_ offsets [emitting into f, epsilon within f)
  std::vector<int32_t> emit_begin_, eps_begin_;
  std::vector<int32_t> node_begin_;  // lattice mode: first node of each frame
  std::vector<float> extra_;         // lattice mode: extra cost per node (PruneLattice)
  int32_t pruned_frontier_ = 0;      // the frame that was newest at the last prune
  // The stream (Init .. Finalize).
  int32_t num_columns_ = 0;
  bool skipping_ = false;            // blank skipping on
  float log_skip_threshold_ = 0.0f;
  std::vector<int32_t> frame_map_;   // searched frame -> input frame
  std::vector<float> skipped_cost_;  // per input frame: its blank cost when skipped
  int32_t last_searched_ = -1;       // input frame last searched (not a kept blank)
  int32_t pending_blank_ = -1;       // last frame of the skipped blank run going on
  std::vector<float> last_row_, pending_row_;  // their posteriors
  std::vector<float> scores_;        // the frame's costs by input label
  size_t gc_threshold_ = 0;
  std::vector<int32_t> queue_;
  std::vector<float> tmp_costs_;
  std::vector<int32_t> gc_map_;
};

}  // namespace tingxie
