#include "scorer.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace tingxie {
namespace lm {

namespace {
inline uint64_t HashString(std::string_view s) { return tingxie::lm::HashString(s.data(), s.size()); }
}  // namespace

BackoffScorer::BackoffScorer(const std::vector<std::string> &vocab, int order,
                             const std::vector<const int32_t *> &ids,
                             const std::vector<const float *> &logprob,
                             const std::vector<const float *> &backoff,
                             const std::vector<size_t> &sizes)
    : order_(order), vocab_(vocab) {
  // Unigrams by id; a vocabulary word without a unigram entry scores as <unk>.
  const float kMissing = std::numeric_limits<float>::quiet_NaN();
  unigrams_.assign(vocab_.size() + 1, Unigram{kMissing, 0.0f});
  for (size_t i = 0; i < sizes[0]; ++i) unigrams_[ids[0][i]] = Unigram{logprob[0][i], backoff[0][i]};
  size_t word_slots = 16;
  while (word_slots < vocab_.size() * 2) word_slots *= 2;
  word_slots_.assign(word_slots, WordSlot{0, kNoWord});
  word_mask_ = word_slots - 1;
  for (size_t i = 0; i < vocab_.size(); ++i) {
    if (std::isnan(unigrams_[i].logprob)) continue;
    uint64_t h = HashString(vocab_[i]);
    size_t s = h & word_mask_;
    while (word_slots_[s].id != kNoWord) s = (s + 1) & word_mask_;
    word_slots_[s] = WordSlot{h, static_cast<WordId>(i)};
  }
  auto find = [&](const char *w, WordId *id) {
    *id = Index(w);
    return *id != kNoWord;
  };
  unk_ = kNoWord;  // so that Index() reports misses while the specials are looked up
  if (!find("<s>", &bos_)) throw InputError("the model has no <s> unigram");
  if (!find("</s>", &eos_)) throw InputError("the model has no </s> unigram");
  if (!find("<unk>", &unk_)) {
    // KenLM substitutes log10 p(<unk>) = -100 when the file has none.
    unk_is_word_ = false;
    unk_ = static_cast<WordId>(vocab_.size());
    unigrams_[unk_] = Unigram{-100.0f, 0.0f};
  }
  size_t total = 1;
  for (int k = 2; k <= order; ++k) total += sizes[k - 1];
  size_t slots = 16;
  while (slots < total * 2) slots *= 2;
  slots_.Assign(slots);
  mask_ = slots - 1;
  for (int k = 2; k <= order; ++k)
    for (size_t i = 0; i < sizes[k - 1]; ++i)
      Insert(HashNgram(reinterpret_cast<const WordId *>(ids[k - 1]) + i * k, k), logprob[k - 1][i],
             backoff[k - 1][i]);
}

void BackoffScorer::Insert(uint64_t key, float logprob, float backoff) {
  key |= !key;
  size_t s = key & mask_;
  while (slots_[s].key && slots_[s].key != key) s = (s + 1) & mask_;
  slots_[s] = Slot{key, logprob, backoff};
}

WordId BackoffScorer::Index(std::string_view word) const {
  uint64_t h = HashString(word);
  size_t s = h & word_mask_;
  while (true) {
    const WordSlot &slot = word_slots_[s];
    if (slot.id == kNoWord) return unk_;
    if (slot.hash == h && vocab_[slot.id] == word) return slot.id;
    s = (s + 1) & word_mask_;
  }
}

ScorerState BackoffScorer::BeginSentence() const {
  ScorerState state;
  state.length = order_ > 1 ? 1 : 0;
  state.words[0] = bos_;
  state.backoff[0] = unigrams_[bos_].backoff;
  return state;
}

float BackoffScorer::Score(const ScorerState &in, WordId word, ScorerState *out) const {
  uint64_t h = HashWord(word);
  const Unigram &unigram = unigrams_[word];
  float logprob = unigram.logprob;
  int matched = 1;
  const int max_history = order_ - 1;
  out->words[0] = word;
  out->backoff[0] = unigram.backoff;
  for (int j = 0; j < in.length; ++j) {
    h = HashExtend(h, in.words[j]);
    const Slot *longer = Find(h);
    if (!longer) break;
    logprob = longer->logprob;
    matched = j + 2;
    if (j + 1 < max_history) {
      out->words[j + 1] = in.words[j];
      out->backoff[j + 1] = longer->backoff;
    }
  }
  for (int j = matched - 1; j < in.length; ++j) logprob += in.backoff[j];
  out->length = matched < max_history ? matched : max_history;
  return logprob;
}

ScorerState BackoffScorer::StateAfter(const WordId *history, int length) const {
  ScorerState state;
  state.length = 0;
  if (length <= 0 || order_ < 2) return state;
  const WordId last = history[length - 1];
  if (last == unk_ && !unk_is_word_) return state;
  state.words[0] = last;
  state.backoff[0] = unigrams_[last].backoff;
  state.length = 1;
  uint64_t h = HashWord(last);
  const int max_history = std::min(length, order_ - 1);
  for (int j = 1; j < max_history; ++j) {
    h = HashExtend(h, history[length - 1 - j]);
    const Slot *slot = Find(h);
    if (!slot) break;
    state.words[j] = history[length - 1 - j];
    state.backoff[j] = slot->backoff;
    state.length = j + 1;
  }
  return state;
}

static inline bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
}

SentenceScore BackoffScorer::ScoreLine(std::string_view line, bool bos, bool eos) const {
  // Look every word up first; then, while scoring word i, prefetch the table slots of the
  // n-grams ending two words later (their keys depend only on the words, not on the state).
  thread_local std::vector<WordId> ids;
  ids.clear();
  const char *p = line.data();
  const char *end = p + line.size();
  while (p < end) {
    while (p < end && IsSpace(*p)) ++p;
    const char *start = p;
    while (p < end && !IsSpace(*p)) ++p;
    if (p == start) break;
    ids.push_back(Index(std::string_view(start, p - start)));
  }
  SentenceScore result;
  const size_t words = ids.size();
  if (eos) ids.push_back(eos_);
  const int max_history = order_ - 1;
  auto prefetch = [&](size_t j) {
    if (j >= ids.size() || max_history == 0) return;
    uint64_t h = HashWord(ids[j]);
    for (int m = 1; m <= max_history; ++m) {
      WordId history;
      if (j >= static_cast<size_t>(m)) history = ids[j - m];
      else if (bos && j + 1 == static_cast<size_t>(m)) history = bos_;
      else break;
      h = HashExtend(h, history);
      PrefetchSlot(h);
    }
  };
  ScorerState state, next;
  if (bos) {
    state = BeginSentence();
  } else {
    state.length = 0;
  }
  prefetch(0);
  prefetch(1);
  for (size_t i = 0; i < ids.size(); ++i) {
    prefetch(i + 2);
    WordId id = ids[i];
    float logprob = Score(state, id, &next);
    if (i < words && id == unk_) {  // KenLM counts every <unk> (unknown word) as an OOV
      ++result.oovs;
      result.oov_logprob += logprob;
    }
    result.logprob += logprob;
    ++result.tokens;
    state = next;
  }
  return result;
}

}  // namespace lm
}  // namespace tingxie
