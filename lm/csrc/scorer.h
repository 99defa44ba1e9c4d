// Scoring text with a back-off n-gram model the way KenLM's `query` does.
//
// The whole model is one flat image (ModelImage below), the same bytes in memory and in the
// binary file that `tingxie lm build-binary` writes, so a binary model is used straight from
// mmap (shared between processes, nothing parsed) and a model read from ARPA is built into an
// allocated image of the same layout. Unigrams sit in an array indexed by word id; the n-grams
// of orders 2+ live in one open-addressing table keyed by a 64-bit hash of the word ids (like
// KenLM's probing structure, which also keeps only the hash; 1.5 slots per n-gram, as its
// default). A query extends the n-gram one history word at a time,
// HashExtend(hash("w"), h1) = hash("h1 w"), stops at the first miss, and adds the back-off
// weights of the longer contexts remembered in the state. Words are looked up through an
// open-addressing table of string hashes, checked against the word itself.
//
// The query methods are inline: the decoder's extension calls them on a scorer that lm's
// extension built (asr/decoder/csrc/big_lm.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"

namespace tingxie {
namespace lm {

// Layout of a model image; every offset is from the image's first byte, 8-byte aligned.
struct ModelImageHeader {
  char magic[8];                 // kBinaryMagic
  uint32_t version;              // kBinaryVersion
  uint32_t byte_order;           // 0x01020304 as written by this machine
  uint32_t order;
  uint32_t unk, bos, eos;        // word ids; unk == vocab_size when the model has no <unk>
  uint32_t unk_is_word;
  uint32_t reserved;
  uint64_t vocab_size;           // words (V); the unigram array has V + 1 entries
  uint64_t counts[kMaxOrder];    // n-grams per order, as the ARPA file declared them
  uint64_t word_slots;           // power of two > V
  uint64_t ngram_slots;          // >= 1
  uint64_t strings_offset, strings_bytes;  // every word's bytes, concatenated
  uint64_t string_ends_offset;   // uint64 [V]: end of word i within the strings
  uint64_t word_slots_offset;    // WordSlot [word_slots]
  uint64_t unigrams_offset;      // Unigram [V + 1]
  uint64_t ngram_slots_offset;   // NgramSlot [ngram_slots]
  uint64_t image_bytes;          // the file's exact size
};
constexpr char kBinaryMagic[8] = {'T', 'X', 'L', 'M', 'B', 'I', 'N', '\x1a'};
constexpr uint32_t kBinaryVersion = 1;

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

// The bytes of an image: allocated (zero-filled, on transparent huge pages where the kernel
// allows, as KenLM does for its tables) or a read-only shared mapping of a file.
class ImageBytes {
 public:
  static std::shared_ptr<ImageBytes> Allocate(size_t bytes);
  static std::shared_ptr<ImageBytes> Map(const std::string &path, bool populate);
  ~ImageBytes();
  ImageBytes(const ImageBytes &) = delete;
  ImageBytes &operator=(const ImageBytes &) = delete;
  char *data() { return data_; }
  const char *data() const { return data_; }
  size_t size() const { return size_; }
  bool mapped() const { return mapped_; }

 private:
  ImageBytes() = default;
  char *data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_bytes_ = 0;
  bool mapped_ = false;
};

class BackoffScorer {
 public:
  // orders[k-1]: ids [n*k], logprob, backoff (the model's vocabulary ids).
  BackoffScorer(const std::vector<std::string> &vocab, int order,
                const std::vector<const int32_t *> &ids, const std::vector<const float *> &logprob,
                const std::vector<const float *> &backoff, const std::vector<size_t> &sizes);
  // A binary model file, validated (header, sizes, offsets, word table) before any query:
  // a bad file is an InputError naming it, never a crash or a hang.
  static std::unique_ptr<BackoffScorer> Open(const std::string &path, bool populate);
  // Writes the image (to path + ".tmp", then renamed).
  void Write(const std::string &path) const;

