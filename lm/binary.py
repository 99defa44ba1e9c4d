"""The query model of an n-gram LM, from an ARPA file or a memory-mapped binary one.

`load(path)` recognises the binary format by its magic and maps it (read-only, shared: every
process that loads the same file uses the same pages of the page cache); anything else is read
as ARPA (`.gz` too) and built into the same structure in memory. `build_binary(arpa, out)`
writes that structure as a file (`tingxie lm build-binary`). The layout (lm/csrc/scorer.h,
`ModelImageHeader`): a header with sizes and offsets, the vocabulary's strings, a word hash
table, the unigrams by word id, and one open-addressing table of 64-bit n-gram hashes with
their log10 probability and back-off (as KenLM's probing format, 1.5 slots per n-gram). The
header, every offset and size and the word table are checked when a file is opened, so a
truncated or corrupt file is an InputError, not a crash.

A binary model answers the same queries as its ARPA file, to the bit: they share the code.
It keeps no n-gram list (only hashes), so compiling a graph (G) still needs the ARPA file.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Union

from common.errors import InputError

MAGIC = b"TXLMBIN\x1a"
KENLM_MAGIC = b"mmap lm "


def is_binary(path: Union[str, os.PathLike]) -> bool:
    """True when the file starts with the binary format's magic."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


class LanguageModel:
    """Back-off queries on one model (lm's native scorer; KenLM `query`'s numbers).

    `native` is the `lm._native.Scorer`; `ngram_model` the `NgramModel` when read from ARPA
    (None for a binary file)."""

    def __init__(self, native, path: Optional[str] = None, ngram_model=None):
        self.native = native
        self.path = path
        self.ngram_model = ngram_model
        info = native.info()
        self.order: int = info["order"]
        self.vocab_size: int = info["vocab_size"]
        self.counts = list(info["counts"])
        self.bos: int = info["bos"]
        self.eos: int = info["eos"]
        self.unk: Optional[int] = info["unk"]  # None: the model has no <unk>
        self.mapped: bool = info["mapped"]
        self.bytes: int = info["bytes"]

    def index(self, word: str) -> int:
        """The word's id; -1 when it is not in the vocabulary."""
        return self.native.index(word)

    def word(self, word_id: int) -> str:
        return self.native.word(word_id)

    def score_sentence(self, words: Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """log10 P(words [</s>] | [<s>]), KenLM `Model.score` conventions."""
        return self.native.score_sentence(" ".join(words), bos, eos)

    def advance(self, state, word_id: int):
        """(log10 P(word | state), next state); states are id tuples, oldest first; a
        negative id is an unknown word."""
        return self.native.advance(state, word_id)

    def write_binary(self, path: Union[str, os.PathLike]) -> None:
        self.native.write(os.fspath(path))


def load(path: Union[str, os.PathLike], populate: bool = True) -> LanguageModel:
    """The query model of an ARPA (`.gz` too) or binary file, recognised by its magic.
    `populate`: read a binary file's pages in at once (as KenLM does by default) rather than
    on first touch."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError("no such file", path=path)
    if os.path.isdir(path):
        raise InputError("is a directory, not a language model", path=path)
    from lm import _native
    if is_binary(path):
        return LanguageModel(_native.Scorer.open(path, populate), path)
    with open(path, "rb") as handle:
        if handle.read(len(KENLM_MAGIC)) == KENLM_MAGIC:
            raise InputError("a KenLM binary: give the ARPA file, or convert it with "
                             "`tingxie lm build-binary`", path=path)
    from lm.arpa import read_arpa
    from lm.perplexity import scorer
    model = read_arpa(path)
    return LanguageModel(scorer(model), path, model)


def build_binary(arpa: Union[str, os.PathLike], out: Union[str, os.PathLike]) -> LanguageModel:
    """Read an ARPA file and write it in the binary format; returns the loaded model."""
    model = load(arpa)
    if model.mapped:
        raise InputError("already a binary model", path=os.fspath(arpa))
    model.write_binary(out)
    return model
