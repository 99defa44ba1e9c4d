"""Relative-entropy pruning of a back-off model (Stolcke 1998, as SRILM's `ngram -prune`).

Removing the n-gram `h w` (order >= 2) changes only the distribution after h: w then backs off,
p'(w|h) = a'(h) p(w|h'), and the back-off weight is recomputed so the history still sums to 1,

    a'(h) = (1 - sum_{v seen after h} p(v|h) + p(w|h))
          / (1 - sum_{v seen after h} p(v|h') + p(w|h')).

The cost of the removal is the relative entropy between the two distributions after h, weighted
by the probability of the history:

    D(h w) = p(h) [ p(w|h) ln(p(w|h) / (a'(h) p(w|h')))
                  + a(h) (1 - sum_seen p(v|h')) ln(a(h) / a'(h)) ]

the second term covering every word that already backed off (their total mass is
a(h) (1 - sum_seen p(v|h')), all scaled by a'(h)/a(h)). p(h) is the chain-rule probability of the
history under the model; a leading `<s>` (never predicted) takes the unigram probability of
`</s>`, as in SRILM: both occur once per sentence. Like SRILM, the threshold is on
the relative increase of training-set perplexity, exp(D) - 1: an n-gram is pruned when
exp(D) - 1 < threshold (so threshold 0 prunes nothing).

Stages:
1. D for every n-gram of order >= 2, all measured on the unpruned model (each removal is judged
   alone; removing an order-k n-gram never changes the quantities that judge another order).
2. From the highest order down, remove the n-grams under the threshold that are not the prefix
   of a kept higher-order n-gram (the model stays prefix-closed, hence a valid ARPA).
3. From order 2 up, recompute every back-off weight from the kept n-grams, with the lower-order
   probabilities of the pruned model, so every history sums to 1 again.
"""
from __future__ import annotations

from typing import List

import numpy as np

from common.errors import InputError
from lm.model import NgramModel, NgramTable
from lm.query import LOG10_ZERO, ModelQuery

_TINY = 1e-300


def relative_entropy_costs(model: NgramModel) -> List[np.ndarray]:
    """D(h w) in nats for every n-gram, per order (zeros for unigrams, never pruned)."""
    query = ModelQuery(model)
    index = query.index
    costs = [np.zeros(len(model.orders[0]))]
    history_logprob = _history_log10_probs(model, query)
    for k in range(2, model.order + 1):
        history = index.prefix_rows[k - 1]
        prob, lower, left, lower_left = _masses(model, query, k)
        alpha = (10.0 ** query.backoff_tables[k - 2])[history]
        new_alpha = (left[history] + prob) / np.maximum(lower_left[history] + lower, _TINY)
        own = prob * (np.log(np.maximum(prob, _TINY))
                      - np.log(np.maximum(new_alpha * lower, _TINY)))
        others = alpha * np.maximum(lower_left[history], 0.0) * (
            np.log(np.maximum(alpha, _TINY)) - np.log(np.maximum(new_alpha, _TINY)))
        weight = 10.0 ** history_logprob[k - 2][history]
        costs.append(weight * (own + others))
    return costs


def prune_relative_entropy(model: NgramModel, threshold: float) -> NgramModel:
    """The model without the n-grams whose removal raises perplexity by less than `threshold`
    (relative), back-off weights renormalised."""
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"the pruning threshold must be a number, got {threshold!r}") from None
    if not np.isfinite(threshold) or threshold < 0:
        raise InputError(f"the pruning threshold must be >= 0, got {threshold:g}")
    if threshold == 0 or model.order == 1:
        return _copy(model)

    costs = relative_entropy_costs(model)
    query = ModelQuery(model)
    keep = [np.ones(len(t), dtype=bool) for t in model.orders]
    for k in range(model.order, 1, -1):
        prefix_of_kept = np.zeros(len(model.orders[k - 1]), dtype=bool)
        if k < model.order:
            prefix_of_kept[query.index.prefix_rows[k][keep[k]]] = True
        keep[k - 1] = ~(np.expm1(costs[k - 1]) < threshold) | prefix_of_kept
    tables = [NgramTable(t.ids[m], t.logprob[m].copy(), t.backoff[m].copy())
              for t, m in zip(model.orders, keep)]
    pruned = NgramModel(list(model.vocab), tables, dict(model.word_id))
    _renormalise_backoffs(pruned)
    return pruned


def _history_log10_probs(model: NgramModel, query: ModelQuery) -> List[np.ndarray]:
    """log10 p(h) for every n-gram h of orders 1..N-1, by the chain rule (p(<s>) = p(</s>))."""
    bos, eos = model.word_id.get("<s>", -1), model.word_id.get("</s>", -1)
    unigram = model.orders[0]
    first = unigram.logprob.astype(np.float64).copy()
    if eos >= 0:
        first[unigram.ids[:, 0] == bos] = first[unigram.ids[:, 0] == eos][0]
    out = [first]
    for k in range(2, model.order):
        table = model.orders[k - 1]
        out.append(out[-1][query.index.prefix_rows[k - 1]] + table.logprob.astype(np.float64))
    return out


def _masses(model: NgramModel, query: ModelQuery, k: int):
    """For the order-k n-grams h w: p(w|h), p(w|h'), and per history h the mass left to the
    words that back off, 1 - sum_seen p(v|h), and its lower-order counterpart."""
    table = model.orders[k - 1]
    history = query.index.prefix_rows[k - 1]
    n_histories = len(model.orders[k - 2])
    prob = 10.0 ** table.logprob.astype(np.float64)
    lower = 10.0 ** query.logprob(table.ids[:, 1:])
    left = 1.0 - np.bincount(history, weights=prob, minlength=n_histories)
    lower_left = 1.0 - np.bincount(history, weights=lower, minlength=n_histories)
    return prob, lower, left, lower_left


def _renormalise_backoffs(model: NgramModel) -> None:
    """Back-off weight of every history h: left / lower_left, computed from order 2 up so that
    p(w|h') already uses the renormalised lower orders."""
    query = ModelQuery(model)
    for k in range(2, model.order + 1):
        _, _, left, lower_left = _masses(model, query, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(lower_left > 1e-12, left / lower_left, 0.0)
        logs = np.where(weight > 0, np.log10(np.where(weight > 0, weight, 1.0)), LOG10_ZERO)
        logs = np.maximum(logs, LOG10_ZERO)
        model.orders[k - 2].backoff = logs.astype(np.float32)
        query.backoff_tables[k - 2] = logs.astype(np.float32).astype(np.float64)


def _copy(model: NgramModel) -> NgramModel:
    tables = [NgramTable(t.ids.copy(), t.logprob.copy(), t.backoff.copy()) for t in model.orders]
    return NgramModel(list(model.vocab), tables, dict(model.word_id))
