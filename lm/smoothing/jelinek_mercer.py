"""Jelinek-Mercer (linear) interpolation with weights learned by EM on held-out text.

    p(w | h) = lambda(h) p_ML(w | h) + (1 - lambda(h)) p(w | h'),   p_ML(w | h) = c(h w) / c(h)
    p(w)     = lambda_1 p_ML(w) + (1 - lambda_1) / |V|

An unseen history has no p_ML and takes lambda = 0 (it backs off with weight 1), so the model is
exactly a back-off model: a seen n-gram stores the whole sum, the back-off weight of h is
1 - lambda(h).

lambda(h) is shared by a bucket of histories: `buckets="order"` (default) uses one lambda per
order; `buckets="count"` one per order and per context-count class floor(log2 c(h)) (Bahl,
Jelinek & Mercer's bucketing; a class the held-out text never reaches takes its order's pooled
value). EM (Jelinek & Mercer 1980) treats each held-out token as drawn from one component of
the nested mixture, order N down to uniform; the E-step gives each component its posterior,
the M-step sets lambda of a bucket to (posterior of its order) / (posterior of its order and
all lower ones, i.e. of having reached it). It stops when the held-out log-likelihood gains
less than `tolerance` nats per token or after `iterations` rounds.

`heldout` is a list of token lists (or a path to a text file, one sentence per line), padded
like training text (one `<s>`, one `</s>`); words outside the vocabulary count as `<unk>`.
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

from lm.counts import NgramCounts, SPECIALS
from common.errors import InputError
from lm.model import NgramModel
from lm.smoothing.backoff_form import BackoffBuilder, CountLayout
from common.textio import numbered_lines

_MAX_BUCKET = 24
_LAMBDA_CAP = 1.0 - 1e-6  # keep every seen history able to back off


def estimate(counts: NgramCounts, *, heldout=None, buckets: str = "order",
             iterations: int = 100, tolerance: float = 1e-7) -> NgramModel:
    if heldout is None:
        raise InputError("jelinek-mercer needs held-out text (heldout=) to learn its weights")
    if buckets not in ("order", "count"):
        raise InputError(f"jelinek-mercer: buckets must be 'order' or 'count', got {buckets!r}")
    layout = CountLayout(counts)
    ml = _MaximumLikelihood(layout)
    events = _heldout_events(layout, heldout)
    probs, available, bucket = ml.for_events(events, buckets)
    lambdas = _em(layout, probs, available, bucket, iterations, tolerance)

    builder = BackoffBuilder(layout)
    builder.uniform_unigrams(lambdas[0][0] * ml.probs[0], 1.0 - lambdas[0][0])
    for k in range(2, layout.order + 1):
        history_lambda = lambdas[k - 1][ml.history_bucket(k, buckets)]
        history_lambda = np.where(ml.totals[k - 1] > 0, history_lambda, 0.0)
        alpha = history_lambda[layout.history_rows(k)] * ml.probs[k - 1]
        builder.add_interpolated(k, alpha, 1.0 - history_lambda)
    model = builder.model()
    if buckets == "order":
        lambdas = [l[:1] for l in lambdas]
    model.smoothing_info = {"lambdas": [l.tolist() for l in lambdas], "buckets": buckets,
                            "heldout_tokens": int(len(events))}
    return model


class _MaximumLikelihood:
    def __init__(self, layout: CountLayout):
        self.layout = layout
        self.totals: List[np.ndarray] = [np.array([layout.counts[0].sum()])]
        self.probs: List[np.ndarray] = [layout.counts[0] / self.totals[0][0]]
        for k in range(2, layout.order + 1):
            totals = layout.per_history(k, layout.counts[k - 1])
            self.totals.append(totals)
            safe = np.where(totals > 0, totals, 1.0)
            self.probs.append(layout.counts[k - 1] / safe[layout.history_rows(k)])

    def history_bucket(self, k: int, buckets: str) -> np.ndarray:
        """Bucket of every history of order-k n-grams (rows at order k-1)."""
        totals = self.totals[k - 1]
        if buckets == "order":
            return np.zeros(len(totals), dtype=np.int64)
        return _count_class(totals)

    def for_events(self, events: np.ndarray, buckets: str):
        """p_ML of each held-out event at each order, whether it applies, and its bucket."""
        layout = self.layout
        n, width = events.shape
        probs = np.zeros((layout.order, n))
        available = np.zeros((layout.order, n), dtype=bool)
        bucket = np.zeros((layout.order, n), dtype=np.int64)
        words = events[:, -1]
        probs[0] = self.probs[0][words]
        available[0] = True
        for k in range(2, layout.order + 1):
            ngram = events[:, width - k:]
            complete = (ngram >= 0).all(axis=1)
            history = np.full(n, -1, dtype=np.int64)
            history[complete] = layout.index.find(ngram[complete, :-1])
            known = history >= 0
            totals = np.where(known, self.totals[k - 1][np.maximum(history, 0)], 0.0)
            available[k - 1] = totals > 0
            rows = np.full(n, -1, dtype=np.int64)
            rows[complete] = layout.index.find(ngram[complete])
            probs[k - 1] = np.where(rows >= 0, self.probs[k - 1][np.maximum(rows, 0)], 0.0)
            if buckets == "count":
                bucket[k - 1] = _count_class(np.maximum(totals, 1.0))
        return probs, available, bucket


def _count_class(totals: np.ndarray) -> np.ndarray:
    return np.minimum(np.floor(np.log2(np.maximum(totals, 1.0))), _MAX_BUCKET).astype(np.int64)


def _heldout_events(layout: CountLayout, heldout) -> np.ndarray:
    """[tokens, order] word ids: the order-1 words before each predicted token, then it
    (-1 where the sentence start leaves no word)."""
    sentences = _read_heldout(heldout)
    unk = layout.word_id.get("<unk>")
    width = layout.order
    rows = []
    for sentence in sentences:
        ids = [layout.bos]
        for word in sentence:
            wid = layout.word_id.get(word, unk)
            if wid is None:
                raise InputError(f"held-out word {word!r} is not in the vocabulary and there "
                                 f"is no <unk>")
            ids.append(wid)
        ids.append(layout.word_id["</s>"])
        padded = [-1] * (width - 1) + ids
        for i in range(width, len(padded)):
            rows.append(padded[i - width + 1:i + 1])
    if not rows:
        raise InputError("jelinek-mercer: the held-out text is empty")
    return np.array(rows, dtype=np.int64).reshape(len(rows), width)


def _read_heldout(heldout) -> List[Sequence[str]]:
    if isinstance(heldout, str):
        sentences = []
        for number, line in numbered_lines(heldout):
            words = line.split()
            for word in words:
                if word in SPECIALS:
                    raise InputError(f"the held-out text contains the reserved symbol {word}",
                                     path=heldout, line=number)
            sentences.append(words)
        return sentences
    sentences = []
    for number, sentence in enumerate(heldout, 1):
        if isinstance(sentence, str):
            raise InputError("heldout must be a list of token lists (or a file path)")
        sentence = list(sentence)
        reserved = [word for word in sentence if word in SPECIALS]
        if reserved:
            raise InputError(f"held-out sentence {number} contains the reserved symbol "
                             f"{reserved[0]}")
        sentences.append(sentence)
    return sentences


def _em(layout: CountLayout, probs, available, bucket, iterations: int, tolerance: float):
    order, n = probs.shape
    n_buckets = _MAX_BUCKET + 1
    lambdas = [np.full(n_buckets, 0.5) for _ in range(order)]
    uniform = 1.0 / layout.n_predicted
    previous = -np.inf
    for _ in range(int(iterations)):
        weights = np.zeros((order, n))
        remaining = np.ones(n)
        for k in range(order, 0, -1):
            lam = np.where(available[k - 1], lambdas[k - 1][bucket[k - 1]], 0.0)
            weights[k - 1] = remaining * lam
            remaining = remaining * (1.0 - lam)
        mixture = (weights * probs).sum(axis=0) + remaining * uniform
        likelihood = np.log(mixture).sum()
        posterior = weights * probs / mixture
        reached = remaining * uniform / mixture
        for k in range(1, order + 1):
            reached = reached + posterior[k - 1]
            mask = available[k - 1]
            chosen = np.bincount(bucket[k - 1][mask], weights=posterior[k - 1][mask],
                                 minlength=n_buckets)
            reach = np.bincount(bucket[k - 1][mask], weights=reached[mask], minlength=n_buckets)
            pooled = chosen.sum() / reach.sum() if reach.sum() > 0 else 0.5
            lambdas[k - 1] = np.clip(np.where(reach > 0, chosen / np.maximum(reach, 1e-300),
                                              pooled), 0.0, _LAMBDA_CAP)
        if likelihood - previous < tolerance * n:
            break
        previous = likelihood
    return lambdas