  WordId Index(std::string_view word) const {  // unk() when unknown
    const uint64_t h = HashString(word.data(), word.size());
    size_t s = h & word_mask_;
    for (size_t probes = 0; probes <= word_mask_; ++probes) {
      const WordSlot &slot = word_slots_[s];
      if (slot.id == kNoWord) return unk_;
      if (slot.hash == h && Word(slot.id) == word) return slot.id;
      s = (s + 1) & word_mask_;
    }
    return unk_;
  }
  std::string_view Word(WordId id) const {
    const uint64_t begin = id ? string_ends_[id - 1] : 0;
    return std::string_view(strings_ + begin, string_ends_[id] - begin);
  }
  ScorerState BeginSentence() const {
    ScorerState state;
    state.length = order_ > 1 ? 1 : 0;
    state.words[0] = bos_;
    state.backoff[0] = unigrams_[bos_].backoff;
    return state;
  }
  float Score(const ScorerState &in, WordId word, ScorerState *out) const {
    uint64_t h = HashWord(word);
    const Unigram &unigram = unigrams_[word];
    float logprob = unigram.logprob;
    int matched = 1;
    const int max_history = order_ - 1;
    out->words[0] = word;
    out->backoff[0] = unigram.backoff;
    for (int j = 0; j < in.length; ++j) {
      h = HashExtend(h, in.words[j]);
      const NgramSlot *longer = Find(h);
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
  // The state after `history` (oldest first, model ids), as Score would have left it: the
  // longest suffix that is an n-gram (at most order-1 words), with its back-off weights.
  ScorerState StateAfter(const WordId *history, int length) const;
  // The id an unknown word is scored as; not a vocabulary word when the model has no <unk>.
  WordId unk() const { return unk_; }
  WordId bos() const { return bos_; }
  WordId eos() const { return eos_; }
  bool unk_is_word() const { return unk_is_word_; }
  size_t vocab_size() const { return vocab_size_; }
  // One line of text: <s> context, the words, then </s> when `eos`.
  SentenceScore ScoreLine(std::string_view line, bool bos, bool eos) const;
  int order() const { return order_; }
  const ModelImageHeader &header() const { return *header_; }
  bool mapped() const { return bytes_->mapped(); }

 private:
  struct NgramSlot {
    uint64_t key;  // 0: empty
    float logprob;
    float backoff;
  };
  struct Unigram {
    float logprob;
    float backoff;
  };
  struct WordSlot {
    uint64_t hash;
    WordId id;  // kNoWord: empty
    uint32_t unused;
  };
  static constexpr WordId kNoWord = 0xffffffffu;

  explicit BackoffScorer(std::shared_ptr<ImageBytes> bytes) : bytes_(std::move(bytes)) {}
  void Attach();  // sets the pointers from the header of bytes_
  size_t Bucket(uint64_t key) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(key) * ngram_slots_) >> 64);
  }
  void Insert(uint64_t key, float logprob, float backoff);
  void PrefetchSlot(uint64_t key) const { PrefetchRead(&slots_[Bucket(key | !key)]); }
  const NgramSlot *Find(uint64_t key) const {
    key |= !key;
    size_t s = Bucket(key);
    for (size_t probes = 0; probes < ngram_slots_; ++probes) {
      const NgramSlot &slot = slots_[s];
      if (slot.key == key) return &slot;
      if (!slot.key) return nullptr;
      if (++s == ngram_slots_) s = 0;
    }
    return nullptr;
  }

  std::shared_ptr<ImageBytes> bytes_;
  const ModelImageHeader *header_ = nullptr;
  int order_ = 0;
  size_t vocab_size_ = 0;
  const char *strings_ = nullptr;
  const uint64_t *string_ends_ = nullptr;
  const WordSlot *word_slots_ = nullptr;
  size_t word_mask_ = 0;
  const Unigram *unigrams_ = nullptr;  // by word id
  const NgramSlot *slots_ = nullptr;
  size_t ngram_slots_ = 0;
  WordId unk_ = 0, bos_ = 1, eos_ = 2;
  bool unk_is_word_ = true;
};

}  // namespace lm
}  // namespace tingxie
