"""Scoring a hypothesis file against a reference file: totals, per-utterance alignments,
confusion pairs, missing and extra keys, as text or JSON.

Which utterances are scored (`key_rule`, `tingxie wer --keys`) follows Kaldi compute-wer's
`--mode`:
  strict: every reference key must be in HYP (else InputError);
  present: only keys in both files are scored;
  all: every reference key is scored; one missing from HYP counts as an empty hypothesis.
Keys in HYP but not in REF are never scored; they are listed in the report.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from common.errors import InputError
from common.kaldi import read_kaldi_text

from asr.scoring.align import Alignment, align_many, count_edits
from asr.scoring.text import few_keys, tokenize

KEY_RULES = ("strict", "present", "all")


@dataclass
class ErrorTotals:
    ref_tokens: int = 0
    correct: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    sentences: int = 0
    sentence_errors: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def error_rate(self) -> Optional[float]:
        return None if self.ref_tokens == 0 else self.errors / self.ref_tokens

    @property
    def sentence_error_rate(self) -> Optional[float]:
        return None if self.sentences == 0 else self.sentence_errors / self.sentences

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> "ErrorTotals":
        """Totals of per-utterance counts [n, 4] (correct, sub, del, ins)."""
        correct, substitutions, deletions, insertions = (int(x) for x in counts.sum(axis=0))
        return cls(ref_tokens=correct + substitutions + deletions, correct=correct,
                   substitutions=substitutions, deletions=deletions, insertions=insertions,
                   sentences=len(counts),
                   sentence_errors=int((counts[:, 1:].sum(axis=1) > 0).sum()))


@dataclass
class WerReport:
    unit: str
    key_rule: str
    costs: str
    normalize: str
    keys: List[str] = field(default_factory=list)
    ref_tokens: List[List[str]] = field(default_factory=list)
    hyp_tokens: List[List[str]] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int64))
    missing_keys: List[str] = field(default_factory=list)
    extra_keys: List[str] = field(default_factory=list)
    _utterances: Optional[List[Tuple[str, Alignment]]] = field(default=None, repr=False)

    @property
    def totals(self) -> ErrorTotals:
        return ErrorTotals.from_counts(self.counts)

    @property
    def utterances(self) -> List[Tuple[str, Alignment]]:
        """(key, Alignment) per scored utterance; aligned on first use (totals need only
        the counts)."""
        if self._utterances is None:
            alignments = align_many(self.ref_tokens, self.hyp_tokens, self.costs)
            self._utterances = list(zip(self.keys, alignments))
        return self._utterances

    @property
    def rate_name(self) -> str:
        return "CER" if self.unit == "char" else "WER"

    def confusions(self) -> Counter:
        """(ref token, hyp token) -> substitution count."""
        pairs: Counter = Counter()
        for _, alignment in self.utterances:
            for ref, hyp, op in alignment.columns():
                if op == "S":
                    pairs[(ref, hyp)] += 1
        return pairs

    def deleted_tokens(self) -> Counter:
        return Counter(ref for _, a in self.utterances for ref, _, op in a.columns() if op == "D")

    def inserted_tokens(self) -> Counter:
        return Counter(hyp for _, a in self.utterances for _, hyp, op in a.columns() if op == "I")

    def summary_lines(self) -> List[str]:
        t = self.totals
        partial = " [PARTIAL]" if self.key_rule == "present" and self.missing_keys else ""
        lines = [
            f"%{self.rate_name} {_percent(t.error_rate)} [ {t.errors} / {t.ref_tokens}, "
            f"{t.insertions} ins, {t.deletions} del, {t.substitutions} sub ]{partial}",
            f"%SER {_percent(t.sentence_error_rate)} [ {t.sentence_errors} / {t.sentences} ]",
            f"Scored {t.sentences} sentences, {len(self.missing_keys)} not present in hyp, "
            f"{len(self.extra_keys)} not in ref.",
        ]
        return lines

    def per_utterance_lines(self) -> List[str]:
        """Kaldi's per_utt layout: ref / hyp / op rows with aligned columns, then #csid."""
        lines = []
        for key, alignment in self.utterances:
            columns = alignment.columns()
            widths = [max(_width(r), _width(h)) for r, h, _ in columns]
            rows = {
                "ref": [_pad(r, w) for (r, _, _), w in zip(columns, widths)],
                "hyp": [_pad(h, w) for (_, h, _), w in zip(columns, widths)],
                "op": [_pad(o, w) for (_, _, o), w in zip(columns, widths)],
            }
            for name in ("ref", "hyp", "op"):
                lines.append(f"{key} {name:<3} {' '.join(rows[name])}".rstrip())
            a = alignment
            lines.append(f"{key} #csid {a.correct} {a.substitutions} {a.insertions} "
                         f"{a.deletions}")
        return lines

    def to_json(self, top: Optional[int] = None) -> dict:
        t = self.totals
        return {
            "unit": self.unit,
            "key_rule": self.key_rule,
            "costs": self.costs,
            "normalize": self.normalize,
            "error_rate": t.error_rate,
            "errors": t.errors,
            "ref_tokens": t.ref_tokens,
            "correct": t.correct,
            "substitutions": t.substitutions,
            "deletions": t.deletions,
            "insertions": t.insertions,
            "sentences": t.sentences,
            "sentence_errors": t.sentence_errors,
            "sentence_error_rate": t.sentence_error_rate,
            "missing_keys": self.missing_keys,
            "extra_keys": self.extra_keys,
            "confusions": [{"ref": r, "hyp": h, "count": n}
                           for (r, h), n in self.confusions().most_common(top)],
            "deletions_by_token": [{"token": w, "count": n}
                                   for w, n in self.deleted_tokens().most_common(top)],
            "insertions_by_token": [{"token": w, "count": n}
                                    for w, n in self.inserted_tokens().most_common(top)],
            "utterances": [
                {"key": key, "ref": list(a.ref), "hyp": list(a.hyp), "ops": a.ops,
                 "correct": a.correct, "substitutions": a.substitutions,
                 "deletions": a.deletions, "insertions": a.insertions}
                for key, a in self.utterances
            ],
        }


