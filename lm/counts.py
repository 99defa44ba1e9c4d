"""`NgramCounts`: raw n-gram counts of every order 1..N, the input of every smoothing method.

Conventions (KenLM's): each sentence is `<s> w1 ... wn </s>`; word id 0 is `<unk>`, 1 `<s>`,
2 `</s>`, then words in first-seen order. For order k, `orders[k-1].ids` is int32 [n, k]
sorted lexicographically and `orders[k-1].counts` int64 [n]: how often each k-gram occurs in the
padded sentences (the unigram `<s>` is counted once per sentence, like every other token).

`count_sentences` is the plain reference for small inputs; `lm.counting` holds the bounded-memory
native counter for real corpora, which must agree with it exactly.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Sequence

import numpy as np

from common.errors import InputError

SPECIALS = ("<unk>", "<s>", "</s>")
UNK, BOS, EOS = 0, 1, 2


@dataclass
class CountTable:
    ids: np.ndarray  # int32 [n, k], sorted lexicographically
    counts: np.ndarray  # int64 [n]

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass
class NgramCounts:
    vocab: List[str]
    orders: List[CountTable]
    word_id: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        if not self.word_id:
            self.word_id = {w: i for i, w in enumerate(self.vocab)}

    @property
    def order(self) -> int:
        return len(self.orders)

    def as_dict(self, k: int) -> Dict[tuple, int]:
        """{(w1, ..., wk) word strings: count} for order k (small models; tests, teaching)."""
        table = self.orders[k - 1]
        return {tuple(self.vocab[i] for i in row): int(c)
                for row, c in zip(table.ids.tolist(), table.counts.tolist())}


def count_sentences(sentences: Iterable[Sequence[str]], order: int,
                    vocab: Iterable[str] | None = None) -> NgramCounts:
    """Count n-grams of orders 1..order in tokenised sentences (small inputs).

    With `vocab`, words outside it are counted as `<unk>` (and `<unk>` alone is added).
    """
    if not 1 <= order <= 6:
        raise InputError(f"order must be between 1 and 6, got {order}")
    word_id: Dict[str, int] = {w: i for i, w in enumerate(SPECIALS)}
    vocab_list = list(SPECIALS)
    closed = None
    if vocab is not None:
        closed = set(vocab)
        for w in vocab:
            if w not in word_id:
                word_id[w] = len(vocab_list)
                vocab_list.append(w)
    counters = [Counter() for _ in range(order)]
    n_sentences = 0
    for sentence in sentences:
        n_sentences += 1
        ids = [BOS]
        for w in sentence:
            if w in SPECIALS:
                raise InputError(f"the corpus contains the reserved symbol {w}")
            if closed is not None and w not in closed:
                ids.append(UNK)
                continue
            wid = word_id.get(w)
            if wid is None:
                wid = word_id[w] = len(vocab_list)
                vocab_list.append(w)
            ids.append(wid)
        ids.append(EOS)
        for k in range(1, order + 1):
            counter = counters[k - 1]
            for i in range(len(ids) - k + 1):
                counter[tuple(ids[i:i + k])] += 1
    if n_sentences == 0:
        raise InputError("the corpus is empty")
    tables = []
    for k, counter in enumerate(counters, 1):
        keys = sorted(counter)
        ids = np.array(keys, dtype=np.int32).reshape(len(keys), k)
        counts = np.array([counter[key] for key in keys], dtype=np.int64)
        tables.append(CountTable(ids, counts))
    return NgramCounts(vocab_list, tables, word_id)
