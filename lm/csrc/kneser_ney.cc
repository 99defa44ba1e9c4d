#include "kneser_ney.h"

#include "record_sort.h"

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

struct CountOfCounts {
  uint64_t n[5] = {0, 0, 0, 0, 0};  // n[c]: n-grams with adjusted count c (c < 5)
  uint64_t total = 0;
  void Add(uint64_t count) {
    ++total;
    if (count < 5) ++n[count];
  }
};

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

// Records of an order-K n-gram as it moves through the stages.
template <int K>
struct AdjustedRecord {  // stage 1 -> 3
  WordId words[K];
  uint32_t count;   // adjusted count
  uint32_t pruned;  // 1 when below the --prune threshold
};
template <int K>
struct WeightedRecord {  // stage 3 -> 4
  WordId words[K];
  float u;       // discounted probability (a - D(a)) / sum over the context
  float gamma;   // the context's back-off weight
  uint32_t pruned;
};
template <int K>
struct ValueRecord {  // a value per n-gram: a probability, or a context's back-off weight
  WordId words[K];
  float value;
};

template <int K>
inline bool SuffixLessK(const WordId *a, const WordId *b) {
  for (int i = K - 1; i >= 0; --i)
    if (a[i] != b[i]) return a[i] < b[i];
  return false;
}

// Suffix order: the last word first, then the one before, ... The records reach this sorter in
// context order, which within one last word is already suffix order: the stable counting pass
// on the last word is the whole sort.
template <int K, class R>
struct SuffixOrder {
  static constexpr int kBucketWord = K - 1;
  static constexpr bool kSortBuckets = false;
  static bool Less(const R &a, const R &b) { return SuffixLessK<K>(a.words, b.words); }
};

// Context order: the context w1..wK-1 in suffix order, then wK.
template <int K, class R>
struct ContextOrder {
  static constexpr int kBucketWord = K >= 2 ? K - 2 : 0;
  static constexpr bool kSortBuckets = K > 2;
  static bool Less(const R &a, const R &b) {
    for (int i = K - 2; i >= 0; --i)
      if (a.words[i] != b.words[i]) return a.words[i] < b.words[i];
    return a.words[K - 1] < b.words[K - 1];
  }
};

// Where stage 1 sends the n-grams of one order.
class AdjustedSink {
 public:
  virtual ~AdjustedSink() {}
  virtual void AddAdjusted(const WordId *words, uint32_t count, bool pruned) = 0;
};

// Shared by every stage of one estimation.
struct Shared {
  size_t vocab_size;
  int order;              // the model's highest order
  size_t order_budget;    // bytes per sorted stream
  std::string temp_dir;
  size_t spilled_runs = 0;
};

template <int K>
class OrderStage;

// Unigrams live in arrays indexed by word id, so that every id has an entry.
template <>
class OrderStage<1> : public AdjustedSink {
 public:
  explicit OrderStage(Shared *shared)
      : shared_(shared), adjusted_(shared->vocab_size, 0), gamma_(shared->vocab_size, 0.0f),
        has_backoff_(shared->vocab_size, 0) {}

  void AddAdjusted(const WordId *words, uint32_t count, bool) override { adjusted_[words[0]] = count; }
  const std::vector<uint32_t> &adjusted() const { return adjusted_; }
  // From the bigrams' context sums, in word-id order.
  void AddBackoff(const WordId *words, float gamma) {
    gamma_[words[0]] = gamma;
    has_backoff_[words[0]] = 1;
  }

  void Interpolate(const Discount &d1, const KneserNeyOptions &options, ModelSink &sink) {
    const size_t vocab_size = shared_->vocab_size;
    uint64_t total = 0, by_count[4] = {0, 0, 0, 0};
    for (uint32_t a : adjusted_) {
      total += a;
      if (a) ++by_count[std::min<uint32_t>(a, 3)];
    }
    const float denominator = static_cast<float>(total);
    float gamma = 0.0f;
    for (int j = 1; j <= 3; ++j) gamma += d1.amount[j] * static_cast<float>(by_count[j]);
    gamma /= denominator;
    const float uniform = 1.0 / static_cast<float>(vocab_size - 1);  // <s> excluded
    // Without unigram interpolation the leftover mass goes to <unk> (lmplz, where <unk> is never
    // seen); with a closed vocabulary it is shared by the words never seen, or added to <unk>'s
    // own probability when every word was seen.
    size_t zerotons = 0;
    for (size_t w = 0; w < vocab_size; ++w) zerotons += w != kBos && !adjusted_[w];
    const float zeroton_prob = zerotons > 1 ? gamma / static_cast<float>(zerotons) : gamma;
    prob_.resize(vocab_size);
    sink.BeginOrder(1);
    for (size_t w = 0; w < vocab_size; ++w) {
      const uint32_t count = adjusted_[w];
      float u = d1.Apply(count) / denominator;
      float p;
      if (w == kBos) {
        p = 1.0f;
      } else if (options.interpolate_unigrams) {
        p = u + gamma * uniform;
      } else if (!count) {
        p = zeroton_prob;
      } else {
        p = (w == kUnk && zerotons == 0) ? u + gamma : u;
      }
      prob_[w] = p;
      const WordId id = static_cast<WordId>(w);
      sink.Add(&id, std::min(0.0f, log10f(p)), has_backoff_[w] ? log10f(gamma_[w]) : 0.0f);
    }
    std::vector<float>().swap(gamma_);
    std::vector<uint8_t>().swap(has_backoff_);
  }
  // The probability of the unigram `words[0]` (any order of calls).
  float ProbOf(const WordId *words) { return prob_[words[0]]; }
  void ReleaseProbs() { std::vector<float>().swap(prob_); }

