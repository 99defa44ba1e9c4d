"""Score combination and the one-call rescoring API.

For a hypothesis with first-pass costs `am` (acoustic, the decoder's acoustic scale already
applied) and `lm` (graph), new LM log-probabilities s_k (natural log) and n words:

    total = -am_weight * am - first_pass_weight * lm + sum_k lm_weight_k * s_k + word_bonus * n

higher is better. `first_pass_weight` = 0 replaces the first-pass LM by the new ones (Kaldi's
lattice-lmrescore with -1 and +1 scales); values in (0, 1] interpolate with it in the log domain.
With no new LM, weights (1, 1, -, 0) reproduce the first-pass order. `am_weight` multiplies
costs that already carry the decoder's acoustic scale, so weights tuned on lists decoded at one
acoustic scale are wrong for lists decoded at another: a config records the scale of the lists
it was tuned on (`decoder_acoustic_scale`, from the hypotheses' `acoustic_scale`), and
rescoring refuses lists (and decoders) at another one.

A rescoring config (what `tingxie tune` writes, `asr.rescoring.load` reads) is JSON:

    {"am_weight": 1.0, "first_pass_weight": 0.5, "word_bonus": 0.3,
     "decoder_acoustic_scale": 2.0,
     "rescorers": [{"type": "ngram", "path": "lm5.arpa", "weight": 0.6},
                   {"type": "nnlm", "path": "nnlm/", "weight": 0.4},
                   {"type": "llm", "path": "qwen/", "weight": 0.2, "options": {...}},
                   {"type": "speech_llm", "path": "qwen2-audio/", "weight": 0.2}]}

Relative paths are resolved against the config file's directory. Each rescorer entry may carry a
`name` (default: its type) under which its scores appear in the output, and `options` passed to
its constructor.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence

from common.errors import InputError

from asr.hypothesis import Hypothesis

from .nbest import NBest

LEGACY_KEYS = {"acoustic_scale": "am_weight"}  # renamed config keys: old -> new

RESCORER_TYPES = ("ngram", "nnlm", "llm", "speech_llm")


@dataclass
class Weights:
    am_weight: float = 1.0  # multiplies `am` (already scaled by the decoder's acoustic scale)
    first_pass_weight: float = 1.0
    word_bonus: float = 0.0
    lm_weights: Dict[str, float] = field(default_factory=dict)  # rescorer name -> lambda

    def total(self, hyp: Hypothesis) -> float:
        value = (-self.am_weight * hyp.acoustic_cost - self.first_pass_weight * hyp.graph_cost
                 + self.word_bonus * len(hyp.words))
        for name, weight in self.lm_weights.items():
            if weight:
                value += weight * hyp.scores[name]
        return value


def make_rescorer(kind: str, path: str, options: Optional[dict] = None):
    """A rescorer object with `.score(list of word lists, audio=None) -> list of ln P`."""
    options = dict(options or {})
    if kind == "ngram":
        from .ngram import NgramRescorer

        return NgramRescorer(path, **options)
    if kind == "nnlm":
        from .nnlm import NeuralLmRescorer

        return NeuralLmRescorer(path, **options)
    if kind == "llm":
        from .llm import CausalLmRescorer

        return CausalLmRescorer(path, **options)
    if kind == "speech_llm":
        from .llm import SpeechLlmRescorer

        return SpeechLlmRescorer(path, **options)
    raise InputError(f"unknown rescorer type {kind!r} (one of {', '.join(RESCORER_TYPES)})")


def add_scores(nbest: NBest, rescorers: Dict[str, object], audio=None) -> NBest:
    """Fill `hyp.scores[name]` for every rescorer not scored yet (scores already in the N-best
    file are reused, so tuning and rescoring never score a hypothesis twice)."""
    for name, rescorer in rescorers.items():
        todo = [h for h in nbest.hyps if name not in h.scores]
        if not todo:
            continue
        values = rescorer.score([h.words for h in todo], audio=audio)
        for hyp, value in zip(todo, values):
            hyp.scores[name] = float(value)
    return nbest


def rerank(nbest: NBest, weights: Weights) -> NBest:
    """Set `total` on every hypothesis and sort best first (stable: ties keep decoder order)."""
    for hyp in nbest.hyps:
        hyp.total = weights.total(hyp)
    nbest.hyps.sort(key=lambda h: -h.total)
    return nbest


class Rescorer:
    """Rescorers plus weights: what a config file describes. `.rescore(nbest, audio=None)`."""

    def __init__(self, rescorers: Dict[str, object], weights: Weights,
                 decoder_acoustic_scale: Optional[float] = None):
        """decoder_acoustic_scale: the acoustic scale of the N-best lists the weights were
        tuned on (None: unknown); lists at another scale are refused."""
        missing = set(weights.lm_weights) - set(rescorers)
        if missing:
            raise ValueError(f"weights for unknown rescorers: {sorted(missing)}")
        self.rescorers = rescorers
        self.weights = weights
        self.decoder_acoustic_scale = decoder_acoustic_scale

    def check_acoustic_scale(self, scale: Optional[float], what: str,
                             path: Optional[str] = None) -> None:
        """InputError when `scale` (of an N-best list or a decoder; None: unknown) differs
        from the one the weights were tuned on."""
        expected = self.decoder_acoustic_scale
        if expected is not None and scale is not None and not math.isclose(
                scale, expected, rel_tol=1e-6):
            raise InputError(f"{what} at acoustic scale {scale:g}, but the rescoring weights "
                             f"were tuned on N-best lists decoded at {expected:g}: decode at "
                             f"{expected:g} or tune again", path=path)

    def rescore(self, nbest, audio=None, key: str = "") -> List[Hypothesis]:
        """Rerank one utterance's N-best (an NBest, or a list of Hypothesis such as the
        decoder's `result.nbest`); returns copies, best first, with `scores` and `total`."""
        hyps = nbest.hyps if isinstance(nbest, NBest) else nbest
        work = NBest(nbest.key if isinstance(nbest, NBest) else key,
                     [replace(h, scores=dict(h.scores), total=None) for h in hyps])
        self.check_acoustic_scale(acoustic_scale_of([work]),
                                  f"utterance {work.key!r} was decoded")
        add_scores(work, self.rescorers, audio)
        return rerank(work, self.weights).hyps

    @property
    def needs_audio(self) -> bool:
        return any(getattr(r, "name", "") == "speech_llm" for r in self.rescorers.values())


