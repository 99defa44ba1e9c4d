"""Additive smoothing: Laplace (add one) and add-k; Lidstone smoothing is add-k with 0 < k < 1.

    p(w | h) = (c(h w) + k) / (c(h) + k |V|)

|V| is the predicted vocabulary (every word but `<s>`, `</s>` and `<unk>` included) and c(h) the
number of times h is followed by a predicted word. Unigrams follow the formula exactly over all
of V. At orders >= 2 the back-off form cannot hold the formula for every (h, w) without listing
|V| continuations per history, so the model means this:
- a seen n-gram h w gets exactly (c(h w) + k) / (c(h) + k |V|);
- the unseen words after a seen h share exactly the formula's remaining mass,
  k (|V| - N1+(h .)) / (c(h) + k |V|), in proportion to the (k-1)-gram add-k model
  (the back-off weight renormalises), not uniformly as the pure formula would;
- an unseen history h backs off with weight 1 to the (k-1)-gram model.
"""
from __future__ import annotations

from lm.counts import NgramCounts
from common.errors import InputError
from lm.model import NgramModel
from lm.smoothing.backoff_form import BackoffBuilder, CountLayout


def add_k(counts: NgramCounts, *, k: float = 1.0) -> NgramModel:
    try:
        k = float(k)
    except (TypeError, ValueError):
        raise InputError(f"add-k: k must be a number, got {k!r}") from None
    if not k > 0:
        raise InputError(f"add-k: k must be positive, got {k:g}")
    layout = CountLayout(counts)
    builder = BackoffBuilder(layout)
    size = layout.n_predicted
    builder.set_unigrams((layout.counts[0] + k) / (layout.counts[0].sum() + k * size))
    for n in range(2, layout.order + 1):
        c = layout.counts[n - 1]
        totals = layout.per_history(n, c)
        builder.add_backoff(n, (c + k) / (totals[layout.history_rows(n)] + k * size))
    return builder.model()


def laplace(counts: NgramCounts) -> NgramModel:
    return add_k(counts, k=1.0)
