"""The ARPA reader in plain Python: the same validation as lm/csrc/arpa_read.cc, kept as the
reference the native reader is tested against (tests/test_lm_arpa.py)."""
import os
import re
from typing import Dict, List

import numpy as np

from common.errors import InputError
from common.textio import numbered_lines
from lm.arpa import _to_kenlm_ids
from lm.model import NgramModel, NgramTable

_COUNT_LINE = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"^\\(\d+)-grams:$")


def _number(text: str, path: str, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{what} '{text}' is not a number", path=path, line=line) from None
    if value != value:
        raise InputError(f"{what} is NaN", path=path, line=line)
    return value



def read_arpa_python(path: str) -> NgramModel:
    lines = numbered_lines(path)
    declared: Dict[int, int] = {}
    state = "preamble"
    for number, text in lines:
        text = text.strip()
        if state == "preamble":
            if text == "\\data\\":
                state = "counts"
            continue
        if not text:
            if declared:
                break
            continue
        match = _COUNT_LINE.match(text)
        if not match:
            if _SECTION.match(text) and declared:
                raise InputError("expected a blank line after the \\data\\ counts", path, number)
            raise InputError(f"expected 'ngram K=N' in \\data\\, got '{text}'", path, number)
        order, count = int(match.group(1)), int(match.group(2))
        if order != len(declared) + 1:
            raise InputError(f"'ngram {order}=' out of order in \\data\\", path, number)
        declared[order] = count
    if state == "preamble":
        raise InputError("no \\data\\ section: not an ARPA file", path)
    if not declared:
        raise InputError("\\data\\ declares no n-gram counts", path)

    max_order = len(declared)
    vocab: List[str] = []
    word_id: Dict[str, int] = {}
    tables: List[NgramTable] = []
    expect_order = 1
    seen_end = False
    for number, text in lines:
        text = text.strip()
        if not text:
            continue
        if text == "\\end\\":
            seen_end = True
            break
        match = _SECTION.match(text)
        if not match or int(match.group(1)) != expect_order:
            raise InputError(f"expected '\\{expect_order}-grams:', got '{text}'", path, number)
        order = expect_order
        n = declared[order]
        if n > os.path.getsize(path) * (1000 if str(path).endswith(".gz") else 1):
            # more lines than the file has bytes: the header is wrong, not the memory small
            raise InputError(f"\\data\\ declares {n} {order}-grams, more than the file can "
                             f"hold", path, number)
        ids = np.empty((n, order), dtype=np.int32)
        logprob = np.empty(n, dtype=np.float32)
        backoff = np.zeros(n, dtype=np.float32)
        row = 0
        for number, text in lines:
            fields = text.split()
            if not fields:
                break
            if row == n:
                raise InputError(f"more {order}-grams than the {n} declared in \\data\\",
                                 path, number)
            if len(fields) == order + 1:
                has_backoff = False
            elif len(fields) == order + 2:
                has_backoff = True
            else:
                raise InputError(f"a {order}-gram line needs {order + 1} or {order + 2} fields, "
                                 f"got {len(fields)}", path, number)
            logprob[row] = _number(fields[0], path, number, "probability")
            if logprob[row] > 0:
                raise InputError(f"log10 probability {fields[0]} is positive", path, number)
            if has_backoff:
                if order == max_order:
                    raise InputError(f"back-off weight on a {order}-gram of the highest order",
                                     path, number)
                backoff[row] = _number(fields[-1], path, number, "back-off weight")
                if np.isinf(backoff[row]):
                    raise InputError(f"back-off weight {fields[-1]} is infinite", path, number)
            words = fields[1:order + 1]
            if order == 1:
                word = words[0]
                if word in word_id:
                    raise InputError(f"unigram '{word}' listed twice", path, number)
                word_id[word] = len(vocab)
                vocab.append(word)
                ids[row, 0] = word_id[word]
            else:
                for j, word in enumerate(words):
                    wid = word_id.get(word)
                    if wid is None:
                        raise InputError(f"word '{word}' is not among the unigrams", path, number)
                    ids[row, j] = wid
            row += 1
        else:
            number += 1
        if row != n:
            raise InputError(f"\\data\\ declares {n} {order}-grams but the section has {row}",
                             path, number)
        tables.append(NgramTable(ids, logprob, backoff))
        expect_order += 1
        if expect_order > max_order:
            for number, text in lines:
                if text.strip() == "\\end\\":
                    seen_end = True
                    break
                if text.strip():
                    raise InputError(f"expected '\\end\\', got '{text.strip()}'", path, number)
            break
    if len(tables) != max_order:
        raise InputError(f"file ends before the \\{len(tables) + 1}-grams: section", path)
    if not seen_end:
        raise InputError("missing '\\end\\' (truncated file?)", path)
    return _to_kenlm_ids(NgramModel(vocab, tables, word_id))
