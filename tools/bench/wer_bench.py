"""WER scoring speed: Tingxie's native aligner against kaldialign, side by side in one run.

10,000 (ref, hyp) pairs of 20 words (English words from ../shared/corpora/en_test.txt.gz when
present, else a synthetic vocabulary), hypotheses with ~15% word errors. Times the best of
--repeat runs of:
  kaldialign.edit_distance per pair    (what a Python scoring script does)
  kaldialign.batch_error_rate          (kaldialign's batch API)
  asr.scoring.count_edits              (totals: one native call for the batch)
  asr.scoring.align_many               (per-utterance alignments too, as `tingxie wer` does)
  asr.scoring.score_texts              (the whole `tingxie wer` path from key->text dictionaries)
and, as whole commands on files (process start-up included, one run each):
  sclite -o sum                        (NIST SCTK, when /usr/lib/sctk/bin/sclite exists)
  tingxie wer REF HYP                  (same S/D/I as sclite)

    python tools/bench/wer_bench.py [--pairs 10000] [--words 20] [--repeat 5]
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import subprocess
import sys
import tempfile
import time

import kaldialign

from asr.scoring import align_many, count_edits, score_texts

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "shared", "corpora", "en_test.txt.gz")


def make_pairs(count, length, seed=0):
    rng = random.Random(seed)
    if os.path.exists(CORPUS):
        with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
            words = [w for line in handle for w in line.split()]
    else:
        words = [f"w{rng.randint(0, 5000)}" for _ in range(100000)]
    refs, hyps = [], []
    for _ in range(count):
        start = rng.randrange(len(words) - length)
        ref = words[start:start + length]
        hyp = []
        for word in ref:
            roll = rng.random()
            if roll < 0.08:
                hyp.append(rng.choice(words))          # substitution
            elif roll < 0.12:
                continue                               # deletion
            elif roll < 0.15:
                hyp.extend([word, rng.choice(words)])  # insertion
            else:
                hyp.append(word)
        refs.append(ref)
        hyps.append(hyp)
    return refs, hyps


def best_time(function, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10000)
    parser.add_argument("--words", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    refs, hyps = make_pairs(args.pairs, args.words)
    ref_texts = {f"u{n}": " ".join(r) for n, r in enumerate(refs)}
    hyp_texts = {f"u{n}": " ".join(h) for n, h in enumerate(hyps)}

    def kaldialign_loop():
        errors = 0
        for ref, hyp in zip(refs, hyps):
            errors += kaldialign.edit_distance(ref, hyp)["total"]
        return errors

    runs = [
        ("kaldialign.edit_distance loop", kaldialign_loop),
        ("kaldialign.batch_error_rate", lambda: kaldialign.batch_error_rate(refs, hyps)["total"]),
        ("tingxie count_edits (kaldi costs)",
         lambda: int(count_edits(refs, hyps, "kaldi")[:, 1:].sum())),
        ("tingxie count_edits (sclite costs)",
         lambda: int(count_edits(refs, hyps, "sclite")[:, 1:].sum())),
        ("tingxie align_many (alignments)",
         lambda: sum(a.errors for a in align_many(refs, hyps, "kaldi"))),
        ("tingxie score_texts (whole wer path)",
         lambda: score_texts(ref_texts, hyp_texts, costs="kaldi").totals.errors),
    ]
    count_edits(refs[:1], hyps[:1])  # first call imports numpy's C API: not part of the timing
    print(f"{args.pairs} pairs x {args.words} words, best of {args.repeat}")
    baseline = None
    totals = set()
    for name, function in runs:
        seconds, errors = best_time(function, args.repeat)
        baseline = baseline or seconds
        totals.add(errors)
        print(f"{name:38s} {seconds:8.4f} s   {seconds / baseline:5.2f}x kaldialign   "
              f"errors={errors}")
    print("same totals (kaldi costs) in every run:" if len(totals) == 1 else "totals:",
          sorted(totals))
    compare_commands(refs, hyps)


def compare_commands(refs, hyps):
    sclite = "/usr/lib/sctk/bin/sclite"
    work = tempfile.mkdtemp(prefix="tingxie_wer_bench_")
    paths = {name: os.path.join(work, name) for name in ("ref.trn", "hyp.trn", "ref", "hyp")}
    with open(paths["ref.trn"], "w") as rt, open(paths["hyp.trn"], "w") as ht, \
            open(paths["ref"], "w") as rk, open(paths["hyp"], "w") as hk:
        for n, (ref, hyp) in enumerate(zip(refs, hyps)):
            rt.write(" ".join(ref) + f" (spk_{n:05d})\n")
            ht.write(" ".join(hyp) + f" (spk_{n:05d})\n")
            rk.write(f"u{n} " + " ".join(ref) + "\n")
            hk.write(f"u{n} " + " ".join(hyp) + "\n")
    rows = []
    if os.path.exists(sclite):
        start = time.perf_counter()
        out = subprocess.run([sclite, "-r", paths["ref.trn"], "trn", "-h", paths["hyp.trn"], "trn",
                              "-i", "spu_id", "-s", "-o", "sum", "stdout"],
                             capture_output=True, text=True, check=True).stdout
        rows.append(("sclite -o sum", time.perf_counter() - start,
                     re.search(r"Sum/Avg\|.*", out).group(0)))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "asr.cli", "wer", paths["ref"], paths["hyp"]],
                         capture_output=True, text=True, check=True).stdout
    rows.append(("tingxie wer", time.perf_counter() - start, out.splitlines()[0]))
    print("whole commands on files (start-up included):")
    for name, seconds, summary in rows:
        print(f"{name:38s} {seconds:8.4f} s   {seconds / rows[0][1]:5.2f}x first   {summary}")


if __name__ == "__main__":
    main()
