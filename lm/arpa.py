"""ARPA back-off language model files: validated reading into an `NgramModel`, and writing one
in KenLM's exact layout and number formatting.

Format: `\\data\\`, one `ngram K=N` line per order, then for each order `\\K-grams:` and N lines
`log10p <TAB> w1 ... wK [<TAB> log10backoff]`, then `\\end\\`. Every deviation is an InputError
naming the file and line.
"""
from __future__ import annotations

import gzip
import os
import re
from typing import Dict, List

import numpy as np

from common.errors import InputError
from lm.model import NgramModel, NgramTable
from common.textio import numbered_lines

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


def read_arpa(path: str) -> NgramModel:
    """Read and validate an ARPA file (`.gz` too); ids renumbered so <unk> <s> </s> are 0 1 2.

    The native parser (lm/csrc/arpa_read.cc) does the work; `read_arpa_python` below is the
    same validation in plain Python, kept as the reference the native one is tested against."""
    native = _native_module()
    if native is None:
        return read_arpa_python(path)
    path = str(path)
    if not os.path.exists(path):
        raise InputError("no such file", path=path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except (OSError, EOFError) as err:
        raise InputError(f"cannot read: {err}", path=path) from None
    vocab, ids, logprob, backoff = native.parse_arpa(data, path)
    tables = [NgramTable(i, lp, bo) for i, lp, bo in zip(ids, logprob, backoff)]
    return _to_kenlm_ids(NgramModel(vocab, tables))


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


def _to_kenlm_ids(model: NgramModel) -> NgramModel:
    """Renumber so that <unk>, <s>, </s> (when present) get ids 0, 1, 2."""
    specials = [w for w in ("<unk>", "<s>", "</s>") if w in model.word_id]
    if [model.word_id[w] for w in specials] == list(range(len(specials))):
        return model
    order = [model.word_id[w] for w in specials]
    order += [i for i, w in enumerate(model.vocab) if w not in specials]
    old_to_new = np.empty(len(order), dtype=np.int32)
    old_to_new[np.asarray(order)] = np.arange(len(order), dtype=np.int32)
    vocab = [model.vocab[i] for i in order]
    tables = [NgramTable(old_to_new[t.ids], t.logprob, t.backoff) for t in model.orders]
    return NgramModel(vocab, tables)


def format_float(value: float) -> str:
    """KenLM's number formatting: the shortest decimal that reads back as the same float32,
    positional for decimal exponents -6..20 and `1.5e-7` form outside (double-conversion's
    ToShortestSingle with the limits KenLM configures)."""
    value = np.float32(value)
    if value == 0:
        return "0"
    if not np.isfinite(value):
        return "nan" if np.isnan(value) else ("-inf" if value < 0 else "inf")
    digits = np.format_float_scientific(value, unique=True, trim="-", exp_digits=1)
    exponent = int(digits.rsplit("e", 1)[1])
    if -6 <= exponent < 21:
        return np.format_float_positional(value, unique=True, trim="-")
    return digits.replace("e+", "e")


def write_arpa(model: NgramModel, path: str) -> None:
    """Write `model` as an ARPA file (`.gz` by extension): every n-gram below the highest order
    carries a back-off column (0 when it has none), like lmplz's output."""
    from common.textio import open_text
    native = _native_module()
    if native is not None:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(str(path), "wb") as out:
            native.format_arpa(model.vocab, [t.ids for t in model.orders],
                               [t.logprob for t in model.orders],
                               [t.backoff for t in model.orders], out.write)
        return
    with open_text(str(path), "w") as out:
        out.write("\\data\\\n")
        for k, table in enumerate(model.orders, 1):
            out.write(f"ngram {k}={len(table)}\n")
        for k, table in enumerate(model.orders, 1):
            out.write(f"\n\\{k}-grams:\n")
            top = k == model.order
            for row, lp, bo in zip(table.ids.tolist(), table.logprob.tolist(),
                                   table.backoff.tolist()):
                words = " ".join(model.vocab[i] for i in row)
                if top:
                    out.write(f"{format_float(lp)}\t{words}\n")
                else:
                    out.write(f"{format_float(lp)}\t{words}\t{format_float(bo)}\n")
        out.write("\n\\end\\\n")


def _native_module():
    try:
        from lm import _native
    except ImportError:
        return None
    return _native if hasattr(_native, "format_arpa") else None
