// Validated ARPA parsing: every deviation is an InputError naming the file and the line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common.h"

namespace tingxie {
namespace lm {

struct ParsedArpa {
  std::vector<std::string> vocab;  // unigram order of the file
  std::vector<std::vector<int32_t>> ids;  // per order, [n * k]
  std::vector<std::vector<float>> logprob, backoff;
};

ParsedArpa ParseArpa(std::string_view text, const std::string &path);

}  // namespace lm
}  // namespace tingxie
