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
