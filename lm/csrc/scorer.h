// Scoring text with a back-off n-gram model the way KenLM's `query` does.
//
// Unigrams sit in an array indexed by word id; the n-grams of orders 2+ live in one
// open-addressing table keyed by a 64-bit hash of the word ids (like KenLM's probing structure,
// which also keeps only the hash). A query extends the n-gram one history word at a time,
// HashExtend(hash("w"), h1) = hash("h1 w"), stops at the first miss, and adds the back-off
// weights of the longer contexts remembered in the state. Words are looked up through an
// open-addressing table of string hashes, checked against the word itself.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <sys/mman.h>
#include <string_view>
#include <vector>

#include "common.h"

namespace tingxie {
namespace lm {

// A zero-filled array on transparent huge pages where the kernel allows (fewer TLB misses on
// tables far larger than the cache, as KenLM does for its own).
template <class T>
class HugeArray {
 public:
  HugeArray() = default;
  HugeArray(const HugeArray &) = delete;
  HugeArray &operator=(const HugeArray &) = delete;
  ~HugeArray() { std::free(data_); }
  void Assign(size_t n) {
    std::free(data_);
    size_t bytes = std::max<size_t>(n * sizeof(T), 1);
    const size_t huge = size_t(2) << 20;
    void *p = nullptr;
    if (bytes >= huge) {
      bytes = (bytes + huge - 1) / huge * huge;
      if (posix_memalign(&p, huge, bytes) != 0) p = nullptr;
      if (p) madvise(p, bytes, MADV_HUGEPAGE);
    } else {
      p = std::malloc(bytes);
    }
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    data_ = static_cast<T *>(p);
    size_ = n;
  }
  T &operator[](size_t i) { return data_[i]; }
  const T &operator[](size_t i) const { return data_[i]; }
  size_t size() const { return size_; }

 private:
  T *data_ = nullptr;
  size_t size_ = 0;
};

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
  // The state after `history` (oldest first, model ids), as Score would have left it: the
  // longest suffix that is an n-gram (at most order-1 words), with its back-off weights.
  ScorerState StateAfter(const WordId *history, int length) const;
  // The id an unknown word is scored as; not a vocabulary word when the model has no <unk>.
  WordId unk() const { return unk_; }
  bool unk_is_word() const { return unk_is_word_; }
  size_t vocab_size() const { return vocab_.size(); }
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
  void PrefetchSlot(uint64_t key) const { PrefetchRead(&slots_[(key | !key) & mask_]); }
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

  struct Unigram {
    float logprob;
    float backoff;
  };
  struct WordSlot {
    uint64_t hash;
    WordId id;  // kNoWord: empty
  };
  static constexpr WordId kNoWord = 0xffffffffu;
  int order_;
  std::vector<std::string> vocab_;
  std::vector<WordSlot> word_slots_;
  size_t word_mask_ = 0;
  std::vector<Unigram> unigrams_;  // by word id
  HugeArray<Slot> slots_;
  size_t mask_ = 0;
  WordId unk_ = 0, bos_ = 1, eos_ = 2;
  bool unk_is_word_ = true;
};

}  // namespace lm
}  // namespace tingxie
