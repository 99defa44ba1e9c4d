"""Modified Kneser–Ney estimation exactly as KenLM's lmplz (native: lm/csrc/kneser_ney.cc).

`estimate(corpus, order, ...)` -> `NgramModel` in ARPA back-off form; the discounts used are
kept on the model as `model.discounts` (a list of (D1, D2, D3+) per order).
"""
from __future__ import annotations

import sys

import numpy as np

from lm.counting import Corpus, make_counter
from common.errors import InputError
from lm.model import NgramModel, NgramTable

LMPLZ_FALLBACK = (0.5, 1.0, 1.5)


def estimate(corpus: Corpus, order: int, *, prune=None, discount_fallback=None,
             interpolate_unigrams: bool = True, memory=None, progress=None) -> NgramModel:
    if not 1 <= order <= 6:
        raise InputError(f"order must be between 1 and 6, got {order}")
    thresholds = [int(t) for t in (prune or [])]
    if any(t < 0 for t in thresholds):
        raise InputError("--prune thresholds must be non-negative")
    if discount_fallback is True or discount_fallback == []:
        fallback = list(LMPLZ_FALLBACK)
    elif discount_fallback:
        fallback = [float(d) for d in discount_fallback]
        if len(fallback) != 3:
            raise InputError("--discount-fallback takes three discounts D1 D2 D3+")
        if not all(np.isfinite(fallback)) or min(fallback) < 0:
            raise InputError(f"--discount-fallback discounts must be finite and non-negative, "
                             f"got {' '.join(map(str, fallback))}")
    else:
        fallback = None
    counter = make_counter(corpus, order, memory, verbose=bool(progress))
    corpus.feed(counter, progress=progress)
    result = counter.kneser_ney(thresholds, fallback, bool(interpolate_unigrams))
    # Word ids come as uint32 (fewer than 2**31 words): viewed as int32 without a copy.
    tables = [NgramTable(ids.view(np.int32), lp, bo) for ids, lp, bo in
              zip(result["ids"], result["logprob"], result["backoff"])]
    model = NgramModel(counter.vocab(), tables)
    model.discounts = [tuple(d) for d in result["discounts"]]
    model.spilled_runs = counter.spilled_runs
    if progress:
        print(f"counted {counter.sentences} sentences, {counter.tokens} tokens; "
              f"{counter.spilled_runs} run(s) spilled to disk", file=sys.stderr)
    return model
