#include "words.h"

#include <algorithm>

#include "decoder.h"

namespace tingxie {
namespace {

bool StartsWith(const std::string &s, const std::string &prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Vocabulary::Vocabulary(std::vector<std::string> words, std::vector<std::string> token_text,
                       std::vector<uint8_t> token_kind)
    : words_(std::move(words)), token_text_(std::move(token_text)),
      token_kind_(std::move(token_kind)) {}

size_t Vocabulary::WordLength(size_t k, const Hypothesis &hyp) const {
  const int32_t id = hyp.word_ids[k];
  return id >= 0 && id < static_cast<int32_t>(words_.size()) ? words_[id].size() : 1;
}

const std::string &Vocabulary::WordText(int32_t id, const std::vector<std::string> *extra) const {
  static const std::string kUnknown;
  const int32_t n = static_cast<int32_t>(words_.size());
  if (id >= 0 && id < n) return words_[id];
  if (extra && id >= n && id - n < static_cast<int32_t>(extra->size())) return (*extra)[id - n];
  return kUnknown;
}

void Vocabulary::SplitWords(Hypothesis *hyp, const std::vector<std::string> *extra) const {
  const size_t num_words = hyp->word_ids.size();
  const size_t num_tokens = hyp->tokens.size();
  hyp->word_frames.assign(num_words, {-1, -1});
  size_t w = 0, i = 0;
  int32_t pending_start = -1, word_start = -1;
  std::string spelled;
  for (; i < num_tokens && w < num_words; ++i) {
    const int32_t tok = hyp->tokens[i];
    const auto frames = hyp->token_frames[i];
    const uint8_t kind = tok >= 0 && tok < static_cast<int32_t>(token_kind_.size()) ? token_kind_[tok] : kNoLetters;
    if (kind == kWordEnd) {
      if (spelled.empty() && w > 0) hyp->word_frames[w - 1].second = frames.second;
      continue;
    }
    if (kind == kNoLetters) {
      if (spelled.empty() && pending_start < 0) pending_start = frames.first;
      continue;
    }
    const std::string &word = WordText(hyp->word_ids[w], extra);
    if (spelled.empty()) word_start = pending_start >= 0 ? pending_start : frames.first;
    spelled += token_text_[tok];
    if (spelled == word) {
      hyp->word_frames[w] = {word_start, frames.second};
      ++w;
      spelled.clear();
      pending_start = -1;
    } else if (!StartsWith(word, spelled)) {
      break;  // this word cannot be spelled from here: share the rest out
    }
  }
  if (w == num_words) {  // trailing word-end tokens
    for (; i < num_tokens; ++i) {
      const int32_t tok = hyp->tokens[i];
      if (w > 0 && tok >= 0 && tok < static_cast<int32_t>(token_kind_.size()) && token_kind_[tok] == kWordEnd)
        hyp->word_frames[w - 1].second = hyp->token_frames[i].second;
      else
        break;
    }
    return;
  }
  // Fallback: share the tokens from the current word's first one among the words left.
  size_t first = i;
  if (!spelled.empty()) {
    while (first > 0 && hyp->token_frames[first - 1].first >= word_start) --first;
  }
  size_t total_len = 0;
  for (size_t k = w; k < num_words; ++k) total_len += std::max<size_t>(1, WordLength(k, *hyp));
  const size_t left = num_tokens > first ? num_tokens - first : 0;
  size_t used = 0, acc = 0;
  int32_t last_end = w > 0 ? hyp->word_frames[w - 1].second : 0;
  for (size_t k = w; k < num_words; ++k) {
    acc += std::max<size_t>(1, WordLength(k, *hyp));
    size_t upto = left * acc / total_len;
    if (upto > used) {
      hyp->word_frames[k] = {hyp->token_frames[first + used].first,
                             hyp->token_frames[first + upto - 1].second};
      last_end = hyp->word_frames[k].second;
      used = upto;
    } else {
      hyp->word_frames[k] = {last_end, last_end};
    }
  }
}

}  // namespace tingxie
