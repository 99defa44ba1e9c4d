#include "corpus.h"


namespace tingxie {
namespace lm {

Vocabulary::Vocabulary() {
  slots_.assign(1 << 10, Slot{0, kEmpty});
  mask_ = slots_.size() - 1;
  for (const char *special : {"<unk>", "<s>", "</s>"}) Intern(special);
}

size_t Vocabulary::FindSlot(std::string_view word, uint64_t hash) const {
  size_t s = hash & mask_;
  while (true) {
    const Slot &slot = slots_[s];
    if (slot.id == kEmpty || (slot.hash == hash && words_[slot.id] == word)) return s;
    s = (s + 1) & mask_;
  }
}

void Vocabulary::Grow() {
  std::vector<Slot> old(slots_.size() * 2, Slot{0, kEmpty});
  old.swap(slots_);
  mask_ = slots_.size() - 1;
  for (const Slot &slot : old) {
    if (slot.id == kEmpty) continue;
    size_t s = slot.hash & mask_;
    while (slots_[s].id != kEmpty) s = (s + 1) & mask_;
    slots_[s] = slot;
  }
}

WordId Vocabulary::Intern(std::string_view word) {
  uint64_t hash = HashString(word.data(), word.size());
  size_t s = FindSlot(word, hash);
  if (slots_[s].id != kEmpty) return slots_[s].id;
  if (closed_) return kUnk;
  WordId id = static_cast<WordId>(words_.size());
  words_.emplace_back(word);
  slots_[s] = Slot{hash, id};
  if (words_.size() * 2 > slots_.size()) Grow();
  return id;
}

WordId Vocabulary::Find(std::string_view word) const {
  size_t s = FindSlot(word, HashString(word.data(), word.size()));
  return slots_[s].id == kEmpty ? kUnk : slots_[s].id;
}

int Utf8CharLength(const unsigned char *s, size_t available) {
  unsigned char c = s[0];
  int length;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0 && c >= 0xC2) length = 2;
  else if ((c & 0xF0) == 0xE0) length = 3;
  else if ((c & 0xF8) == 0xF0 && c <= 0xF4) length = 4;
  else return 0;
  if (static_cast<size_t>(length) > available) return 0;
  for (int i = 1; i < length; ++i)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (length == 3) {
    unsigned cp = ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  } else if (length == 4) {
    unsigned cp = ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
  }
  return length;
}

CorpusReader::CorpusReader(Vocabulary *vocab, CorpusOptions options, SentenceFn sentence)
    : vocab_(vocab), options_(options), sentence_(std::move(sentence)) {}

void CorpusReader::BeginFile(const std::string &path) {
  path_ = path;
  line_number_ = 0;
  partial_.clear();
}

void CorpusReader::Feed(const char *data, size_t size) {
  const char *end = data + size;
  while (data < end) {
    const char *newline = static_cast<const char *>(memchr(data, '\n', end - data));
    if (!newline) {
      partial_.append(data, end);
      return;
    }
    if (partial_.empty()) {
      Line(std::string_view(data, newline - data));
    } else {
      partial_.append(data, newline);
      Line(partial_);
      partial_.clear();
    }
    data = newline + 1;
  }
}

void CorpusReader::EndFile() {
  if (!partial_.empty()) {
    std::string last;
    last.swap(partial_);
    Line(last);
  }
}

static inline bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

void CorpusReader::Line(std::string_view line) {
  ++line_number_;
  ids_.clear();
  const unsigned char *p = reinterpret_cast<const unsigned char *>(line.data());
  const unsigned char *end = p + line.size();
  // Validate UTF-8 once per line; ASCII runs are skipped quickly.
  for (const unsigned char *q = p; q < end;) {
    if (*q < 0x80) { ++q; continue; }
    int length = Utf8CharLength(q, end - q);
    if (!length) throw InputError("not valid UTF-8", path_, line_number_);
    q += length;
  }
  while (p < end) {
    while (p < end && IsSpace(*p)) ++p;
    const unsigned char *start = p;
    while (p < end && !IsSpace(*p)) ++p;
    if (p > start) Token(std::string_view(reinterpret_cast<const char *>(start), p - start));
  }
  ++sentences_;
  tokens_ += ids_.size();
  sentence_(ids_);
}

void CorpusReader::Token(std::string_view token) {
  if (token[0] == '<' && (token == "<s>" || token == "</s>" || token == "<unk>")) {
    if (options_.skip_symbols) return;
    throw InputError("the corpus contains the reserved symbol " + std::string(token) +
                         " (remove it, or pass --skip-symbols to drop such tokens)",
                     path_, line_number_);
  }
  if (!options_.chars) {
    ids_.push_back(vocab_->Intern(token));
    return;
  }
  const unsigned char *p = reinterpret_cast<const unsigned char *>(token.data());
  size_t i = 0;
  while (i < token.size()) {
    int length = Utf8CharLength(p + i, token.size() - i);
    ids_.push_back(vocab_->Intern(token.substr(i, length)));
    i += length;
  }
}

}  // namespace lm
}  // namespace tingxie
