"""Katz back-off with Good-Turing discounts (Katz 1987).

For a seen n-gram with count r = c(h w):
    p(w | h) = d_r r / c(h),   d_r = 1 for r > k, and for 1 <= r <= k
    d_r = (r*/r - (k+1) n_{k+1} / n_1) / (1 - (k+1) n_{k+1} / n_1),   r* = (r+1) n_{r+1} / n_r
with n_r the number of n-grams of that order seen exactly r times (count-of-counts per order)
and k the Good-Turing cutoff (`k=5` by default). An unseen w gets alpha(h) p(w | h'), alpha
renormalising (the mass the discounts freed, over the lower-order mass of the unseen words).
On small data some d_r leave (0, 1] or are undefined (n_r = 0, or (k+1) n_{k+1} >= n_1); those
counts are then not discounted (d_r = 1), as SRILM does, and `smoothing_info["warnings"]`
says which. Unigrams are discounted the same way and the freed mass is spread uniformly over the
predicted vocabulary.
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

from lm.counts import NgramCounts
from common.errors import InputError
from lm.model import NgramModel
from lm.smoothing.backoff_form import BackoffBuilder, CountLayout


def good_turing_ratios(n: np.ndarray, k: int) -> Tuple[np.ndarray, List[str]]:
    """d_r for r = 0..k+1 (d_0 unused, d_{k+1} = 1) from count-of-counts n[0..k+1]."""
    ratios = np.ones(k + 2)
    warnings = []
    common = (k + 1) * n[k + 1] / n[1] if n[1] > 0 else np.inf
    if not common < 1.0:
        return ratios, [f"(k+1) n_(k+1) / n_1 = {common:g} >= 1: no discounting"]
    for r in range(1, k + 1):
        if n[r] == 0:
            warnings.append(f"n_{r} = 0: count {r} not discounted")
            continue
        d = ((r + 1) * n[r + 1] / (r * n[r]) - common) / (1.0 - common)
        if not 0.0 < d <= 1.0:
            warnings.append(f"d_{r} = {d:g} out of (0, 1]: count {r} not discounted")
            continue
        ratios[r] = d
    return ratios, warnings


def estimate(counts: NgramCounts, *, k: int = 5) -> NgramModel:
    if isinstance(k, bool) or not isinstance(k, (int, float, np.number)) or k != int(k) or k < 1:
        raise InputError(f"katz: the Good-Turing cutoff k must be a positive integer, got {k!r}")
    k = int(k)
    layout = CountLayout(counts)
    builder = BackoffBuilder(layout)
    all_ratios, warnings = [], []
    for n in range(1, layout.order + 1):
        c = layout.counts[n - 1]
        ratios, notes = good_turing_ratios(layout.count_of_counts(n, c, k + 1), k)
        all_ratios.append(ratios[1:k + 1].tolist())
        warnings += [f"order {n}: {note}" for note in notes]
        discounted = c * ratios[np.minimum(np.rint(c).astype(np.int64), k + 1)]
        if n == 1:
            total = c.sum()
            builder.uniform_unigrams(discounted / total, 1.0 - discounted.sum() / total)
        else:
            totals = layout.per_history(n, c)
            safe = np.where(totals > 0, totals, 1.0)
            builder.add_backoff(n, discounted / safe[layout.history_rows(n)])
    model = builder.model()
    model.smoothing_info = {"good_turing_ratios": all_ratios, "warnings": warnings}
    return model
