"""Absolute discounting: subtract a fixed D from every seen count, give the mass to the lower
order (raw counts at every order, unlike Kneser-Ney).

Interpolated (`absolute`):
    p(w | h) = max(c(h w) - D, 0) / c(h) + D N1+(h .) / c(h) * p(w | h')
Back-off (`absolute-backoff`):
    p(w | h) = (c(h w) - D) / c(h)                 if c(h w) > 0
             = beta(h) p(w | h')                   otherwise, beta renormalising.
c(h) = sum of c(h w) over predicted w; N1+(h .) = number of distinct w seen after h. One D per
order, by default n1 / (n1 + 2 n2) from that order's count-of-counts; `discount=` overrides it
(one number, or one per order). Unigrams are interpolated with the uniform distribution over
the predicted vocabulary in both variants (there is no lower order to back off to).
"""
from __future__ import annotations

from typing import List

import numpy as np

from lm.counts import NgramCounts
from lm.model import NgramModel
from lm.smoothing.backoff_form import (BackoffBuilder, CountLayout, check_discounts,
                                       default_discounts, per_order)


def discounted_unigrams(builder: BackoffBuilder, c: np.ndarray, discount: float) -> None:
    """Unigrams max(c - D, 0) / N + (D n_types / N) / |V| (shared with Kneser-Ney)."""
    total = c.sum()
    seen = c > 0
    builder.uniform_unigrams(np.where(seen, c - discount, 0.0).clip(min=0) / total,
                             discount * seen.sum() / total)


def interpolated_orders(builder: BackoffBuilder, counts: List[np.ndarray],
                        discounts: List[float]) -> None:
    layout = builder.layout
    discounted_unigrams(builder, counts[0], discounts[0])
    for k in range(2, layout.order + 1):
        c, d = counts[k - 1], discounts[k - 1]
        totals = layout.per_history(k, c)
        types = layout.per_history(k, (c > 0).astype(np.float64))
        safe = np.where(totals > 0, totals, 1.0)
        history = layout.history_rows(k)
        builder.add_interpolated(k, np.maximum(c - d, 0.0) / safe[history], d * types / safe)


def backoff_orders(builder: BackoffBuilder, counts: List[np.ndarray],
                   discounts: List[float]) -> None:
    layout = builder.layout
    discounted_unigrams(builder, counts[0], discounts[0])
    for k in range(2, layout.order + 1):
        c, d = counts[k - 1], discounts[k - 1]
        totals = layout.per_history(k, c)
        safe = np.where(totals > 0, totals, 1.0)
        builder.add_backoff(k, np.maximum(c - d, 0.0) / safe[layout.history_rows(k)])


def _discounts(layout: CountLayout, discount, method: str) -> List[float]:
    if discount is None:
        return default_discounts(layout, layout.counts, method)
    values = per_order(discount, layout.order, "discount")
    check_discounts(values, method)
    return values


def interpolated(counts: NgramCounts, *, discount=None) -> NgramModel:
    layout = CountLayout(counts)
    discounts = _discounts(layout, discount, "absolute")
    builder = BackoffBuilder(layout)
    interpolated_orders(builder, layout.counts, discounts)
    return _with_info(builder.model(), discounts)


def backoff(counts: NgramCounts, *, discount=None) -> NgramModel:
    layout = CountLayout(counts)
    discounts = _discounts(layout, discount, "absolute-backoff")
    builder = BackoffBuilder(layout)
    backoff_orders(builder, layout.counts, discounts)
    return _with_info(builder.model(), discounts)


def _with_info(model: NgramModel, discounts: List[float]) -> NgramModel:
    model.smoothing_info = {"discounts": discounts}
    return model
