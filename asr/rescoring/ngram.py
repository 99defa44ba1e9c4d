"""N-gram rescorer: sentence log-probabilities from an ARPA model (or a KenLM binary).

`NgramQuery` answers P(word | state) by back-off, in natural log, carrying a state the way KenLM
does: the longest suffix of the history that is itself an n-gram of order < N. In a valid ARPA
file every context of an n-gram is an n-gram too, so no longer history could change a later
probability, and two histories with the same state are interchangeable; this keeps whole-lattice
rescoring (lattice.py) from expanding more states than the model can tell apart. A word not in
the vocabulary is scored as `<unk>` (KenLM's rule); a model without `<unk>` gives it log10 -100.

Backends: "python" reads the ARPA file with `lm.arpa.read_arpa` (validated, errors with file and
line) and queries `NgramModel.logprob`; "kenlm" uses the `kenlm` module, which also reads KenLM binaries and is
the faster choice for large models. "auto" = kenlm for a binary file, python for ARPA text.
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

from lm.errors import InputError

LN10 = math.log(10.0)
MISSING_UNK_LOG10 = -100.0
MEMO_LIMIT = 1 << 20


class NgramQuery:
    """Back-off queries over an `lm.model.NgramModel` (its `logprob` is the one implementation
    of back-off in Tingxie); this class adds natural logs and minimal states (id tuples)."""

    def __init__(self, model):
        self.model = model
        self.order = model.order
        self.word_id = model.word_id
        self.unk = model.word_id.get("<unk>")
        self.bos = model.word_id.get("<s>")
        self.eos = model.word_id.get("</s>")
        if self.bos is None or self.eos is None:
            raise InputError("the language model has no <s> or </s>")
        # n-grams of order < N (the only histories that can matter to a later word) -> their
        # log10 back-off weights
        # (state, word id) -> ln P: N-best lists share prefixes and lattices share histories
        self.memo: Dict[Tuple[Tuple[int, ...], int], float] = {}
        self.histories = [dict(zip(map(tuple, table.ids.tolist()), table.backoff.tolist()))
                          for table in model.orders[:-1]]

    def begin(self) -> Tuple[int, ...]:
        return (self.bos,)

    def word_index(self, word: str) -> int:
        return self.word_id.get(word, -1 if self.unk is None else self.unk)

    def advance(self, state: Tuple[int, ...], word: str) -> Tuple[float, Tuple[int, ...]]:
        """(ln P(word | state), next state)."""
        return self._advance_id(state, self.word_index(word))

    def end(self, state: Tuple[int, ...]) -> float:
        return self._advance_id(state, self.eos)[0]

    def _advance_id(self, state, word: int):
        following = self._shorten(state + (word,))
        if word < 0:  # no <unk> in the model: KenLM's -100 plus the history's back-offs
            return (MISSING_UNK_LOG10 + self._backoffs(state)) * LN10, following
        key = (state, word)
        logprob = self.memo.get(key)
        if logprob is None:
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            logprob = self.memo[key] = self.model.logprob(word, state) * LN10
        return logprob, following

    def _backoffs(self, state) -> float:
        """log10: the back-off weights of every suffix of `state` that is an n-gram."""
        return sum(self.histories[n - 1].get(state[len(state) - n:], 0.0)
                   for n in range(1, len(state) + 1))

    def _shorten(self, history: Tuple[int, ...]) -> Tuple[int, ...]:
        """The longest suffix (at most order-1 words) that is an n-gram of the model."""
        for length in range(min(len(history), self.order - 1), 0, -1):
            suffix = history[len(history) - length:]
            if suffix in self.histories[length - 1]:
                return suffix
        return ()


class KenlmQuery:
    """The same interface over the `kenlm` module (ARPA or KenLM binary)."""

    def __init__(self, path: str):
        try:
            import kenlm
        except ImportError:
            raise InputError("reading this model needs the kenlm module (pip install kenlm)",
                             path=path) from None
        self.kenlm = kenlm
        try:
            self.model = kenlm.Model(path)
        except (OSError, RuntimeError, IOError) as err:
            raise InputError(f"kenlm cannot read the model: {err}", path=path) from None
        self.order = self.model.order

    def begin(self):
        state = self.kenlm.State()
        self.model.BeginSentenceWrite(state)
        return state

    def advance(self, state, word: str):
        following = self.kenlm.State()
        return self.model.BaseScore(state, word, following) * LN10, following

    def end(self, state) -> float:
        return self.model.BaseScore(state, "</s>", self.kenlm.State()) * LN10


def _is_kenlm_binary(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8) == b"mmap lm "


def open_query(path: str, backend: str = "auto"):
    import os

    if not os.path.isfile(path):
        raise InputError("no such file", path=path)
    if backend == "auto":
        backend = "kenlm" if _is_kenlm_binary(path) else "python"
    if backend == "kenlm":
        return KenlmQuery(path)
    if backend != "python":
        raise ValueError(f"unknown n-gram backend {backend!r} (python, kenlm, auto)")
    if _is_kenlm_binary(path):
        raise InputError("a KenLM binary needs backend 'kenlm'", path=path)
    from lm.arpa import read_arpa

    return NgramQuery(read_arpa(path))


def sentence_logprob(query, words: Sequence[str]) -> float:
    """ln P(words </s> | <s>)."""
    state = query.begin()
    total = 0.0
    for word in words:
        logprob, state = query.advance(state, word)
        total += logprob
    return total + query.end(state)


class NgramRescorer:
    """Scores hypotheses with an n-gram LM: ln P(words </s> | <s>) per hypothesis. With the
    python backend every n-gram of the batch goes through lm's vectorised index at once
    (`ModelQuery.logprob`, one call per history length)."""

    name = "ngram"

    def __init__(self, path: str, backend: str = "auto"):
        self.path = path
        self.query = open_query(path, backend)

    def score(self, hypotheses: Sequence[Sequence[str]], audio=None) -> List[float]:
        if not isinstance(self.query, NgramQuery):
            return [sentence_logprob(self.query, words) for words in hypotheses]
        return self._score_batched(hypotheses)

    def _score_batched(self, hypotheses: Sequence[Sequence[str]]) -> List[float]:
        import numpy as np

        query, order = self.query, self.query.order
        totals = [0.0] * len(hypotheses)
        rows: Dict[int, List[List[int]]] = {}  # n-gram length -> rows
        owners: Dict[int, List[int]] = {}
        for index, words in enumerate(hypotheses):
            ids = [query.word_index(w) for w in words]
            if any(i < 0 for i in ids):  # a model without <unk>: KenLM's rule, word by word
                totals[index] = sentence_logprob(query, words)
                continue
            sequence = [query.bos] + ids + [query.eos]
            for position in range(1, len(sequence)):
                ngram = sequence[max(0, position + 1 - order):position + 1]
                rows.setdefault(len(ngram), []).append(ngram)
                owners.setdefault(len(ngram), []).append(index)
        model_query = query.model.query()
        for length, batch in rows.items():
            logprobs = model_query.logprob(np.asarray(batch, dtype=np.int64)) * LN10
            for owner, value in zip(owners[length], logprobs.tolist()):
                totals[owner] += value
        return totals
