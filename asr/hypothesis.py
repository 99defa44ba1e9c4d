"""One recognition hypothesis: what the decoder returns, the recogniser reports, rescoring
reranks, and every file holds (`tingxie decode` and `transcribe` JSONL, N-best files).

Costs are -ln probabilities, as in Kaldi lattices:
    acoustic_cost  -acoustic_scale * sum of the path's log-posteriors: already multiplied by
                   the decoder's `acoustic_scale`, which the hypothesis records;
    graph_cost     the TLG path's cost: the first-pass LM (G), lexicon weights, the word
                   insertion penalty, hotword bonuses;
    total_cost     acoustic_cost + graph_cost, what the search minimised.
Rescoring adds `scores` (rescorer name -> ln P(words)) and `total` (the combined score,
higher is better).

JSON (one object; `Hypothesis.to_json` / `Hypothesis.from_json`):
    {"words": ["the", "lord"], "am": 41.2, "lm": 12.7, "acoustic_scale": 2.0,
     "tokens": ["t", "h", "e", "|", ...], "times": [[0.12, 0.4], [0.44, 0.9]],
     "scores": {"ngram": -20.1}, "total": -75.3}
`am` and `lm` are acoustic_cost and graph_cost; only `words`, `am` and `lm` are required
(`words` may also be one space-separated string); `times` are per word [start, end] seconds
(null where unknown). Any other field is kept as it is (`extra`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from common.errors import InputError

Times = Tuple[Optional[float], Optional[float]]
_FIELDS = ("words", "am", "lm", "acoustic_scale", "tokens", "times", "scores", "total")


@dataclass
class Hypothesis:
    words: List[str]
    acoustic_cost: float = 0.0
    graph_cost: float = 0.0
    acoustic_scale: Optional[float] = None   # the scale acoustic_cost carries; None: unknown
    tokens: List[str] = field(default_factory=list)      # token symbols, in order
    times: List[Times] = field(default_factory=list)     # per word: seconds, or None
    scores: Dict[str, float] = field(default_factory=dict)  # rescorer -> ln P(words)
    total: Optional[float] = None            # combined rescoring score, higher is better
    extra: Dict[str, Any] = field(default_factory=dict)  # other JSON fields, kept
    # The decoder's view of the same path (not written to files):
    word_ids: List[int] = field(default_factory=list)
    token_columns: List[int] = field(default_factory=list)   # posterior columns of `tokens`
    word_frames: List[Tuple[int, int]] = field(default_factory=list)  # first/last frame

    @property
    def total_cost(self) -> float:
        return self.acoustic_cost + self.graph_cost

    @property
    def text(self) -> str:
        """The words as a line: Chinese without spaces (common.token_words.join_words)."""
        from common.token_words import join_words
        return join_words(self.words)

    def to_json(self) -> Dict[str, Any]:
        record: Dict[str, Any] = dict(self.extra)
        record["words"] = list(self.words)
        record["am"] = float(self.acoustic_cost)
        record["lm"] = float(self.graph_cost)
        if self.acoustic_scale is not None:
            record["acoustic_scale"] = float(self.acoustic_scale)
        if self.tokens:
            record["tokens"] = list(self.tokens)
        if self.times:
            record["times"] = [[_round(s), _round(e)] for s, e in self.times]
        if self.scores:
            record["scores"] = {k: float(v) for k, v in self.scores.items()}
        if self.total is not None:
            record["total"] = float(self.total)
        return record

    @classmethod
    def from_json(cls, record, where: str = "hypothesis", path: Optional[str] = None,
                  line: Optional[int] = None) -> "Hypothesis":
        """Validated: a malformed record is an InputError naming `where`, file and line."""
        def bad(problem: str) -> InputError:
            return InputError(f"{where}{problem}", path=path, line=line)

        if not isinstance(record, dict):
            raise bad(" must be an object")
        for name in ("words", "am", "lm"):
            if name not in record:
                raise bad(f" has no {name!r}")
        words = record["words"]
        if isinstance(words, str):
            words = words.split()
        elif not (isinstance(words, list) and all(
                isinstance(w, str) and w and not any(c.isspace() for c in w) for w in words)):
            raise bad(".words must be a string or a list of words without spaces")
        scale = record.get("acoustic_scale")
        tokens = record.get("tokens", [])
        if not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
            raise bad(".tokens must be a list of strings")
        times = record.get("times", [])
        if not (isinstance(times, list) and len(times) in (0, len(words)) and all(
                isinstance(t, list) and len(t) == 2 and all(
                    v is None or _number(v) for v in t) for t in times)):
            raise bad(".times must hold one [start, end] per word")
        scores = record.get("scores", {})
        if not isinstance(scores, dict):
            raise bad(".scores must be an object")
        total = record.get("total")
        return cls(
            list(words), _finite(record["am"], ".am", bad),
            _finite(record["lm"], ".lm", bad),
            None if scale is None else _finite(scale, ".acoustic_scale", bad),
            list(tokens), [tuple(t) for t in times],
            {k: _finite(v, f".scores.{k}", bad) for k, v in scores.items()},
            None if total is None else _finite(total, ".total", bad),
            {k: v for k, v in record.items() if k not in _FIELDS})


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value, name: str, bad) -> float:
    if not _number(value):
        raise bad(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise bad(f"{name} is not finite ({value})")
    return float(value)


def _round(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else round(float(seconds), 3)


def utterance_json(key: Optional[str], best: Hypothesis,
                   hyps: Optional[List[Hypothesis]] = None, **fields: Any) -> Dict[str, Any]:
    """One utterance as every JSONL of Tingxie writes it: key, text, the best hypothesis's
    fields, other fields (duration, reached_final, ...), and `hyps`, the N-best list best first
    when there is one: a line `tingxie rescore` and `tingxie tune` read as an N-best entry."""
    record: Dict[str, Any] = {} if key is None else {"key": key}
    record["text"] = best.text
    record.update(Hypothesis.to_json(best))
    record.update(fields)
    if hyps:
        record["hyps"] = [h.to_json() for h in hyps]
    return record
