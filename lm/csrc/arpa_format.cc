#include "arpa_format.h"

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace tingxie {
namespace lm {

void AppendFloat(std::string &out, float value) {
  if (value == 0.0f) {
    out += '0';
    return;
  }
  char buffer[48];
  // Shortest round-trip digits in scientific form, e.g. "-4.758586e+00".
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const char *p = buffer;
  const char *end = result.ptr;
  bool negative = *p == '-';
  if (negative) ++p;
  const char *e = static_cast<const char *>(memchr(p, 'e', end - p));
  int exponent = std::atoi(std::string(e + 1, end).c_str());
  std::string digits;
  for (const char *q = p; q < e; ++q)
    if (*q != '.') digits += *q;
  if (negative) out += '-';
  if (exponent < -6 || exponent >= 21) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += std::to_string(exponent);
    return;
  }
  int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) {
    out += "0.";
    out.append(-point, '0');
    out += digits;
  } else if (point >= static_cast<int>(digits.size())) {
    out += digits;
    out.append(point - digits.size(), '0');
  } else {
    out.append(digits, 0, point);
    out += '.';
    out.append(digits, point, std::string::npos);
  }
}

void FormatArpa(const std::vector<std::string> &vocab, const std::vector<ArpaOrderView> &orders,
                const std::function<void(const std::string &)> &sink) {
  std::string out;
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
