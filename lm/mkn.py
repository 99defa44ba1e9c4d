"""Modified Kneser–Ney estimation exactly as KenLM's lmplz (native: lm/csrc/kneser_ney.cc).

`estimate(corpus, order, ...)` -> `NgramModel` in ARPA back-off form; the discounts used are
kept on the model as `model.discounts` (a list of (D1, D2, D3+) per order).
`estimate_to_arpa(corpus, order, path, ...)` writes the ARPA file as it is estimated, holding
nothing but the sorted streams that `memory` bounds (lmplz -S); the file is byte-identical to
`write_arpa(estimate(...))` whatever `memory`.
"""
from __future__ import annotations

import gzip
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from lm.counting import Corpus, make_counter
from common.errors import InputError
from lm.model import NgramModel, NgramTable

LMPLZ_FALLBACK = (0.5, 1.0, 1.5)


@dataclass
class ArpaEstimate:
    """What `estimate_to_arpa` reports: n-grams written per order, the discounts used, the
    counting runs and the estimation runs that went to disk."""
    counts: List[int]
    discounts: List[Tuple[float, float, float]]
    counting_spilled_runs: int
    estimation_spilled_runs: int


def _check_options(order, prune, discount_fallback) -> Tuple[list, Optional[list]]:
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
    return thresholds, fallback


def _count(corpus, order, memory, progress):
    counter = make_counter(corpus, order, memory, verbose=bool(progress))
    corpus.feed(counter, progress=progress)
    return counter


def estimate(corpus: Corpus, order: int, *, prune=None, discount_fallback=None,
             interpolate_unigrams: bool = True, memory=None, progress=None) -> NgramModel:
    thresholds, fallback = _check_options(order, prune, discount_fallback)
    counter = _count(corpus, order, memory, progress)
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


def estimate_to_arpa(corpus: Corpus, order: int, path, *, prune=None, discount_fallback=None,
                     interpolate_unigrams: bool = True, memory=None,
                     progress=None) -> ArpaEstimate:
    """Estimate and write `path` (ARPA, `.gz` by extension; `-` for stdout) in memory bounded
    by `memory`; sorted streams beyond it go to anonymous files in tempfile.gettempdir()."""
    thresholds, fallback = _check_options(order, prune, discount_fallback)
    path = os.fspath(path)
    counter = _count(corpus, order, memory, progress)
    if progress:
        print(f"counted {counter.sentences} sentences, {counter.tokens} tokens; "
              f"{counter.spilled_runs} run(s) spilled to disk; estimating", file=sys.stderr)
    try:
        result = _write_arpa(counter, path, thresholds, fallback, interpolate_unigrams)
    except BrokenPipeError:
        raise  # a closed pipe: the CLI's own convention (exit 141)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", path=path) from None
    return ArpaEstimate(counts=list(result["counts"]),
                        discounts=[tuple(d) for d in result["discounts"]],
                        counting_spilled_runs=counter.spilled_runs,
                        estimation_spilled_runs=result["estimation_spilled_runs"])


def _write_arpa(counter, path, thresholds, fallback, interpolate_unigrams):
    opener = gzip.open if path.endswith(".gz") else open
    if path == "-" or (os.path.exists(path) and not os.path.isfile(path)):
        # stdout, a pipe, a device: written straight through
        stream = sys.stdout.buffer if path == "-" else open(path, "wb")
        try:
            result = counter.kneser_ney_arpa(thresholds, fallback, bool(interpolate_unigrams),
                                             stream.write)
        finally:
            if stream is not sys.stdout.buffer:
                stream.close()
    else:
        # A file is written beside the target and renamed at the end: an interrupted run
        # leaves no truncated model behind.
        directory, name = os.path.split(os.path.abspath(path))
        handle, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
        os.close(handle)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # mkstemp's 0600 is for secrets, not models
        try:
            with opener(partial, "wb") as out:
                result = counter.kneser_ney_arpa(thresholds, fallback,
                                                 bool(interpolate_unigrams), out.write)
            os.replace(partial, path)
        except BaseException:
            os.unlink(partial)
            raise
    return result
