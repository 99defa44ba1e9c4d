"""`tingxie tune`: grid-search the rescoring weights on a dev set by WER; write the best config.

    tingxie tune --nbest-file dev_nbest.jsonl --ref dev_text \\
        --rescorer ngram=resources/demo/lm5.arpa --rescorer nnlm=resources/demo/nnlm \\
        -o exp/rescore.json

Stages: read the N-best lists and references -> score every hypothesis once with every rescorer
(scores already in the file are reused) -> count each hypothesis's word errors against its
reference once (asr.scoring, sclite's counts) -> evaluate every point of the grid
(first-pass weight x one lambda per rescorer x word bonus, am_weight fixed) as a matrix
product over all hypotheses -> write the point with the fewest errors (ties: the point nearest
the grid's "do nothing" corner, i.e. smallest |lambda| sum, then smallest |bonus|) as a config
that `asr.rescoring.load` and `transcribe --rescore` read. The config records the decoder's
acoustic scale the lists carry (`decoder_acoustic_scale`); lists at different scales are
refused, as rescoring later refuses lists at another scale than the config's.
"""
from __future__ import annotations

import itertools
import json
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from common.errors import InputError
from common.kaldi import read_kaldi_text
from common.textio import check_output_file

from .combine import Weights, acoustic_scale_of, add_scores, make_rescorer, write_config
from .nbest import NBest, read_nbest


MAX_GRID_POINTS = 100_000  # per axis


def parse_grid(text: str, what: str) -> List[float]:
    """"a:b:step" (inclusive) or "v1,v2,..."."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if not all(map(math.isfinite, (start, stop, step))) or step <= 0 or stop < start:
                raise ValueError
            count = int(round((stop - start) / step)) + 1
            if count > MAX_GRID_POINTS:
                raise ValueError
            values = [round(start + i * step, 10) for i in range(count)]
        else:
            values = [float(x) for x in text.split(",") if x.strip()]
        if not values or not all(map(math.isfinite, values)):
            raise ValueError
        return values
    except ValueError:
        raise InputError(f"{what}: expected START:STOP:STEP (STOP >= START, STEP > 0, at most "
                         f"{MAX_GRID_POINTS} points) or a comma list of finite numbers, got "
                         f"{text!r}") from None


def edit_errors(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]]) -> np.ndarray:
    """Word errors (S + D + I) of each hypothesis against its reference."""
    from asr.scoring import count_edits

    counts = count_edits([list(r) for r in refs], [list(h) for h in hyps])
    return counts[:, 1:].sum(axis=1).astype(np.int64)


class TuningData:
    """Features [utterance, hypothesis, feature] and errors [utterance, hypothesis], padded.
    Features: -am, -lm, num_words, then one ln P per rescorer."""

    def __init__(self, nbests: Sequence[NBest], refs: Dict[str, List[str]],
                 names: Sequence[str]):
        missing = [nb.key for nb in nbests if nb.key not in refs]
        if missing:
            raise InputError(f"{len(missing)} utterances have no reference, e.g. {missing[0]!r}")
        nbests = [nb for nb in nbests if nb.hyps]
        if not nbests:
            raise InputError("no utterance has a hypothesis to tune on")
        self.names = list(names)
        self.keys = [nb.key for nb in nbests]
        width = max(len(nb.hyps) for nb in nbests)
        self.features = np.zeros((len(nbests), width, 3 + len(names)))
        self.errors = np.zeros((len(nbests), width), dtype=np.int64)
        self.valid = np.zeros((len(nbests), width), dtype=bool)
        flat_refs, flat_hyps, where = [], [], []
        for u, nb in enumerate(nbests):
            for h, hyp in enumerate(nb.hyps):
                self.features[u, h, :3] = (-hyp.acoustic_cost, -hyp.graph_cost, len(hyp.words))
                self.features[u, h, 3:] = [hyp.scores[n] for n in names]
                flat_refs.append(refs[nb.key])
                flat_hyps.append(hyp.words)
                where.append((u, h))
        self.valid[tuple(np.array(where).T)] = True
        self.errors[tuple(np.array(where).T)] = edit_errors(flat_refs, flat_hyps)
        self.ref_words = sum(len(refs[k]) for k in self.keys)
        self.first_hyp_errors = int(self.errors[:, 0].sum())
        self.oracle_errors = int(np.where(self.valid, self.errors, 1 << 40).min(axis=1).sum())

    def errors_for(self, weight_rows: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Total errors for each weight vector (rows: one coefficient per feature)."""
        totals = np.empty(len(weight_rows), dtype=np.int64)
        penalty = np.where(self.valid, 0.0, -np.inf)[:, :, None]
        for start in range(0, len(weight_rows), chunk):
            block = weight_rows[start:start + chunk]
            scores = self.features @ block.T + penalty  # [U, H, C]
            chosen = scores.argmax(axis=1)  # first best on ties: the decoder's order
            totals[start:start + chunk] = np.take_along_axis(
                self.errors[:, :, None], chosen[:, None, :], axis=1)[:, 0, :].sum(axis=0)
        return totals


