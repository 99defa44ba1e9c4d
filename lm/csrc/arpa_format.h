// ARPA text: KenLM's number formatting and the writer's layout.
#pragma once

#include <functional>
#include <string>
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

// Formats a whole ARPA file, handing it to `sink` in pieces of a few megabytes. Every order
// below the highest carries a back-off column ("0" when there is none), as lmplz writes.
void FormatArpa(const std::vector<std::string> &vocab, const std::vector<ArpaOrderView> &orders,
                const std::function<void(const std::string &)> &sink);

}  // namespace lm
}  // namespace tingxie
