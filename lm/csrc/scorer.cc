#include "scorer.h"

namespace tingxie {
namespace lm {

BackoffScorer::BackoffScorer(const std::vector<std::string> &vocab, int order,
                             const std::vector<const int32_t *> &ids,
                             const std::vector<const float *> &logprob,
                             const std::vector<const float *> &backoff,
                             const std::vector<size_t> &sizes)
    : order_(order), vocab_(vocab) {
  for (size_t i = 0; i < vocab_.size(); ++i) ids_.emplace(std::string_view(vocab_[i]), static_cast<WordId>(i));
  auto find = [&](const char *w, WordId *id) {
    auto it = ids_.find(w);
    if (it == ids_.end()) return false;
    *id = it->second;
    return true;
  };
  if (!find("<s>", &bos_)) throw InputError("the model has no <s> unigram");
  if (!find("</s>", &eos_)) throw InputError("the model has no </s> unigram");
  size_t total = 1;
  for (size_t n : sizes) total += n;
  size_t slots = 16;
  while (slots < total * 2) slots *= 2;
  slots_.assign(slots, Slot{0, 0.0f, 0.0f});
  mask_ = slots - 1;
  for (int k = 1; k <= order; ++k)
    for (size_t i = 0; i < sizes[k - 1]; ++i)
      Insert(HashNgram(reinterpret_cast<const WordId *>(ids[k - 1]) + i * k, k), logprob[k - 1][i],
             backoff[k - 1][i]);
  if (!find("<unk>", &unk_)) {
    // KenLM substitutes log10 p(<unk>) = -100 when the file has none.
    unk_is_word_ = false;
    unk_ = static_cast<WordId>(vocab_.size());
    Insert(HashWord(unk_), -100.0f, 0.0f);
  }
}

void BackoffScorer::Insert(uint64_t key, float logprob, float backoff) {
  key |= !key;
  size_t s = key & mask_;
  while (slots_[s].key && slots_[s].key != key) s = (s + 1) & mask_;
  slots_[s] = Slot{key, logprob, backoff};
}

WordId BackoffScorer::Index(std::string_view word) const {
  auto it = ids_.find(word);
  return it == ids_.end() ? unk_ : it->second;
}

ScorerState BackoffScorer::BeginSentence() const {
  ScorerState state;
  const Slot *s = Find(HashWord(bos_));
  state.length = order_ > 1 ? 1 : 0;
  state.words[0] = bos_;
  state.backoff[0] = s ? s->backoff : 0.0f;
  return state;
}

float BackoffScorer::Score(const ScorerState &in, WordId word, ScorerState *out) const {
  uint64_t h = HashWord(word);
  const Slot *s = Find(h);
  if (!s) s = Find(HashWord(unk_));
  float logprob = s->logprob;
  int matched = 1;
  const int max_history = order_ - 1;
  out->words[0] = word;
  out->backoff[0] = s->backoff;
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

static inline bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
}

SentenceScore BackoffScorer::ScoreLine(std::string_view line, bool bos, bool eos) const {
  SentenceScore result;
  ScorerState state, next;
  if (bos) {
    state = BeginSentence();
  } else {
    state.length = 0;
  }
  const char *p = line.data();
  const char *end = p + line.size();
  while (p < end) {
    while (p < end && IsSpace(*p)) ++p;
    const char *start = p;
    while (p < end && !IsSpace(*p)) ++p;
    if (p == start) break;
    WordId id = Index(std::string_view(start, p - start));
    float logprob = Score(state, id, &next);
    if (id == unk_) {  // KenLM counts every <unk> (unknown word) as an OOV
      ++result.oovs;
      result.oov_logprob += logprob;
    }
    result.logprob += logprob;
    ++result.tokens;
    state = next;
  }
  if (eos) {
    result.logprob += Score(state, eos_, &next);
    ++result.tokens;
  }
  return result;
}

}  // namespace lm
}  // namespace tingxie
