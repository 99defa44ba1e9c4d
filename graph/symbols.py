"""Symbol tables of a graph (token lists are read by `common.tokens`).

In every graph the input label of token column c is c + 1 (`LABEL_OFFSET`), so label 0
stays epsilon: the convention of Kaldi, WeNet and FunASR's runtime.
"""
from __future__ import annotations

from typing import List

LABEL_OFFSET = 1
BLANK_SYMBOLS = ("<blank>", "<blk>", "<b>")
UNK_SYMBOLS = ("<unk>", "<UNK>")


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
