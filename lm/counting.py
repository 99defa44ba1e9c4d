"""Counting a corpus with the native counter (lm/csrc/ngram_count.cc): bounded memory, `.gz`.

`Corpus` describes what to read (files or in-memory sentences) and how to tokenise it;
`count(corpus, order)` returns `NgramCounts` identical to `lm.counts.count_sentences` on the same
tokens; `lm.mkn` feeds the same counter into modified Kneser–Ney.
"""
from __future__ import annotations

import gzip
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence

from lm.counts import CountTable, NgramCounts
from common.errors import InputError
from common.textio import BOM as UTF8_BOM

_CHUNK = 8 << 20
DEFAULT_MEMORY = 1 << 30


def parse_memory(memory) -> int:
    """Bytes from an int or a size like '500M', '1G', '80%' (of physical memory)."""
    if memory is None:
        return DEFAULT_MEMORY
    if isinstance(memory, int):
        value = memory
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT%bB]?)\s*", str(memory))
        if not match:
            raise InputError(f"cannot read memory size {memory!r} (examples: 500M, 2G, 50%)")
        number, unit = float(match.group(1)), match.group(2).upper()
        if unit == "%":
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            value = int(total * number / 100)
        else:
            value = int(number * {"": 1024, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30,
                                  "T": 1 << 40}[unit])  # a bare number is KiB, like lmplz -S
    if value < (1 << 20):
        raise InputError(f"memory {memory!r} is too small (at least 1M)")
    return value


@dataclass
class Corpus:
    """Text to count: file paths (one sentence per line, `.gz` ok) or tokenised sentences
    (lists of words); `from_source` accepts a path, a list of paths, or a list of sentences."""
    paths: Optional[List[str]] = None
    sentences: Optional[Sequence[Sequence[str]]] = None
    chars: bool = False
    vocab: Optional[List[str]] = None
    skip_symbols: bool = False

    @classmethod
    def from_source(cls, source, *, chars=False, vocab=None, skip_symbols=False) -> "Corpus":
        if isinstance(vocab, (str, os.PathLike)):
            vocab = read_vocab(vocab)
        elif vocab is not None:
            vocab = list(vocab)
        if isinstance(source, (str, os.PathLike)):
            return cls(paths=[os.fspath(source)], chars=chars, vocab=vocab,
                       skip_symbols=skip_symbols)
        items = list(source)
        if items and all(isinstance(x, (str, os.PathLike)) for x in items):
            return cls(paths=[os.fspath(x) for x in items], chars=chars, vocab=vocab,
                       skip_symbols=skip_symbols)
        sentences = []
        for x in items:
            if isinstance(x, (str, bytes, os.PathLike)):
                raise InputError("give either file paths or tokenised sentences (lists of "
                                 f"words), not a mix: got {x!r}")
            sentences.append(list(x))
        return cls(sentences=sentences, chars=chars, vocab=vocab, skip_symbols=skip_symbols)

    def feed(self, counter, progress=None) -> None:
        """Stream the corpus into a native Counter."""
        if self.sentences is not None:
            counter.begin_file("<sentences>")
            batch = []
            for sentence in self.sentences:
                line = " ".join(sentence)
                if len(line.split()) != len(sentence):
                    bad = next((w for w in sentence if not w or len(w.split()) != 1), line)
                    raise InputError(f"token {bad!r} is empty or contains whitespace")
                batch.append(line)
                if len(batch) == 10000:
                    counter.feed(("\n".join(batch) + "\n").encode("utf-8"))
                    batch = []
            if batch:
                counter.feed(("\n".join(batch) + "\n").encode("utf-8"))
            counter.end_file()
            if counter.sentences == 0:
                raise InputError("the corpus is empty (no sentences)")
            return
        for path in self.paths:
            counter.begin_file(path)
            for chunk in read_chunks(path):
                counter.feed(chunk)
                if progress:
                    progress(path, counter.sentences, counter.tokens)
            counter.end_file()
        if counter.sentences == 0:
            raise InputError("the corpus is empty (no lines)", path=", ".join(self.paths))


def read_chunks(path: str) -> Iterable[bytes]:
    if not os.path.exists(path):
        raise InputError("no such file", path=path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            chunk = handle.read(_CHUNK)
            if chunk.startswith(UTF8_BOM):  # a byte-order mark is no part of the first word
                chunk = chunk[len(UTF8_BOM):]
            while chunk:
                yield chunk
                chunk = handle.read(_CHUNK)
    except (OSError, EOFError) as err:
        raise InputError(f"cannot read: {err}", path=path) from None


def read_vocab(path) -> List[str]:
    """A vocabulary file: whitespace-separated words (one per line is usual)."""
    words = []
    for chunk in read_chunks(os.fspath(path)):
        try:
            words.extend(chunk.decode("utf-8").split())
        except UnicodeDecodeError as err:
            raise InputError(f"not valid UTF-8 ({err.reason})", path=os.fspath(path)) from None
    if not words:
        raise InputError("the vocabulary file is empty", path=os.fspath(path))
    return words


def make_counter(corpus: Corpus, order: int, memory=None, verbose=False):
    from lm import _native
    return _native.Counter(order, chars=corpus.chars, skip_symbols=corpus.skip_symbols,
                           vocab=corpus.vocab, memory_bytes=parse_memory(memory),
                           temp_dir=tempfile.gettempdir(), verbose=verbose)


def count(corpus: Corpus | Iterable, order: int, memory=None, *, chars=False, vocab=None,
          skip_symbols=False) -> NgramCounts:
    """Raw counts of orders 1..order (KenLM conventions; see lm.counts)."""
    if not isinstance(corpus, Corpus):
        corpus = Corpus.from_source(corpus, chars=chars, vocab=vocab, skip_symbols=skip_symbols)
    if not 1 <= order <= 6:
        raise InputError(f"order must be between 1 and 6, got {order}")
    counter = make_counter(corpus, order, memory)
    corpus.feed(counter)
    tables = [CountTable(ids, counts) for ids, counts in counter.raw_counts()]
    return NgramCounts(counter.vocab(), tables)
