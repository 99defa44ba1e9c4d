// Word and token tables, and the split of a token sequence into words (word_frames).
//
// The graph says which words a path outputs but not where each word's tokens begin: after
// determinisation a word label can sit on any arc of its spelling. So the words are found
// again in the token sequence by their spelling: token texts (the letters each token spells)
// are concatenated until they spell the word. A word-end token belongs to the word before
// it; tokens with no letters (`▁` alone, `<unk>`) to the word after. What each token spells
// and which token ends words is the Python side's rule (common/token_words.py), passed in. Where a word cannot be spelled from the tokens
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
  // Token kinds, numbered as common/token_words.py numbers them.
  enum Kind : uint8_t { kLetters = 0, kWordEnd = 1, kNoLetters = 2 };
  // token_text[c]: the letters token column c spells; token_kind[c]: a Kind.
  Vocabulary(std::vector<std::string> words, std::vector<std::string> token_text,
             std::vector<uint8_t> token_kind);
  // extra: texts of labels words().size() + i (per-call out-of-vocabulary hotwords)
  void SplitWords(Hypothesis *hyp, const std::vector<std::string> *extra = nullptr) const;
  const std::vector<std::string> &words() const { return words_; }
  int32_t num_tokens() const { return static_cast<int32_t>(token_text_.size()); }

 private:
  size_t WordLength(size_t k, const Hypothesis &hyp) const;
  const std::string &WordText(int32_t id, const std::vector<std::string> *extra) const;
  std::vector<std::string> words_;
  std::vector<std::string> token_text_;
  std::vector<uint8_t> token_kind_;
};

}  // namespace tingxie
