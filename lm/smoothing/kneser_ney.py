"""Kneser-Ney smoothing with one discount per order, interpolated (`kn`) or back-off
(`kn-backoff`): absolute discounting in which every order below the highest counts
continuations instead of occurrences.

Adjusted counts a(.) (Chen & Goodman 1998; lmplz uses the same rule):
- at the highest order, and for n-grams that start with `<s>` (nothing can precede them),
  a(h w) = c(h w);
- otherwise a(h w) = N1+(. h w), the number of distinct words seen before h w.
For bigrams' lower order this is the chapter's continuation probability:
Pcont(w) = N1+(. w) / sum over w' of N1+(. w').
With a in place of c, the formulas are those of lm/smoothing/absolute.py:
    kn:          p(w | h) = max(a(h w) - D, 0) / a(h) + D N1+(h .) / a(h) * p(w | h')
    kn-backoff:  p(w | h) = (a(h w) - D) / a(h) if seen, else beta(h) p(w | h')
D per order defaults to n1 / (n1 + 2 n2) over that order's adjusted counts (`discount=`
overrides: one number or one per order). Unigrams are interpolated with the uniform
distribution over the predicted vocabulary, as lmplz does.
"""
from __future__ import annotations

from typing import List

import numpy as np

from lm.counts import NgramCounts
from lm.model import NgramModel
from lm.smoothing.absolute import backoff_orders, interpolated_orders
from lm.smoothing.backoff_form import (BackoffBuilder, CountLayout, check_discounts,
                                       default_discounts, per_order)


def adjusted_counts(layout: CountLayout) -> List[np.ndarray]:
    adjusted = [c.copy() for c in layout.counts]
    for k in range(1, layout.order):
        left_extensions = np.bincount(layout.backoff_rows(k + 1),
                                      minlength=layout.rows(k)).astype(np.float64)
        after_bos = layout.ids[k - 1][:, 0] == layout.bos
        adjusted[k - 1] = np.where(after_bos, layout.counts[k - 1], left_extensions)
        adjusted[k - 1][~layout.predicts_word(k)] = 0.0
    return adjusted


def _estimate(counts: NgramCounts, discount, method: str, orders) -> NgramModel:
    layout = CountLayout(counts)
    adjusted = adjusted_counts(layout)
    if discount is None:
        discounts = default_discounts(layout, adjusted, method)
    else:
        discounts = per_order(discount, layout.order, "discount")
        check_discounts(discounts, method)
    builder = BackoffBuilder(layout)
    orders(builder, adjusted, discounts)
    model = builder.model()
    model.smoothing_info = {"discounts": discounts}
    return model


def interpolated(counts: NgramCounts, *, discount=None) -> NgramModel:
    return _estimate(counts, discount, "kn", interpolated_orders)


def backoff(counts: NgramCounts, *, discount=None) -> NgramModel:
    return _estimate(counts, discount, "kn-backoff", backoff_orders)