def grid_search(data: TuningData, am_weight: float, first_pass_weights: Sequence[float],
                lm_weight_grids: Sequence[Sequence[float]], word_bonuses: Sequence[float]
                ) -> Tuple[Weights, int, List[dict]]:
    points = list(itertools.product(first_pass_weights, *lm_weight_grids, word_bonuses))
    rows = np.array([[am_weight, p[0], p[-1], *p[1:-1]] for p in points], dtype=np.float64)
    errors = data.errors_for(rows)
    order = sorted(range(len(points)), key=lambda i: (
        errors[i], sum(abs(x) for x in points[i][1:-1]), abs(points[i][-1]),
        abs(1.0 - points[i][0])))
    best = points[order[0]]
    weights = Weights(am_weight=am_weight, first_pass_weight=best[0],
                      word_bonus=best[-1],
                      lm_weights=dict(zip(data.names, best[1:-1])))
    table = [{"first_pass_weight": points[i][0], "lm_weights": list(points[i][1:-1]),
              "word_bonus": points[i][-1], "errors": int(errors[i])} for i in order[:10]]
    return weights, int(errors[order[0]]), table


def parse_rescorer_arg(text: str) -> Tuple[str, str, str]:
    """"TYPE=PATH" or "NAME:TYPE=PATH" -> (name, type, path)."""
    if "=" not in text:
        raise InputError(f"--rescorer expects TYPE=PATH (e.g. ngram=lm5.arpa), got {text!r}")
    head, path = text.split("=", 1)
    name, _, kind = head.rpartition(":")
    return (name or kind), kind, path


def add_arguments(parser) -> None:
    parser.add_argument("--nbest-file", required=True, metavar="FILE",
                        help="dev-set N-best JSONL (`tingxie transcribe --nbest N` results.jsonl "
                             "or `tingxie decode --nbest N --json` output)")
    parser.add_argument("--ref", required=True, metavar="FILE",
                        help="dev-set references, Kaldi text (key word ...)")
    parser.add_argument("--rescorer", action="append", default=[], metavar="[NAME:]TYPE=PATH",
                        help="ngram=ARPA|KenLM binary, nnlm=DIR, llm=DIR, speech_llm=DIR "
                             "(speech_llm needs audio: not tunable from a JSONL alone); repeat "
                             "for several")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="rescoring config JSON to write (`rescore --config`, "
                             "`transcribe --rescore`)")
    parser.add_argument("--am-weight", type=float, default=1.0,
                        help="fixed multiplier on the first pass's acoustic cost, which already "
                             "carries the decoder's acoustic scale (default 1)")
    grid = " (a grid: START:STOP:STEP, inclusive, or a comma list v1,v2,...; default %(default)s)"
    parser.add_argument("--first-pass-weights", default="0,0.25,0.5,0.75,1", metavar="GRID",
                        help="weight of the first pass's graph (LM) cost; 0 replaces it by the "
                             "rescorers" + grid)
    parser.add_argument("--lm-weights", default="0:1.5:0.05", metavar="GRID",
                        help="weight (lambda) of each rescorer's log-probability" + grid)
    parser.add_argument("--word-bonus", default="-5:5:0.25", metavar="GRID",
                        help="bonus per hypothesis word" + grid)
    parser.add_argument("--scored-nbest-file", metavar="FILE",
                        help="also write the N-best JSONL with every rescorer's score in it")
    parser.add_argument("--json", action="store_true",
                        help="print the result as one JSON object (weights, WERs, best grid "
                             "points) instead of text")


