"""Token lists: an acoustic model's output units in posterior-column order.

A list comes as a FunASR `tokens.json` (a JSON list of strings) or a text file: Kaldi/WeNet
`tokens.txt`/`units.txt` lines `SYMBOL ID` (ID = column), or one `SYMBOL` per line (column =
position), one form per file. Every token appears once and the columns are 0..N-1.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List

from common.errors import InputError
from common.textio import numbered_lines, open_text


def read_tokens(path: str) -> List[str]:
    """Token symbols in posterior-column order."""
    path = os.fspath(path)
    if path.endswith(".json"):
        try:
            with open_text(path) as handle:
                tokens = json.load(handle)
        except json.JSONDecodeError as err:
            raise InputError(f"not valid JSON: {err.msg}", path, err.lineno) from None
        except UnicodeDecodeError as err:
            raise InputError(f"not valid UTF-8 ({err.reason})", path) from None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise InputError("tokens.json must be a JSON list of strings", path)
        lines = [1] * len(tokens)
    else:
        tokens, lines = _read_token_lines(path)
    if not tokens:
        raise InputError("empty token list", path)
    seen: Dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token in seen:
            raise InputError(f"token {token!r} listed twice (first at line {lines[seen[token]]})",
                             path, lines[index])
        seen[token] = index
    return tokens


def _read_token_lines(path: str):
    by_id: Dict[int, str] = {}
    line_of: Dict[int, int] = {}
    width = None
    for number, text in numbered_lines(path):
        fields = text.split()
        if not fields:
            continue
        if width is None:
            width = len(fields)
        if len(fields) != width or width > 2 or (width == 2 and
                                                  not fields[1].lstrip("-").isdigit()):
            raise InputError(f"expected 'SYMBOL ID' or 'SYMBOL' on every line, got {text!r}",
                             path, number)
        column = int(fields[1]) if width == 2 else len(by_id)
        if column in by_id:
            raise InputError(f"id {column} given twice ({by_id[column]!r}, {fields[0]!r})",
                             path, number)
        by_id[column], line_of[column] = fields[0], number
    if sorted(by_id) != list(range(len(by_id))):
        raise InputError("token ids must be 0..N-1 without gaps (they are posterior columns)",
                         path)
    return [by_id[i] for i in range(len(by_id))], [line_of[i] for i in range(len(by_id))]


def model_tokens(model_dir: str) -> List[str]:
    """The token list of a model directory: its tokens.json, else its tokens.txt."""
    for name in ("tokens.json", "tokens.txt"):
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            return read_tokens(path)
    raise InputError("model directory has neither tokens.json nor tokens.txt", path=model_dir)
