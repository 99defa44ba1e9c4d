"""Tingxie vs sherpa-onnx on the same int8 Paraformer model and the same audio, side by side.

The model directory is exported for sherpa-onnx by asr.models.sherpa (the same
model_quant.onnx with sherpa's metadata, and tokens.txt), and both engines read that one
directory, greedy Paraformer decoding on one thread: Tingxie's ONNX backend (asr.models reads
sherpa-onnx directories) and sherpa-onnx's OfflineRecognizer (from_paraformer). Reports end-to-end real-time factors (features + network + search, audio in
memory) in alternating passes (best of --repeats per engine), each engine's CER against the
references, and how often the two outputs agree.

    python tools/bench/sherpa_bench.py --model resources/demo/model --set resources/demo/test
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from real_speech_bench import error_rate, read_set  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resources/demo/model")
    parser.add_argument("--set", action="append", default=None,
                        help="Kaldi directory (repeatable); default resources/demo/test")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="exp/demo/bench/sherpa.json")
    args = parser.parse_args()
    import sherpa_onnx

    from asr.models import load_acoustic_model
    from asr.models.sherpa import write_sherpa_paraformer

    waves, refs = [], []
    for directory in args.set or ["resources/demo/test"]:
        s = read_set(directory)
        waves += s["waves"]
        refs += s["refs"]
    audio_seconds = sum(len(w) for w in waves) / 16000
    with tempfile.TemporaryDirectory() as work:
        write_sherpa_paraformer(args.model, work)
        recognizer = sherpa_onnx.OfflineRecognizer.from_paraformer(
            paraformer=os.path.join(work, "model.int8.onnx"),
            tokens=os.path.join(work, "tokens.txt"), num_threads=1)
        am = load_acoustic_model(work, num_threads=1)

    def run_tingxie():
        return [am.greedy_text(am.posteriors([w]))[0] for w in waves]

    def run_sherpa():
        out = []
        for w in waves:
            stream = recognizer.create_stream()
            stream.accept_waveform(16000, w)
            recognizer.decode_stream(stream)
            out.append(" ".join(stream.result.text.replace(" ", "").replace("|", " ").split()))
        return out

    best = {"tingxie": float("inf"), "sherpa_onnx": float("inf")}
    hyps = {}
    for _ in range(args.repeats):
        for name, fn in (("tingxie", run_tingxie), ("sherpa_onnx", run_sherpa)):
            started = time.perf_counter()
            hyps[name] = fn()
            best[name] = min(best[name], time.perf_counter() - started)
    report = {"model": args.model, "utterances": len(waves),
              "audio_seconds": round(audio_seconds, 1),
              "rtf": {k: round(v / audio_seconds, 4) for k, v in best.items()},
              "speed_ratio_sherpa_over_tingxie": round(best["sherpa_onnx"] / best["tingxie"], 2),
              "greedy_cer": {k: error_rate(refs, h, "char") for k, h in hyps.items()},
              "identical_outputs": sum(a == b for a, b in zip(hyps["tingxie"],
                                                             hyps["sherpa_onnx"])),
              "cer_between_engines": error_rate(hyps["tingxie"], hyps["sherpa_onnx"], "char")}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
