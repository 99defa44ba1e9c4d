// Shared types of the native LM core: word ids, the bad-input exception, and n-gram hashing.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tingxie {
namespace lm {

using WordId = uint32_t;
// KenLM's fixed ids: every vocabulary starts <unk>, <s>, </s>.
constexpr WordId kUnk = 0;
constexpr WordId kBos = 1;
constexpr WordId kEos = 2;
constexpr int kMaxOrder = 6;

// Bad input (corpus, ARPA file, options). The Python binding turns it into common.errors.InputError,
// keeping the file and line; line 0 means "no particular line".
struct InputError : std::runtime_error {
  std::string path;
  long line;
  InputError(const std::string &message, std::string path_ = "", long line_ = 0)
      : std::runtime_error(message), path(std::move(path_)), line(line_) {}
};

// Prefetch a cache line for reading. (GCC dropped __builtin_prefetch from the scorer's loop as
// dead code; the asm form cannot be removed.)
inline void PrefetchRead(const void *address) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char *>(address)));
#else
  __builtin_prefetch(address);
#endif
}

// Hash of a word sequence, built right to left so that a query can extend an n-gram by one
// word of history at a time: HashExtend(HashWord(w), h1) is the hash of "h1 w".
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
inline uint64_t HashWord(WordId w) { return Mix64(static_cast<uint64_t>(w) + 0x9e3779b97f4a7c15ULL); }
inline uint64_t HashExtend(uint64_t suffix_hash, WordId history_word) {
  return Mix64(suffix_hash ^ (static_cast<uint64_t>(history_word) * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL));
}
// Hash of words[0..k) (oldest first), consistent with HashWord/HashExtend.
inline uint64_t HashNgram(const WordId *words, int k) {
  uint64_t h = HashWord(words[k - 1]);
  for (int i = k - 2; i >= 0; --i) h = HashExtend(h, words[i]);
  return h;
}

// Hash of a byte string (words in the vocabulary tables).
inline uint64_t HashString(const char *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ Mix64(v)) * 0xc4ceb9fe1a85ec53ULL;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  return Mix64(h ^ tail);
}

}  // namespace lm
}  // namespace tingxie
