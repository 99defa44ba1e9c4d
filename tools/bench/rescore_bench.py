#!/usr/bin/env python3
"""Rescoring benchmark on any dev/test N-best JSONL: WER after rescoring with weights tuned on
dev, against the first pass, a first pass re-tuned without any new LM (the control: gains must
come from the new LM, not from re-tuned insertion bonus or LM weight), and the N-best oracle;
plus the rescoring cost per utterance of every rescorer.

    python tools/bench/rescore_bench.py --dev-nbest exp/rescore_bench/dev_nbest.jsonl \
        --dev-ref exp/rescore_bench/dev_ref.txt --test-nbest exp/rescore_bench/test_nbest.jsonl \
        --test-ref exp/rescore_bench/test_ref.txt \
        --rescorer ngram5:ngram=exp/rescore_bench/lm5.arpa --rescorer nnlm=resources/demo/nnlm \
        [--lattices exp/rescore_bench/test_lat.txt --old-lm exp/rescore_bench/lm3.arpa] \
        [--speech-llm-tiny] --out exp/rescore_bench/results.json

Stages: score every hypothesis once per rescorer (timed: CPU seconds per utterance, the
N-best of the file, N reported) -> per rescorer, and for all of them together, grid-search
(first-pass weight, lambdas, word bonus) on dev by word errors (asr.scoring counts) and apply
to test -> optional whole-lattice rescoring of test lattices (new LM = the first ngram
rescorer, old LM removed) -> optional timing of the speech-LLM path on a tiny random Qwen2-Audio
(pipeline cost only: a real 7B model costs orders of magnitude more per token).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

from asr.rescoring.combine import Weights, make_rescorer, rerank  # noqa: E402
from asr.rescoring.nbest import read_nbest  # noqa: E402
from common.kaldi import read_kaldi_text  # noqa: E402
from asr.rescoring.tune import TuningData, grid_search, parse_grid, parse_rescorer_arg  # noqa
from asr.scoring import error_rate  # noqa: E402


def timed_scores(nbests, name, rescorer, audio=None):
    """Score every hypothesis; (CPU seconds, wall seconds) per utterance."""
    cpu, wall = time.process_time(), time.perf_counter()
    for nb in nbests:
        values = rescorer.score([h.words for h in nb.hyps], audio=audio)
        for hyp, value in zip(nb.hyps, values):
            hyp.scores[name] = float(value)
    count = max(1, len(nbests))
    return (time.process_time() - cpu) / count, (time.perf_counter() - wall) / count


def speed_at_n10(nbests, specs, repeats=3):
    """CPU ms per utterance for the test utterances whose N-best has exactly 10 hypotheses,
    per rescorer; the n-gram also through the kenlm module (the peer of our ARPA queries).
    Rescorers run one after another in this one process, best of `repeats`, each repeat with
    the n-gram query memo emptied (within a repeat it serves shared prefixes, as in use)."""
    subset = [nb for nb in nbests if len(nb.hyps) == 10]
    rows = {}
    runs = list(specs)
    for name, kind, path in specs:
        if kind == "ngram":
            runs.append((name + "_kenlm", "ngram_kenlm", path))
    for name, kind, path in runs:
        if kind == "ngram_kenlm":
            from asr.rescoring.ngram import NgramRescorer

            rescorer = NgramRescorer(path, backend="kenlm")
        else:
            rescorer = make_rescorer(kind, path)
        best = None
        for _ in range(repeats):
            memo = getattr(getattr(rescorer, "query", None), "memo", None)
            if memo is not None:
                memo.clear()  # each repeat starts cold: no query answered by an earlier one
            cpu = time.process_time()
            for nb in subset:
                rescorer.score([h.words for h in nb.hyps])
            seconds = (time.process_time() - cpu) / max(1, len(subset))
            best = seconds if best is None else min(best, seconds)
        rows[name] = round(1000 * best, 3)
    return {"utterances_with_n10": len(subset), "cpu_ms_per_utt": rows}


def perplexity(rescorer, sentences):
    """exp(-mean ln P) per word, one </s> per sentence counted (KenLM's convention)."""
    total = sum(rescorer.score(sentences))
    return round(float(np.exp(-total / sum(len(s) + 1 for s in sentences))), 2)


def wer_of(nbests, refs, weights):
    best = []
    for nb in nbests:
        ranked = rerank(nb, weights).hyps if nb.hyps else []
        best.append(ranked[0].words if ranked else [])
    return 100.0 * error_rate([refs[nb.key] for nb in nbests], best)


def tune_and_test(dev, dev_refs, test, test_refs, names, grids):
    data = TuningData(dev, dev_refs, names)
    weights, errors, _ = grid_search(data, 1.0, grids["first_pass"], [grids["lm"]] * len(names),
                                     grids["bonus"])
    return {"weights": {"first_pass_weight": weights.first_pass_weight,
                        "word_bonus": weights.word_bonus, **weights.lm_weights},
            "dev_wer": round(100.0 * errors / data.ref_words, 2),
            "test_wer": round(wer_of(test, test_refs, weights), 2)}


def lattice_rescoring(path, new_lm_path, old_lm_path, refs):
    from asr.rescoring.lattice import (LatticeRescoreOptions, nbest, read_kaldi_lattices,
                                       rescore_lattice)

    options = LatticeRescoreOptions(determinize=True)  # the decoder's lattices: state-level
    from asr.rescoring.ngram import open_query

    new_lm, old_lm = open_query(new_lm_path), open_query(old_lm_path)  # memos start empty
    keys, before, after, arcs_in, arcs_out = [], [], [], 0, 0
    cpu = time.process_time()
    for lattice in read_kaldi_lattices(path):
        rescored = rescore_lattice(lattice, new_lm, old_lm, options)
        keys.append(lattice.key)
        after.append(nbest(rescored, 1)[0].words)
        arcs_in += len(lattice.arcs)
        arcs_out += len(rescored.arcs)
    seconds = (time.process_time() - cpu) / max(1, len(keys))
    lattices = list(read_kaldi_lattices(path))
    for lattice in lattices:
        before.append(nbest(lattice, 1)[0].words)
    # the same with both LMs queried through the kenlm module
    new_kenlm, old_kenlm = open_query(new_lm_path, "kenlm"), open_query(old_lm_path, "kenlm")
    cpu = time.process_time()
    for lattice in lattices:
        nbest(rescore_lattice(lattice, new_kenlm, old_kenlm, options), 1)
    kenlm_seconds = (time.process_time() - cpu) / max(1, len(keys))
    ref = [refs[k] for k in keys]
    return {"utterances": len(keys), "lattice_best_wer": round(100 * error_rate(ref, before), 2),
            "rescored_wer": round(100 * error_rate(ref, after), 2),
            "cpu_ms_per_utt": round(1000 * seconds, 2),
            "cpu_ms_per_utt_kenlm_queries": round(1000 * kenlm_seconds, 2),
            "arcs_per_lattice": round(arcs_in / max(1, len(keys))),
            "arcs_after_expansion": round(arcs_out / max(1, len(keys)))}


def speech_llm_timing(nbests, limit=10):
    nbests = [nb for nb in nbests if len(nb.hyps) == 10] or nbests
    from asr.rescoring.llm import SpeechLlmRescorer
    from tests.tiny_qwen2_audio import tiny_qwen2_audio

    rng = np.random.default_rng(0)
    out = {}
    with tempfile.TemporaryDirectory() as directory:
        tiny_qwen2_audio(directory)
        for share in (True, False):
            rescorer = SpeechLlmRescorer(directory, share_prefix=share)
            cpu, wall = time.process_time(), time.perf_counter()
            for nb in nbests[:limit]:
                audio = (0.1 * rng.standard_normal(16000 * 5)).astype(np.float32)
                rescorer.score([h.words for h in nb.hyps], audio=audio)
            count = min(limit, len(nbests))
            out["shared_prefix" if share else "no_sharing"] = {
                "cpu_ms_per_utt": round(1000 * (time.process_time() - cpu) / count, 1),
                "wall_ms_per_utt": round(1000 * (time.perf_counter() - wall) / count, 1)}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev-nbest", required=True)
    parser.add_argument("--dev-ref", required=True)
    parser.add_argument("--test-nbest", required=True)
    parser.add_argument("--test-ref", required=True)
    parser.add_argument("--rescorer", action="append", default=[], metavar="[NAME:]TYPE=PATH")
    parser.add_argument("--lm-weights", default="0:1.5:0.05")
    parser.add_argument("--first-pass-weights", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--word-bonus", default="-5:5:0.25")
    parser.add_argument("--lattices", help="test lattices (Kaldi text) for whole-lattice rescoring")
    parser.add_argument("--old-lm", help="the first pass's LM, removed in lattice rescoring")
    parser.add_argument("--speech-llm-tiny", action="store_true",
                        help="time the speech-LLM path on a tiny random Qwen2-Audio")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="write the results JSON here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    dev, test = list(read_nbest(args.dev_nbest)), list(read_nbest(args.test_nbest))
    dev_refs, test_refs = ({k: t.split() for k, t in read_kaldi_text(path).items()}
                           for path in (args.dev_ref, args.test_ref))
    grids = {"lm": parse_grid(args.lm_weights, "lm"),
             "first_pass": parse_grid(args.first_pass_weights, "fp"),
             "bonus": parse_grid(args.word_bonus, "bonus")}
    specs = [parse_rescorer_arg(text) for text in args.rescorer]
    command = ["python", "tools/bench/rescore_bench.py"] + (argv or sys.argv[1:])
    results = {"command": " ".join(command),
               "test_utterances": len(test), "dev_utterances": len(dev),
               "nbest_size": round(float(np.mean([len(nb.hyps) for nb in test])), 2),
               "rescorers": {}}
    first_pass = Weights(1.0, 1.0, 0.0, {})
    data = TuningData(test, test_refs, [])
    results["test_first_pass_wer"] = round(wer_of(test, test_refs, first_pass), 2)
    results["test_oracle_wer"] = round(100.0 * data.oracle_errors / data.ref_words, 2)
    results["control_no_new_lm"] = tune_and_test(dev, dev_refs, test, test_refs, [], grids)
    names = []
    test_sentences = [test_refs[nb.key] for nb in test]
    results["test_ref_perplexity"] = {}
    if args.old_lm:
        results["test_ref_perplexity"]["first_pass_lm"] = perplexity(
            make_rescorer("ngram", args.old_lm), test_sentences)
    for name, kind, path in specs:
        rescorer = make_rescorer(kind, path)
        results["test_ref_perplexity"][name] = perplexity(rescorer, test_sentences)
        timed_scores(dev, name, rescorer)
        cpu, wall = timed_scores(test, name, rescorer)
        entry = tune_and_test(dev, dev_refs, test, test_refs, [name], grids)
        # untuned swap of the first-pass LM for this one (what the lattice row does)
        entry["untuned_swap_test_wer"] = round(
            wer_of(test, test_refs, Weights(1.0, 0.0, 0.0, {name: 1.0})), 2)
        entry.update({"type": kind, "path": path, "cpu_ms_per_utt": round(1000 * cpu, 2),
                      "wall_ms_per_utt": round(1000 * wall, 2)})
        results["rescorers"][name] = entry
        names.append(name)
        print(name, json.dumps(entry), flush=True)
    if len(names) > 1:
        results["all_together"] = tune_and_test(dev, dev_refs, test, test_refs, names, grids)
    results["speed_n10"] = speed_at_n10(test, specs)
    if args.lattices:
        ngram = next((path for _, kind, path in specs if kind == "ngram"), None)
        if ngram and args.old_lm:
            results["lattice"] = lattice_rescoring(args.lattices, ngram, args.old_lm, test_refs)
    if args.speech_llm_tiny:
        results["speech_llm_tiny"] = speech_llm_timing(test)
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
