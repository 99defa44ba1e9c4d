"""From counts to a back-off `NgramModel`: the stages every smoothing method shares.

1. `CountLayout` arranges `NgramCounts` for estimation: a dense unigram table over the whole
   vocabulary, float64 counts per order, and for every n-gram `h w` the row of its history `h`
   (one order down) and of its back-off n-gram `h' w` (`h` without its first word).
2. A method computes, order by order from 1 up, the probability of every seen n-gram, in one of
   two shapes, and `BackoffBuilder` turns either into back-off form exactly:
   - interpolated: p(w|h) = alpha(h w) + gamma(h) p(w|h'), with alpha summing to 1 - gamma(h).
     The seen n-gram stores that sum; the back-off weight of h is gamma(h), because an unseen w
     gets exactly gamma(h) p(w|h').
   - back-off: the method fixes p(w|h) for the seen w; the back-off weight of h is
     (1 - sum of p(w|h) over seen w) / (1 - sum of p(w|h') over the same w), which gives the
     unseen words exactly the mass left over, in proportion to the lower order.
     Two degenerate cases: no mass left -> back-off weight 0 (log10 -99); mass left but the
     lower order puts all its mass on the seen words -> the seen probabilities are scaled up to
     sum to 1 and the back-off weight is 0.
3. `BackoffBuilder.model()` writes log10 values as float32; a zero probability is -99 (ARPA's
   log 0). `<s>` is never predicted: its unigram log-probability is 0 as lmplz writes it, and an
   n-gram predicting `<s>` (only with the chapter's full `<s>` padding) has probability 0.

The unigram level has no lower order, so every smoothed method interpolates it with the
uniform distribution over the predicted vocabulary (see lm/smoothing/__init__.py).
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from lm.counts import NgramCounts
from common.errors import InputError
from lm.model import NgramModel, NgramTable
from lm.query import LOG10_ZERO, NgramIndex

_TINY = 1e-12
_SET_DISCOUNT = ("set one with discount= (tingxie lm train --discount D), as lmplz's "
                 "--discount_fallback does for modified Kneser-Ney")


class CountLayout:
    def __init__(self, counts: NgramCounts):
        if not isinstance(counts, NgramCounts):
            raise ValueError("estimation needs an NgramCounts")
        if counts.order < 1 or len(counts.orders[0]) == 0:
            raise InputError("the counts are empty")
        self.vocab = list(counts.vocab)
        self.word_id = dict(counts.word_id)
        self.order = counts.order
        self.vocab_size = len(self.vocab)
        self.bos = self.word_id.get("<s>", -1)
        self.n_predicted = self.vocab_size - (1 if self.bos >= 0 else 0)

        unigram_counts = np.zeros(self.vocab_size)
        table = counts.orders[0]
        np.add.at(unigram_counts, table.ids[:, 0].astype(np.int64), table.counts.astype(np.float64))
        self.ids: List[np.ndarray] = [np.arange(self.vocab_size, dtype=np.int32)[:, None]]
        self.counts: List[np.ndarray] = [unigram_counts]
        for k in range(2, self.order + 1):
            table = counts.orders[k - 1]
            self.ids.append(np.ascontiguousarray(table.ids, dtype=np.int32))
            self.counts.append(table.counts.astype(np.float64))
        for k in range(1, self.order + 1):  # <s> is context only, never a prediction
            self.counts[k - 1][self.ids[k - 1][:, -1] == self.bos] = 0.0
        if self.counts[0].sum() <= 0:
            raise InputError("the counts hold no predicted words")
        self.index = NgramIndex(self.ids, self.vocab_size)

    def rows(self, k: int) -> int:
        return len(self.ids[k - 1])

    def history_rows(self, k: int) -> np.ndarray:
        """Row at order k-1 of each order-k n-gram's history (all 0 at k = 1: the empty one)."""
        return self.index.prefix_rows[k - 1]

    def backoff_rows(self, k: int) -> np.ndarray:
        """Row at order k-1 of each order-k n-gram's back-off n-gram (k >= 2)."""
        rows = self.index.suffix_rows(k)
        if (rows < 0).any():
            raise InputError(f"the counts hold a {k}-gram whose {k - 1}-word suffix is missing")
        return rows

    def per_history(self, k: int, values: np.ndarray) -> np.ndarray:
        """Sum of `values` (one per order-k row) over each history (indexed by order-(k-1) row)."""
        n_histories = 1 if k == 1 else self.rows(k - 1)
        return np.bincount(self.history_rows(k), weights=values, minlength=n_histories)

    def predicts_word(self, k: int) -> np.ndarray:
        """Mask of order-k rows that predict a word (not `<s>`)."""
        return self.ids[k - 1][:, -1] != self.bos

    def count_of_counts(self, k: int, counts: np.ndarray, up_to: int) -> np.ndarray:
        """n_r for r = 0..up_to among the predicting order-k rows with count r >= 1."""
        values = np.rint(counts[(counts > 0) & self.predicts_word(k)]).astype(np.int64)
        return np.bincount(np.minimum(values, up_to + 1), minlength=up_to + 2)[:up_to + 1]


