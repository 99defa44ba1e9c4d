#!/usr/bin/env python3
"""Build an in-domain first pass to rescore: demo sentences -> synthetic CTC posteriors ->
TLG decoding with a 3-gram -> 10-best JSONL (+ Kaldi text lattices), for rescore_bench.py.

Why synthetic: the demo acoustic model is still training. The setup is otherwise the demo's
own and fair: every LM (first-pass 3-gram, rescoring 5-gram, neural LM) is trained on the demo
training text only (tools/demo/data/train.txt.gz); dev and test are the demo's held-out
sentences (disjoint from training, in-vocabulary); nothing is tuned on test.

Stages (each skipped when its output exists, so a rerun continues):
  1. text      train sentences without keys -> OUT/train.txt
  2. lm        3-gram and 5-gram (modified KN, `tingxie lm train`) -> OUT/lm3.arpa, lm5.arpa
  3. graph     letters + '|' CTC TLG from lm3 (`tingxie graph compile`) -> OUT/graph
  4. post      synthetic log-posteriors for dev and test -> OUT/{dev,test}_post.npz; with
               --extra-test N also `test500`-style extra held-out sentences chosen by the
               demo's own rule (tools/demo/select_sentences.py: 5-20 words of a-z and
               apostrophes, in the training vocabulary) from the corpus lines not used as demo
               train, dev or test: the demo's 50 test sentences alone are too few to measure
               a rescoring gain
  5. decode    acoustic scale chosen on dev by first-pass WER, then 10-best + lattices
               -> OUT/{dev,test}_nbest.jsonl, OUT/{dev,test}_lat.txt, OUT/{dev,test}_ref.txt

The posterior model (per frame, 29 columns: blank, apostrophe, a-z, '|'): every word is its
letters then '|'; each unit lasts 1-2 frames after 0-2 blank frames; Gaussian noise on every
logit; the true unit gets a strong logit, and on `--confusion` of its frames a random other
letter gets one nearly as strong (sometimes stronger: substitutions); a unit is weak (often
deleted) with probability 0.02; a spurious letter frame is inserted with probability 0.02.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

UNITS = ["<blank>", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["|"]
COLUMN = {u: i for i, u in enumerate(UNITS)}


def synthesize(words, rng, confusion, noise=1.0):
    """float32 [T, 29] log-posteriors for one sentence."""
    blank = 0
    frames = []  # (true column, strength) per frame

    def blanks(count):
        frames.extend((blank, rng.normal(7.0, 1.5)) for _ in range(count))

    blanks(int(rng.integers(3, 11)))
    units = [c for w in words for c in list(w) + ["|"]]
    for unit in units:
        blanks(int(rng.choice([0, 1, 2], p=[0.6, 0.3, 0.1])))
        if rng.random() < 0.02:
            frames.append((int(rng.integers(2, 28)), rng.normal(5.0, 1.0)))  # insertion
            blanks(1)
        strength = rng.normal(3.0, 1.0) if rng.random() < 0.02 else rng.normal(7.0, 1.5)
        for _ in range(int(rng.choice([1, 2], p=[0.8, 0.2]))):
            frames.append((COLUMN[unit], strength))
    blanks(int(rng.integers(3, 11)))
    logits = rng.normal(0.0, noise, size=(len(frames), len(UNITS)))
    for t, (column, strength) in enumerate(frames):
        logits[t, column] += strength
        if column != blank:
            logits[t, blank] += rng.normal(2.5, 1.5)
            if rng.random() < confusion:
                other = int(rng.integers(2, 28))
                if other != column:
                    logits[t, other] += strength - rng.normal(1.0, 1.5)
    logits /= rng.uniform(0.8, 1.2)
    logits -= logits.max(axis=1, keepdims=True)
    return (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(np.float32)


def read_kaldi(path):
    from common.kaldi import read_kaldi_text

    return {key: text.split() for key, text in read_kaldi_text(path).items()}


def extra_sentences(args, out):
    """Held-out sentences picked by the demo's selection rule, not in demo train/dev/test."""
    import gzip
    import re

    used = set()
    for name in ("train.txt.gz", "dev.txt", "test.txt"):
        used.update(" ".join(w) for w in read_kaldi(os.path.join(args.data, name)).values())
    vocab = {w for line in open(out("train.txt"), encoding="utf-8") for w in line.split()}
    pattern = re.compile(r"^[a-z']+( [a-z']+)*$")
    chosen, seen = [], set()
    with gzip.open(args.corpus, "rt", encoding="utf-8") as corpus:
        for line in corpus:
            sentence = " ".join(line.split())
            words = sentence.split()
            if (pattern.match(sentence) and 5 <= len(words) <= 20 and sentence not in used
                    and sentence not in seen and set(words) <= vocab):
                seen.add(sentence)
                chosen.append(words)
    np.random.default_rng(args.seed).shuffle(chosen)
    return {f"extra_{i:05d}": words for i, words in enumerate(chosen[:args.extra_test])}


