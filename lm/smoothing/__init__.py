"""The classic smoothing methods, each selectable by name: `ESTIMATORS[name](counts, **options)`.

Every estimator takes `NgramCounts` and keyword options and returns an `NgramModel` in back-off
form (interpolated methods folded into it exactly; see backoff_form.py), so ARPA writing and G
construction treat all methods alike. Unknown options are an InputError; an option passed as
None counts as not given (so a CLI can pass every flag through).

| name              | method                                            | options                 |
|-------------------|---------------------------------------------------|-------------------------|
| `mle`             | maximum likelihood, zeros allowed (teaching)       | bos_padding             |
| `laplace`         | add one                                            |                         |
| `add-k`           | add k (Lidstone smoothing: add-k with 0 < k < 1)  | k (1.0)                 |
| `absolute`        | interpolated absolute discounting                  | discount                |
| `absolute-backoff`| back-off absolute discounting                      | discount                |
| `katz`            | Katz back-off, Good-Turing discounts for r <= k    | k (5)                   |
| `kn`              | interpolated Kneser-Ney, one discount per order    | discount                |
| `kn-backoff`      | back-off Kneser-Ney, one discount per order        | discount                |
| `jelinek-mercer`  | linear interpolation, lambdas by EM on held-out    | heldout, buckets, ...   |

Vocabulary: a model predicts every word of the counts' vocabulary except `<s>` (so `</s>` and
`<unk>` included), as KenLM does; |V| below is that number. For every history h that is an
entry of the model, sum over those words of p(w | h) is 1 (in float64, within float32 rounding
of the stored values) for every method but `mle`, whose seen histories also sum to 1 and whose
unigram distribution gives unseen words (e.g. `<unk>`) probability 0. A history that is not an
entry backs off with weight 1, so it too gets a proper distribution, the shorter history's.
`<s>` has unigram log-probability 0 in the file, as lmplz writes it.
"""
from __future__ import annotations

import inspect
from typing import Callable, Dict

from lm.counts import NgramCounts
from common.errors import InputError
from lm.model import NgramModel
from lm.smoothing import absolute, additive, jelinek_mercer, katz, kneser_ney, mle


def _registered(name: str, function: Callable[..., NgramModel]) -> Callable[..., NgramModel]:
    accepted = [p.name for p in inspect.signature(function).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY]

    def estimate(counts: NgramCounts, **options) -> NgramModel:
        options = {key: value for key, value in options.items() if value is not None}
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            allowed = ", ".join(accepted) if accepted else "none"
            raise InputError(f"smoothing {name!r} has no option {', '.join(unknown)} "
                             f"(its options: {allowed})")
        model = function(counts, **options)
        info = dict(getattr(model, "smoothing_info", {}))
        shown = {key: value if isinstance(value, (int, float, str)) else "given"
                 for key, value in options.items()}
        model.smoothing_info = {"method": name, "options": shown, **info}
        return model

    estimate.__name__ = name.replace("-", "_")
    estimate.__doc__ = function.__doc__ or inspect.getmodule(function).__doc__
    estimate.options = tuple(accepted)
    return estimate


ESTIMATORS: Dict[str, Callable[..., NgramModel]] = {
    "mle": _registered("mle", mle.estimate),
    "laplace": _registered("laplace", additive.laplace),
    "add-k": _registered("add-k", additive.add_k),
    "absolute": _registered("absolute", absolute.interpolated),
    "absolute-backoff": _registered("absolute-backoff", absolute.backoff),
    "katz": _registered("katz", katz.estimate),
    "kn": _registered("kn", kneser_ney.interpolated),
    "kn-backoff": _registered("kn-backoff", kneser_ney.backoff),
    "jelinek-mercer": _registered("jelinek-mercer", jelinek_mercer.estimate),
}


def estimate(name: str, counts: NgramCounts, **options) -> NgramModel:
    """Estimate with the method called `name` (one of ESTIMATORS)."""
    try:
        estimator = ESTIMATORS[name]
    except KeyError:
        raise InputError(f"unknown smoothing {name!r} (choose from {', '.join(ESTIMATORS)})") \
            from None
    return estimator(counts, **options)