 private:
  Shared *shared_;
  std::vector<uint32_t> adjusted_;
  std::vector<float> gamma_;
  std::vector<uint8_t> has_backoff_;
  std::vector<float> prob_;
};

template <int K>
class OrderStage : public AdjustedSink {
 public:
  using Adjusted = AdjustedRecord<K>;
  using Weighted = WeightedRecord<K>;
  using Value = ValueRecord<K>;

  OrderStage(Shared *shared, OrderStage<K - 1> *lower, size_t adjust_budget)
      : shared_(shared), lower_(lower),
        by_context_(new RecordSorter<Adjusted, ContextOrder<K, Adjusted>>(adjust_budget, shared->temp_dir,
                                                                          shared->vocab_size)),
        backoffs_(shared->temp_dir) {}

  // Stage 1: the order's n-grams in suffix order.
  void AddAdjusted(const WordId *words, uint32_t count, bool pruned) override {
    Adjusted r;
    std::copy(words, words + K, r.words);
    r.count = count;
    r.pruned = pruned;
    by_context_->Add(r);
    ++size_;
    kept_ += !pruned;
  }
  void EndAdjusted() {
    by_context_->Finish(true);
    shared_->spilled_runs += by_context_->spilled_runs();
  }
  uint64_t size() const { return size_; }
  uint64_t kept() const { return kept_; }

  // Stage 3: walk the contexts in context order; every n-gram leaves with u and gamma(h) for
  // the suffix-order sorter, every context's gamma goes to the order below as its back-off.
  void SumContexts(const Discount &discount) {
    by_suffix_.reset(new RecordSorter<Weighted, SuffixOrder<K, Weighted>>(
        shared_->order_budget, shared_->temp_dir, shared_->vocab_size));
    std::vector<Adjusted> group;
    const Adjusted *r = by_context_->Next();
    while (r) {
      group.clear();
      uint64_t denominator = 0, pruned_mass = 0;
      uint32_t by_count[3] = {0, 0, 0};  // unpruned extensions with adjusted count 1, 2, 3+
      do {
        group.push_back(*r);
        denominator += r->count;
        if (r->pruned) {
          pruned_mass += r->count;
        } else if (r->count > 0) {
          ++by_count[std::min<uint32_t>(r->count, 3) - 1];
        }
        r = by_context_->Next();
      } while (r && SameContext(r->words, group.front().words));
      const float d = static_cast<float>(denominator);
      float gamma = 0.0f;
      for (int j = 1; j <= 3; ++j) gamma += discount.amount[j] * static_cast<float>(by_count[j - 1]);
      gamma += pruned_mass;
      gamma /= d;
      lower_->AddBackoff(group.front().words, gamma);
      for (const Adjusted &a : group) {
        Weighted w;
        std::copy(a.words, a.words + K, w.words);
        w.u = discount.Apply(a.count) / d;
        w.gamma = gamma;
        w.pruned = a.pruned;
        by_suffix_->Add(w);
      }
    }
    by_context_.reset();
    by_suffix_->Finish(true);
    shared_->spilled_runs += by_suffix_->spilled_runs();
  }

  // From the order above's context sums, in this order's suffix order.
  void AddBackoff(const WordId *words, float gamma) {
    Value v;
    std::copy(words, words + K, v.words);
    v.value = gamma;
    backoffs_.Add(v);
  }