def acoustic_scale_of(nbests: Sequence[NBest], path: Optional[str] = None) -> Optional[float]:
    """The decoder's acoustic scale the hypotheses' acoustic costs carry (None: unknown);
    InputError when they carry different ones, or some say and some do not."""
    scales = {h.acoustic_scale for nb in nbests for h in nb.hyps}
    if len(scales) > 1:
        shown = ", ".join("unknown" if s is None else f"{s:g}" for s in sorted(
            scales, key=lambda s: -1 if s is None else s))
        raise InputError(f"the N-best lists were decoded at different acoustic scales "
                         f"({shown}): one set of weights needs one scale", path=path)
    return scales.pop() if scales else None


def parse_config(config: dict, base_dir: str = ".", path: Optional[str] = None):
    """(list of (name, type, resolved path, options), Weights, decoder acoustic scale or None)
    from a config dict."""
    if not isinstance(config, dict):
        raise InputError("a rescoring config must be a JSON object", path=path)
    for old, new in LEGACY_KEYS.items():
        if old in config:
            raise InputError(f"{old!r} is now {new!r} (a multiplier on acoustic costs that "
                             f"already carry the decoder's acoustic scale; that scale is "
                             f"'decoder_acoustic_scale'): rename the key or tune again",
                             path=path)
    entries = config.get("rescorers", [])
    if not isinstance(entries, list):
        raise InputError("'rescorers' must be a list", path=path)
    specs, lm_weights = [], {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "type" not in entry or "path" not in entry:
            raise InputError(f"rescorers[{index}] needs 'type' and 'path'", path=path)
        kind = entry["type"]
        if kind not in RESCORER_TYPES:
            raise InputError(f"rescorers[{index}]: unknown type {kind!r}", path=path)
        name = entry.get("name", kind)
        if name in lm_weights:
            raise InputError(f"two rescorers named {name!r}: give one a 'name'", path=path)
        model_path = entry["path"]
        if not os.path.isabs(model_path):
            model_path = os.path.normpath(os.path.join(base_dir, model_path))
        weight = entry.get("weight", 1.0)
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            raise InputError(f"rescorers[{index}].weight must be a number", path=path)
        lm_weights[name] = float(weight)
        specs.append((name, kind, model_path, entry.get("options", {})))
    numbers = {}
    for key, default in (("am_weight", 1.0), ("first_pass_weight", 1.0),
                         ("word_bonus", 0.0)):
        value = config.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise InputError(f"{key!r} must be a number", path=path)
        numbers[key] = float(value)
    scale = config.get("decoder_acoustic_scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                              or not scale > 0):
        raise InputError("'decoder_acoustic_scale' must be a positive number or null", path=path)
    return specs, Weights(lm_weights=lm_weights, **numbers), scale


def load(config_path: str) -> Rescorer:
    """The one-call API: a Rescorer from a JSON config (as written by `tingxie tune`)."""
    try:
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise InputError("no such file", path=config_path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not a JSON rescoring config: {err}", path=config_path) from None
    specs, weights, scale = parse_config(config, os.path.dirname(os.path.abspath(config_path)),
                                         config_path)
    rescorers = {name: make_rescorer(kind, path, options) for name, kind, path, options in specs}
    return Rescorer(rescorers, weights, scale)


def write_config(path: str, specs: Sequence[tuple], weights: Weights, extra: Optional[dict] = None,
                 decoder_acoustic_scale: Optional[float] = None):
    """Write a config `load` reads; specs = (name, type, path, options); paths are written
    relative to the config's directory when they lie under it."""
    base = os.path.dirname(os.path.abspath(path))
    entries = []
    for name, kind, model_path, options in specs:
        absolute = os.path.abspath(model_path)
        relative = os.path.relpath(absolute, base)
        entry = {"name": name, "type": kind,
                 "path": absolute if relative.startswith("..") else relative,
                 "weight": weights.lm_weights.get(name, 0.0)}
        if options:
            entry["options"] = options
        entries.append(entry)
    config = {"am_weight": weights.am_weight, "decoder_acoustic_scale": decoder_acoustic_scale,
              "first_pass_weight": weights.first_pass_weight,
              "word_bonus": weights.word_bonus, "rescorers": entries}
    if extra:
        config.update(extra)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=1)
        handle.write("\n")
