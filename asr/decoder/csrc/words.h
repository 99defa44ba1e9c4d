// Word and token tables, and the split of a token sequence into words (word_frames).
//
// The graph says which words a path outputs but not where each word's tokens begin: after
// determinisation a word label can sit on any arc of its spelling. So the words are found
// again in the token sequence by their spelling: token texts (with the sentencepiece `▁`
// and `@@` continuation marks removed) are concatenated until they spell the word. A
// word-end token (`|`) belongs to the word before it; other tokens with no letters
// (`▁` alone, `<unk>`) to the word after. Where a word cannot be spelled from the tokens
// (an `<unk>` output, a lexicon with other spellings), the remaining tokens are shared out
// among the remaining words in proportion to their lengths.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tingxie {

struct Hypothesis;

class Vocabulary {
 public:
  Vocabulary(std::vector<std::string> words, std::vector<std::string> tokens);
  // extra: texts of labels words().size() + i (per-call out-of-vocabulary hotwords)
  void SplitWords(Hypothesis *hyp, const std::vector<std::string> *extra = nullptr) const;
  const std::vector<std::string> &words() const { return words_; }
  int32_t num_tokens() const { return static_cast<int32_t>(token_text_.size()); }

 private:
  int32_t num_tokens_() const { return static_cast<int32_t>(token_kind_.size()); }
  size_t WordLength(size_t k, const Hypothesis &hyp) const;
  const std::string &WordText(int32_t id, const std::vector<std::string> *extra) const;
  enum Kind : uint8_t { kLetters, kWordEnd, kNoLetters };
  std::vector<std::string> words_;
  std::vector<std::string> token_text_;
  std::vector<uint8_t> token_kind_;
};

}  // namespace tingxie