def _width(token: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in token)


def _pad(token: str, width: int) -> str:
    return token + " " * (width - _width(token))


def _percent(rate: Optional[float]) -> str:
    return "n/a" if rate is None else f"{100.0 * rate:.2f}"


def score_texts(refs: Dict[str, str], hyps: Dict[str, str], *, unit: str = "word",
                key_rule: str = "strict", costs: str = "sclite", normalize: str = "none",
                hyp_path: Optional[str] = None) -> WerReport:
    """Score transcripts given as key -> text dictionaries (see the module doc for `key_rule`)."""
    if key_rule not in KEY_RULES:
        raise InputError(f"key_rule must be one of {', '.join(KEY_RULES)}, not {key_rule!r}")
    report = WerReport(unit=unit, key_rule=key_rule, costs=costs, normalize=normalize)
    report.missing_keys = [key for key in refs if key not in hyps]
    report.extra_keys = [key for key in hyps if key not in refs]
    if key_rule == "strict" and report.missing_keys:
        raise InputError(f"{len(report.missing_keys)} reference keys are not in the hypotheses "
                         f"({few_keys(report.missing_keys)}); use --keys present or "
                         f"--keys all to score anyway", path=hyp_path)
    report.keys = [key for key in refs if key in hyps or key_rule == "all"]
    report.ref_tokens = [tokenize(refs[key], unit, normalize) for key in report.keys]
    report.hyp_tokens = [tokenize(hyps.get(key, ""), unit, normalize) for key in report.keys]
    try:
        report.counts = count_edits(report.ref_tokens, report.hyp_tokens, costs)
    except ValueError as err:  # the aligner refuses absurdly long pairs (memory)
        pair = re.match(r"pair (\d+) ", str(err))
        key = report.keys[int(pair.group(1))] if pair else None
        raise InputError(f"utterance '{key}': {err}" if key else str(err),
                         path=hyp_path) from None
    return report


def score_files(ref_path: str, hyp_path: str, **options) -> WerReport:
    return score_texts(read_kaldi_text(ref_path), read_kaldi_text(hyp_path),
                       hyp_path=hyp_path, **options)
