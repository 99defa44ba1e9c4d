// ARPA text: KenLM's number formatting and the writer's layout.
#pragma once

#include <functional>
#include <string>
#include <cstdint>
#include <vector>

#include "common.h"

namespace tingxie {
namespace lm {

// The shortest decimal that reads back as the same float32, positional for decimal exponents
// -6..20 and "1.5e-7" outside (what KenLM's double-conversion settings print).
void AppendFloat(std::string &out, float value);

struct ArpaOrderView {
  const int32_t *words;  // [n * order]
  const float *logprob;
  const float *backoff;
  size_t size;
};

// Writes an ARPA file line by line into a buffer of a few megabytes, handed to `sink` when
// nearly full: the header at construction, then each order's section and lines, then End().
// Every order below the highest carries a back-off column ("0" when there is none), as lmplz
// writes.
class ArpaWriter {
 public:
  ArpaWriter(const std::vector<std::string> &vocab, const std::vector<uint64_t> &counts,
             std::function<void(const std::string &)> sink);
  void BeginOrder(int order);
  void Add(const uint32_t *words, float logprob, float backoff);
  void End();

 private:
  static constexpr size_t kBuffer = 4u << 20;
  void Flush();
  const std::vector<std::string> &vocab_;
  size_t order_;
  std::function<void(const std::string &)> sink_;
  std::string buffer_;
  char *begin_ = nullptr, *out_ = nullptr;
  size_t longest_word_ = 0, longest_line_ = 0;
  int current_ = 0;
};

// Formats a whole ARPA file, handing it to `sink` in pieces of a few megabytes. Every order
// below the highest carries a back-off column ("0" when there is none), as lmplz writes.
void FormatArpa(const std::vector<std::string> &vocab, const std::vector<ArpaOrderView> &orders,
                const std::function<void(const std::string &)> &sink);

}  // namespace lm
}  // namespace tingxie
