#include "scorer.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <limits>
#include <new>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tingxie {
namespace lm {

namespace {

size_t Align8(size_t n) { return (n + 7) & ~size_t(7); }

}  // namespace

std::shared_ptr<ImageBytes> ImageBytes::Allocate(size_t bytes) {
  std::shared_ptr<ImageBytes> image(new ImageBytes());
  size_t allocated = std::max<size_t>(bytes, 1);
  const size_t huge = size_t(2) << 20;
  void *p = nullptr;
  if (allocated >= huge) {
    allocated = (allocated + huge - 1) / huge * huge;
    if (posix_memalign(&p, huge, allocated) != 0) p = nullptr;
    if (p) madvise(p, allocated, MADV_HUGEPAGE);
  } else {
    p = std::malloc(allocated);
  }
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, allocated);
  image->data_ = static_cast<char *>(p);
  image->size_ = bytes;
  return image;
}

std::shared_ptr<ImageBytes> ImageBytes::Map(const std::string &path, bool populate) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(std::string("cannot open: ") + std::strerror(errno), path);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError("not a regular file", path);
  }
  std::shared_ptr<ImageBytes> image(new ImageBytes());
  image->size_ = static_cast<size_t>(st.st_size);
  if (image->size_ < sizeof(ModelImageHeader)) {
    ::close(fd);
    throw InputError("truncated binary model: " + std::to_string(image->size_) + " bytes, shorter than its header",
                     path);
  }
  void *p = mmap(nullptr, image->size_, PROT_READ, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) throw InputError(std::string("cannot map: ") + std::strerror(errno), path);
  image->data_ = static_cast<char *>(p);
  image->mapped_bytes_ = image->size_;
  image->mapped_ = true;
  return image;
}

ImageBytes::~ImageBytes() {
  if (mapped_) munmap(data_, mapped_bytes_);
  else std::free(data_);
}

BackoffScorer::BackoffScorer(const std::vector<std::string> &vocab, int order,
                             const std::vector<const int32_t *> &ids,
                             const std::vector<const float *> &logprob,
                             const std::vector<const float *> &backoff,
                             const std::vector<size_t> &sizes) {
  const size_t V = vocab.size();
  size_t strings_bytes = 0;
  for (const std::string &w : vocab) strings_bytes += w.size();
  size_t word_slots = 16;
  while (word_slots < V * 2) word_slots *= 2;
  size_t total = 0;
  for (int k = 2; k <= order; ++k) total += sizes[k - 1];
  const size_t ngram_slots = total + total / 2 + 1;

  ModelImageHeader h;
  std::memset(&h, 0, sizeof(h));
  std::memcpy(h.magic, kBinaryMagic, sizeof(h.magic));
  h.version = kBinaryVersion;
  h.byte_order = 0x01020304u;
  h.order = static_cast<uint32_t>(order);
  h.vocab_size = V;
  for (int k = 1; k <= order; ++k) h.counts[k - 1] = sizes[k - 1];
  h.word_slots = word_slots;
  h.ngram_slots = ngram_slots;
  size_t at = Align8(sizeof(ModelImageHeader));
  h.strings_offset = at;
  h.strings_bytes = strings_bytes;
  at = Align8(at + strings_bytes);
  h.string_ends_offset = at;
  at += V * sizeof(uint64_t);
  h.word_slots_offset = at;
  at += word_slots * sizeof(WordSlot);
  h.unigrams_offset = at;
  at = Align8(at + (V + 1) * sizeof(Unigram));
  h.ngram_slots_offset = at;
  at += ngram_slots * sizeof(NgramSlot);
  h.image_bytes = at;

  bytes_ = ImageBytes::Allocate(at);
  char *base = bytes_->data();
  {
    char *strings = base + h.strings_offset;
    uint64_t *ends = reinterpret_cast<uint64_t *>(base + h.string_ends_offset);
    uint64_t end = 0;
    for (size_t i = 0; i < V; ++i) {
      std::memcpy(strings + end, vocab[i].data(), vocab[i].size());
      end += vocab[i].size();
      ends[i] = end;
    }
  }
  // Unigrams by id; a vocabulary word without a unigram entry scores as <unk>.
  Unigram *unigrams = reinterpret_cast<Unigram *>(base + h.unigrams_offset);
  const float kMissing = std::numeric_limits<float>::quiet_NaN();
  for (size_t i = 0; i <= V; ++i) unigrams[i] = Unigram{kMissing, 0.0f};
  for (size_t i = 0; i < sizes[0]; ++i) unigrams[ids[0][i]] = Unigram{logprob[0][i], backoff[0][i]};
  WordSlot *slots = reinterpret_cast<WordSlot *>(base + h.word_slots_offset);
  for (size_t s = 0; s < word_slots; ++s) slots[s] = WordSlot{0, kNoWord, 0};
  for (size_t i = 0; i < V; ++i) {
    if (std::isnan(unigrams[i].logprob)) continue;
    const uint64_t hash = HashString(vocab[i].data(), vocab[i].size());
    size_t s = hash & (word_slots - 1);
    while (slots[s].id != kNoWord) s = (s + 1) & (word_slots - 1);
    slots[s] = WordSlot{hash, static_cast<WordId>(i), 0};
  }
  h.unk = h.bos = h.eos = static_cast<uint32_t>(V);  // Index() reports misses as V for now
  std::memcpy(base, &h, sizeof(h));
  Attach();
  if ((h.bos = Index("<s>")) == V) throw InputError("the model has no <s> unigram");
  if ((h.eos = Index("</s>")) == V) throw InputError("the model has no </s> unigram");
  h.unk = Index("<unk>");
  h.unk_is_word = h.unk != V;
  // KenLM substitutes log10 p(<unk>) = -100 when the file has none.
  if (!h.unk_is_word) unigrams[V] = Unigram{-100.0f, 0.0f};
  std::memcpy(base, &h, sizeof(h));
  Attach();
  for (int k = 2; k <= order; ++k)
    for (size_t i = 0; i < sizes[k - 1]; ++i)
      Insert(HashNgram(reinterpret_cast<const WordId *>(ids[k - 1]) + i * k, k), logprob[k - 1][i],
             backoff[k - 1][i]);
}

