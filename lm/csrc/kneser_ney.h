// Modified Kneser–Ney estimation exactly as KenLM's lmplz computes it, in bounded memory.
//
// The pipeline (kneser_ney.cc), each stage a streaming pass over sorted n-grams as in lmplz:
//  1. Adjust counts: walk the padded highest-order counts in suffix order. An n-gram's adjusted
//     count is its raw count at the highest order or when it begins with <s>, and otherwise the
//     number of distinct words that precede it. Count-of-counts n1..n4 of the adjusted counts
//     are collected per order, and n-grams whose raw count is at most the order's --prune
//     threshold are marked (they still count in the statistics and denominators). Each order's
//     n-grams come out in suffix order and go to a sorter into *context order* (the context
//     w1..wk-1 compared from its last word, then wk), so that a context's extensions are adjacent.
//  2. Discounts: D_k = k - (k+1) Y n_{k+1}/n_k with Y = n1/(n1+2 n2), per order, or the fallback.
//  3. Context sums, per order in context order: for every context h,
//     u(w|h) = (a(hw) - D(a(hw))) / sum_w a(hw) and
//     gamma(h) = (D1 N1(h) + D2 N2(h) + D3 N3+(h) + pruned mass) / sum_w a(hw).
//     Each n-gram leaves with its u and its context's gamma, sorted back into suffix order;
//     gamma(h) is also h's ARPA back-off, and the contexts arrive in h's own suffix order.
//  4. Interpolation, lowest order first, each order merged with the one below in suffix order:
//     p(w|h) = u(w|h) + gamma(h) p(w|h'), down to a uniform distribution over the vocabulary
//     without <s>. The result goes to a ModelSink (ARPA text, or arrays) order by order.
// Sorted streams stay in memory while they fit `memory_bytes` and go to temporary files
// otherwise; the output does not depend on which. All arithmetic is float32 in lmplz's order of
// operations, so the ARPA numbers agree with lmplz's to the last bit in the normal case.
#pragma once

#include <string>
#include <vector>

#include "common.h"
#include "ngram_count.h"

namespace tingxie {
namespace lm {

struct KneserNeyOptions {
  int order = 3;
  // Count thresholds per order (lmplz --prune): n-grams with raw count <= threshold are dropped.
  // Must be non-decreasing; the unigram threshold must be 0. Missing orders repeat the last.
  std::vector<uint64_t> prune;
  // When a discount cannot be computed or is out of range: fail (false) or use `fallback`.
  bool discount_fallback = false;
  float fallback[3] = {0.5f, 1.0f, 1.5f};
  // lmplz --interpolate_unigrams: interpolate unigrams with the uniform distribution (true), or
  // give the interpolation mass to <unk> (false, SRILM's behaviour).
  bool interpolate_unigrams = true;
  bool verbose = false;  // progress and statistics on stderr
  // Bytes for the sorted streams of stages 1-4 together (lmplz -S); past it they spill to
  // anonymous files in `temp_dir`.
  size_t memory_bytes = size_t(1) << 30;
  std::string temp_dir = "/tmp";
};

struct Discount {
  float amount[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // amount[c] for adjusted count c (3 means 3+)
  float Apply(uint64_t count) const {
    return static_cast<float>(count) - amount[count < 3 ? count : 3];
  }
};

// One order of the estimated model, in ARPA back-off form.
struct ModelOrder {
  int order = 0;
  std::vector<WordId> words;  // [n * order], history first
  std::vector<float> logprob;  // log10
  std::vector<float> backoff;  // log10, 0 where none
  size_t size() const { return logprob.size(); }
};

struct KneserNeyModel {
  std::vector<ModelOrder> orders;
  std::vector<Discount> discounts;
  std::vector<uint64_t> counts_before_pruning;
};

// Receives the estimated model order by order, lowest first: unigrams by word id, higher
// orders in suffix order; pruned n-grams are left out. `backoff` is 0 where there is none.
class ModelSink {
 public:
  virtual ~ModelSink() {}
  // `counts[k-1]`: the n-grams of order k that will be added.
  virtual void Begin(const std::vector<uint64_t> &counts) = 0;
  virtual void BeginOrder(int order) = 0;
  virtual void Add(const WordId *words, float logprob, float backoff) = 0;
  virtual void End() = 0;
};

struct EstimateSummary {
  std::vector<Discount> discounts;
  std::vector<uint64_t> counts_before_pruning;
  std::vector<uint64_t> counts;  // n-grams in the model, per order
  size_t spilled_runs = 0;  // sorted runs written to disk by stages 1-4
};

// `vocab_size` counts every id, <unk> <s> </s> included; ids never seen get adjusted count 0.
EstimateSummary EstimateKneserNey(SortedNgrams &padded_counts, size_t vocab_size,
                                  const KneserNeyOptions &options, ModelSink &sink);

// The same, collected in memory.
KneserNeyModel EstimateKneserNey(SortedNgrams &padded_counts, size_t vocab_size,
                                 const KneserNeyOptions &options);

// Raw counts of orders 1..order (NgramCounts' convention: <s> unigram once per sentence, no
// padding n-grams), each order sorted lexicographically.
struct RawOrder {
  std::vector<WordId> words;
  std::vector<uint64_t> counts;
};
std::vector<RawOrder> RawCounts(SortedNgrams &padded_counts, int order, uint64_t sentences);

}  // namespace lm
}  // namespace tingxie