def tingxie(*args):
    subprocess.run([sys.executable, "-m", "asr.cli", *args], check=True, cwd=ROOT)


def first_pass_wer(decoder, posts, refs):
    from asr.scoring import error_rate

    keys = sorted(posts)
    results = decoder.decode_batch([posts[k] for k in keys])
    hyps = [r.words for r in results]
    return error_rate([refs[k] for k in keys], hyps), results, keys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(ROOT, "tools", "demo", "data"))
    parser.add_argument("--out", default=os.path.join(ROOT, "exp", "rescore_bench"))
    parser.add_argument("--confusion", type=float, default=0.25)
    parser.add_argument("--nbest", type=int, default=10)
    parser.add_argument("--acoustic-scales", default="0.5,0.75,1,1.5,2,3")
    parser.add_argument("--lattice-beam", type=float, default=8.0)
    parser.add_argument("--extra-test", type=int, default=500)
    parser.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpora",
                                                         "en_train.txt.gz"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731

    if not os.path.exists(out("train.txt")):
        train = read_kaldi(os.path.join(args.data, "train.txt.gz"))
        with open(out("train.txt"), "w", encoding="utf-8") as handle:
            handle.writelines(" ".join(w) + "\n" for w in train.values())
    for order in (3, 5):
        if not os.path.exists(out(f"lm{order}.arpa")):
            tingxie("lm", "train", "--order", str(order), "-o", out(f"lm{order}.arpa"),
                    out("train.txt"))
    if not os.path.exists(out("graph/graph.json")):
        with open(out("units.txt"), "w", encoding="utf-8") as handle:
            handle.writelines(f"{u} {i}\n" for i, u in enumerate(UNITS))
        tingxie("graph", "compile", "--tokens", out("units.txt"), "--lm", out("lm3.arpa"),
                "--spelling", "chars", "--word-boundary", "|", "--topology", "ctc",
                "-o", out("graph"))
    rng = np.random.default_rng(args.seed)
    refs = {}
    parts = ("dev", "test") + (("extra",) if args.extra_test else ())
    for part in parts:
        if part == "extra":
            refs[part] = extra_sentences(args, out)
        else:
            refs[part] = read_kaldi(os.path.join(args.data, f"{part}.txt"))
        with open(out(f"{part}_ref.txt"), "w", encoding="utf-8") as handle:
            handle.writelines(" ".join([k] + w) + "\n" for k, w in refs[part].items())
        if not os.path.exists(out(f"{part}_post.npz")):
            posts = {k: synthesize(w, rng, args.confusion) for k, w in refs[part].items()}
            np.savez(out(f"{part}_post.npz"), **posts)

    from asr.decoder import Decoder, DecoderOptions
    from asr.rescoring.nbest import NBest

    posts = {part: dict(np.load(out(f"{part}_post.npz"))) for part in parts}
    best_scale, best_wer = None, None
    for scale in (float(x) for x in args.acoustic_scales.split(",")):
        decoder = Decoder(out("graph"), DecoderOptions(acoustic_scale=scale))
        wer = first_pass_wer(decoder, posts["dev"], refs["dev"])[0]
        print(f"dev first-pass WER at acoustic scale {scale}: {100 * wer:.2f}%", flush=True)
        if best_wer is None or wer < best_wer:
            best_scale, best_wer = scale, wer
    decoder = Decoder(out("graph"), DecoderOptions(acoustic_scale=best_scale, nbest=args.nbest,
                                                   keep_lattice=True,
                                                   lattice_beam=args.lattice_beam))
    summary = {"acoustic_scale": best_scale, "confusion": args.confusion,
               "lattice_beam": args.lattice_beam}
    for part in parts:
        wer, results, keys = first_pass_wer(decoder, posts[part], refs[part])
        summary[f"{part}_first_pass_wer"] = round(100 * wer, 2)
        with open(out(f"{part}_nbest.jsonl"), "w", encoding="utf-8") as handle:
            for key, result in zip(keys, results):
                handle.write(json.dumps(NBest(key, result.nbest).to_json()) + "\n")
        with open(out(f"{part}_lat.txt"), "w", encoding="utf-8") as handle:
            for key, result in zip(keys, results):
                result.lattice.write_text(out("one_lat.txt"), key)
                with open(out("one_lat.txt"), encoding="utf-8") as one:
                    handle.write(one.read())
    os.remove(out("one_lat.txt"))
    with open(out("first_pass.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