void BackoffScorer::Attach() {
  const char *base = bytes_->data();
  header_ = reinterpret_cast<const ModelImageHeader *>(base);
  order_ = static_cast<int>(header_->order);
  vocab_size_ = header_->vocab_size;
  strings_ = base + header_->strings_offset;
  string_ends_ = reinterpret_cast<const uint64_t *>(base + header_->string_ends_offset);
  word_slots_ = reinterpret_cast<const WordSlot *>(base + header_->word_slots_offset);
  word_mask_ = header_->word_slots - 1;
  unigrams_ = reinterpret_cast<const Unigram *>(base + header_->unigrams_offset);
  slots_ = reinterpret_cast<const NgramSlot *>(base + header_->ngram_slots_offset);
  ngram_slots_ = header_->ngram_slots;
  unk_ = header_->unk;
  bos_ = header_->bos;
  eos_ = header_->eos;
  unk_is_word_ = header_->unk_is_word != 0;
}

void BackoffScorer::Insert(uint64_t key, float logprob, float backoff) {
  key |= !key;
  NgramSlot *slots = reinterpret_cast<NgramSlot *>(bytes_->data() + header_->ngram_slots_offset);
  size_t s = Bucket(key);
  while (slots[s].key && slots[s].key != key)
    if (++s == ngram_slots_) s = 0;
  slots[s] = NgramSlot{key, logprob, backoff};
}

std::unique_ptr<BackoffScorer> BackoffScorer::Open(const std::string &path, bool populate) {
  std::shared_ptr<ImageBytes> bytes = ImageBytes::Map(path, populate);
  ModelImageHeader h;
  std::memcpy(&h, bytes->data(), sizeof(h));
  auto fail = [&](const std::string &message) { throw InputError(message, path); };
  if (std::memcmp(h.magic, kBinaryMagic, sizeof(h.magic)) != 0) fail("not a Tingxie binary language model");
  if (h.version != kBinaryVersion)
    fail("binary model format version " + std::to_string(h.version) + ", this build reads " +
         std::to_string(kBinaryVersion));
  if (h.byte_order != 0x01020304u) fail("binary model written on a machine of the other byte order");
  if (h.order < 1 || h.order > static_cast<uint32_t>(kMaxOrder)) fail("corrupt binary model: bad order");
  const uint64_t size = bytes->size();
  if (h.image_bytes != size)
    fail("truncated or corrupt binary model: " + std::to_string(size) + " bytes, its header says " +
         std::to_string(h.image_bytes));
  const uint64_t V = h.vocab_size;
  if (V < 2 || V >= kNoWord || V > size) fail("corrupt binary model: bad vocabulary size");
  if (h.word_slots <= V || (h.word_slots & (h.word_slots - 1)) || h.word_slots > size)
    fail("corrupt binary model: bad word table size");
  if (h.ngram_slots < 1 || h.ngram_slots > size) fail("corrupt binary model: bad n-gram table size");
  auto section = [&](uint64_t offset, uint64_t count, uint64_t item, bool aligned, const char *what) {
    if ((aligned && offset % 8) || offset < sizeof(ModelImageHeader) || offset > size ||
        count > (size - offset) / item)
      fail(std::string("corrupt binary model: the ") + what + " lie outside the file");
  };
  section(h.strings_offset, h.strings_bytes, 1, false, "word strings");
  section(h.string_ends_offset, V, sizeof(uint64_t), true, "word offsets");
  section(h.word_slots_offset, h.word_slots, sizeof(WordSlot), true, "word table");
  section(h.unigrams_offset, V + 1, sizeof(Unigram), true, "unigrams");
  section(h.ngram_slots_offset, h.ngram_slots, sizeof(NgramSlot), true, "n-gram table");
  if (h.bos >= V || h.eos >= V || h.unk > V || (h.unk == V) == (h.unk_is_word != 0))
    fail("corrupt binary model: bad <s>, </s> or <unk> id");
  const char *base = bytes->data();
  const uint64_t *ends = reinterpret_cast<const uint64_t *>(base + h.string_ends_offset);
  uint64_t previous = 0;
  for (uint64_t i = 0; i < V; ++i) {
    if (ends[i] < previous || ends[i] > h.strings_bytes) fail("corrupt binary model: bad word offsets");
    previous = ends[i];
  }
  const WordSlot *slots = reinterpret_cast<const WordSlot *>(base + h.word_slots_offset);
  for (uint64_t s = 0; s < h.word_slots; ++s)
    if (slots[s].id != kNoWord && slots[s].id >= V) fail("corrupt binary model: bad word table entry");
  std::unique_ptr<BackoffScorer> scorer(new BackoffScorer(std::move(bytes)));
  scorer->Attach();
  return scorer;
}

void BackoffScorer::Write(const std::string &path) const {
  const std::string temp = path + ".tmp";
  std::FILE *f = std::fopen(temp.c_str(), "wb");
  if (!f) throw InputError(std::string("cannot write: ") + std::strerror(errno), temp);
  const bool ok = std::fwrite(bytes_->data(), 1, header_->image_bytes, f) == header_->image_bytes;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw InputError(std::string("cannot write: ") + std::strerror(errno), path);
  }
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
    const NgramSlot *slot = Find(h);
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
