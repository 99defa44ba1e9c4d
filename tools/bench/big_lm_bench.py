#!/usr/bin/env python3
"""On-the-fly big-LM decoding (`--big-lm`) on the real demo, in one run:

1. End to end: `tingxie transcribe` of the demo eval audio (500 utterances, 0.58 h, spoken by
   tools/demo/synthesize.py) with the demo TLG (pruned 3-gram), once as it is and once with
   `--big-lm` the whole-corpus 5-gram (tools/demo/rescoring_lm.py, as a binary), alternating,
   `--repeats` times each; wall time and WER of each (the acoustic scale of the rescoring
   bench's first pass, 1.5).
2. The search alone on the same posteriors (computed once): CPU seconds of the small-LM and
   big-LM searches, and of loading the big LM as ARPA and as binary.
3. Against a static TLG: the demo TLG with the unpruned 3-gram of the same text applied
   on the fly vs a TLG compiled with that unpruned 3-gram, same search options: the share of
   utterances whose best word sequences agree, and |cost difference| where they do.

    python tools/bench/big_lm_bench.py --eval exp/demo/data/eval \
        --small-lm exp/demo/lm/lm3.arpa.gz --big-lm exp/demo/lm_rescore/lm5.arpa.gz \
        --work exp/big_lm_bench

(`bash tools/demo/run.sh 7` makes the eval audio and both LMs; stage 5 the small LM.)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)


def tingxie(*args, check=True):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "asr.cli", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if check and out.returncode:
        raise SystemExit(f"tingxie {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return time.perf_counter() - start, out.stdout


def read_text(path):
    return {l.split()[0]: l.split()[1:] for l in open(path, encoding="utf-8") if l.strip()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--eval", required=True, help="directory with wav.scp and text")
    p.add_argument("--model", default=os.path.join(ROOT, "resources", "demo", "model"))
    p.add_argument("--graph", default=os.path.join(ROOT, "resources", "demo", "graph"))
    p.add_argument("--small-lm", required=True, help="the LM the graph was compiled from")
    p.add_argument("--big-lm", required=True, help="ARPA of the big LM")
    p.add_argument("--train-text", default=os.path.join(ROOT, "tools", "demo", "data",
                                                        "train.txt.gz"),
                   help="the small LM's text (for the unpruned 3-gram of part 3)")
    p.add_argument("--acoustic-scale", default="1.5")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--work", default=os.path.join(ROOT, "exp", "big_lm_bench"))
    p.add_argument("--skip-end-to-end", action="store_true")
    args = p.parse_args(argv)
    work = args.work
    os.makedirs(work, exist_ok=True)
    report = {}
    big_bin = os.path.join(work, "big.bin")
    small_bin = os.path.join(work, "small.bin")
    for src, dst in ((args.big_lm, big_bin), (args.small_lm, small_bin)):
        if not os.path.exists(dst):
            tingxie("lm", "build-binary", src, dst)
    scp = os.path.join(args.eval, "wav.scp")
    refs = read_text(os.path.join(args.eval, "text"))
    from asr.scoring import error_rate

    def wer(hyps):
        keys = sorted(refs)
        return round(100 * error_rate([refs[k] for k in keys], [hyps.get(k, []) for k in keys]), 2)

    # 1. end to end
    if not args.skip_end_to_end:
        runs = {"small_lm": [], "big_lm": []}
        wers = {}
        for repeat in range(args.repeats):
            for name in runs:
                out = os.path.join(work, f"transcribe_{name}_{repeat}")
                subprocess.run(["rm", "-rf", out])
                extra = ["--big-lm", big_bin, "--small-lm", small_bin] if name == "big_lm" else []
                wall, _ = tingxie("transcribe", scp, "--model", args.model, "--graph",
                                  args.graph, "--acoustic-scale", args.acoustic_scale,
                                  "--no-progress", "-o", out, *extra)
                runs[name].append(round(wall, 1))
                wers[name] = wer(read_text(os.path.join(out, "text")))
        report["end_to_end"] = {"wall_s": runs, "wer": wers,
                                "wall_ratio_of_medians": sorted(runs["big_lm"])[len(runs["big_lm"]) // 2]
                                / sorted(runs["small_lm"])[len(runs["small_lm"]) // 2]}
        print(json.dumps(report, indent=1), flush=True)

    # 2. the search alone, on posteriors computed once
    import numpy as np
    import lm
    from asr.decoder import Decoder, DecoderOptions
    posts_path = os.path.join(work, "eval_post.npz")
    if not os.path.exists(posts_path):
        from asr.recognizer import Recognizer
        recognizer = Recognizer(args.model, mode="ctc")
        posts = {}
        for line in open(scp, encoding="utf-8"):
            key, path = line.split(None, 1)
            posts[key] = recognizer.posteriors(path.strip()).logp
        np.savez(posts_path, **posts)
    data = np.load(posts_path)
    keys = sorted(data.files)
    posts = [data[k] for k in keys]
    scale = float(args.acoustic_scale)
    search = {}
    for name, extra in (("small_lm", {}), ("big_lm", dict(big_lm=big_bin, small_lm=small_bin))):
        decoder = Decoder(args.graph, DecoderOptions(acoustic_scale=scale, **extra))
        cpu = time.process_time()
        results = decoder.decode_batch(posts, num_threads=1)
        search[name] = {"cpu_s": round(time.process_time() - cpu, 2),
                        "wer": wer({k: r.words for k, r in zip(keys, results)})}
    for kind, path in (("arpa", args.big_lm), ("binary", big_bin)):
        start = time.perf_counter()
        lm.load(path)
        search[f"load_big_lm_{kind}_s"] = round(time.perf_counter() - start, 3)
    report["search"] = search
    print(json.dumps(report, indent=1), flush=True)

    # 3. against a static TLG of the big LM (a case small enough to compile)
    text = os.path.join(work, "train_text.txt")
    full = os.path.join(work, "lm3_full.arpa.gz")
    static_graph = os.path.join(work, "graph_lm3_full")
    if not os.path.exists(os.path.join(static_graph, "TLG.fst")):
        import gzip
        with gzip.open(args.train_text, "rt", encoding="utf-8") as src, \
                open(text, "w", encoding="utf-8") as dst:
            for line in src:
                dst.write(line.split(None, 1)[1] if " " in line.strip() else "\n")
        tingxie("lm", "train", "--order", "3", "-o", full, text)
        tokens = os.path.join(args.model, "tokens.json")
        wall, _ = tingxie("graph", "compile", "--tokens", tokens, "--lm", full, "--spelling",
                          "chars", "--word-boundary", "|", "--topology", "ctc", "-o",
                          static_graph)
        report["static_compile_s"] = round(wall, 1)
    full_bin = os.path.join(work, "lm3_full.bin")
    if not os.path.exists(full_bin):
        tingxie("lm", "build-binary", full, full_bin)
    static = Decoder(static_graph, DecoderOptions(acoustic_scale=scale))
    onthefly = Decoder(args.graph, DecoderOptions(acoustic_scale=scale, big_lm=full_bin,
                                                  small_lm=small_bin))
    cpu = time.process_time()
    a = static.decode_batch(posts, num_threads=1)
    cpu_static = time.process_time() - cpu
    cpu = time.process_time()
    b = onthefly.decode_batch(posts, num_threads=1)
    cpu_onthefly = time.process_time() - cpu
    same = [x.words == y.words for x, y in zip(a, b)]
    gaps = sorted(abs(x.total_cost - y.total_cost) for x, y, s in zip(a, b, same) if s)
    differing = [(k, round(y.total_cost - x.total_cost, 3)) for k, x, y, s in zip(keys, a, b, same)
                 if not s]
    report["vs_static"] = {
        "utterances": len(same), "same_words": sum(same),
        "same_words_pct": round(100 * sum(same) / len(same), 2),
        "cost_gap_within_0.05": sum(g <= 0.05 for g in gaps),
        "cost_gap_max": round(gaps[-1], 4), "cost_gap_median": round(gaps[len(gaps) // 2], 6),
        "differing_on_the_fly_minus_static_cost": differing,
        "wer_static": wer({k: r.words for k, r in zip(keys, a)}),
        "wer_on_the_fly": wer({k: r.words for k, r in zip(keys, b)}),
        "cpu_s_static": round(cpu_static, 2), "cpu_s_on_the_fly": round(cpu_onthefly, 2)}
    print(json.dumps(report, indent=1))
    with open(os.path.join(work, "report.json"), "w") as handle:
        json.dump(report, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
