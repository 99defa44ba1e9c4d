"""Benchmark of the classic LM methods (lm/smoothing, lm/prune.py, lm/generate.py).

    python tools/bench/lm_classic_bench.py [--orders 3 5] [--skip-nltk]

1. Estimation on ../shared/corpora/en_train.txt.gz (2.0M tokens): every classic method and,
   side by side, tingxie's lmplz-exact modified Kneser-Ney (`mkn`, the native pipeline), each
   in a fresh process: counting CPU-s, estimation CPU-s, peak RSS, and perplexity on the second
   half of en_test (jelinek-mercer learns its lambdas on the first half).
2. Against NLTK's `nltk.lm` (the usual Python toolkit for these textbook methods) on
   ../shared/reference/kenlm/train.txt, order 3: fit, then score the first 50 test sentences
   (NLTK token by token with `logscore`, which also scores a second `</s>`; tingxie with its
   native scorer, lm.perplexity). Skipped when nltk is not installed.
3. Relative-entropy pruning of lmplz's o5 model and of an en_train order-3 mkn model.
Each case runs in its own process so that its peak memory is its own.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
EN_TRAIN = os.path.join(SHARED, "corpora", "en_train.txt.gz")
EN_TEST = os.path.join(SHARED, "corpora", "en_test.txt.gz")
KENLM = os.path.join(SHARED, "reference", "kenlm")
METHODS = ["mle", "laplace", "add-k",  # add-k with k = 0.01 (Lidstone)
           "absolute", "absolute-backoff", "katz", "kn",
           "kn-backoff", "jelinek-mercer"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _test_halves():
    with gzip.open(EN_TEST, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    half = len(lines) // 2
    return lines[:half], lines[half:]


def case_estimate(method: str, order: int) -> dict:
    from lm import counting
    from lm.perplexity import perplexity
    heldout, evaluation = _test_halves()
    start = _cpu()
    if method == "mkn":
        from lm.estimate import train
        model = train(EN_TRAIN, order)
        count_s, estimate_s = float("nan"), _cpu() - start
    else:
        from lm.smoothing import ESTIMATORS
        counts = counting.count(counting.Corpus.from_source(EN_TRAIN), order)
        count_s = _cpu() - start
        options = {"jelinek-mercer": {"heldout": [line.split() for line in heldout]},
                   "add-k": {"k": 0.01}}.get(method, {})
        begin = _cpu()
        model = ESTIMATORS[method](counts, **options)
        estimate_s = _cpu() - begin
    ppl = perplexity(model, evaluation)
    return {"count_s": count_s, "estimate_s": estimate_s, "total_s": _cpu() - start,
            "peak_mb": _peak_mb(), "ngrams": sum(model.counts()),
            "ppl": ppl.including_oovs}


def case_nltk(method: str) -> dict:
    train = [line.split() for line in open(os.path.join(KENLM, "train.txt"), encoding="utf-8")]
    test = [line.split() for line in open(os.path.join(KENLM, "test.txt"), encoding="utf-8")][:50]
    from nltk.lm import KneserNeyInterpolated, Laplace
    from nltk.lm.preprocessing import pad_both_ends, padded_everygram_pipeline
    from nltk.util import ngrams
    start = _cpu()
    data, vocab = padded_everygram_pipeline(3, train)
    model = {"laplace": Laplace, "kn": KneserNeyInterpolated}[method](3)
    model.fit(data, vocab)
    fit_s = _cpu() - start
    begin = _cpu()
    total, tokens = 0.0, 0
    for sentence in test:
        for gram in ngrams(pad_both_ends(sentence, n=3), 3):
            total += model.logscore(gram[-1], gram[:-1])
            tokens += 1
    return {"fit_s": fit_s, "score_s": _cpu() - begin, "tokens": tokens,
            "peak_mb": _peak_mb()}


def case_ours_small(method: str) -> dict:
    train = [line.split() for line in open(os.path.join(KENLM, "train.txt"), encoding="utf-8")]
    test = [line.split() for line in open(os.path.join(KENLM, "test.txt"), encoding="utf-8")][:50]
    from lm import counting
    from lm.smoothing import ESTIMATORS
    start = _cpu()
    counts = counting.count(counting.Corpus.from_source(train), 3)
    model = ESTIMATORS[method](counts)
    fit_s = _cpu() - start
    from lm.perplexity import perplexity
    begin = _cpu()
    result = perplexity(model, [" ".join(sentence) for sentence in test])  # native scorer
    return {"fit_s": fit_s, "score_s": _cpu() - begin, "tokens": result.tokens,
            "peak_mb": _peak_mb()}


def case_prune(source: str, threshold: float) -> dict:
    from lm.arpa import read_arpa
    from lm.perplexity import perplexity
    from lm.prune import prune_relative_entropy
    _, evaluation = _test_halves()
    if source == "o5":
        model = read_arpa(os.path.join(KENLM, "o5.arpa.gz"))
    else:
        from lm.estimate import train
        model = train(EN_TRAIN, 3)
    before = perplexity(model, evaluation).including_oovs
    start = _cpu()
    pruned = prune_relative_entropy(model, threshold)
    seconds = _cpu() - start
    return {"prune_s": seconds, "before": sum(model.counts()), "after": sum(pruned.counts()),
            "ppl_before": before, "ppl_after": perplexity(pruned, evaluation).including_oovs,
            "peak_mb": _peak_mb()}


def run_case(*args) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--case", *map(str, args)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--skip-nltk", action="store_true")
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        kind, *rest = args.case
        if kind == "estimate":
            result = case_estimate(rest[0], int(rest[1]))
        elif kind == "nltk":
            result = case_nltk(rest[0])
        elif kind == "ours-small":
            result = case_ours_small(rest[0])
        else:
            result = case_prune(rest[0], float(rest[1]))
        print(json.dumps(result))
        return

    for order in args.orders:
        print(f"\n### Estimation, en_train (2.0M tokens), order {order}\n")
        print("| method | count CPU-s | estimate CPU-s | total CPU-s | vs mkn total | peak MB "
              "| n-grams | PPL (en_test 2nd half) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        reference = run_case("estimate", "mkn", order)
        rows = [("mkn (tingxie, lmplz-exact)", reference)]
        for method in METHODS:
            rows.append((method, run_case("estimate", method, order)))
        for name, r in rows:
            count = "-" if r["count_s"] != r["count_s"] else f"{r['count_s']:.2f}"
            ppl = "inf (zeros)" if r["ppl"] > 1e9 else f"{r['ppl']:.2f}"
            print(f"| {name} | {count} | {r['estimate_s']:.2f} | {r['total_s']:.2f} "
                  f"| {r['total_s'] / reference['total_s']:.2f}x | {r['peak_mb']:.0f} "
                  f"| {r['ngrams']:,} | {ppl} |", flush=True)

    if not args.skip_nltk:
        try:
            import nltk  # noqa: F401
        except ImportError:
            print("\n(nltk not installed: NLTK comparison skipped)")
        else:
            print("\n### Against nltk.lm, train.txt (105k tokens), order 3, "
                  "scoring the first 50 test sentences\n")
            print("| method | NLTK fit CPU-s | tingxie fit CPU-s | fit ratio | NLTK score CPU-s "
                  "| tingxie score CPU-s | score ratio | tokens |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for method in ("laplace", "kn"):
                theirs = run_case("nltk", method)
                ours = run_case("ours-small", method)
                print(f"| {method} | {theirs['fit_s']:.2f} | {ours['fit_s']:.2f} "
                      f"| {ours['fit_s'] / theirs['fit_s']:.3f}x | {theirs['score_s']:.2f} "
                      f"| {ours['score_s']:.3f} | {ours['score_s'] / theirs['score_s']:.4f}x "
                      f"| {theirs['tokens']} |", flush=True)

    print("\n### Relative-entropy pruning\n")
    print("| model | threshold | prune CPU-s | n-grams before | after | PPL before | after "
          "| peak MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for source, threshold in (("o5", 1e-7), ("o5", 1e-6), ("en_train-o3-mkn", 1e-7),
                              ("en_train-o3-mkn", 1e-6)):
        r = run_case("prune", source, threshold)
        print(f"| {source} | {threshold:g} | {r['prune_s']:.2f} | {r['before']:,} "
              f"| {r['after']:,} | {r['ppl_before']:.2f} | {r['ppl_after']:.2f} "
              f"| {r['peak_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
