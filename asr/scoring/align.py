"""Edit alignment of token sequences (the native aligner, asr/scoring/csrc/edit_alignment.h).

`costs` picks whose S/D/I split to reproduce when several alignments tie:
  "sclite" (default): NIST sclite, costs ins 3 / del 3 / sub 4 and sclite's tie-breaking;
  "kaldi": Kaldi compute-wer and kaldialign.edit_distance, unit costs and Kaldi's tie-breaking.
Tokens compare exactly, case included (as Kaldi, and sclite with -s; sclite's default folds
case: normalize="aishell" lower-cases). sclite's transcript conventions (optionally deletable
"(uh)", "@" nulls, "{a / b}" alternations, "-" fragments) are not interpreted: every token is
a word. (kaldialign's sclite_mode uses sclite's costs with Kaldi's tie-breaking, so its split
differs from sclite's on ties: 43 of the 2,000 pairs of the sclite test.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from asr.scoring import _native

COSTS = ("sclite", "kaldi")
EMPTY = "***"  # the empty side of an insertion or deletion, as sclite prints it


@dataclass(frozen=True)
class Alignment:
    """One utterance: `ops` has one letter per column, C S D I; the counts are its tallies."""

    ref: Tuple[str, ...]
    hyp: Tuple[str, ...]
    ops: str
    correct: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    def columns(self) -> List[Tuple[str, str, str]]:
        """(ref token or EMPTY, hyp token or EMPTY, op) per column."""
        out, r, h = [], 0, 0
        for op in self.ops:
            ref = self.ref[r] if op != "I" else EMPTY
            hyp = self.hyp[h] if op != "D" else EMPTY
            r += op != "I"
            h += op != "D"
            out.append((ref, hyp, op))
        return out


def count_edits(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]],
                costs: str = "sclite") -> np.ndarray:
    """int64 [n, 4]: correct, substitutions, deletions, insertions for each pair."""
    counts, _ = _native.align_batch(refs, hyps, costs, False)
    return counts


def align_many(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]],
               costs: str = "sclite") -> List[Alignment]:
    counts, ops = _native.align_batch(refs, hyps, costs, True)
    return [Alignment(tuple(r), tuple(h), o, *map(int, c))
            for r, h, o, c in zip(refs, hyps, ops, counts.tolist())]


def align(ref: Sequence[str], hyp: Sequence[str], costs: str = "sclite") -> Alignment:
    return align_many([ref], [hyp], costs)[0]


def error_rate(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]],
               costs: str = "sclite") -> Optional[float]:
    """Total errors / total reference tokens (None when there are no reference tokens)."""
    counts = count_edits(refs, hyps, costs)
    ref_tokens = int(counts[:, :3].sum())
    return None if ref_tokens == 0 else float(counts[:, 1:].sum()) / ref_tokens
