// Streams of fixed-size records on disk, and an external sort over them in bounded memory.
//
// Estimation passes every n-gram through a few sorted streams (lmplz's design): a stream is
// either kept in memory, when it fits its budget, or written to anonymous temporary files
// (created, then unlinked at once, so nothing is left behind whatever happens) and read back
// through small buffers.
//
// RecordSorter<Record, Order> gathers records in a buffer of at most `budget` bytes. A full
// buffer is sorted and written out as a run; at the end the runs are merged. The in-memory sort
// is a stable counting pass on one word of the key (Order::kBucketWord), then, when
// Order::kSortBuckets, a comparison sort inside each bucket. The counting pass alone suffices
// when the records arrive already ordered on the rest of the key, which is how estimation
// turns its context order back into suffix order.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include <unistd.h>

#include "common.h"

namespace tingxie {
namespace lm {

// A growable array of plain records. Growth goes through realloc, which for large blocks
// remaps pages instead of copying them into fresh ones (std::vector's doubling copies every
// record and touches twice the memory).
template <class Record>
class RecordBuffer {
  static_assert(std::is_trivially_copyable<Record>::value, "records are copied as bytes");

 public:
  RecordBuffer() = default;
  RecordBuffer(const RecordBuffer &) = delete;
  RecordBuffer &operator=(const RecordBuffer &) = delete;
  ~RecordBuffer() { std::free(data_); }

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  Record *data() { return data_; }
  Record *begin() { return data_; }
  Record *end() { return data_ + size_; }
  Record &operator[](size_t i) { return data_[i]; }
  void push_back(const Record &r) {
    if (size_ == capacity_) reserve(capacity_ ? 2 * capacity_ : 1024);
    data_[size_++] = r;
  }
  void reserve(size_t n) {
    if (n <= capacity_) return;
    void *grown = std::realloc(data_, n * sizeof(Record));
    if (!grown) throw std::bad_alloc();
    data_ = static_cast<Record *>(grown);
    capacity_ = n;
  }
  // Sets the size; new records are left uninitialised.
  void resize_uninitialised(size_t n) {
    reserve(n);
    size_ = n;
  }
  void clear() { size_ = 0; }
  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }
  void swap(RecordBuffer &other) {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  Record *data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

// An anonymous temporary file of records: written sequentially, then read sequentially.
template <class Record>
class RecordFile {
 public:
  explicit RecordFile(const std::string &temp_dir) {
    std::string path = temp_dir + "/tingxie-lm-XXXXXX";
    int fd = mkstemp(&path[0]);
    if (fd < 0) throw InputError("cannot create a temporary file in " + temp_dir + " (is TMPDIR writable?)");
    unlink(path.c_str());
    file_ = fdopen(fd, "w+b");
    if (!file_) {
      close(fd);
      throw InputError("cannot open a temporary file in " + temp_dir);
    }
    path_ = temp_dir;
  }
  ~RecordFile() {
    if (file_) fclose(file_);
  }
  RecordFile(const RecordFile &) = delete;
  RecordFile &operator=(const RecordFile &) = delete;

  void Write(const Record *records, size_t n) {
    if (n && fwrite(records, sizeof(Record), n, file_) != n)
      throw InputError("cannot write a temporary file in " + path_ + " (disk full?)");
    written_ += n;
  }
  void Write(const Record &r) { Write(&r, 1); }
  // Ends writing; reading starts from the first record.
  void Rewind() {
    if (fflush(file_) != 0 || fseek(file_, 0, SEEK_SET) != 0)
      throw InputError("cannot write a temporary file in " + path_ + " (disk full?)");
  }
  size_t Read(Record *records, size_t n) { return fread(records, sizeof(Record), n, file_); }
  size_t size() const { return written_; }

 private:
  FILE *file_ = nullptr;
  std::string path_;
  size_t written_ = 0;
};

// Sequential reading of a RecordFile through a buffer.
template <class Record>
class RecordReader {
 public:
  RecordReader(RecordFile<Record> *file, size_t buffer_records = 1 << 14)
      : file_(file), buffer_(buffer_records) {
    file_->Rewind();
    Refill();
  }
  bool valid() const { return position_ < filled_; }
  const Record &current() const { return buffer_[position_]; }
  void Advance() {
    if (++position_ == filled_) Refill();
  }

 private:
  void Refill() {
    filled_ = file_->Read(buffer_.data(), buffer_.size());
    position_ = 0;
  }
  RecordFile<Record> *file_;
  std::vector<Record> buffer_;
  size_t filled_ = 0, position_ = 0;
};

// A file-backed queue: records appended in order, then read back in the same order.
template <class Record>
class RecordSpool {
 public:
  explicit RecordSpool(const std::string &temp_dir) : file_(temp_dir) { buffer_.reserve(kBuffer); }
  void Add(const Record &r) {
    buffer_.push_back(r);
    if (buffer_.size() == kBuffer) Flush();
  }
  // Ends writing; returns a reader from the first record.
  std::unique_ptr<RecordReader<Record>> Read() {
    Flush();
    std::vector<Record>().swap(buffer_);
    return std::unique_ptr<RecordReader<Record>>(new RecordReader<Record>(&file_));
  }

 private:
  static constexpr size_t kBuffer = 1 << 14;
  void Flush() {
    file_.Write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  RecordFile<Record> file_;
  std::vector<Record> buffer_;
};

template <class Record, class Order>
class RecordSorter {
 public:
  // `budget`: bytes for the buffer and its sorting copy together.
  RecordSorter(size_t budget, std::string temp_dir, size_t vocab_size)
      : temp_dir_(std::move(temp_dir)), vocab_size_(vocab_size) {
    capacity_ = std::max<size_t>(1 << 10, budget / (2 * sizeof(Record)));
    buffer_.reserve(std::min<size_t>(capacity_, 1 << 16));
  }

  void Add(const Record &r) {
    if (buffer_.size() == buffer_.capacity()) {
      if (buffer_.capacity() < capacity_) {
        buffer_.reserve(std::min(capacity_, buffer_.capacity() * 2));
      } else {
        SortBuffer();
        Spill();
      }
    }
    buffer_.push_back(r);
  }

  // Ends adding. With `keep_in_memory` and nothing spilled yet, the records stay in memory;
  // otherwise they all go to disk and are merged from there.
  void Finish(bool keep_in_memory) {
    SortBuffer();
    scratch_.release();
    if (runs_.empty() && keep_in_memory) {
      position_ = 0;
      return;
    }
    if (!buffer_.empty()) Spill();
    buffer_.release();
    for (size_t i = 0; i < runs_.size(); ++i) {
      readers_.emplace_back(new RecordReader<Record>(runs_[i].get(), kReadBuffer));
      if (readers_.back()->valid()) heap_.push(i);
    }
  }

  // The next record in order, or nullptr at the end (valid until the next call).
  const Record *Next() {
    if (readers_.empty()) {
      if (position_ < buffer_.size()) return &buffer_[position_++];
      buffer_.release();
      return nullptr;
    }
    if (heap_.empty()) return nullptr;
    size_t top = heap_.top();
    heap_.pop();
    current_ = readers_[top]->current();
    readers_[top]->Advance();
    if (readers_[top]->valid()) heap_.push(top);
    return &current_;
  }

  size_t spilled_runs() const { return spilled_; }
  size_t memory_bytes() const { return (buffer_.capacity() + scratch_.capacity()) * sizeof(Record); }

 private:
  void SortBuffer() {
    if (buffer_.empty()) return;
    // Stable counting sort on the bucket word, into scratch_.
    std::vector<size_t> start(vocab_size_ + 1, 0);
    for (const Record &r : buffer_) {
      if (r.words[Order::kBucketWord] >= vocab_size_) throw std::logic_error("record sort: word id out of range");
      ++start[r.words[Order::kBucketWord] + 1];
    }
    for (size_t w = 0; w < vocab_size_; ++w) start[w + 1] += start[w];
    scratch_.resize_uninitialised(buffer_.size());
    {
      std::vector<size_t> next(start.begin(), start.end() - 1);
      for (const Record &r : buffer_) scratch_[next[r.words[Order::kBucketWord]]++] = r;
    }
    buffer_.swap(scratch_);
    if (Order::kSortBuckets) {
      for (size_t w = 0; w < vocab_size_; ++w)
        if (start[w + 1] - start[w] > 1)
          std::sort(buffer_.begin() + start[w], buffer_.begin() + start[w + 1],
                    [](const Record &a, const Record &b) { return Order::Less(a, b); });
    }
  }

  void Spill() {
    runs_.emplace_back(new RecordFile<Record>(temp_dir_));
    runs_.back()->Write(buffer_.data(), buffer_.size());
    buffer_.clear();
    ++spilled_;
    if (runs_.size() >= kMaxRuns) CollapseRuns();
  }

  // Merges every run so far into one, so that a merge never holds more than kMaxRuns open.
  void CollapseRuns() {
    std::vector<std::unique_ptr<RecordFile<Record>>> runs;
    runs.swap(runs_);
    std::unique_ptr<RecordFile<Record>> merged(new RecordFile<Record>(temp_dir_));
    {
      std::vector<std::unique_ptr<RecordReader<Record>>> readers;
      std::priority_queue<size_t, std::vector<size_t>, Later> heap{Later{&readers}};
      for (size_t i = 0; i < runs.size(); ++i) {
        readers.emplace_back(new RecordReader<Record>(runs[i].get(), kReadBuffer));
        if (readers.back()->valid()) heap.push(i);
      }
      std::vector<Record> out;
      out.reserve(kReadBuffer);
      while (!heap.empty()) {
        size_t top = heap.top();
        heap.pop();
        out.push_back(readers[top]->current());
        if (out.size() == kReadBuffer) {
          merged->Write(out.data(), out.size());
          out.clear();
        }
        readers[top]->Advance();
        if (readers[top]->valid()) heap.push(top);
      }
      merged->Write(out.data(), out.size());
    }
    runs_.push_back(std::move(merged));
  }

  struct Later {
    const std::vector<std::unique_ptr<RecordReader<Record>>> *readers;
    bool operator()(size_t a, size_t b) const {
      return Order::Less((*readers)[b]->current(), (*readers)[a]->current());
    }
  };

  static constexpr size_t kMaxRuns = 64;
  static constexpr size_t kReadBuffer = 1 << 13;
  std::string temp_dir_;
  size_t vocab_size_;
  size_t capacity_;
  RecordBuffer<Record> buffer_, scratch_;
  size_t position_ = 0;
  std::vector<std::unique_ptr<RecordFile<Record>>> runs_;
  std::vector<std::unique_ptr<RecordReader<Record>>> readers_;
  std::priority_queue<size_t, std::vector<size_t>, Later> heap_{Later{&readers_}};
  Record current_;
  size_t spilled_ = 0;
};

}  // namespace lm
}  // namespace tingxie
