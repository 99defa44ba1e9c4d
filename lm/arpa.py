"""ARPA back-off language model files: validated reading into an `NgramModel`, and writing one
in KenLM's exact layout and number formatting.

Format: `\\data\\`, one `ngram K=N` line per order, then for each order `\\K-grams:` and N lines
`log10p <TAB> w1 ... wK [<TAB> log10backoff]`, then `\\end\\`. Every deviation is an InputError
naming the file and line.
"""
from __future__ import annotations

import gzip
import os

import numpy as np

from common.errors import InputError
from lm import _native
from lm.model import NgramModel, NgramTable


def read_arpa(path: str) -> NgramModel:
    """Read and validate an ARPA file (`.gz` too); ids renumbered so <unk> <s> </s> are 0 1 2.

    The native parser (lm/csrc/arpa_read.cc) does the work (tests/arpa_reference.py holds the
    same validation in plain Python, the reference it is tested against)."""
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
    vocab, ids, logprob, backoff = _native.parse_arpa(data, path)
    tables = [NgramTable(i, lp, bo) for i, lp, bo in zip(ids, logprob, backoff)]
    return _to_kenlm_ids(NgramModel(vocab, tables))


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
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(str(path), "wb") as out:
        _native.format_arpa(model.vocab, [t.ids for t in model.orders],
                            [t.logprob for t in model.orders],
                            [t.backoff for t in model.orders], out.write)
