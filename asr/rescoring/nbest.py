"""N-best lists: the in-memory form and the JSONL file format `tingxie rescore` reads and writes.

One line per utterance, the same objects `tingxie transcribe --nbest N` writes:

    {"key": "utt1", "hyps": [{"words": ["a", "b"], "am": 12.5, "lm": 7.25}, ...]}

The JSONL of `tingxie transcribe --nbest N` is read as well: there each line has `nbest`, a
list of transcripts whose `text` gives the words and whose `scores` hold `acoustic_cost` and
`graph_cost` (the decoder's names for `am` and `lm`).

`am` and `lm` are costs (negated natural-log scores, as in Kaldi lattices): `am` the acoustic
cost already multiplied by the decoder's acoustic scale, `lm` the graph cost of the first pass
(its G, plus any lexicon weights). `words` may also be one space-separated string. Any other
field of an utterance or hypothesis is kept as it is. Rescoring adds, per hypothesis, `scores`
(rescorer name -> natural-log probability) and `total` (the combined score, higher is better),
and writes the hypotheses best first.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional

from common.errors import InputError
from common.textio import numbered_lines


@dataclass
class Hypothesis:
    words: List[str]
    am: float  # acoustic cost (-ln, acoustic scale applied)
    lm: float  # first-pass graph cost (-ln)
    scores: Dict[str, float] = field(default_factory=dict)  # rescorer -> ln P(words)
    total: Optional[float] = None  # combined score after rescoring, higher is better
    extra: Dict[str, object] = field(default_factory=dict)  # fields passed through unchanged

    def to_json(self) -> dict:
        record = dict(self.extra)
        record.update({"words": self.words, "am": self.am, "lm": self.lm})
        if self.scores:
            record["scores"] = self.scores
        if self.total is not None:
            record["total"] = self.total
        return record


@dataclass
class NBest:
    key: str
    hyps: List[Hypothesis]
    extra: Dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict:
        record = dict(self.extra)
        record.update({"key": self.key, "hyps": [h.to_json() for h in self.hyps]})
        return record


def from_decoder(key: str, hypotheses: Iterable) -> NBest:
    """An NBest from the decoder's `result.nbest` (objects with `words`, `acoustic_cost`,
    `graph_cost`), from `Transcript.to_json()` dicts (`text`, `scores`), or from Hypothesis
    objects, which are copied."""
    hyps = []
    for hyp in hypotheses:
        if isinstance(hyp, Hypothesis):
            hyps.append(Hypothesis(list(hyp.words), hyp.am, hyp.lm, dict(hyp.scores), None,
                                   dict(hyp.extra)))
        elif isinstance(hyp, dict):
            scores = hyp["scores"]
            hyps.append(Hypothesis(hyp["text"].split(), float(scores["acoustic_cost"]),
                                   float(scores["graph_cost"]),
                                   extra={k: v for k, v in hyp.items() if k != "scores"}))
        else:
            hyps.append(Hypothesis(list(hyp.words), float(hyp.acoustic_cost),
                                   float(hyp.graph_cost)))
    return NBest(key, hyps)


def _finite(value, what: str, path: str, line: int) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{what} must be a number, got {value!r}", path=path, line=line)
    if not math.isfinite(value):
        raise InputError(f"{what} is not finite ({value})", path=path, line=line)
    return float(value)


def _parse_hypothesis(record, index: int, path: str, line: int) -> Hypothesis:
    where = f"hyps[{index}]"
    if not isinstance(record, dict):
        raise InputError(f"{where} must be an object", path=path, line=line)
    for name in ("words", "am", "lm"):
        if name not in record:
            raise InputError(f"{where} has no {name!r}", path=path, line=line)
    words = record["words"]
    if isinstance(words, str):
        words = words.split()
    elif not (isinstance(words, list) and all(isinstance(w, str) and w and not any(
            c.isspace() for c in w) for w in words)):
        raise InputError(f"{where}.words must be a string or a list of words without spaces",
                         path=path, line=line)
    scores = record.get("scores", {})
    if not isinstance(scores, dict):
        raise InputError(f"{where}.scores must be an object", path=path, line=line)
    scores = {k: _finite(v, f"{where}.scores.{k}", path, line) for k, v in scores.items()}
    extra = {k: v for k, v in record.items() if k not in ("words", "am", "lm", "scores", "total")}
    return Hypothesis(list(words), _finite(record["am"], f"{where}.am", path, line),
                      _finite(record["lm"], f"{where}.lm", path, line), scores, None, extra)


def _from_transcripts(transcripts, path: str, line: int) -> list:
    """`transcribe --nbest` objects -> hypothesis records."""
    if not isinstance(transcripts, list):
        raise InputError("'nbest' must be a list", path=path, line=line)
    records = []
    for index, item in enumerate(transcripts):
        scores = item.get("scores") if isinstance(item, dict) else None
        if not isinstance(scores, dict) or not isinstance(item.get("text"), str):
            raise InputError(f"nbest[{index}] needs 'text' and 'scores'", path=path, line=line)
        for name in ("acoustic_cost", "graph_cost"):
            if name not in scores:
                raise InputError(f"nbest[{index}].scores has no {name!r}", path=path, line=line)
        records.append({"words": item["text"], "am": scores["acoustic_cost"],
                        "lm": scores["graph_cost"]})
    return records


def read_nbest(path: str) -> Iterator[NBest]:
    """Yield the utterances of an N-best JSONL file (.gz allowed), validated line by line."""
    seen = set()
    for number, text in numbered_lines(path):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"not valid JSON: {err.msg} (column {err.colno})", path=path,
                             line=number) from None
        if not isinstance(record, dict):
            raise InputError("expected a JSON object per line", path=path, line=number)
        key = record.get("key")
        if not isinstance(key, str) or not key or any(c.isspace() for c in key):
            raise InputError("'key' must be a non-empty string without spaces", path=path,
                             line=number)
        if key in seen:
            raise InputError(f"utterance {key!r} appears twice", path=path, line=number)
        seen.add(key)
        hyps = record.get("hyps")
        if hyps is None and "nbest" in record:
            hyps = _from_transcripts(record["nbest"], path, number)
            record = {k: v for k, v in record.items() if k in ("key", "text")}
        if not isinstance(hyps, list):
            raise InputError("'hyps' must be a list", path=path, line=number)
        parsed = [_parse_hypothesis(h, i, path, number) for i, h in enumerate(hyps)]
        extra = {k: v for k, v in record.items() if k not in ("key", "hyps")}
        yield NBest(key, parsed, extra)


def write_nbest(handle, nbest: NBest) -> None:
    handle.write(json.dumps(nbest.to_json(), ensure_ascii=False) + "\n")
