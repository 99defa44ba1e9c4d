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
  uint64_t count;  // 0 marks an empty slot
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
    if (!file_) throw std::runtime_error("cannot reopen temporary run " + path);
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
    if (next_ == entries_.size()) return false;
    *words = entries_[next_].words;
    *count = entries_[next_].count;
    ++next_;
    return true;
  }

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
    Advance(top);
    while (!heap_.empty() && SameWords<N>(runs_[heap_.top()]->current().words, current_.words)) {
      size_t other = heap_.top();
      heap_.pop();
      current_.count += runs_[other]->current().count;
      Advance(other);
    }
    *words = current_.words;
    *count = current_.count;
    return true;
  }

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

template <int N>
class HashCounter : public NgramCounter {
 public:
  HashCounter(size_t memory_bytes, std::string temp_dir) : temp_dir_(std::move(temp_dir)) {
    max_slots_ = 1 << 12;
    while (max_slots_ * 2 * sizeof(Entry<N>) <= memory_bytes) max_slots_ *= 2;
    Resize(std::min<size_t>(max_slots_, 1 << 16));
  }

  void AddSentence(const std::vector<WordId> &ids) override {
    WordId window[N];
    for (int i = 0; i < N; ++i) window[i] = kBos;
    for (size_t t = 0; t <= ids.size(); ++t) {
      for (int i = 0; i + 1 < N; ++i) window[i] = window[i + 1];
      window[N - 1] = t < ids.size() ? ids[t] : kEos;
      Insert(window, 1);
    }
  }

  std::unique_ptr<SortedNgrams> Finish() override {
    if (runs_.empty()) {
      std::vector<Entry<N>> entries;
      entries.reserve(size_);
      for (const auto &e : table_)
        if (e.count) entries.push_back(e);
      std::vector<Entry<N>>().swap(table_);
      std::sort(entries.begin(), entries.end(), SuffixOrder<N>());
      return std::unique_ptr<SortedNgrams>(new MemoryStream<N>(std::move(entries)));
    }
    if (size_) Spill();
    std::vector<Entry<N>>().swap(table_);
    return std::unique_ptr<SortedNgrams>(new MergeStream<N>(runs_));
  }

  int spilled_runs() const override { return static_cast<int>(runs_.size()); }

 private:
  void Insert(const WordId *words, uint64_t count) {
    size_t slot = HashNgram(words, N) & mask_;
    while (true) {
      Entry<N> &e = table_[slot];
      if (!e.count) {
        std::memcpy(e.words, words, sizeof(e.words));
        e.count = count;
        if (++size_ * 4 > table_.size() * 3) Grow();
        return;
      }
      if (SameWords<N>(e.words, words)) {
        e.count += count;
        return;
      }
      slot = (slot + 1) & mask_;
    }
  }

  void Grow() {
    if (table_.size() < max_slots_) {
      std::vector<Entry<N>> old;
      old.swap(table_);
      Resize(old.size() * 2);
      for (const auto &e : old)
        if (e.count) Insert(e.words, e.count);
    } else {
      Spill();
    }
  }

  void Resize(size_t slots) {
    table_.assign(slots, Entry<N>());
    for (auto &e : table_) e.count = 0;
    mask_ = slots - 1;
    size_ = 0;
  }

  // Sort the table's entries and write them as one run; empty the table.
  void Spill() {
    auto end = std::remove_if(table_.begin(), table_.end(), [](const Entry<N> &e) { return !e.count; });
    std::sort(table_.begin(), end, SuffixOrder<N>());
    std::string path = temp_dir_ + "/tingxie-counts-XXXXXX";
    int fd = mkstemp(&path[0]);
    if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + temp_dir_);
    FILE *file = fdopen(fd, "wb");
    size_t n = end - table_.begin();
    if (fwrite(table_.data(), sizeof(Entry<N>), n, file) != n || fclose(file) != 0)
      throw std::runtime_error("cannot write temporary run " + path + " (disk full?)");
    runs_.push_back(path);
    for (auto &e : table_) e.count = 0;
    size_ = 0;
  }

  std::string temp_dir_;
  std::vector<Entry<N>> table_;
  size_t mask_ = 0, size_ = 0, max_slots_ = 0;
  std::vector<std::string> runs_;
};

}  // namespace

std::unique_ptr<NgramCounter> MakeNgramCounter(int order, size_t memory_bytes,
                                               const std::string &temp_dir) {
  switch (order) {
    case 1: return std::unique_ptr<NgramCounter>(new HashCounter<1>(memory_bytes, temp_dir));
    case 2: return std::unique_ptr<NgramCounter>(new HashCounter<2>(memory_bytes, temp_dir));
    case 3: return std::unique_ptr<NgramCounter>(new HashCounter<3>(memory_bytes, temp_dir));
    case 4: return std::unique_ptr<NgramCounter>(new HashCounter<4>(memory_bytes, temp_dir));
    case 5: return std::unique_ptr<NgramCounter>(new HashCounter<5>(memory_bytes, temp_dir));
    case 6: return std::unique_ptr<NgramCounter>(new HashCounter<6>(memory_bytes, temp_dir));
  }
  throw InputError("order must be between 1 and 6, got " + std::to_string(order));
}

}  // namespace lm
}  // namespace tingxie
