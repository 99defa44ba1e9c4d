#include "edit_alignment.h"

#include <algorithm>

namespace tingxie {
namespace scoring {

EditAligner::EditAligner(CostScheme scheme) : scheme_(scheme) {
  if (scheme == CostScheme::kSclite) {
    insertion_cost_ = 3;
    deletion_cost_ = 3;
    substitution_cost_ = 4;
  } else {
    insertion_cost_ = 1;
    deletion_cost_ = 1;
    substitution_cost_ = 1;
  }
}

EditAligner::Step EditAligner::Choose(int64_t i, int64_t j, bool tokens_equal) const {
  if (i == 0) return Step::kInsertion;
  if (j == 0) return Step::kDeletion;
  const int32_t* here = cost_.data() + i * row_stride_ + j;
  const int32_t* above = here - row_stride_;  // (i - 1, j)
  int32_t diagonal = above[-1] + (tokens_equal ? 0 : substitution_cost_);
  int32_t deletion = above[0] + deletion_cost_;
  int32_t insertion = here[-1] + insertion_cost_;
  bool diagonal_wins = scheme_ == CostScheme::kSclite
                           ? (diagonal <= deletion && diagonal <= insertion)
                           : (diagonal < deletion && diagonal < insertion);
  if (diagonal_wins) return Step::kDiagonal;
  return deletion < insertion ? Step::kDeletion : Step::kInsertion;
}

EditCounts EditAligner::Align(const int32_t* ref, int64_t num_ref, const int32_t* hyp,
                              int64_t num_hyp, std::string* ops) {
  row_stride_ = num_hyp + 1;
  cost_.resize(static_cast<size_t>((num_ref + 1) * row_stride_));
  int32_t* row = cost_.data();
  for (int64_t j = 0; j <= num_hyp; ++j) row[j] = static_cast<int32_t>(j) * insertion_cost_;
  for (int64_t i = 1; i <= num_ref; ++i) {
    int32_t* previous = row;
    row += row_stride_;
    const int32_t ref_token = ref[i - 1];
    row[0] = previous[0] + deletion_cost_;
    for (int64_t j = 1; j <= num_hyp; ++j) {
      int32_t diagonal = previous[j - 1] + (ref_token == hyp[j - 1] ? 0 : substitution_cost_);
      int32_t deletion = previous[j] + deletion_cost_;
      int32_t insertion = row[j - 1] + insertion_cost_;
      row[j] = std::min(diagonal, std::min(deletion, insertion));
    }
  }

  EditCounts counts;
  if (ops != nullptr) ops->clear();
  int64_t i = num_ref, j = num_hyp;
  while (i > 0 || j > 0) {
    bool tokens_equal = i > 0 && j > 0 && ref[i - 1] == hyp[j - 1];
    char op;
    switch (Choose(i, j, tokens_equal)) {
      case Step::kDiagonal:
        op = tokens_equal ? kOpCorrect : kOpSubstitution;
        if (tokens_equal) ++counts.correct; else ++counts.substitutions;
        --i;
        --j;
        break;
      case Step::kDeletion:
        op = kOpDeletion;
        ++counts.deletions;
        --i;
        break;
      default:
        op = kOpInsertion;
        ++counts.insertions;
        --j;
        break;
    }
    if (ops != nullptr) ops->push_back(op);
  }
  if (ops != nullptr) std::reverse(ops->begin(), ops->end());
  return counts;
}

}  // namespace scoring
}  // namespace tingxie
