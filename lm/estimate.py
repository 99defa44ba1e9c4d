"""`train`: one entry point for every smoothing method.

`smoothing="mkn"` (the default) runs the native modified Kneser–Ney pipeline, which reproduces
KenLM lmplz (lm.mkn). Every other name is looked up in `lm.smoothing.ESTIMATORS` and called as
`ESTIMATORS[name](counts: NgramCounts, **options) -> NgramModel`, with the counts made by the
native counter (lm.counting).
"""
from __future__ import annotations

import os
from typing import Iterable, Sequence, Union

from common.errors import InputError
from lm.model import NgramModel

Source = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]], Iterable[Sequence[str]]]


def train(source: Source, order: int, smoothing: str = "mkn", *, chars: bool = False,
          vocab=None, skip_symbols: bool = False, memory: str | int | None = None,
          prune=None, discount_fallback=None, interpolate_unigrams: bool = True,
          progress=None, **options) -> NgramModel:
    """Estimate an n-gram model of `order` from text files (paths, `.gz` too) or from an
    iterable of tokenised sentences.

    Modified KN options (lmplz's): `prune` count thresholds per order, `discount_fallback`
    (True for lmplz's 0.5 1 1.5, or three numbers), `interpolate_unigrams`. Other methods take
    their own `**options` (k=, discount=, heldout=...). `vocab` closes the vocabulary (an
    iterable of words or a file path); `memory` bounds counting and, for mkn, the sorted
    streams of estimation (bytes or '1G'; lmplz -S). The returned model itself is in memory;
    `lm.mkn.estimate_to_arpa` writes the ARPA as it is estimated instead.
    """
    from lm import counting
    corpus = counting.Corpus.from_source(source, chars=chars, vocab=vocab,
                                         skip_symbols=skip_symbols)
    if smoothing == "mkn":
        if options:
            raise InputError(f"modified Kneser-Ney takes no option(s) {sorted(options)}")
        from lm import mkn
        return mkn.estimate(corpus, order, prune=prune, discount_fallback=discount_fallback,
                            interpolate_unigrams=interpolate_unigrams, memory=memory,
                            progress=progress)
    if prune or discount_fallback:
        raise InputError("--prune and --discount-fallback apply to modified Kneser-Ney only")
    from lm.smoothing import ESTIMATORS
    if smoothing not in ESTIMATORS:
        known = ", ".join(["mkn"] + sorted(ESTIMATORS))
        raise InputError(f"unknown smoothing method {smoothing!r} (known: {known})")
    counts = counting.count(corpus, order, memory=memory)
    return ESTIMATORS[smoothing](counts, **options)
