// Counting the highest-order n-grams of a corpus in bounded memory.
//
// Every sentence is padded KenLM-style: the window starts filled with <s>, so order 3 sees
// "<s> <s> w1", "<s> w1 w2", ..., "wn-1 wn </s>". (The adjusted-count stage turns the padded
// entries into the lower-order n-grams that begin with <s>.) Occurrences are appended to a
// buffer bounded by the memory budget; a full buffer is sorted (a counting pass on the last word,
// then small comparison sorts) and equal n-grams are combined; if that does not free half of it,
// the buffer is written to a temporary run file, and the runs are merged at the end. The result
// is a stream of distinct n-grams in *suffix order* (last word first, then the one before, ...),
// lmplz's order for computing adjusted counts. A single n-gram's count must fit 32 bits.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common.h"

namespace tingxie {
namespace lm {

// Distinct n-grams with their counts, in suffix order.
class SortedNgrams {
 public:
  virtual ~SortedNgrams() {}
  // Points `words` at the next n-gram (valid until the next call); false at the end.
  virtual bool Next(const WordId **words, uint64_t *count) = 0;
  // Bytes held in memory while the stream is read (its buffers).
  virtual size_t memory_bytes() const = 0;
};

class NgramCounter {
 public:
  virtual ~NgramCounter() {}
  virtual void AddSentence(const std::vector<WordId> &ids) = 0;
  // Ends counting; the counter must not be used afterwards.
  virtual std::unique_ptr<SortedNgrams> Finish() = 0;
  // Sorted runs written to disk so far (0 when everything fitted in memory). Runs are merged
  // into one whenever 32 are on disk, so few files are ever open at once.
  virtual int spilled_runs() const = 0;
};

// `memory_bytes` bounds the counting buffers; runs go to `temp_dir`. `*vocab_size` must stay
// valid and hold the current vocabulary size (it grows while the corpus is read).
std::unique_ptr<NgramCounter> MakeNgramCounter(int order, size_t memory_bytes,
                                               const std::string &temp_dir, const size_t *vocab_size);

// True when a < b in suffix order (compare the last words first).
inline bool SuffixLess(const WordId *a, const WordId *b, int order) {
  for (int i = order - 1; i >= 0; --i)
    if (a[i] != b[i]) return a[i] < b[i];
  return false;
}

}  // namespace lm
}  // namespace tingxie
