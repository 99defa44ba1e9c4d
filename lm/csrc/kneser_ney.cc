#include "kneser_ney.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <numeric>
#include <sstream>
#include <ctime>
#include <cstdio>
#include <unistd.h>
#include <cstdlib>

namespace tingxie {
namespace lm {
namespace {

// Current resident set size (Linux), for the timing report.
long ResidentMegabytes() {
  FILE *f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long pages = 0, resident = 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  std::fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024) / 1024;
}

// Stage timing on stderr when TINGXIE_LM_TIMING is set (development aid).
class StageClock {
 public:
  StageClock() : on_(std::getenv("TINGXIE_LM_TIMING") != nullptr), last_(std::clock()) {}
  void Mark(const char *stage) {
    if (!on_) return;
    std::clock_t now = std::clock();
    std::cerr << "[lm timing] " << stage << ": " << double(now - last_) / CLOCKS_PER_SEC << " CPU-s, "
              << ResidentMegabytes() << " MB resident\n";
    last_ = now;
  }

 private:
  bool on_;
  std::clock_t last_;
};

// The n-grams of one order with their adjusted counts, in suffix order.
struct Level {
  int k = 0;
  std::vector<WordId> words;
  std::vector<uint32_t> adjusted;
  std::vector<uint8_t> pruned;
  size_t size() const { return adjusted.size(); }
  const WordId *at(size_t i) const { return &words[i * k]; }
  void Push(const WordId *w, uint64_t count, bool is_pruned) {
    if (count > UINT32_MAX) throw InputError("an adjusted count exceeds 4294967295; not supported");
    for (int i = 0; i < k; ++i) words.push_back(w[i]);  // (insert() calls memmove per n-gram)
    adjusted.push_back(static_cast<uint32_t>(count));
    pruned.push_back(is_pruned);
  }
  void Free() {
    std::vector<WordId>().swap(words);
    std::vector<uint32_t>().swap(adjusted);
    std::vector<uint8_t>().swap(pruned);
  }
};

struct CountOfCounts {
  uint64_t n[5] = {0, 0, 0, 0, 0};  // n[c]: n-grams with adjusted count c (c < 5)
  uint64_t total = 0;
  void Add(uint64_t count) {
    ++total;
    if (count < 5) ++n[count];
  }
};

// Stage 1. `levels[j-1]` receives the order-j n-grams; `stats` their count-of-counts.
void AdjustCounts(SortedNgrams &padded, int order, const std::vector<uint64_t> &threshold,
                  std::vector<Level> &levels, std::vector<CountOfCounts> &stats) {
  const int N = order;
  std::vector<WordId> last(N, kBos);
  // Open lower-order n-grams: orders 1..depth, each a suffix of `last`, with their adjusted
  // counts and raw ("actual") counts so far.
  int depth = 0;
  std::vector<uint64_t> adjusted(N, 0), actual(N, 0);
  auto emit = [&](int j, uint64_t stat_count) {
    bool pruned = actual[j - 1] <= threshold[j - 1];
    levels[j - 1].Push(&last[N - j], adjusted[j - 1], pruned);
    stats[j - 1].Add(stat_count);
  };
  const WordId *g;
  uint64_t count;
  while (padded.Next(&g, &count)) {
    int same = 0;
    while (same < depth && g[N - 1 - same] == last[N - 1 - same]) ++same;
    for (int j = depth; j > same; --j) emit(j, adjusted[j - 1]);
    depth = same;
    for (int j = 1; j <= same; ++j) actual[j - 1] += count;
    if (same) ++adjusted[same - 1];  // one more distinct left extension
    int pos = N - 1 - same;  // the last word that differs from `last`
    for (; pos > 0 && g[pos] != kBos; --pos, ++depth) {
      adjusted[depth] = 1;
      actual[depth] = count;
    }
    if (pos > 0) {
      // g is padding ("<s> <s> w"): it stands for the lower-order n-gram starting at <s>,
      // which keeps its raw count.
      adjusted[depth] = count;
      actual[depth] = count;
      ++depth;
    } else {
      stats[N - 1].Add(count);
      levels[N - 1].Push(g, count, count <= threshold[N - 1]);
    }
    std::copy(g, g + N, last.begin());
  }
  // lmplz counts the n-grams still open at the end with their raw counts; so do we.
  for (int j = 1; j <= depth; ++j) emit(j, actual[j - 1]);
}

// Stage 2.
std::vector<Discount> ComputeDiscounts(const std::vector<CountOfCounts> &stats,
                                       const KneserNeyOptions &options) {
  std::vector<Discount> discounts(stats.size());
  for (size_t i = 0; i < stats.size(); ++i) {
    const uint64_t *n = stats[i].n;
    std::ostringstream problem;
    for (unsigned j = 1; j < 4 && problem.str().empty(); ++j) {
      if (n[j] == 0)
        problem << "could not calculate Kneser-Ney discounts for " << (i + 1)
                << "-grams with adjusted count " << (j + 1) << " because no " << (i + 1)
                << "-gram has adjusted count " << j << " (is this small or artificial data?)";
    }
    Discount d;
    if (problem.str().empty()) {
      float y = static_cast<float>(n[1]) / static_cast<float>(n[1] + 2.0 * n[2]);
      for (unsigned j = 1; j < 4; ++j) {
        d.amount[j] = static_cast<float>(j) -
                      static_cast<float>(j + 1) * y * static_cast<float>(n[j + 1]) / static_cast<float>(n[j]);
        if ((d.amount[j] < 0.0f || d.amount[j] > j) && problem.str().empty())
          problem << (i + 1) << "-gram discount out of range for adjusted count " << j << ": "
                  << d.amount[j];
      }
    }
    if (!problem.str().empty()) {
      if (!options.discount_fallback)
        throw InputError("modified Kneser-Ney: " + problem.str() +
                         ". This means modified Kneser-Ney smoothing thinks something is weird "
                         "about your data; to override this error (e.g. for tiny or artificial "
                         "data), rerun with --discount-fallback");
      d = Discount();
      for (int j = 0; j < 3; ++j) d.amount[j + 1] = options.fallback[j];
      if (options.verbose)
        std::cerr << "tingxie: warning: " << problem.str() << "; substituting fallback discounts D1="
                  << d.amount[1] << " D2=" << d.amount[2] << " D3+=" << d.amount[3] << "\n";
    }
    discounts[i] = d;
  }
  return discounts;
}

inline bool SameWords(const WordId *a, const WordId *b, int k) {
  for (int i = 0; i < k; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// Index from the n-grams of one level to their position (open addressing on HashNgram). The
// loops look `kAhead` n-grams ahead and prefetch their slots: the table is far larger than the
// cache, so this hides most of the memory latency.
constexpr size_t kAhead = 16;

class LevelIndex {
 public:
  explicit LevelIndex(const Level &level) : level_(level) {
    size_t slots = 16;
    while (slots < level.size() * 2) slots *= 2;
    slots_.assign(slots, 0);
    mask_ = slots - 1;
    uint64_t ring[kAhead];
    const size_t n = level.size();
    for (size_t i = 0; i < std::min(n, kAhead); ++i) Prefetch(ring[i] = HashNgram(level.at(i), level.k));
    for (size_t i = 0; i < n; ++i) {
      size_t s = ring[i % kAhead] & mask_;
      if (i + kAhead < n) Prefetch(ring[i % kAhead] = HashNgram(level.at(i + kAhead), level.k));
      while (slots_[s]) s = (s + 1) & mask_;
      slots_[s] = static_cast<uint32_t>(i + 1);
    }
  }

  // context[i] = position of the first (k-1) words of higher n-gram i.
  void FindContexts(const Level &higher, std::vector<uint32_t> &context) const {
    const size_t n = higher.size();
    const int k = level_.k;
    context.resize(n);
    uint64_t ring[kAhead];
    for (size_t i = 0; i < std::min(n, kAhead); ++i) Prefetch(ring[i] = HashNgram(higher.at(i), k));
    for (size_t i = 0; i < n; ++i) {
      uint64_t h = ring[i % kAhead];
      if (i + kAhead < n) Prefetch(ring[i % kAhead] = HashNgram(higher.at(i + kAhead), k));
      context[i] = Find(higher.at(i), h);
    }
  }

 private:
  void Prefetch(uint64_t hash) const { PrefetchRead(&slots_[hash & mask_]); }
  uint32_t Find(const WordId *words, uint64_t hash) const {
    size_t s = hash & mask_;
    while (true) {
      uint32_t v = slots_[s];
      if (!v) throw std::logic_error("Kneser-Ney: a context is missing from the lower order");
      if (SameWords(level_.at(v - 1), words, level_.k)) return v - 1;
      s = (s + 1) & mask_;
    }
  }

  const Level &level_;
  std::vector<uint32_t> slots_;
  size_t mask_;
};

// Stage 3 for one context order: gamma(h) and the denominator of every context h, from the
// n-grams one order higher. `context_of[i]` is the context's index for each higher n-gram.
struct ContextSums {
  std::vector<float> denominator;  // 0 where h has no extension
  std::vector<float> gamma;
};

ContextSums SumContexts(const Level &contexts, const Level &higher,
                        const std::vector<uint32_t> &context_of, const Discount &discount) {
  struct Accumulator {
    uint64_t denominator = 0;
    uint32_t by_count[3] = {0, 0, 0};  // unpruned extensions with adjusted count 1, 2, 3+
  };
  size_t n = contexts.size();
  std::vector<Accumulator> acc(n);
  std::vector<uint64_t> pruned_mass;
  bool any_pruned = false;
  for (uint8_t p : higher.pruned) any_pruned |= p;
  if (any_pruned) pruned_mass.assign(n, 0);
  const size_t m = higher.size();
  for (size_t i = 0; i < m; ++i) {
    if (i + kAhead < m) PrefetchRead(&acc[context_of[i + kAhead]]);
    Accumulator &a = acc[context_of[i]];
    uint32_t count = higher.adjusted[i];
    a.denominator += count;
    if (higher.pruned[i]) {
      pruned_mass[context_of[i]] += count;
    } else if (count > 0) {
      ++a.by_count[std::min<uint32_t>(count, 3) - 1];
    }
  }
  ContextSums sums;
  sums.denominator.assign(n, 0.0f);
  sums.gamma.assign(n, 0.0f);
  for (size_t c = 0; c < n; ++c) {
    if (!acc[c].denominator) continue;
    float d = static_cast<float>(acc[c].denominator);
    float gamma = 0.0f;
    for (int j = 1; j <= 3; ++j) gamma += discount.amount[j] * static_cast<float>(acc[c].by_count[j - 1]);
    if (any_pruned) gamma += pruned_mass[c];
    gamma /= d;
    sums.denominator[c] = d;
    sums.gamma[c] = gamma;
  }
  return sums;
}

}  // namespace

KneserNeyModel EstimateKneserNey(SortedNgrams &padded_counts, size_t vocab_size,
                                 const KneserNeyOptions &options) {
  const int N = options.order;
  std::vector<uint64_t> threshold = options.prune;
  if (threshold.empty()) threshold.push_back(0);
  if (threshold.size() > static_cast<size_t>(N))
    throw InputError("--prune gives " + std::to_string(threshold.size()) +
                     " thresholds for an order-" + std::to_string(N) + " model");
  while (threshold.size() < static_cast<size_t>(N)) threshold.push_back(threshold.back());
  if (threshold[0] != 0) throw InputError("pruning unigrams is not supported: the first --prune threshold must be 0");
  for (int i = 1; i < N; ++i)
    if (threshold[i] < threshold[i - 1])
      throw InputError("--prune thresholds must be non-decreasing");

  std::vector<Level> levels(N);
  for (int k = 1; k <= N; ++k) levels[k - 1].k = k;
  std::vector<CountOfCounts> stats(N);
  StageClock clock;
  AdjustCounts(padded_counts, N, threshold, levels, stats);
  clock.Mark("sort (first n-gram) + adjusted counts");
  if (levels[N - 1].size() == 0) throw InputError("the corpus is empty");

  // Unigrams indexed by word id, so that every id has an entry (<unk> and <s> with count 0).
  {
    Level unigrams;
    unigrams.k = 1;
    unigrams.words.resize(vocab_size);
    std::iota(unigrams.words.begin(), unigrams.words.end(), 0);
    unigrams.adjusted.assign(vocab_size, 0);
    unigrams.pruned.assign(vocab_size, 0);
    for (size_t i = 0; i < levels[0].size(); ++i) unigrams.adjusted[levels[0].words[i]] = levels[0].adjusted[i];
    levels[0] = std::move(unigrams);
  }

  KneserNeyModel model;
  model.discounts = ComputeDiscounts(stats, options);
  for (int k = 1; k <= N; ++k) model.counts_before_pruning.push_back(k == 1 ? vocab_size : levels[k - 1].size());
  // Stage 3: context sums, one order at a time (order k's contexts live in level k-1).
  std::vector<ContextSums> sums(N);  // sums[k-1]: contexts of order-k n-grams (level k-1)
  std::vector<std::vector<uint32_t>> context_of(N);
  for (int k = 2; k <= N; ++k) {
    const Level &higher = levels[k - 1];
    std::vector<uint32_t> &ctx = context_of[k - 1];
    ctx.resize(higher.size());
    if (k == 2) {
      for (size_t i = 0; i < higher.size(); ++i) ctx[i] = higher.at(i)[0];
    } else {
      LevelIndex(levels[k - 2]).FindContexts(higher, ctx);
    }
    sums[k - 1] = SumContexts(levels[k - 2], higher, ctx, model.discounts[k - 1]);
  }
  // Unigrams: a single empty context.
  uint64_t unigram_total = 0, unigram_by_count[4] = {0, 0, 0, 0};
  for (uint64_t a : levels[0].adjusted) {
    unigram_total += a;
    if (a) ++unigram_by_count[std::min<uint64_t>(a, 3)];
  }
  const Discount &d1 = model.discounts[0];
  float unigram_denominator = static_cast<float>(unigram_total);
  float unigram_gamma = 0.0f;
  for (int j = 1; j <= 3; ++j) unigram_gamma += d1.amount[j] * static_cast<float>(unigram_by_count[j]);
  unigram_gamma /= unigram_denominator;

  clock.Mark("context sums");
  // Stage 4: interpolate, lowest order first.
  const float uniform = 1.0 / static_cast<float>(vocab_size - 1);  // <s> excluded
  std::vector<std::vector<float>> prob(N);
  prob[0].resize(vocab_size);
  // Without unigram interpolation the leftover mass goes to <unk> (lmplz, where <unk> is never
  // seen); with a closed vocabulary it is shared by the words never seen, or added to <unk>'s
  // own probability when every word was seen.
  size_t zerotons = 0;
  for (size_t w = 0; w < vocab_size; ++w) zerotons += w != kBos && !levels[0].adjusted[w];
  const float zeroton_prob = zerotons > 1 ? unigram_gamma / static_cast<float>(zerotons) : unigram_gamma;
  for (size_t w = 0; w < vocab_size; ++w) {
    const uint32_t count = levels[0].adjusted[w];
    float u = d1.Apply(count) / unigram_denominator;
    if (w == kBos) {
      prob[0][w] = 1.0f;
    } else if (options.interpolate_unigrams) {
      prob[0][w] = u + unigram_gamma * uniform;
    } else if (!count) {
      prob[0][w] = zeroton_prob;
    } else {
      prob[0][w] = (w == kUnk && zerotons == 0) ? u + unigram_gamma : u;
    }
  }
  for (int k = 2; k <= N; ++k) {
    const Level &level = levels[k - 1];
    const Level &lower = levels[k - 2];
    const ContextSums &s = sums[k - 1];
    const Discount &d = model.discounts[k - 1];
    prob[k - 1].assign(level.size(), 0.0f);
    size_t j = 0;  // the suffix (drop the first word) in the lower order; suffix order makes it monotone
    for (size_t i = 0; i < level.size(); ++i) {
      const WordId *suffix = level.at(i) + 1;
      while (SuffixLess(lower.at(j), suffix, k - 1)) ++j;
      if (level.pruned[i]) continue;
      uint32_t c = context_of[k - 1][i];
      float u = d.Apply(level.adjusted[i]) / s.denominator[c];
      prob[k - 1][i] = u + s.gamma[c] * prob[k - 2][j];
    }
  }

  clock.Mark("interpolation");
  // ARPA form: log10 p, and log10 gamma(h) as the back-off of every context h. Highest order
  // first; each order's word and probability arrays are compacted in place (dropping pruned
  // n-grams) and handed over to the model, the other working arrays released.
  model.orders.resize(N);
  for (int k = N; k >= 1; --k) {
    Level &level = levels[k - 1];
    std::vector<float> &p = prob[k - 1];
    ModelOrder &out = model.orders[k - 1];
    out.order = k;
    size_t kept = 0;
    for (uint8_t pruned : level.pruned) kept += !pruned;
    out.backoff.reserve(kept);
    size_t to = 0;
    for (size_t i = 0; i < level.size(); ++i) {
      if (level.pruned[i]) continue;
      if (to != i) std::copy(level.at(i), level.at(i) + k, level.words.begin() + to * k);
      p[to] = std::min(0.0f, log10f(p[i]));
      float backoff = 0.0f;
      if (k < N && sums[k].denominator[i] > 0) backoff = log10f(sums[k].gamma[i]);
      out.backoff.push_back(backoff);
      ++to;
    }
    level.words.resize(to * k);
    p.resize(to);
    out.words = std::move(level.words);
    out.logprob = std::move(p);
    level.Free();
    std::vector<uint32_t>().swap(context_of[k - 1]);
    if (k < N) sums[k] = ContextSums();
  }
  clock.Mark("output");
  return model;
}

std::vector<RawOrder> RawCounts(SortedNgrams &padded, int order, uint64_t sentences) {
  const int N = order;
  std::vector<RawOrder> out(N);
  std::vector<std::vector<WordId>> current(N + 1);
  std::vector<uint64_t> sum(N + 1, 0);
  std::vector<bool> open(N + 1, false);
  auto close = [&](int k) {
    if (!open[k]) return;
    out[k - 1].words.insert(out[k - 1].words.end(), current[k].begin(), current[k].end());
    out[k - 1].counts.push_back(sum[k]);
    open[k] = false;
  };
  const WordId *g;
  uint64_t count;
  while (padded.Next(&g, &count)) {
    for (int k = 1; k <= N; ++k) {
      const WordId *suffix = g + (N - k);
      // A k-suffix is a real n-gram unless <s> appears after its first word (padding).
      bool valid = true;
      for (int i = 1; i < k; ++i)
        if (suffix[i] == kBos) valid = false;
      bool same = open[k] && std::equal(suffix, suffix + k, current[k].begin());
      if (!same) {
        close(k);
        if (valid) {
          current[k].assign(suffix, suffix + k);
          sum[k] = 0;
          open[k] = true;
        }
      }
      if (valid) sum[k] += count;
    }
  }
  for (int k = 1; k <= N; ++k) close(k);
  if (sentences) {
    out[0].words.push_back(kBos);
    out[0].counts.push_back(sentences);
  }
  for (int k = 1; k <= N; ++k) {
    RawOrder &o = out[k - 1];
    size_t n = o.counts.size();
    std::vector<uint32_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    std::sort(perm.begin(), perm.end(), [&](uint32_t a, uint32_t b) {
      return std::lexicographical_compare(&o.words[a * k], &o.words[a * k + k], &o.words[b * k], &o.words[b * k + k]);
    });
    RawOrder sorted;
    sorted.words.reserve(n * k);
    sorted.counts.reserve(n);
    for (uint32_t p : perm) {
      sorted.words.insert(sorted.words.end(), &o.words[p * k], &o.words[p * k + k]);
      sorted.counts.push_back(o.counts[p]);
    }
    o = std::move(sorted);
  }
  return out;
}

}  // namespace lm
}  // namespace tingxie