class BackoffBuilder:
    def __init__(self, layout: CountLayout):
        self.layout = layout
        self.probs: List[np.ndarray] = []  # float64 per order, linear
        self.backoffs: List[np.ndarray] = [np.ones(layout.rows(k)) for k in
                                           range(1, layout.order + 1)]

    def set_unigrams(self, probs: np.ndarray) -> None:
        probs = np.asarray(probs, dtype=np.float64).copy()
        if self.layout.bos >= 0:
            probs[self.layout.bos] = 0.0
        self.probs = [probs]

    def uniform_unigrams(self, alpha: np.ndarray, gamma: float) -> None:
        """Unigrams p(w) = alpha(w) + gamma / |V| over the predicted vocabulary."""
        self.set_unigrams(alpha + gamma / self.layout.n_predicted)

    def add_interpolated(self, k: int, alpha: np.ndarray, gamma: np.ndarray) -> None:
        """Order k from alpha (per row) and gamma (per history row at order k-1)."""
        lower = self.probs[k - 2][self.layout.backoff_rows(k)]
        history = self.layout.history_rows(k)
        probs = alpha + gamma[history] * lower
        probs[~self.layout.predicts_word(k)] = 0.0
        has_children = np.bincount(history, minlength=self.layout.rows(k - 1)) > 0
        self.backoffs[k - 2] = np.where(has_children, gamma, 1.0)
        self.probs.append(probs)

    def add_backoff(self, k: int, probs: np.ndarray) -> None:
        """Order k from the probabilities of the seen n-grams; back-off weights renormalise."""
        layout = self.layout
        probs = np.where(layout.predicts_word(k), probs, 0.0)
        lower = np.where(layout.predicts_word(k),
                         self.probs[k - 2][layout.backoff_rows(k)], 0.0)
        history = layout.history_rows(k)
        left = 1.0 - layout.per_history(k, probs)
        lower_left = 1.0 - layout.per_history(k, lower)
        nothing_left = left <= _TINY
        nowhere_to_go = ~nothing_left & (lower_left <= _TINY)
        if nowhere_to_go.any():
            scale = np.where(nowhere_to_go, 1.0 / np.maximum(1.0 - left, _TINY), 1.0)
            probs = probs * scale[history]
        weight = np.where(nothing_left | nowhere_to_go, 0.0,
                          left / np.where(lower_left > _TINY, lower_left, 1.0))
        has_children = np.bincount(history, minlength=layout.rows(k - 1)) > 0
        self.backoffs[k - 2] = np.where(has_children, weight, 1.0)
        self.probs.append(probs)

    def model(self) -> NgramModel:
        layout = self.layout
        tables = []
        for k in range(1, layout.order + 1):
            logprob = _log10(self.probs[k - 1])
            if k == 1 and layout.bos >= 0:
                logprob[layout.bos] = 0.0  # lmplz's convention for <s>
            backoff = np.zeros(layout.rows(k), dtype=np.float32)
            if k < layout.order:
                backoff = _log10(self.backoffs[k - 1])
            tables.append(NgramTable(layout.ids[k - 1], logprob, backoff))
        return NgramModel(layout.vocab, tables, dict(layout.word_id))


def _log10(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        logs = np.log10(np.maximum(values, 0.0))
    return np.where(values > 0, np.maximum(logs, LOG10_ZERO), LOG10_ZERO).astype(np.float32)


def per_order(value, order: int, name: str) -> List[float]:
    """An option given once for all orders or once per order (a sequence of `order` numbers)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)] * order
    try:
        values = [float(v) for v in value]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number or one number per order, got {value!r}")
    if len(values) != order:
        raise InputError(f"{name} needs one value per order ({order}), got {len(values)}")
    return values


def default_discounts(layout: CountLayout, counts: Sequence[np.ndarray],
                      method: str) -> List[float]:
    """D = n1 / (n1 + 2 n2) per order from the count-of-counts (Ney, Essen & Kneser 1994)."""
    discounts = []
    for k in range(1, layout.order + 1):
        n = layout.count_of_counts(k, counts[k - 1], 2)
        if n[1] == 0 or n[1] + 2 * n[2] == 0:
            raise InputError(f"{method}: no {k}-gram occurs exactly once, so the default "
                             f"discount n1/(n1+2*n2) is undefined (n1={n[1]}, n2={n[2]}); "
                             f"{_SET_DISCOUNT}")
        d = n[1] / (n[1] + 2.0 * n[2])
        if not 0.0 < d < 1.0:
            raise InputError(f"{method}: the {k}-gram discount n1/(n1+2*n2) = {d:g} "
                             f"(n1={n[1]}, n2={n[2]}) is out of range (0, 1); {_SET_DISCOUNT}")
        discounts.append(float(d))
    return discounts


def check_discounts(discounts: Sequence[float], method: str) -> None:
    for k, d in enumerate(discounts, 1):
        if not 0.0 < d < 1.0:
            raise InputError(f"{method}: discount {d:g} for order {k} is out of range (0, 1)")