  // Stage 4: p(w|h) = u + gamma(h) p(w|h'), merged with the order below in suffix order.
  void Interpolate(ModelSink &sink) {
    const bool highest = K == shared_->order;
    if (!highest) probs_.reset(new RecordSpool<Value>(shared_->temp_dir));
    auto backoffs = backoffs_.Read();
    sink.BeginOrder(K);
    while (const Weighted *r = by_suffix_->Next()) {
      const float lower = lower_->ProbOf(r->words + 1);
      const float p = r->pruned ? 0.0f : r->u + r->gamma * lower;
      if (!highest) {
        Value v;
        std::copy(r->words, r->words + K, v.words);
        v.value = p;
        probs_->Add(v);
      }
      if (r->pruned) continue;
      float backoff = 0.0f;
      while (backoffs->valid() && SuffixLessK<K>(backoffs->current().words, r->words)) backoffs->Advance();
      if (backoffs->valid() && SameWords(backoffs->current().words, r->words))
        backoff = log10f(backoffs->current().value);
      sink.Add(r->words, std::min(0.0f, log10f(p)), backoff);
    }
    by_suffix_.reset();
    lower_->ReleaseProbs();
    if (!highest) probs_reader_ = probs_->Read();
  }

  // The probability of the n-gram `words`; calls must come in suffix order.
  float ProbOf(const WordId *words) {
    while (probs_reader_->valid() && SuffixLessK<K>(probs_reader_->current().words, words)) probs_reader_->Advance();
    if (!probs_reader_->valid() || !SameWords(probs_reader_->current().words, words))
      throw std::logic_error("Kneser-Ney: an n-gram's suffix is missing from the order below");
    return probs_reader_->current().value;
  }
  void ReleaseProbs() {
    probs_reader_.reset();
    probs_.reset();
  }

