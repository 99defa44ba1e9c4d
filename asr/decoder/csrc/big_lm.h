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
      ids_.Clear();
      moves_.Clear();
    }
    return Intern(m_.small->BeginSentence(), m_.big->BeginSentence());
  }

  // Cost change of reading `label` from pair `id` (see above); *next: the pair after it.
  float Advance(int32_t id, int32_t label, int32_t *next) {
    const uint64_t key = (static_cast<uint64_t>(id) << 32) | static_cast<uint32_t>(label);
    if (const FlatMap::Entry *found = moves_.Find(key)) {
      *next = found->next;
      return found->delta;
    }
    lm::ScorerState small, big;
    const Pair from = pairs_[id];
    const float small_log10 = m_.small->Score(from.small, m_.small_id[label], &small);
    const float big_log10 = m_.big->Score(from.big, m_.big_id[label], &big);
    const float delta = static_cast<float>(kLn10 * (static_cast<double>(small_log10) - big_log10));
    *next = Intern(small, big);
    moves_.Insert(key, *next, delta);
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
  // Open addressing, keys never erased (cleared whole); key ~0 marks an empty slot.
  class FlatMap {
   public:
    struct Entry {
      uint64_t key;
      int32_t next;
      float delta;
    };
    const Entry *Find(uint64_t key) const {
      if (slots_.empty()) return nullptr;
      for (size_t s = lm::Mix64(key) & mask_;; s = (s + 1) & mask_) {
        if (slots_[s].key == key) return &slots_[s];
        if (slots_[s].key == kEmpty) return nullptr;
      }
    }
    // Also a multimap when keys repeat (Find then returns the first; FindAll walks them).
    void Insert(uint64_t key, int32_t next, float delta) {
      if ((used_ + 1) * 2 > slots_.size()) Grow();
      size_t s = lm::Mix64(key) & mask_;
      while (slots_[s].key != kEmpty) s = (s + 1) & mask_;
      slots_[s] = Entry{key, next, delta};
      ++used_;
    }
    template <class Visit>
    void FindAll(uint64_t key, Visit &&visit) const {
      if (slots_.empty()) return;
      for (size_t s = lm::Mix64(key) & mask_; slots_[s].key != kEmpty; s = (s + 1) & mask_)
        if (slots_[s].key == key && visit(slots_[s])) return;
    }
    void Clear() {
      slots_.clear();
      used_ = 0;
      mask_ = 0;
    }

   private:
    static constexpr uint64_t kEmpty = ~uint64_t(0);
    void Grow() {
      std::vector<Entry> old;
      old.swap(slots_);
      slots_.assign(old.empty() ? 1024 : old.size() * 2, Entry{kEmpty, 0, 0.0f});
      mask_ = slots_.size() - 1;
      used_ = 0;
      for (const Entry &e : old)
        if (e.key != kEmpty) Insert(e.key, e.next, e.delta);
    }
    std::vector<Entry> slots_;
    size_t mask_ = 0, used_ = 0;
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
    const uint64_t h = HashState(HashState(0x51ed27, small), big) >> 1;  // never kEmpty
    int32_t found = -1;
    ids_.FindAll(h, [&](const FlatMap::Entry &e) {
      const Pair &p = pairs_[e.next];
      if (!Same(p.small, small) || !Same(p.big, big)) return false;
      found = e.next;
      return true;
    });
    if (found >= 0) return found;
    const int32_t id = static_cast<int32_t>(pairs_.size());
    pairs_.push_back(Pair{small, big});
    ids_.Insert(h, id, 0.0f);
    return id;
  }

  const BigLm &m_;
  std::vector<Pair> pairs_;
  FlatMap ids_;    // pair hash -> pair id (several ids when hashes collide)
  FlatMap moves_;  // (pair id, label) -> next pair id, cost change
};

}  // namespace tingxie
