#include "ngram_count.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <queue>
#include <unistd.h>

namespace tingxie {
namespace lm {
namespace {

template <int N>
struct Entry {
  WordId words[N];
  uint32_t count;
};

template <int N>
struct SuffixOrder {
  bool operator()(const Entry<N> &a, const Entry<N> &b) const {
    return SuffixLess(a.words, b.words, N);
  }
};

template <int N>
bool SameWords(const WordId *a, const WordId *b) {
  for (int i = 0; i < N; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// A sorted run on disk, read back through a buffer.
template <int N>
class RunReader {
 public:
  RunReader(const std::string &path) : path_(path), file_(fopen(path.c_str(), "rb")), buffer_(1 << 15) {
    if (!file_) throw InputError("cannot reopen temporary run " + path);
    Refill();
  }
  ~RunReader() {
    if (file_) fclose(file_);
    unlink(path_.c_str());
  }
  bool valid() const { return position_ < filled_; }
  const Entry<N> &current() const { return buffer_[position_]; }
  void Advance() {
    if (++position_ == filled_) Refill();
  }

 private:
  void Refill() {
    filled_ = fread(buffer_.data(), sizeof(Entry<N>), buffer_.size(), file_);
    position_ = 0;
  }
  std::string path_;
  FILE *file_;
  std::vector<Entry<N>> buffer_;
  size_t filled_ = 0, position_ = 0;
};

template <int N>
class MemoryStream : public SortedNgrams {
 public:
  explicit MemoryStream(std::vector<Entry<N>> entries) : entries_(std::move(entries)) {}
  bool Next(const WordId **words, uint64_t *count) override {
    if (next_ == entries_.size()) {
      std::vector<Entry<N>>().swap(entries_);
      next_ = 0;
      return false;
    }
    *words = entries_[next_].words;
    *count = entries_[next_].count;
    ++next_;
    return true;
  }
  size_t memory_bytes() const override { return entries_.capacity() * sizeof(Entry<N>); }

 private:
  std::vector<Entry<N>> entries_;
  size_t next_ = 0;
};

// k-way merge of sorted runs, summing the counts of equal n-grams.
template <int N>
class MergeStream : public SortedNgrams {
 public:
  explicit MergeStream(const std::vector<std::string> &paths) {
    for (const auto &path : paths) runs_.emplace_back(new RunReader<N>(path));
    for (size_t i = 0; i < runs_.size(); ++i)
      if (runs_[i]->valid()) heap_.push(i);
  }
  bool Next(const WordId **words, uint64_t *count) override {
    if (heap_.empty()) return false;
    size_t top = heap_.top();
    heap_.pop();
    current_ = runs_[top]->current();
    uint64_t sum = current_.count;
    Advance(top);
    while (!heap_.empty() && SameWords<N>(runs_[heap_.top()]->current().words, current_.words)) {
      size_t other = heap_.top();
      heap_.pop();
      sum += runs_[other]->current().count;
      Advance(other);
    }
    *words = current_.words;
    *count = sum;
    return true;
  }
  size_t memory_bytes() const override { return runs_.size() * (1 << 15) * sizeof(Entry<N>); }

 private:
  void Advance(size_t run) {
    runs_[run]->Advance();
    if (runs_[run]->valid()) heap_.push(run);
  }
  struct Later {
    const MergeStream *self;
    bool operator()(size_t a, size_t b) const {
      return SuffixLess(self->runs_[b]->current().words, self->runs_[a]->current().words, N);
    }
  };
  std::vector<std::unique_ptr<RunReader<N>>> runs_;
  std::priority_queue<size_t, std::vector<size_t>, Later> heap_{Later{this}};
  Entry<N> current_;
};

// Sort the entries of `entries` in suffix order and merge equal n-grams (summing counts).
// A counting pass buckets the entries by their last word into a second buffer; each bucket is
// then sorted on the remaining words, which keeps the comparison sorts small and cache-local.
template <int N>
void SortAndCombine(std::vector<Entry<N>> &entries, size_t vocab_size) {
  if (entries.empty()) return;
  std::vector<size_t> start(vocab_size + 1, 0);
  for (const auto &e : entries) ++start[e.words[N - 1] + 1];
  for (size_t w = 0; w < vocab_size; ++w) start[w + 1] += start[w];
  {
    std::vector<Entry<N>> bucketed(entries.size());
    std::vector<size_t> next(start.begin(), start.end() - 1);
    for (const auto &e : entries) bucketed[next[e.words[N - 1]]++] = e;
    entries.swap(bucketed);
  }
  if (N > 1) {
    for (size_t w = 0; w < vocab_size; ++w) {
      if (start[w + 1] - start[w] > 1)
        std::sort(entries.begin() + start[w], entries.begin() + start[w + 1],
                  [](const Entry<N> &a, const Entry<N> &b) { return SuffixLess(a.words, b.words, N - 1); });
    }
  }
  size_t out = 0;
  for (size_t i = 1; i < entries.size(); ++i) {
    if (SameWords<N>(entries[i].words, entries[out].words)) {
      uint64_t sum = uint64_t(entries[out].count) + entries[i].count;
      if (sum > UINT32_MAX) throw InputError("an n-gram occurs more than 4294967295 times; not supported");
      entries[out].count = static_cast<uint32_t>(sum);
    } else {
      entries[++out] = entries[i];
    }
  }
  entries.resize(out + 1);
}

// Collects every padded n-gram occurrence in a buffer; a full buffer is sorted and combined,
// and written out as a sorted run when combining did not free at least half of it.
template <int N>
class SortingCounter : public NgramCounter {
 public:
  SortingCounter(size_t memory_bytes, std::string temp_dir, const size_t *vocab_size)
      : temp_dir_(std::move(temp_dir)), vocab_size_(vocab_size) {
    // Sorting needs a second buffer as large as the first.
    capacity_ = std::max<size_t>(1 << 12, memory_bytes / (2 * sizeof(Entry<N>)));
    buffer_.reserve(std::min<size_t>(capacity_, 1 << 16));
  }

  void AddSentence(const std::vector<WordId> &ids) override {
    Entry<N> e;
    e.count = 1;
    for (int i = 0; i < N; ++i) e.words[i] = kBos;
    for (size_t t = 0; t <= ids.size(); ++t) {
      for (int i = 0; i + 1 < N; ++i) e.words[i] = e.words[i + 1];
      e.words[N - 1] = t < ids.size() ? ids[t] : kEos;
      if (buffer_.size() == buffer_.capacity()) MakeRoom();
      buffer_.push_back(e);
    }
  }

  std::unique_ptr<SortedNgrams> Finish() override {
    SortAndCombine(buffer_, *vocab_size_);
    if (runs_.empty()) return std::unique_ptr<SortedNgrams>(new MemoryStream<N>(std::move(buffer_)));
    if (!buffer_.empty()) Spill();
    std::vector<Entry<N>>().swap(buffer_);
    return std::unique_ptr<SortedNgrams>(new MergeStream<N>(runs_));
  }

  int spilled_runs() const override { return spilled_; }

 private:
  void MakeRoom() {
    if (buffer_.capacity() < capacity_) {
      // Past a modest size, try combining before growing: repetitive text then stays small.
      if (buffer_.size() * sizeof(Entry<N>) >= kCombineFrom) {
        SortAndCombine(buffer_, *vocab_size_);
        if (buffer_.size() * 2 <= buffer_.capacity()) return;
      }
      buffer_.reserve(std::min(capacity_, buffer_.capacity() * 2));
      return;
    }
    SortAndCombine(buffer_, *vocab_size_);
    if (buffer_.size() * 2 > capacity_) Spill();
  }

  void Spill() {
    std::string path = temp_dir_ + "/tingxie-counts-XXXXXX";
    int fd = mkstemp(&path[0]);
    if (fd < 0) throw InputError("cannot create a temporary file in " + temp_dir_);
    FILE *file = fdopen(fd, "wb");
    size_t n = buffer_.size();
    if (fwrite(buffer_.data(), sizeof(Entry<N>), n, file) != n || fclose(file) != 0)
      throw InputError("cannot write temporary run " + path + " (disk full?)");
    runs_.push_back(path);
    ++spilled_;
    buffer_.clear();
    if (runs_.size() >= kMaxRuns) CollapseRuns();
  }

  // Merge every run so far into one, so that the final merge never holds more than kMaxRuns
  // files open however small the budget.
  void CollapseRuns() {
    std::string path = temp_dir_ + "/tingxie-counts-XXXXXX";
    int fd = mkstemp(&path[0]);
    if (fd < 0) throw InputError("cannot create a temporary file in " + temp_dir_);
    FILE *file = fdopen(fd, "wb");
    {
      MergeStream<N> merged(runs_);
      const WordId *words;
      uint64_t count;
      Entry<N> e;
      while (merged.Next(&words, &count)) {
        if (count > UINT32_MAX) throw InputError("an n-gram occurs more than 4294967295 times; not supported");
        std::copy(words, words + N, e.words);
        e.count = static_cast<uint32_t>(count);
        if (fwrite(&e, sizeof(e), 1, file) != 1) throw InputError("cannot write temporary run " + path + " (disk full?)");
      }
    }  // the merged runs are deleted here
    if (fclose(file) != 0) throw InputError("cannot write temporary run " + path + " (disk full?)");
    runs_.assign(1, path);
  }

  static constexpr size_t kCombineFrom = 64u << 20;
  static constexpr size_t kMaxRuns = 32;
  std::string temp_dir_;
  const size_t *vocab_size_;
  size_t capacity_;
  std::vector<Entry<N>> buffer_;
  std::vector<std::string> runs_;
  int spilled_ = 0;  // runs written, including those since merged together
};

}  // namespace

std::unique_ptr<NgramCounter> MakeNgramCounter(int order, size_t memory_bytes,
                                               const std::string &temp_dir, const size_t *vocab_size) {
  switch (order) {
    case 1: return std::unique_ptr<NgramCounter>(new SortingCounter<1>(memory_bytes, temp_dir, vocab_size));
    case 2: return std::unique_ptr<NgramCounter>(new SortingCounter<2>(memory_bytes, temp_dir, vocab_size));
    case 3: return std::unique_ptr<NgramCounter>(new SortingCounter<3>(memory_bytes, temp_dir, vocab_size));
    case 4: return std::unique_ptr<NgramCounter>(new SortingCounter<4>(memory_bytes, temp_dir, vocab_size));
    case 5: return std::unique_ptr<NgramCounter>(new SortingCounter<5>(memory_bytes, temp_dir, vocab_size));
    case 6: return std::unique_ptr<NgramCounter>(new SortingCounter<6>(memory_bytes, temp_dir, vocab_size));
  }
  throw InputError("order must be between 1 and 6, got " + std::to_string(order));
}

}  // namespace lm
}  // namespace tingxie
