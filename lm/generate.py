"""Generating sentences from an n-gram model: greedy, beam search, temperature sampling.

Every method starts from the history `<s>` + `prefix` and extends it one word at a time with
the model's distribution p(w | last n-1 words), never proposing `<s>`. Distributions come from
the vectorised back-off query (lm/query.py: one sorted-key index over all orders,
built in seconds even for millions of n-grams, one batched lookup per step). A sentence ends when `</s>` is chosen or after `max_words` words (prefix
included). Sentences are returned as word lists with the prefix and without `<s>`/`</s>`.

- greedy: always the most probable next word (ties: the lowest word id). One sentence.
- beam: beam search of width `beam` over sums of log-probabilities (no length normalisation).
  Each step ranks every one-word extension of the live hypotheses; an extension by `</s>`
  that ranks among the first `beam` is a finished sentence, the best `beam` other extensions
  stay live. Search stops when no live hypothesis can still beat the n-th best finished one
  (scores only fall as words are added), or at `max_words`. Returns the best `n <= beam`
  finished sentences, best first; if fewer than n finished within `max_words`, the best
  unfinished ones fill the list. With beam = 1 this is exactly greedy search.
- sample: each word drawn from p(w | h)^(1/T) renormalised (T = `temperature`; 1 samples the
  model, below 1 sharpens towards greedy, above 1 flattens), with numpy's PCG64 generator
  seeded by `seed`, so a seed reproduces the same sentences. `n` independent sentences.

`allow_unk=False` removes `<unk>` from every step's choices (the rest renormalised).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from common.errors import InputError
from lm.model import NgramModel
from lm.query import ModelQuery

METHODS = ("greedy", "beam", "sample")


def generate(model: NgramModel, method: str = "greedy", n: int = 1, beam: int = 4,
             temperature: float = 1.0, seed: Optional[int] = None, max_words: int = 50,
             prefix: Sequence[str] = (), allow_unk: bool = True) -> List[List[str]]:
    if method not in METHODS:
        raise InputError(f"unknown generation method {method!r} (choose from "
                         f"{', '.join(METHODS)})")
    _check_positive_int(n, "n")
    _check_positive_int(max_words, "max_words")
    walker = _Walker(model, prefix, allow_unk)
    if method == "greedy":
        if n != 1:
            raise InputError("greedy search yields one sentence; use beam or sample for n > 1")
        return [walker.words(_greedy(walker, max_words))]
    if method == "beam":
        _check_positive_int(beam, "beam")
        if n > beam:
            raise InputError(f"beam search returns at most beam={beam} sentences, asked n={n}")
        return [walker.words(ids) for ids in _beam(walker, beam, n, max_words)]
    try:
        temperature = float(temperature)
    except (TypeError, ValueError):
        raise InputError(f"temperature must be a number, got {temperature!r}") from None
    if not (temperature > 0 and np.isfinite(temperature)):
        raise InputError(f"temperature must be positive, got {temperature:g}")
    rng = np.random.default_rng(seed)
    return [walker.words(_sample(walker, rng, temperature, max_words)) for _ in range(n)]


def _check_positive_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")


class _Walker:
    """The model seen as a next-word distribution over word ids (log10)."""

    def __init__(self, model: NgramModel, prefix: Sequence[str], allow_unk: bool):
        self.model = model
        self.query = ModelQuery(model)
        for symbol in ("<s>", "</s>"):
            if symbol not in model.word_id:
                raise InputError(f"the model has no {symbol}: cannot generate sentences")
        self.bos = model.word_id["<s>"]
        self.eos = model.word_id["</s>"]
        self.unk = model.word_id.get("<unk>", -1)
        self.allow_unk = allow_unk
        if isinstance(prefix, str):
            prefix = prefix.split()
        self.prefix = []
        for word in prefix:
            if word not in model.word_id or word in ("<s>", "</s>"):
                raise InputError(f"prefix word {word!r} is not a word of the model's vocabulary")
            self.prefix.append(model.word_id[word])
        self.context_size = max(model.order - 1, 0)

    def start(self) -> List[int]:
        return list(self.prefix)

    def next_log10(self, sentence: Sequence[int]) -> np.ndarray:
        history = [self.bos] + list(sentence)
        history = history[len(history) - self.context_size:] if self.context_size else []
        with np.errstate(divide="ignore"):
            log10 = np.log10(self.query.distribution(history))  # p(<s>) = 0 -> -inf
        if not self.allow_unk and self.unk >= 0:
            log10[self.unk] = -np.inf
        return log10

    def words(self, ids: Sequence[int]) -> List[str]:
        return [self.model.vocab[i] for i in ids if i != self.eos]


def _greedy(walker: _Walker, max_words: int) -> List[int]:
    sentence = walker.start()
    while len(sentence) < max_words:
        word = int(np.argmax(walker.next_log10(sentence)))
        sentence.append(word)
        if word == walker.eos:
            break
    return sentence


def _beam(walker: _Walker, width: int, n: int, max_words: int) -> List[List[int]]:
    live: List[Tuple[float, List[int]]] = [(0.0, walker.start())]
    finished: List[Tuple[float, List[int]]] = []
    while live and len(live[0][1]) < max_words:
        candidates = []  # (score, hypothesis index, word) ranked best first
        for index, (score, sentence) in enumerate(live):
            log10 = walker.next_log10(sentence)
            best = np.argsort(-log10, kind="stable")[:width + 1]
            candidates += [(score + log10[w], index, int(w)) for w in best
                           if np.isfinite(log10[w])]
        candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
        next_live = []
        for rank, (score, index, word) in enumerate(candidates):
            sentence = live[index][1] + [word]
            if word == walker.eos:
                if rank < width:
                    finished.append((score, sentence))
            elif len(next_live) < width:
                next_live.append((score, sentence))
            if len(next_live) == width and rank >= width:
                break
        live = next_live
        finished.sort(key=lambda f: -f[0])
        if len(finished) >= n and (not live or live[0][0] <= finished[n - 1][0]):
            break
    results = sorted(finished, key=lambda f: -f[0])[:n]
    if len(results) < n:
        results += live[:n - len(results)]
    return [sentence for _, sentence in results]


def _sample(walker: _Walker, rng: np.random.Generator, temperature: float,
            max_words: int) -> List[int]:
    sentence = walker.start()
    while len(sentence) < max_words:
        log10 = walker.next_log10(sentence) / temperature
        weights = np.power(10.0, log10 - log10[np.isfinite(log10)].max())
        cumulative = np.cumsum(weights)
        word = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        word = min(word, len(cumulative) - 1)
        sentence.append(word)
        if word == walker.eos:
            break
    return sentence
