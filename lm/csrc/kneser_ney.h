// Modified Kneser–Ney estimation exactly as KenLM's lmplz computes it.
//
// The pipeline, one stage per function in kneser_ney.cc:
//  1. AdjustCounts: walk the padded highest-order counts in suffix order. An n-gram's adjusted
//     count is its raw count at the highest order or when it begins with <s>, and otherwise the
//     number of distinct words that precede it. Count-of-counts n1..n4 of the adjusted counts
//     are collected per order, and n-grams whose raw count is at most the order's --prune
//     threshold are marked (they still count in the statistics and denominators).
//  2. Discounts: D_k = k - (k+1) Y n_{k+1}/n_k with Y = n1/(n1+2 n2), per order, or the fallback.
//  3. Initial probabilities: for every context, u(w|h) = (a(hw) - D(a(hw))) / sum_w a(hw) and
//     gamma(h) = (D1 N1(h) + D2 N2(h) + D3 N3+(h) + pruned mass) / sum_w a(hw).
//  4. Interpolation, lowest order first: p(w|h) = u(w|h) + gamma(h) p(w|h'), down to a uniform
//     distribution over the vocabulary without <s>; the ARPA back-off of h is gamma(h).
// All arithmetic is float32 in lmplz's order of operations, so the ARPA numbers agree with
// lmplz's to the last bit in the normal case.
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

// `vocab_size` counts every id, <unk> <s> </s> included; ids never seen get adjusted count 0.
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
