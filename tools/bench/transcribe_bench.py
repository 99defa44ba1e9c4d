"""Transcription speed: Tingxie's Recognizer and batch machinery against FunASR's own pipeline
(funasr.AutoModel.generate) on the same model and the same audio, side by side in one process.

The model is the demo architecture at full size with random weights (tools/make_test_model.py
--full-size), so the compute per second of audio is the demo model's; pass --model to use
another FunASR model directory. The audio is --utts sentences of tools/demo/data/test.txt spoken
by espeak-ng (tools/demo/synthesize.py). Every run decodes greedily (no graph), one file at a
time, one thread, best of --repeat:

  funasr AutoModel.generate          FunASR: wav -> fbank/LFR/CMVN -> Paraformer -> text
  tingxie Recognizer (paraformer)    the same model through asr.models + greedy words and times,
                                     with the torch backend (as funasr), then the default
                                     backend (ONNX int8 when the directory has an export)
  tingxie Recognizer (ctc)           the CTC head instead of the decoder (default backend)
  tingxie batch loop (paraformer)    Recognizer + the resumable journal (JSON line and flush
                                     per utterance), as `tingxie transcribe` runs it

  tingxie Recognizer + graph (ctc)   with --graph: the CTC head searched over a TLG

    python tools/bench/transcribe_bench.py [--utts 20] [--repeat 3] [--model DIR]
        [--wav-scp resources/demo/test/wav.scp] [--graph resources/demo/graph]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def speak_test_sentences(out_dir, count):
    import soundfile
    synthesize = _load("synthesize", os.path.join(TOOLS, "demo", "synthesize.py"))
    sentences = synthesize.read_sentences(os.path.join(TOOLS, "demo", "data", "test.txt"))
    paths, seconds = [], 0.0
    for uttid, sentence in sentences[:count]:
        samples = synthesize.speak(uttid, sentence)
        path = os.path.join(out_dir, uttid + ".wav")
        soundfile.write(path, samples, synthesize.SAMPLE_RATE)
        paths.append(path)
        seconds += len(samples) / synthesize.SAMPLE_RATE
    return paths, seconds


def best_time(function, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", help="FunASR model directory (default: demo-size random)")
    parser.add_argument("--wav-scp", help="audio to use instead of espeak-ng sentences "
                                          "(the first --utts entries)")
    parser.add_argument("--graph", help="also time decoding over this (CTC) graph")
    args = parser.parse_args()

    import torch
    torch.set_num_threads(1)
    work = tempfile.mkdtemp(prefix="tingxie_transcribe_bench_")
    model = args.model
    if model is None:
        make = _load("make_test_model", os.path.join(TOOLS, "make_test_model.py"))
        model = make.make_test_model(os.path.join(work, "model"), full_size=True)
    if args.wav_scp:
        import soundfile
        from common.kaldi import read_wav_scp
        paths = [entry.path for entry in read_wav_scp(args.wav_scp)]
        paths = paths[:args.utts]
        audio_seconds = sum(soundfile.info(p).duration for p in paths)
    else:
        paths, audio_seconds = speak_test_sentences(work, args.utts)

    from funasr import AutoModel
    from asr import Recognizer
    from asr.transcribe import ResultJournal, transcribe_one

    peer = AutoModel(model=model, disable_update=True, device="cpu", ncpu=1, log_level="ERROR")
    torch_paraformer = Recognizer(model, mode="paraformer", backend="torch")
    paraformer = Recognizer(model, mode="paraformer")  # auto: ONNX when the model has it
    ctc = Recognizer(model, mode="ctc")

    def funasr_generate():
        for path in paths:
            peer.generate(input=path, disable_pbar=True)

    def recognizer_loop(recognizer):
        return lambda: [recognizer.transcribe(path) for path in paths]

    def batch_loop():
        journal_path = os.path.join(work, "results.jsonl")
        if os.path.exists(journal_path):
            os.remove(journal_path)
        journal = ResultJournal(journal_path)
        for n, path in enumerate(paths):
            record = transcribe_one(paraformer, f"u{n}", path)[2]
            journal.append(record)
        journal.close()

    backend = type(paraformer.model).__name__
    runs = [("funasr AutoModel.generate", funasr_generate),
            ("tingxie Recognizer (paraformer, torch)", recognizer_loop(torch_paraformer)),
            (f"tingxie Recognizer (paraformer, {backend})", recognizer_loop(paraformer)),
            (f"tingxie Recognizer (ctc, {type(ctc.model).__name__})", recognizer_loop(ctc)),
            (f"tingxie batch loop (paraformer, {backend})", batch_loop)]
    if args.graph:
        runs.append(("tingxie Recognizer + graph (ctc)",
                     recognizer_loop(Recognizer(model, args.graph, mode="ctc"))))
    print(f"{len(paths)} utterances, {audio_seconds:.1f} s of audio, model {model}, "
          f"1 thread, best of {args.repeat}", flush=True)
    baseline = None
    for name, function in runs:
        function()  # warm-up
        seconds = best_time(function, args.repeat)
        baseline = baseline or seconds
        print(f"{name:52s} {seconds:7.3f} s  RTF {seconds / audio_seconds:.4f}  "
              f"{len(paths) / seconds:6.1f} utt/s  {seconds / baseline:5.2f}x funasr",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
