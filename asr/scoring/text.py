"""Transcripts for scoring: text in (Kaldi `text` files are read by `common.kaldi`), token
lists out.

Tokens are words (split on whitespace) or, for CER, characters: every character that is not
whitespace is one token, so Chinese is scored per character (as AISHELL and FunASR report CER)
and a Latin word inside Chinese text counts one token per letter.

`normalize="aishell"` applies, in this order:
  1. Unicode NFKC, which folds full-width letters, digits and punctuation to their ASCII forms
     (e.g. "ＡＢＣ１" -> "ABC1", "，" -> ",") and other compatibility forms to canonical ones;
  2. lower-casing (str.lower);
  3. every character whose Unicode category is punctuation (P*: Chinese and Western marks,
     brackets, quotes, dashes) becomes a space;
  4. runs of whitespace collapse to one space.
Nothing else changes: no number or tag rewriting, no traditional/simplified conversion.
"""
from __future__ import annotations

import unicodedata
from typing import List, Optional

NORMALIZERS = ("none", "aishell")
UNITS = ("word", "char")


def normalize_text(text: str, normalize: str = "none") -> str:
    if normalize == "none":
        return text
    if normalize != "aishell":
        raise ValueError(f"normalize must be one of {NORMALIZERS}, not {normalize!r}")
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(text.split())


def tokenize(text: str, unit: str = "word", normalize: str = "none") -> List[str]:
    text = normalize_text(text, normalize)
    if unit == "word":
        return text.split()
    if unit == "char":
        return [ch for ch in text if not ch.isspace()]
    raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")


def few_keys(keys: List[str], limit: Optional[int] = 5) -> str:
    """'a, b, c and 7 more' for messages."""
    shown = keys if limit is None else keys[:limit]
    rest = len(keys) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "")