 private:
  static bool SameWords(const WordId *a, const WordId *b) {
    for (int i = 0; i < K; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  static bool SameContext(const WordId *a, const WordId *b) {
    for (int i = 0; i + 1 < K; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }

  Shared *shared_;
  OrderStage<K - 1> *lower_;
  std::unique_ptr<RecordSorter<Adjusted, ContextOrder<K, Adjusted>>> by_context_;
  std::unique_ptr<RecordSorter<Weighted, SuffixOrder<K, Weighted>>> by_suffix_;
  RecordSpool<Value> backoffs_;
  std::unique_ptr<RecordSpool<Value>> probs_;
  std::unique_ptr<RecordReader<Value>> probs_reader_;
  uint64_t size_ = 0, kept_ = 0;
};

// The stages of orders 1..K, each pointing at the one below.
template <int K>
struct StageChain {
  StageChain<K - 1> lower;
  OrderStage<K> stage;
  StageChain(Shared *shared, size_t adjust_budget) : lower(shared, adjust_budget), stage(shared, &lower.stage, adjust_budget) {}
  void Collect(AdjustedSink **sinks) {
    lower.Collect(sinks);
    sinks[K] = &stage;
  }
  void EndAdjusted() {
    lower.EndAdjusted();
    stage.EndAdjusted();
  }
  void Counts(std::vector<uint64_t> &before, std::vector<uint64_t> &kept) {
    lower.Counts(before, kept);
    before.push_back(stage.size());
    kept.push_back(stage.kept());
  }
  void SumContexts(const std::vector<Discount> &d) {
    lower.SumContexts(d);
    stage.SumContexts(d[K - 1]);
  }
  void Interpolate(const std::vector<Discount> &d, const KneserNeyOptions &options, ModelSink &sink) {
    lower.Interpolate(d, options, sink);
    stage.Interpolate(sink);
  }
};

template <>
struct StageChain<1> {
  OrderStage<1> stage;
  StageChain(Shared *shared, size_t) : stage(shared) {}
  void Collect(AdjustedSink **sinks) { sinks[1] = &stage; }
  void EndAdjusted() {}
  void Counts(std::vector<uint64_t> &before, std::vector<uint64_t> &kept) {
    before.push_back(stage.adjusted().size());
    kept.push_back(stage.adjusted().size());
  }
  void SumContexts(const std::vector<Discount> &) {}
  void Interpolate(const std::vector<Discount> &d, const KneserNeyOptions &options, ModelSink &sink) {
    stage.Interpolate(d[0], options, sink);
  }
};

// Stage 1, streaming: `sinks[j]` receives the order-j n-grams in suffix order, `stats` their
// count-of-counts.
void AdjustCounts(SortedNgrams &padded, int order, const std::vector<uint64_t> &threshold,
                  AdjustedSink **sinks, std::vector<CountOfCounts> &stats, uint64_t *highest_seen) {
  const int N = order;
  std::vector<WordId> last(N, kBos);
  // Open lower-order n-grams: orders 1..depth, each a suffix of `last`, with their adjusted
  // counts and raw ("actual") counts so far.
  int depth = 0;
  std::vector<uint64_t> adjusted(N, 0), actual(N, 0);
  auto push = [&](int j, const WordId *words, uint64_t count, bool pruned) {
    if (count > UINT32_MAX) throw InputError("an adjusted count exceeds 4294967295; not supported");
    sinks[j]->AddAdjusted(words, static_cast<uint32_t>(count), pruned);
  };
  auto emit = [&](int j, uint64_t stat_count) {
    push(j, &last[N - j], adjusted[j - 1], actual[j - 1] <= threshold[j - 1]);
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
      push(N, g, count, count <= threshold[N - 1]);
      ++*highest_seen;
    }
    std::copy(g, g + N, last.begin());
  }
  // lmplz counts the n-grams still open at the end with their raw counts; so do we.
  for (int j = 1; j <= depth; ++j) emit(j, actual[j - 1]);
}

template <int N>
EstimateSummary Estimate(SortedNgrams &padded, size_t vocab_size, const KneserNeyOptions &options,
                         const std::vector<uint64_t> &threshold, ModelSink &sink) {
  StageClock clock;
  Shared shared;
  shared.vocab_size = vocab_size;
  shared.order = N;
  shared.temp_dir = options.temp_dir;
  // Each order above the first has one sorted stream alive at a time (two while its context
  // sums move it from one sorter to the other).
  const size_t streams = std::max(1, N - 1);
  shared.order_budget = options.memory_bytes / streams;
  const size_t held = padded.memory_bytes();
  const size_t adjust_budget =
      (held < options.memory_bytes / 2 ? options.memory_bytes - held : options.memory_bytes / 2) / streams;
  StageChain<N> chain(&shared, adjust_budget);
  AdjustedSink *sinks[kMaxOrder + 1] = {nullptr};
  chain.Collect(sinks);
  std::vector<CountOfCounts> stats(N);
  uint64_t highest_seen = 0;
  AdjustCounts(padded, N, threshold, sinks, stats, &highest_seen);
  if (highest_seen == 0) throw InputError("the corpus is empty");
  chain.EndAdjusted();
  clock.Mark("sort (first n-gram) + adjusted counts");

  EstimateSummary summary;
  summary.discounts = ComputeDiscounts(stats, options);
  chain.SumContexts(summary.discounts);
  clock.Mark("context sums");
  chain.Counts(summary.counts_before_pruning, summary.counts);
  sink.Begin(summary.counts);
  chain.Interpolate(summary.discounts, options, sink);
  sink.End();
  clock.Mark("interpolation + output");
  summary.spilled_runs = shared.spilled_runs;
  return summary;
}

// Collects the model in arrays.
class ModelCollector : public ModelSink {
 public:
  explicit ModelCollector(KneserNeyModel *model) : model_(model) {}
  void Begin(const std::vector<uint64_t> &counts) override {
    model_->orders.resize(counts.size());
    for (size_t k = 1; k <= counts.size(); ++k) {
      ModelOrder &o = model_->orders[k - 1];
      o.order = static_cast<int>(k);
      o.words.reserve(counts[k - 1] * k);
      o.logprob.reserve(counts[k - 1]);
      o.backoff.reserve(counts[k - 1]);
    }
  }
  void BeginOrder(int order) override { current_ = &model_->orders[order - 1]; }
  void Add(const WordId *words, float logprob, float backoff) override {
    for (int i = 0; i < current_->order; ++i) current_->words.push_back(words[i]);
    current_->logprob.push_back(logprob);
    current_->backoff.push_back(backoff);
  }
  void End() override {}

 private:
  KneserNeyModel *model_;
  ModelOrder *current_ = nullptr;
};

}  // namespace

EstimateSummary EstimateKneserNey(SortedNgrams &padded_counts, size_t vocab_size,
                                  const KneserNeyOptions &options, ModelSink &sink) {
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
  switch (N) {
    case 1: return Estimate<1>(padded_counts, vocab_size, options, threshold, sink);
    case 2: return Estimate<2>(padded_counts, vocab_size, options, threshold, sink);
    case 3: return Estimate<3>(padded_counts, vocab_size, options, threshold, sink);
    case 4: return Estimate<4>(padded_counts, vocab_size, options, threshold, sink);
    case 5: return Estimate<5>(padded_counts, vocab_size, options, threshold, sink);
    case 6: return Estimate<6>(padded_counts, vocab_size, options, threshold, sink);
  }
  throw InputError("order must be between 1 and 6, got " + std::to_string(N));
}

KneserNeyModel EstimateKneserNey(SortedNgrams &padded_counts, size_t vocab_size,
                                 const KneserNeyOptions &options) {
  KneserNeyModel model;
  ModelCollector collector(&model);
  EstimateSummary summary = EstimateKneserNey(padded_counts, vocab_size, options, collector);
  model.discounts = std::move(summary.discounts);
  model.counts_before_pruning = std::move(summary.counts_before_pruning);
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
