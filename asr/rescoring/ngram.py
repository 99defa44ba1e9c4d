"""N-gram rescorer: sentence log-probabilities from an ARPA model (or a KenLM binary).

`NgramQuery` answers P(word | state) by back-off (lm's native scorer), in natural log,
carrying a state the way KenLM does: the longest suffix of the history that is itself an
n-gram of order < N. In a valid ARPA file every context of an n-gram is an n-gram too, so no
longer history could change a later probability, and two histories with the same state are
interchangeable; this keeps whole-lattice rescoring (lattice.py) from expanding more states
than the model can tell apart. A word not in the vocabulary is scored as `<unk>` (KenLM's
rule); a model without `<unk>` gives it log10 -100.

Backends: "python" reads the model with `lm.load` (an ARPA file, validated, errors with file
and line, or Tingxie's memory-mapped binary, `tingxie lm build-binary`) and scores with lm's
native scorer (KenLM's numbers); "kenlm" uses the `kenlm` module, which also reads KenLM
binaries. "auto" = kenlm for a KenLM binary, python otherwise.
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

from common.errors import InputError

LN10 = math.log(10.0)
MEMO_LIMIT = 1 << 20


class NgramQuery:
    """Back-off queries over an `lm.binary.LanguageModel` (`lm.load`: ARPA or binary) through
    lm's native scorer (the one `tingxie lm perplexity` uses, equal to KenLM's), in natural
    log, with minimal states: id tuples, oldest word first."""

    def __init__(self, model):
        self.model = model
        self.order = model.order
        self.unk = model.unk
        self.bos = model.bos
        self.eos = model.eos
        self.native = model.native
        # word -> id, filled as words are met
        self.word_id: Dict[str, int] = {"<s>": self.bos, "</s>": self.eos}
        if self.unk is not None:
            self.word_id["<unk>"] = self.unk
        # (state, word id) -> (ln P, next state): N-best lists share prefixes and lattices
        # share histories
        self.memo: Dict[Tuple[Tuple[int, ...], int], Tuple[float, Tuple[int, ...]]] = {}

    def begin(self) -> Tuple[int, ...]:
        return (self.bos,) if self.order > 1 else ()

    def word_index(self, word: str) -> int:
        found = self.word_id.get(word)
        if found is None:
            found = self.native.index(word)
            if found < 0 and self.unk is not None:
                found = self.unk
            self.word_id[word] = found
        return found

    def advance(self, state: Tuple[int, ...], word: str) -> Tuple[float, Tuple[int, ...]]:
        """(ln P(word | state), next state)."""
        return self._advance_id(state, self.word_index(word))

    def end(self, state: Tuple[int, ...]) -> float:
        return self._advance_id(state, self.eos)[0]

    def _advance_id(self, state, word: int):
        key = (state, word)
        found = self.memo.get(key)
        if found is None:
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            log10, following = self.native.advance(state, word)
            found = self.memo[key] = (log10 * LN10, following)
        return found


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
    from lm.binary import load

    return NgramQuery(load(path))


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
    python backend the whole batch goes to lm's native sentence scorer (lm/csrc/scorer.cc, the
    one `tingxie lm perplexity` uses; KenLM's scores to the float) in one call."""

    name = "ngram"

    def __init__(self, path: str, backend: str = "auto"):
        self.path = path
        self.query = open_query(path, backend)
        self._native = None

    def score(self, hypotheses: Sequence[Sequence[str]], audio=None) -> List[float]:
        if not isinstance(self.query, NgramQuery):
            return [sentence_logprob(self.query, words) for words in hypotheses]
        if not hypotheses:
            return []
        if self._native is None:
            self._native = self.query.native
        for words in hypotheses:
            if any(not w or any(c.isspace() for c in w) for w in words):
                raise ValueError(f"a hypothesis word is empty or contains white space: {words!r}")
        text = "".join(" ".join(words) + "\n" for words in hypotheses).encode("utf-8")
        log10 = self._native.score_text(text)[0]
        return (log10.astype("float64") * LN10).tolist()
