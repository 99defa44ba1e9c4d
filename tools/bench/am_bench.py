"""Acoustic-model speed: posterior real-time factor on CPU (1 and 2 threads, torch and ONNX,
CTC and Paraformer), and end-to-end wall time (audio file -> text) against funasr's own greedy
`AutoModel.generate`, in one run on the same files.

    python tools/bench/am_bench.py --model resources/demo/model \
        --wav-scp resources/demo/test/wav.scp [--graph resources/demo/graph] [--repeats 3]

RTF = wall seconds / audio seconds, utterances one at a time (batch 1, as funasr's CPU
generate). End-to-end: ours = load_audio + features + AM + decoding (TLG decoder when --graph
is given, else greedy); funasr = generate(input=path) with greedy Paraformer search. The two
are timed in alternating rounds; the best round of each is reported. funasr's generate uses
the torch model, so the ratio is given for our torch backend and for ONNX.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def read_scp(path):
    from common.kaldi import read_wav_scp

    return [(entry.key, entry.path) for entry in read_wav_scp(path)]


def wall(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resources/demo/model")
    parser.add_argument("--wav-scp", default="resources/demo/test/wav.scp")
    parser.add_argument("--graph", help="TLG directory for the end-to-end decode (ctc topology)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="use the first N utterances")
    args = parser.parse_args()

    import torch

    from asr.audio import load_audio
    from asr.models import load_acoustic_model
    from asr.models.onnx_model import FILES

    entries = read_scp(args.wav_scp)
    entries = entries[: args.limit] if args.limit else entries
    paths = [p.strip() for _, p in entries]
    waves = [load_audio(p) for p in paths]
    audio_seconds = sum(len(w) for w in waves) / 16000
    results = {"model": args.model, "utterances": len(paths), "audio_seconds": audio_seconds,
               "rtf": {}, "end_to_end": {}}
    print(f"{len(paths)} utterances, {audio_seconds:.1f} s of audio")

    backends = ["torch"] + (["onnx"] if any(
        os.path.exists(os.path.join(args.model, f)) for fs in FILES.values() for f in fs)
        else [])
    for backend in backends:
        for mode in ("ctc", "paraformer"):
            for threads in (1, 2):
                am = load_acoustic_model(args.model, mode=mode, backend=backend,
                                         num_threads=threads)
                am.posteriors(waves[:1])
                best = min(wall(lambda: [am.posteriors([w]) for w in waves])
                           for _ in range(args.repeats))
                name = f"{backend}/{mode}/{threads}thr"
                results["rtf"][name] = best / audio_seconds
                print(f"posterior RTF {name:24s} {best / audio_seconds:.4f}")
    torch.set_num_threads(1)

    # end to end, one thread each
    from funasr import AutoModel

    from asr.recognizer import Recognizer

    funasr_model = AutoModel(model=args.model, disable_update=True, device="cpu", ncpu=1,
                             log_level="ERROR")
    funasr_model.generate(input=paths[0], disable_pbar=True)
    ours = {}
    for backend in backends:
        mode = "ctc" if args.graph else "paraformer"
        rec = Recognizer(args.model, graph=args.graph, mode=mode, backend=backend,
                         num_threads=1)
        rec.transcribe(paths[0])
        ours[f"{backend}/{mode}" + ("+TLG" if args.graph else "/greedy")] = rec
    times = {"funasr.generate": []}
    times.update({name: [] for name in ours})
    for _ in range(args.repeats):
        times["funasr.generate"].append(wall(lambda: [
            funasr_model.generate(input=p, disable_pbar=True) for p in paths]))
        for name, rec in ours.items():
            times[name].append(wall(lambda: [rec.transcribe(p) for p in paths]))
    reference = min(times["funasr.generate"])
    for name, values in times.items():
        best = min(values)
        results["end_to_end"][name] = {"seconds": best, "rtf": best / audio_seconds,
                                       "ratio_to_funasr": best / reference}
        print(f"end-to-end {name:28s} {best:7.2f} s  RTF {best / audio_seconds:.4f}  "
              f"x{best / reference:.2f} of funasr.generate")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