def tune(nbests: List[NBest], refs: Dict[str, List[str]], rescorers: Dict[str, object],
         am_weight: float = 1.0, first_pass_weights=(0.0, 0.25, 0.5, 0.75, 1.0),
         lm_weights: Optional[Sequence[float]] = None, word_bonuses=(0.0,)):
    """Python API of `tingxie tune`: (best Weights, summary dict)."""
    for nb in nbests:
        add_scores(nb, rescorers)
    names = list(rescorers)
    data = TuningData(nbests, refs, names)
    lm_grid = list(lm_weights) if lm_weights is not None else [0.0, 0.5, 1.0]
    weights, best_errors, table = grid_search(data, am_weight, list(first_pass_weights),
                                              [lm_grid] * len(names), list(word_bonuses))
    baseline = int(data.errors_for(np.array([[am_weight, 1.0, 0.0] + [0.0] * len(names)]))[0])
    summary = {"utterances": len(data.keys), "ref_words": data.ref_words,
               "decoder_acoustic_scale": acoustic_scale_of(nbests),
               "first_pass_wer": 100.0 * baseline / data.ref_words,
               "tuned_wer": 100.0 * best_errors / data.ref_words,
               "oracle_wer": 100.0 * data.oracle_errors / data.ref_words,
               "top": table}
    return weights, summary


def run(args) -> int:
    for path in (args.output, args.scored_nbest_file):
        if path:
            check_output_file(path)
    specs = [parse_rescorer_arg(text) for text in args.rescorer]
    names = [name for name, _, _ in specs]
    if len(set(names)) != len(names):
        raise InputError("two --rescorer share a name: use NAME:TYPE=PATH")
    if any(kind == "speech_llm" for _, kind, _ in specs):
        raise InputError("speech_llm needs each utterance's audio; tune it from an N-best file "
                         "whose hypotheses already carry its scores")
    nbests = list(read_nbest(args.nbest_file))
    scale = acoustic_scale_of(nbests, args.nbest_file)
    rescorers = {name: make_rescorer(kind, path) for name, kind, path in specs}
    refs = {key: text.split() for key, text in read_kaldi_text(args.ref).items()}
    missing = [nb.key for nb in nbests if nb.key not in refs]
    if missing:
        raise InputError(f"{len(missing)} utterances of {args.nbest_file} have no reference here, "
                         f"e.g. {missing[0]!r}", path=args.ref)
    weights, summary = tune(
        nbests, refs, rescorers, args.am_weight,
        parse_grid(args.first_pass_weights, "--first-pass-weights"),
        parse_grid(args.lm_weights, "--lm-weights"), parse_grid(args.word_bonus, "--word-bonus"))
    write_config(args.output, [(name, kind, path, {}) for name, kind, path in specs], weights,
                 {"tuned_on": {"nbest_file": args.nbest_file, "ref": args.ref,
                               **{k: v for k, v in summary.items()
                                  if k not in ("top", "decoder_acoustic_scale")}}},
                 decoder_acoustic_scale=scale)
    if args.scored_nbest_file:
        from common.textio import open_text

        from .nbest import write_nbest

        with open_text(args.scored_nbest_file, "w") as handle:
            for nb in nbests:
                write_nbest(handle, nb)
    result = {"weights": {"am_weight": weights.am_weight,
                          "first_pass_weight": weights.first_pass_weight,
                          "word_bonus": weights.word_bonus, **weights.lm_weights}, **summary}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        scale_text = "unknown" if scale is None else f"{scale:g}"
        print(f"utterances {summary['utterances']}, reference words {summary['ref_words']}, "
              f"decoder acoustic scale {scale_text}")
        print(f"%WER first pass {summary['first_pass_wer']:.2f}, tuned "
              f"{summary['tuned_wer']:.2f}, oracle {summary['oracle_wer']:.2f}")
        print("weights " + " ".join(f"{k} {v:g}" for k, v in result["weights"].items()))
        print(f"wrote {args.output}")
    return 0
