// Scoring text with a back-off n-gram model the way KenLM's `query` does.
//
// All n-grams of all orders live in one open-addressing table keyed by a 64-bit hash of the
// word ids (like KenLM's probing structure, without storing the words). A query extends the
// n-gram one history word at a time, HashExtend(hash("w"), h1) = hash("h1 w"), stops at the
// first miss, and adds the back-off weights of the longer contexts remembered in the state.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace tingxie {
namespace lm {

struct ScorerState {
  int length = 0;                    // words of history that may matter
  WordId words[kMaxOrder - 1];       // most recent first
  float backoff[kMaxOrder - 1];      // backoff[i]: weight of the context words[i..0]
};

struct SentenceScore {
  float logprob = 0.0f;     // log10, summed in float like KenLM
  double oov_logprob = 0.0;  // the OOV words' own terms
  uint32_t tokens = 0;      // words + </s>
  uint32_t oovs = 0;
};

class BackoffScorer {
 public:
  // orders[k-1]: ids [n*k], logprob, backoff (the model's vocabulary ids).
  BackoffScorer(const std::vector<std::string> &vocab, int order,
                const std::vector<const int32_t *> &ids, const std::vector<const float *> &logprob,
                const std::vector<const float *> &backoff, const std::vector<size_t> &sizes);

  WordId Index(std::string_view word) const;  // kUnk-equivalent when unknown
  ScorerState BeginSentence() const;
  float Score(const ScorerState &in, WordId word, ScorerState *out) const;
  // One line of text: <s> context, the words, then </s> when `eos`.
  SentenceScore ScoreLine(std::string_view line, bool bos, bool eos) const;
  int order() const { return order_; }

 private:
  struct Slot {
    uint64_t key;  // 0: empty
    float logprob;
    float backoff;
  };
  void Insert(uint64_t key, float logprob, float backoff);
  const Slot *Find(uint64_t key) const {
    key |= !key;
    size_t s = key & mask_;
    while (true) {
      const Slot &slot = slots_[s];
      if (slot.key == key) return &slot;
      if (!slot.key) return nullptr;
      s = (s + 1) & mask_;
    }
  }

  struct StringHash {
    size_t operator()(std::string_view s) const {
      uint64_t h = 0xcbf29ce484222325ULL;
      for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
      return Mix64(h);
    }
  };
  int order_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string_view, WordId, StringHash> ids_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  WordId unk_ = 0, bos_ = 1, eos_ = 2;
  bool unk_is_word_ = true;
};

}  // namespace lm
}  // namespace tingxie
