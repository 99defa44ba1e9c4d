#include "arpa_format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <cstring>

namespace tingxie {
namespace lm {

namespace {

// Writes KenLM's form of `value` at `o` (at most 48 bytes); returns the end.
char *WriteFloat(char *o, float value) {
  if (value == 0.0f) {
    *o++ = '0';
    return o;
  }
  if (!std::isfinite(value)) {
    const char *text = std::isnan(value) ? "nan" : (value < 0 ? "-inf" : "inf");
    size_t n = std::strlen(text);
    std::memcpy(o, text, n);
    return o + n;
  }
  // Shortest round-trip digits in scientific form, e.g. "-4.758586e+00".
  char sci[32];
  char *end = std::to_chars(sci, sci + sizeof(sci), value, std::chars_format::scientific).ptr;
  const char *p = sci;
  if (*p == '-') *o++ = *p++;
  char digits[16];
  int n = 0;
  for (; *p != 'e'; ++p)
    if (*p != '.') digits[n++] = *p;
  ++p;  // 'e'
  bool negative_exponent = *p == '-';
  ++p;  // sign
  int exponent = 0;
  for (; p < end; ++p) exponent = exponent * 10 + (*p - '0');
  if (negative_exponent) exponent = -exponent;
  if (exponent < -6 || exponent >= 21) {
    *o++ = digits[0];
    if (n > 1) {
      *o++ = '.';
      for (int i = 1; i < n; ++i) *o++ = digits[i];
    }
    *o++ = 'e';
    o = std::to_chars(o, o + 8, exponent).ptr;
  } else {
    int point = exponent + 1;  // digits before the decimal point
    if (point <= 0) {
      *o++ = '0';
      *o++ = '.';
      for (int i = 0; i < -point; ++i) *o++ = '0';
      for (int i = 0; i < n; ++i) *o++ = digits[i];
    } else if (point >= n) {
      for (int i = 0; i < n; ++i) *o++ = digits[i];
      for (int i = n; i < point; ++i) *o++ = '0';
    } else {
      for (int i = 0; i < point; ++i) *o++ = digits[i];
      *o++ = '.';
      for (int i = point; i < n; ++i) *o++ = digits[i];
    }
  }
  return o;
}

}  // namespace

void AppendFloat(std::string &out, float value) {
  char text[48];
  out.append(text, WriteFloat(text, value) - text);
}

ArpaWriter::ArpaWriter(const std::vector<std::string> &vocab, const std::vector<uint64_t> &counts,
                       std::function<void(const std::string &)> sink)
    : vocab_(vocab), order_(counts.size()), sink_(std::move(sink)), buffer_(kBuffer, '\0') {
  std::string header = "\\data\\\n";
  for (size_t k = 1; k <= counts.size(); ++k)
    header += "ngram " + std::to_string(k) + "=" + std::to_string(counts[k - 1]) + "\n";
  sink_(header);
  for (const auto &w : vocab) longest_word_ = std::max(longest_word_, w.size());
  begin_ = out_ = &buffer_[0];
}

void ArpaWriter::Flush() {
  sink_(std::string(begin_, out_));
  out_ = begin_;
}

void ArpaWriter::BeginOrder(int order) {
  current_ = order;
  std::string section = "\n\\" + std::to_string(order) + "-grams:\n";
  longest_line_ = 2 * 48 + order * (longest_word_ + 1) + 2;
  if (longest_line_ > kBuffer) throw InputError("a word is too long to write");
  if (static_cast<size_t>(out_ - begin_) + section.size() + longest_line_ > kBuffer) Flush();
  std::memcpy(out_, section.data(), section.size());
  out_ += section.size();
}

void ArpaWriter::Add(const uint32_t *words, float logprob, float backoff) {
  if (static_cast<size_t>(out_ - begin_) + longest_line_ > kBuffer) Flush();
  char *o = WriteFloat(out_, logprob);
  *o++ = '\t';
  for (int j = 0; j < current_; ++j) {
    if (j) *o++ = ' ';
    const std::string &w = vocab_[words[j]];
    std::memcpy(o, w.data(), w.size());
    o += w.size();
  }
  if (static_cast<size_t>(current_) != order_) {
    *o++ = '\t';
    o = WriteFloat(o, backoff);
  }
  *o++ = '\n';
  out_ = o;
}

void ArpaWriter::End() {
  const char *end_text = "\n\\end\\\n";
  if (static_cast<size_t>(out_ - begin_) + 8 > kBuffer) Flush();
  std::memcpy(out_, end_text, 7);
  out_ += 7;
  Flush();
}

void FormatArpa(const std::vector<std::string> &vocab, const std::vector<ArpaOrderView> &orders,
                const std::function<void(const std::string &)> &sink) {
  std::vector<uint64_t> counts;
  for (const ArpaOrderView &o : orders) counts.push_back(o.size);
  ArpaWriter writer(vocab, counts, sink);
  for (size_t k = 1; k <= orders.size(); ++k) {
    const ArpaOrderView &view = orders[k - 1];
    writer.BeginOrder(static_cast<int>(k));
    // Ids are checked non-negative by the caller: the int32 words read as uint32.
    const uint32_t *words = reinterpret_cast<const uint32_t *>(view.words);
    for (size_t i = 0; i < view.size; ++i) writer.Add(words + i * k, view.logprob[i], view.backoff[i]);
  }
  writer.End();
}

}  // namespace lm
}  // namespace tingxie
