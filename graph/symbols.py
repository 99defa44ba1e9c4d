"""Token lists and symbol tables.

A token list gives the acoustic model's output units in posterior-column order. It comes as a
FunASR `tokens.json` (a JSON list) or a Kaldi/WeNet `tokens.txt`/`units.txt` (`SYMBOL ID`, ID =
column). In every graph the input label of token column c is c + 1 (`LABEL_OFFSET`), so label 0
stays epsilon: the convention of Kaldi, WeNet and FunASR's runtime.
"""
from __future__ import annotations

import json
from typing import Dict, List

from lm.errors import InputError
from lm.textio import numbered_lines, open_text

LABEL_OFFSET = 1
BLANK_SYMBOLS = ("<blank>", "<blk>", "<b>")
SENTENCE_SYMBOLS = ("<s>", "</s>", "<sos/eos>")
UNK_SYMBOLS = ("<unk>", "<UNK>")


def read_tokens(path: str) -> List[str]:
    """Token symbols in posterior-column order."""
    if str(path).endswith(".json"):
        try:
            with open_text(path) as handle:
                tokens = json.load(handle)
        except json.JSONDecodeError as err:
            raise InputError(f"not valid JSON: {err.msg}", path, err.lineno) from None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise InputError("tokens.json must be a JSON list of strings", path)
        where = {t: 1 for t in tokens}
        lines = [1] * len(tokens)
    else:
        by_id: Dict[int, str] = {}
        where: Dict[str, int] = {}
        for number, text in numbered_lines(path):
            fields = text.split()
            if not fields:
                continue
            if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
                raise InputError(f"expected 'SYMBOL ID', got {text!r}", path, number)
            symbol, column = fields[0], int(fields[1])
            if column in by_id:
                raise InputError(f"id {column} given twice ({by_id[column]!r}, {symbol!r})",
                                 path, number)
            if symbol in where:
                raise InputError(f"token {symbol!r} listed twice (first at line {where[symbol]})",
                                 path, number)
            by_id[column], where[symbol] = symbol, number
        if sorted(by_id) != list(range(len(by_id))):
            raise InputError("token ids must be 0..N-1 without gaps (they are posterior columns)",
                             path)
        tokens = [by_id[i] for i in range(len(by_id))]
        lines = [where[t] for t in tokens]
    if not tokens:
        raise InputError("empty token list", path)
    seen: Dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token in seen:
            raise InputError(f"token {token!r} listed twice", path, lines[index])
        seen[token] = index
    return tokens


def blank_index(tokens: List[str]) -> int:
    """Column of the CTC blank, or -1 when the list has none."""
    for symbol in BLANK_SYMBOLS:
        if symbol in tokens:
            return tokens.index(symbol)
    return -1


def write_tokens(tokens: List[str], path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for column, token in enumerate(tokens):
            handle.write(f"{token} {column}\n")


def write_symbol_table(symbols: List[str], path: str) -> None:
    """Kaldi/OpenFst symbol table: `SYMBOL ID`, ID = position."""
    with open(path, "w", encoding="utf-8") as handle:
        for index, symbol in enumerate(symbols):
            handle.write(f"{symbol} {index}\n")
