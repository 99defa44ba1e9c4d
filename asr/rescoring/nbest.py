"""N-best lists: the in-memory form and the JSONL file format `tingxie rescore` reads and writes.

One line per utterance: its key and its hypotheses, best first, each in the one hypothesis
format of asr/hypothesis.py:

    {"key": "utt1", "hyps": [{"words": ["a", "b"], "am": 12.5, "lm": 7.25,
                              "acoustic_scale": 2.0}, ...]}

`tingxie transcribe --nbest N` writes exactly these lines (with the best hypothesis's fields
and the transcript beside them), so its JSONL is read as it is. Any other field of an
utterance is kept. Rescoring adds, per hypothesis, `scores` (rescorer name -> natural-log
probability) and `total` (the combined score, higher is better), and writes the hypotheses best
first.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, Iterator, List

from asr.hypothesis import Hypothesis
from common.errors import InputError
from common.textio import numbered_lines


@dataclass
class NBest:
    key: str
    hyps: List[Hypothesis]
    extra: Dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict:
        record = dict(self.extra)
        record.update({"key": self.key, "hyps": [h.to_json() for h in self.hyps]})
        return record


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
        if not isinstance(hyps, list):
            raise InputError("'hyps' must be a list", path=path, line=number)
        parsed = [Hypothesis.from_json(h, f"hyps[{i}]", path, number)
                  for i, h in enumerate(hyps)]
        if not parsed:
            import warnings
            warnings.warn(f"{path}:{number}: utterance {key!r} has an empty N-best list: its "
                          "best hypothesis is empty", stacklevel=2)
        extra = {k: v for k, v in record.items() if k not in ("key", "hyps")}
        yield NBest(key, parsed, extra)


def write_nbest(handle, nbest: NBest) -> None:
    handle.write(json.dumps(nbest.to_json(), ensure_ascii=False) + "\n")
