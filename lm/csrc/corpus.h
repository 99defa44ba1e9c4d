// Corpus reading: bytes of text (one sentence per line) -> sentences of word ids.
//
// Tokens are separated by ASCII whitespace (KenLM's convention); with `chars`, every token is
// further split into UTF-8 characters (Chinese). Ids follow KenLM: <unk>=0, <s>=1, </s>=2, then
// words in first-seen order. With a closed vocabulary, other words become <unk>. The reserved
// symbols <s>, </s>, <unk> in the text are an InputError naming file and line, or are dropped
// with `skip_symbols`. Invalid UTF-8 is an InputError too.
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"

namespace tingxie {
namespace lm {

class Vocabulary {
 public:
  Vocabulary();
  // The id of `word`, adding it when the vocabulary is open.
  WordId Intern(std::string_view word);
  // The id of `word` or kUnk.
  WordId Find(std::string_view word) const;
  void Close() { closed_ = true; }
  bool closed() const { return closed_; }
  size_t size() const { return words_.size(); }
  const std::vector<std::string> &words() const { return words_; }

 private:
  struct Slot {
    uint64_t hash;
    WordId id;  // kEmpty: free
  };
  static constexpr WordId kEmpty = 0xffffffffu;
  size_t FindSlot(std::string_view word, uint64_t hash) const;
  void Grow();
  std::vector<std::string> words_;
  std::vector<Slot> slots_;  // open addressing on HashString, load <= 1/2
  size_t mask_ = 0;
  bool closed_ = false;
};

struct CorpusOptions {
  bool chars = false;         // split tokens into UTF-8 characters
  bool skip_symbols = false;  // drop <s>, </s>, <unk> found in the text instead of failing
};

// Feeds text in arbitrary chunks; calls `sentence` with the word ids of each complete line.
class CorpusReader {
 public:
  using SentenceFn = std::function<void(const std::vector<WordId> &)>;
  CorpusReader(Vocabulary *vocab, CorpusOptions options, SentenceFn sentence);
  void BeginFile(const std::string &path);
  void Feed(const char *data, size_t size);
  void EndFile();  // a last line without newline still counts
  uint64_t sentences() const { return sentences_; }
  uint64_t tokens() const { return tokens_; }

 private:
  void Line(std::string_view line);
  void Token(std::string_view token);

  Vocabulary *vocab_;
  CorpusOptions options_;
  SentenceFn sentence_;
  std::string path_;
  long line_number_ = 0;
  std::string partial_;
  std::vector<WordId> ids_;
  uint64_t sentences_ = 0;
  uint64_t tokens_ = 0;
};

// Length of the UTF-8 character starting at s[0] (1..4), or 0 if the bytes are not valid UTF-8.
int Utf8CharLength(const unsigned char *s, size_t available);

}  // namespace lm
}  // namespace tingxie
