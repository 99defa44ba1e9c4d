#include "arpa_format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tingxie {
namespace lm {

void AppendFloat(std::string &out, float value) {
  if (value == 0.0f) {
    out += '0';
    return;
  }
  if (!std::isfinite(value)) {
    out += std::isnan(value) ? "nan" : (value < 0 ? "-inf" : "inf");
    return;
  }
  // Shortest round-trip digits in scientific form, e.g. "-4.758586e+00".
  char sci[32];
  char *end = std::to_chars(sci, sci + sizeof(sci), value, std::chars_format::scientific).ptr;
  const char *p = sci;
  char text[48];
  char *o = text;
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
    o = std::to_chars(o, text + sizeof(text), exponent).ptr;
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
  out.append(text, o - text);
}

void FormatArpa(const std::vector<std::string> &vocab, const std::vector<ArpaOrderView> &orders,
                const std::function<void(const std::string &)> &sink) {
  std::string out;
  out.reserve(5u << 20);
  out += "\\data\\\n";
  for (size_t k = 1; k <= orders.size(); ++k)
    out += "ngram " + std::to_string(k) + "=" + std::to_string(orders[k - 1].size) + "\n";
  for (size_t k = 1; k <= orders.size(); ++k) {
    const ArpaOrderView &o = orders[k - 1];
    const bool top = k == orders.size();
    out += "\n\\" + std::to_string(k) + "-grams:\n";
    for (size_t i = 0; i < o.size; ++i) {
      AppendFloat(out, o.logprob[i]);
      out += '\t';
      for (size_t j = 0; j < k; ++j) {
        if (j) out += ' ';
        out += vocab[o.words[i * k + j]];
      }
      if (!top) {
        out += '\t';
        AppendFloat(out, o.backoff[i]);
      }
      out += '\n';
      if (out.size() > (4u << 20)) {
        sink(out);
        out.clear();
      }
    }
  }
  out += "\n\\end\\\n";
  sink(out);
}

}  // namespace lm
}  // namespace tingxie
