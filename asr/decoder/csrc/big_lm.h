// On-the-fly rescoring with a big n-gram LM during the search (the idea of Kaldi's biglm
// decoder): the search runs over the small-LM TLG, and each token also carries the state of
// the pair (small LM, big LM). At each word the path pays
//     delta = -ln P_big(word | big state) + ln P_small(word | small state)
// (the small LM is the one the graph's G was built from, so its cost is taken back out), and
// at the end the same difference for </s>. Tokens that differ only in that pair are kept apart
// (the pair is part of the search key), so the search is exact for the composed model in the
// way Kaldi's is: the graph's own back-off approximation stays as it is.
//
// States are minimal KenLM-style histories (lm/csrc/scorer.h). A pair is interned once per
// search into an id; transitions (pair id, word label) are memoised. The scorers belong to
// lm's extension (lm._native.Scorer) and are only read here.
#pragma once

#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "../../../lm/csrc/scorer.h"

namespace tingxie {

// The two models and the graph's word labels in their vocabularies; shared by every search.
struct BigLm {
  const lm::BackoffScorer *big = nullptr;
  const lm::BackoffScorer *small = nullptr;
  std::vector<lm::WordId> big_id, small_id;  // by output label of the graph
};

class BigLmStates {
 public:
  explicit BigLmStates(const BigLm &models) : m_(models) {}

  // Forgets the states of the previous utterance (ids restart); returns the start pair's id.
  int32_t Start() {
    if (pairs_.size() > kMaxPairs) {
      pairs_.clear();
      ids_.clear();
      moves_.clear();
    }
    return Intern(m_.small->BeginSentence(), m_.big->BeginSentence());
  }

  // Cost change of reading `label` from pair `id` (see above); *next: the pair after it.
  float Advance(int32_t id, int32_t label, int32_t *next) {
    const uint64_t key = (static_cast<uint64_t>(id) << 32) | static_cast<uint32_t>(label);
    auto found = moves_.find(key);
    if (found != moves_.end()) {
      *next = found->second.next;
      return found->second.delta;
    }
    lm::ScorerState small, big;
    const Pair from = pairs_[id];
    const float small_log10 = m_.small->Score(from.small, m_.small_id[label], &small);
    const float big_log10 = m_.big->Score(from.big, m_.big_id[label], &big);
    const float delta = static_cast<float>(kLn10 * (static_cast<double>(small_log10) - big_log10));
    *next = Intern(small, big);
    moves_.emplace(key, Move{*next, delta});
    return delta;
  }

  // Cost change of ending the sentence in pair `id` (</s> in both models).
  float End(int32_t id) const {
    lm::ScorerState ignored;
    const Pair &p = pairs_[id];
    const float small_log10 = m_.small->Score(p.small, m_.small->eos(), &ignored);
    const float big_log10 = m_.big->Score(p.big, m_.big->eos(), &ignored);
    return static_cast<float>(kLn10 * (static_cast<double>(small_log10) - big_log10));
  }

  size_t size() const { return pairs_.size(); }

 private:
  static constexpr double kLn10 = 2.302585092994045684;
  static constexpr size_t kMaxPairs = size_t(1) << 20;  // past this, cleared between utterances
  struct Pair {
    lm::ScorerState small, big;
  };
  struct Move {
    int32_t next;
    float delta;
  };
  static uint64_t HashState(uint64_t h, const lm::ScorerState &s) {
    h = lm::Mix64(h ^ static_cast<uint64_t>(s.length));
    for (int i = 0; i < s.length; ++i) h = lm::Mix64(h ^ (s.words[i] + 0x9e3779b97f4a7c15ULL));
    return h;
  }
  static bool Same(const lm::ScorerState &a, const lm::ScorerState &b) {
    if (a.length != b.length) return false;
    for (int i = 0; i < a.length; ++i)
      if (a.words[i] != b.words[i]) return false;
    return true;  // the back-off weights follow from the words
  }
  int32_t Intern(const lm::ScorerState &small, const lm::ScorerState &big) {
    const uint64_t h = HashState(HashState(0x51ed27, small), big);
    auto range = ids_.equal_range(h);
    for (auto it = range.first; it != range.second; ++it) {
      const Pair &p = pairs_[it->second];
      if (Same(p.small, small) && Same(p.big, big)) return it->second;
    }
    const int32_t id = static_cast<int32_t>(pairs_.size());
    pairs_.push_back(Pair{small, big});
    ids_.emplace(h, id);
    return id;
  }

  const BigLm &m_;
  std::vector<Pair> pairs_;
  std::unordered_multimap<uint64_t, int32_t> ids_;
  std::unordered_map<uint64_t, Move> moves_;
};

}  // namespace tingxie
