#!/usr/bin/env python3
"""The real demo first pass for rescore_bench.py: the demo acoustic model (CTC head) and the
demo TLG, 10-best lists and lattices for the demo dev and test audio.

    python tools/bench/rescore_demo_nbest.py --dev exp/demo/data/dev \
        --test resources/demo/test --out exp/rescore_demo

Each set directory holds Kaldi `wav.scp` and `text`. Writes OUT/{dev,test[,eval]}_nbest.jsonl (our
N-best format: words, am = acoustic cost, lm = graph cost), OUT/{dev,test}_lat.txt (Kaldi text
lattices) and OUT/{dev,test}_ref.txt. Decoder options are the product's defaults (those
`tingxie transcribe` uses) plus nbest and a wider lattice beam; the acoustic scale is picked
on dev by first-pass WER (posteriors computed once).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "resources", "demo", "model"))
    parser.add_argument("--graph", default=os.path.join(ROOT, "resources", "demo", "graph"))
    parser.add_argument("--dev", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--eval", help="optional larger held-out set (tools/demo/data/eval.txt "
                        "spoken by synthesize.py): written as eval_*")
    parser.add_argument("--out", required=True)
    parser.add_argument("--nbest", type=int, default=10)
    parser.add_argument("--lattice-beam", type=float, default=8.0)
    parser.add_argument("--acoustic-scales", default="0.5,1,1.5,2,3,5")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from asr.recognizer import Recognizer
    from common.kaldi import read_kaldi_text, read_wav_scp
    from asr.scoring import error_rate

    from asr.decoder import Decoder, DecoderOptions
    from asr.rescoring.nbest import NBest

    recognizer = Recognizer(args.model, mode="ctc")
    os.makedirs(args.out, exist_ok=True)
    sets = {}
    parts = [("dev", args.dev), ("test", args.test)] + ([("eval", args.eval)] if args.eval else [])
    for part, directory in parts:
        refs = {k: t.split() for k, t in read_kaldi_text(os.path.join(directory, "text")).items()}
        posts = {}
        for entry in read_wav_scp(os.path.join(directory, "wav.scp")):
            path = entry.path if os.path.isabs(entry.path) else os.path.join(ROOT, entry.path)
            posts[entry.key] = recognizer.posteriors(path).logp
        sets[part] = (refs, posts)
    summary = {}
    refs, posts = sets["dev"]
    keys = sorted(posts)
    best = None
    for scale in (float(x) for x in args.acoustic_scales.split(",")):
        decoder = Decoder(args.graph, DecoderOptions(acoustic_scale=scale), mode="ctc")
        wer = error_rate([refs[k] for k in keys], [r.words for r in decoder.decode_batch(
            [posts[k] for k in keys], num_threads=1)])
        summary[f"dev_wer_at_scale_{scale}"] = round(100 * wer, 2)
        if best is None or wer < best[1]:
            best = (scale, wer)
    summary["acoustic_scale"] = best[0]
    decoder = Decoder(args.graph, DecoderOptions(
        acoustic_scale=best[0], nbest=args.nbest, keep_lattice=True,
        lattice_beam=args.lattice_beam), mode="ctc")
    for part, _ in parts:
        refs, posts = sets[part]
        keys = sorted(posts)
        results = decoder.decode_batch([posts[k] for k in keys], num_threads=1)
        with open(os.path.join(args.out, f"{part}_nbest.jsonl"), "w", encoding="utf-8") as nb, \
                open(os.path.join(args.out, f"{part}_lat.txt"), "w", encoding="utf-8") as lat, \
                open(os.path.join(args.out, f"{part}_ref.txt"), "w", encoding="utf-8") as ref:
            for key, result in zip(keys, results):
                nb.write(json.dumps(NBest(key, result.nbest).to_json()) + "\n")
                one = os.path.join(args.out, "one_lat.txt")
                result.lattice.write_text(one, key)
                with open(one, encoding="utf-8") as handle:
                    lat.write(handle.read())
                ref.write(" ".join([key] + refs[key]) + "\n")
        summary[f"{part}_first_pass_wer"] = round(100 * error_rate(
            [refs[k] for k in keys], [r.words for r in results]), 2)
    os.remove(os.path.join(args.out, "one_lat.txt"))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
