"""`NgramModel`: a back-off n-gram model held as arrays, the form ARPA files take.

For order k, `orders[k-1]` is an `NgramTable`: word ids [n, k] (history first, predicted word
last), log10 probabilities and log10 back-off weights (0 where the file has none). Every
smoothing method in lm/ produces this form, ARPA read/write goes through it, and graph/ builds
G from it. Word id 0 is `<unk>`, 1 is `<s>`, 2 is `</s>` when the model has them (KenLM's order).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np


@dataclass
class NgramTable:
    ids: np.ndarray  # int32 [n, k]
    logprob: np.ndarray  # float32 [n], log10
    backoff: np.ndarray  # float32 [n], log10; all 0 at the highest order

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass
class NgramModel:
    vocab: List[str]
    orders: List[NgramTable]
    word_id: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        if not self.word_id:
            self.word_id = {w: i for i, w in enumerate(self.vocab)}

    @property
    def order(self) -> int:
        return len(self.orders)

    def counts(self) -> List[int]:
        return [len(t) for t in self.orders]


# ---------------------------------------------------------------------------------------------
# Queries. Back-off semantics (ARPA/KenLM): log10 p(w | h) is the stored log-prob of the longest
# n-gram `h' w` with `h'` a suffix of `h`, plus the back-off weights of every longer suffix of
# `h` that is itself an n-gram. Indexes are built lazily on first use (dicts of id tuples; fine
# for pruning, generation and tests; lm.perplexity scores corpora natively).

def _index(model: "NgramModel", k: int) -> Dict[tuple, int]:
    cache = model.__dict__.setdefault("_row_of", {})
    if k not in cache:
        cache[k] = {tuple(row): i for i, row in enumerate(model.orders[k - 1].ids.tolist())}
    return cache[k]


def _children(model: "NgramModel", k: int) -> Dict[tuple, tuple]:
    """For order k >= 2: {context (k-1 ids): (word ids int64 array, log10 probs float64 array)}."""
    cache = model.__dict__.setdefault("_children_of", {})
    if k not in cache:
        table = model.orders[k - 1]
        groups: Dict[tuple, tuple] = {}
        if len(table):
            ids = table.ids
            order = np.lexsort(ids[:, ::-1].T)
            sorted_ids = ids[order]
            probs = table.logprob[order].astype(np.float64)
            context = sorted_ids[:, :-1]
            change = np.ones(len(order), dtype=bool)
            change[1:] = np.any(context[1:] != context[:-1], axis=1)
            starts = np.flatnonzero(change).tolist() + [len(order)]
            for a, b in zip(starts[:-1], starts[1:]):
                groups[tuple(context[a].tolist())] = (sorted_ids[a:b, -1].astype(np.int64),
                                                      probs[a:b])
        cache[k] = groups
    return cache[k]


def _logprob(self: "NgramModel", word_id: int, context_ids=()) -> float:
    """log10 p(word | context); context = history oldest first, truncated to order-1 words."""
    context = tuple(int(w) for w in context_ids)[max(0, len(context_ids) - (self.order - 1)):]
    if self.order == 1:
        context = ()
    backoff = 0.0
    for start in range(len(context) + 1):
        history = context[start:]
        k = len(history) + 1
        row = _index(self, k).get(history + (int(word_id),))
        if row is not None:
            return backoff + float(self.orders[k - 1].logprob[row])
        if history:
            hrow = _index(self, k - 1).get(history)
            if hrow is not None:
                backoff += float(self.orders[k - 2].backoff[hrow])
    return float("-inf")  # the word is not even a unigram


def _distribution(self: "NgramModel", context_ids=()) -> np.ndarray:
    """log10 p(w | context) for every vocabulary id w, float64.

    `<s>` gets -inf: it is never predicted (ARPA files list it with log-prob 0 only so that
    it can carry a back-off weight)."""
    context = tuple(int(w) for w in context_ids)[max(0, len(context_ids) - (self.order - 1)):]
    if self.order == 1:
        context = ()
    unigrams = self.orders[0]
    dist = np.full(len(self.vocab), -np.inf)
    dist[unigrams.ids[:, 0]] = unigrams.logprob
    for j in range(1, len(context) + 1):
        history = context[len(context) - j:]
        hrow = _index(self, j).get(history)
        if hrow is None:
            break  # no longer suffix can be an n-gram either
        dist += float(self.orders[j - 1].backoff[hrow])
        child = _children(self, j + 1).get(history)
        if child is not None:
            dist[child[0]] = child[1]
    bos = self.word_id.get("<s>")
    if bos is not None:
        dist[bos] = -np.inf
    return dist


def _history_backoff(model: "NgramModel", history) -> float:
    """Sum of the back-off weights of every suffix of `history` that is an n-gram."""
    history = tuple(history)[max(0, len(history) - (model.order - 1)):] if model.order > 1 else ()
    total = 0.0
    for start in range(len(history)):
        suffix = history[start:]
        row = _index(model, len(suffix)).get(suffix)
        if row is not None:
            total += float(model.orders[len(suffix) - 1].backoff[row])
    return total


def _score_sentence(self: "NgramModel", words, bos: bool = True, eos: bool = True) -> float:
    """log10 probability of a tokenised sentence; words outside the vocabulary score as <unk>
    (as -100 if the model has no <unk>). KenLM's `Model.score` conventions."""
    unk = self.word_id.get("<unk>")
    ids = []
    for w in words:
        wid = self.word_id.get(w, unk)
        ids.append(-1 if wid is None else wid)
    if eos:
        ids.append(self.word_id["</s>"])
    history = [self.word_id["<s>"]] if bos else []
    total = 0.0
    for wid in ids:
        if wid < 0:
            # KenLM scores a word unknown to a model without <unk> as log10 p = -100, plus
            # the back-offs of the current history.
            total += -100.0 + _history_backoff(self, history)
            history.append(-1)
            if len(history) > self.order - 1:
                del history[0]
            continue
        total += _logprob(self, wid, history)
        history.append(wid)
        if len(history) > self.order - 1:
            del history[0]
    return total


NgramModel.logprob = _logprob
NgramModel.distribution = _distribution
NgramModel.score_sentence = _score_sentence
