"""Perplexity with KenLM `query` conventions, scored natively (lm/csrc/scorer.cc).

Every line is a sentence scored from the `<s>` context; its `</s>` is scored and counted as a
token, `<s>` never is. A word outside the vocabulary is an OOV and scores as `<unk>`. Sentence
log-probs are float32 sums (as in KenLM), the corpus total a float64 sum. "Excluding OOVs"
drops the OOVs' own terms and counts only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Union

import numpy as np

from lm.counting import read_chunks
from common.errors import InputError
from lm.model import NgramModel


@dataclass
class Perplexity:
    sentence_logprob: np.ndarray  # float32 [sentences], log10
    sentence_tokens: np.ndarray  # uint32, words + </s>
    sentence_oovs: np.ndarray  # uint32
    sentence_oov_logprob: np.ndarray  # float64, the OOVs' own log10 probs

    @property
    def logprob(self) -> float:
        return float(np.sum(self.sentence_logprob, dtype=np.float64))

    @property
    def tokens(self) -> int:
        return int(np.sum(self.sentence_tokens, dtype=np.int64))

    @property
    def oovs(self) -> int:
        return int(np.sum(self.sentence_oovs, dtype=np.int64))

    @property
    def sentences(self) -> int:
        return len(self.sentence_logprob)

    @property
    def including_oovs(self) -> float:
        return float(10.0 ** (-self.logprob / self.tokens)) if self.tokens else float("nan")

    @property
    def excluding_oovs(self) -> float:
        kept = self.tokens - self.oovs
        oov_total = float(np.sum(self.sentence_oov_logprob))
        return float(10.0 ** (-(self.logprob - oov_total) / kept)) if kept else float("nan")

    def sentence_perplexities(self, include_oovs: bool = True) -> np.ndarray:
        lp = self.sentence_logprob.astype(np.float64)
        n = self.sentence_tokens.astype(np.float64)
        if not include_oovs:
            lp = lp - self.sentence_oov_logprob
            n = n - self.sentence_oovs
        with np.errstate(divide="ignore", invalid="ignore"):
            return 10.0 ** (-lp / n)

    def summary(self) -> str:
        """The fields of KenLM's `query -v summary`."""
        return (f"Perplexity including OOVs:\t{self.including_oovs}\n"
                f"Perplexity excluding OOVs:\t{self.excluding_oovs}\n"
                f"OOVs:\t{self.oovs}\nTokens:\t{self.tokens}\n")


def load_model(model: Union[str, os.PathLike, NgramModel]) -> NgramModel:
    if isinstance(model, NgramModel):
        return model
    from lm.arpa import read_arpa
    return read_arpa(os.fspath(model))


def scorer(model):
    """The native scorer of a model: an NgramModel (cached on it), an `lm.binary.LanguageModel`,
    or a path to an ARPA or binary file."""
    from lm.binary import LanguageModel, is_binary, load
    if isinstance(model, LanguageModel):
        return model.native
    if isinstance(model, (str, os.PathLike)) and is_binary(model):
        return load(model).native
    model = load_model(model)
    cached = model.__dict__.get("_native_scorer")
    if cached is None:
        from lm import _native
        cached = _native.Scorer(model.vocab, [t.ids for t in model.orders],
                                [t.logprob for t in model.orders],
                                [t.backoff for t in model.orders])
        model.__dict__["_native_scorer"] = cached
    return cached


def perplexity(model, text: Union[str, os.PathLike, Iterable[str]]) -> Perplexity:
    """Score a text file (`.gz` too) or an iterable of sentence strings with a model (a path
    to an ARPA or binary file, an NgramModel or an `lm.binary.LanguageModel`)."""
    native = scorer(model)
    parts = []
    if isinstance(text, (str, os.PathLike)):
        path = os.fspath(text)
        rest, lines_before = b"", 0
        for chunk in read_chunks(path):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            rest = chunk[cut:]
            if cut:
                _check_utf8(chunk[:cut], path, lines_before)
                lines_before += chunk.count(b"\n", 0, cut)
                parts.append(native.score_text(chunk[:cut]))
        if rest:
            _check_utf8(rest, path, lines_before)
            parts.append(native.score_text(rest))
        if not parts:
            raise InputError("the text is empty: no sentence to score", path=path)
    else:
        lines = []
        for sentence in text:
            if "\n" in sentence:
                raise InputError("a sentence to score contains a newline")
            lines.append(sentence)
        if lines:
            parts.append(native.score_text(("\n".join(lines) + "\n").encode("utf-8")))
    if not parts:
        parts = [native.score_text(b"")]
    columns = [np.concatenate([p[i] for p in parts]) for i in range(4)]
    return Perplexity(*columns)


def _check_utf8(data: bytes, path: str, lines_before: int) -> None:
    """Text that is not UTF-8 (a binary file given by mistake) is an error naming its line,
    not a perplexity of its byte soup."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = lines_before + data.count(b"\n", 0, err.start) + 1
        raise InputError(f"not valid UTF-8 ({err.reason})", path=path, line=line) from None
