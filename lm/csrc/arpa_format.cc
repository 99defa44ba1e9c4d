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

void FormatArpa(const std::vector<std::string> &vocab, const std::vector<ArpaOrderView> &orders,
                const std::function<void(const std::string &)> &sink) {
  std::string header = "\\data\\\n";
  for (size_t k = 1; k <= orders.size(); ++k)
    header += "ngram " + std::to_string(k) + "=" + std::to_string(orders[k - 1].size) + "\n";
  sink(header);
  // Lines are written straight into a fixed buffer, handed to `sink` when nearly full.
  const size_t kBuffer = 4u << 20;
  std::string out(kBuffer, '\0');
  char *const begin = &out[0];
  char *o = begin;
  auto flush = [&]() {
    sink(std::string(begin, o));
    o = begin;
  };
  size_t longest_word = 0;
  for (const auto &w : vocab) longest_word = std::max(longest_word, w.size());
  for (size_t k = 1; k <= orders.size(); ++k) {
    const ArpaOrderView &o_view = orders[k - 1];
    const bool top = k == orders.size();
    std::string section = "\n\\" + std::to_string(k) + "-grams:\n";
    const size_t longest_line = 2 * 48 + k * (longest_word + 1) + 2;
    if (static_cast<size_t>(o - begin) + section.size() + longest_line > kBuffer) flush();
    std::memcpy(o, section.data(), section.size());
    o += section.size();
    for (size_t i = 0; i < o_view.size; ++i) {
      if (static_cast<size_t>(o - begin) + longest_line > kBuffer) {
        if (longest_line > kBuffer) throw InputError("a word is too long to write");
        flush();
      }
      o = WriteFloat(o, o_view.logprob[i]);
      *o++ = '\t';
      const int32_t *words = o_view.words + i * k;
      for (size_t j = 0; j < k; ++j) {
        if (j) *o++ = ' ';
        const std::string &w = vocab[words[j]];
        std::memcpy(o, w.data(), w.size());
        o += w.size();
      }
      if (!top) {
        *o++ = '\t';
        o = WriteFloat(o, o_view.backoff[i]);
      }
      *o++ = '\n';
    }
  }
  const char *end_text = "\n\\end\\\n";
  if (static_cast<size_t>(o - begin) + 8 > kBuffer) flush();
  std::memcpy(o, end_text, 7);
  o += 7;
  flush();
}

}  // namespace lm
}  // namespace tingxie
