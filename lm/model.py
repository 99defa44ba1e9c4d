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

from common.errors import InputError
from lm.query import ModelQuery


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

    # Queries, all through lm.query.ModelQuery (the one Python implementation of ARPA back-off
    # semantics), built on first use and cached on the model. Replacing a table's arrays
    # rebuilds it; float32 values edited in place are not seen (assign a new array instead).
    # Corpora are scored natively by lm.perplexity.
    def query(self) -> ModelQuery:
        key = tuple(id(a) for t in self.orders for a in (t.ids, t.logprob, t.backoff))
        cached = self.__dict__.get("_query")
        if cached is None or cached[0] != key:
            cached = self.__dict__["_query"] = (key, ModelQuery(self))
        return cached[1]

    def logprob(self, word_id: int, context_ids=()) -> float:
        """log10 p(word | context); context = history oldest first, truncated to order-1 words;
        -inf for a word id that is not a unigram."""
        word_id = int(word_id)
        if not 0 <= word_id < len(self.vocab):
            return float("-inf")
        context = [int(w) for w in context_ids][-(self.order - 1):] if self.order > 1 else []
        try:
            return float(self.query().logprob(np.asarray([context + [word_id]]))[0])
        except InputError:  # a vocabulary entry without a unigram line
            return float("-inf")

    def distribution(self, context_ids=()) -> np.ndarray:
        """log10 p(w | context) for every vocabulary id w, float64; `<s>` gets -inf."""
        return self.query().log10_distribution(context_ids)

    def score_sentence(self, words, bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a tokenised sentence; words outside the vocabulary score as <unk>
        (as -100 if the model has no <unk>). KenLM's `Model.score` conventions."""
        query = self.query()
        unk = self.word_id.get("<unk>")
        ids = [self.word_id.get(w, unk) for w in words]
        ids = [-1 if wid is None else wid for wid in ids]
        if eos:
            ids.append(self.word_id["</s>"])
        history = [self.word_id["<s>"]] if bos else []
        width = self.order - 1
        rows, histories, unknown = [], [], []
        for wid in ids:
            context = history[-width:] if width else []
            if wid < 0:
                # KenLM scores a word unknown to a model without <unk> as log10 p = -100, plus
                # the back-offs of the current history.
                unknown.append(context)
            else:
                rows.append(context + [wid])
                histories.append(len(context))
            history.append(wid)
        total = sum(-100.0 + query.history_backoff(c) for c in unknown)
        for length in set(histories):  # one vectorised lookup per history length
            batch = [r for r, n in zip(rows, histories) if n == length]
            batch_ids = np.asarray(batch, dtype=np.int64)
            known = (batch_ids >= 0).all(axis=1)
            if known.any():
                total += float(query.logprob(batch_ids[known]).sum())
            for row in batch_ids[~known]:  # an OOV inside the history: shorter suffixes only
                cut = int(np.flatnonzero(row < 0).max()) + 1
                total += float(query.logprob(row[None, cut:])[0])
        return total
