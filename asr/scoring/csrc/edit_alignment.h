// Edit-distance alignment of a reference against a hypothesis, for WER/CER scoring.
//
// The algorithm: the classic Levenshtein dynamic programme over an (N+1) x (M+1) cost matrix
// (N reference tokens, M hypothesis tokens), followed by a trace back from (N, M) to (0, 0)
// that turns the path into one edit operation per step (C correct, S substitution, D deletion,
// I insertion). Several paths can share the minimum cost; which one is reported decides the
// S/D/I split, so the cost scheme fixes both the costs and the tie-breaking of a reference
// scorer exactly:
//
//  - kSclite: NIST sclite (SCTK net_dp.c + word.c). Costs: insertion 3, deletion 3,
//    substitution 4, correct 0. At each cell the diagonal (correct or substitution) wins when
//    it is <= both others; otherwise deletion wins only when strictly cheaper than insertion.
//    Because a substitution costs less than an insertion plus a deletion but more than either,
//    the chosen path can have more errors than the plain edit distance (sclite reports it so).
//  - kKaldi: Kaldi compute-wer (LevenshteinEditDistance in util/edit-distance-inl.h), also what
//    kaldialign.edit_distance() returns. Unit costs. The diagonal wins only when strictly
//    cheaper than both others; then deletion when strictly cheaper than insertion; else
//    insertion.
//
// The decision at a cell depends only on the three neighbouring costs, so the trace back
// recomputes it instead of storing back pointers.
#ifndef TINGXIE_ASR_SCORING_EDIT_ALIGNMENT_H_
#define TINGXIE_ASR_SCORING_EDIT_ALIGNMENT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace tingxie {
namespace scoring {

enum class CostScheme { kSclite, kKaldi };

struct EditCounts {
  int64_t correct = 0;
  int64_t substitutions = 0;
  int64_t deletions = 0;
  int64_t insertions = 0;
};

// Operation codes written by EditAligner::Align, one per alignment column, left to right.
constexpr char kOpCorrect = 'C';
constexpr char kOpSubstitution = 'S';
constexpr char kOpDeletion = 'D';
constexpr char kOpInsertion = 'I';

// Reusable aligner: keeps its cost matrix between calls so that a batch allocates once.
class EditAligner {
 public:
  explicit EditAligner(CostScheme scheme);

  // Aligns ref[0..num_ref) against hyp[0..num_hyp) (token ids; equal ids = equal tokens).
  // When `ops` is not null it receives the operations in order, e.g. "CCSDC".
  EditCounts Align(const int32_t* ref, int64_t num_ref, const int32_t* hyp, int64_t num_hyp,
                   std::string* ops);

 private:
  enum class Step { kDiagonal, kDeletion, kInsertion };
  Step Choose(int64_t i, int64_t j, bool tokens_equal) const;

  CostScheme scheme_;
  int32_t insertion_cost_;
  int32_t deletion_cost_;
  int32_t substitution_cost_;
  int64_t row_stride_ = 0;       // num_hyp + 1 of the current alignment
  std::vector<int32_t> cost_;    // (num_ref + 1) x (num_hyp + 1), row major
};

}  // namespace scoring
}  // namespace tingxie

#endif  // TINGXIE_ASR_SCORING_EDIT_ALIGNMENT_H_
