"""Long-recording benchmark: `tingxie transcribe --vad on` end to end on recordings made by
tools/long_audio/make_recordings.py (demo test utterances joined with pauses over background
noise, known start times), with the demo model and graph.

Per recording: wall and CPU seconds, peak RSS of the transcribe process (its rusage), WER of
the file's transcript against the utterances' references in order, and how many utterance
starts a segment start lies within 1 s of. Peers, side by side in the same run:
  one by one (clean)  each demo utterance transcribed alone from its own clean file (no pause,
                      no noise), the hypotheses joined in the recording's order;
  one by one (spans)  each utterance cut from the recording at its true start and end (its
                      noise included) and transcribed alone (--spans);
  fixed windows       the recording cut into --window s windows overlapping by --overlap s, each
                      transcribed alone, a word kept by the window whose middle part holds its
                      midpoint (--windows).

    python tools/long_audio/make_recordings.py --out /tmp/long --minutes 25,120
    nice python tools/bench/long_audio.py --recordings /tmp/long --names long_25min,long_120min \
        --spans long_25min --windows long_25min --json /tmp/long/bench.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
DEMO = REPO / "resources" / "demo"


def read_truth(recordings: Path, name: str):
    spans = []
    with open(recordings / f"{name}.segments.tsv", encoding="utf-8") as f:
        for line in f:
            key, start, end = line.split()
            spans.append((key, float(start), float(end)))
    ref = open(recordings / f"{name}.text", encoding="utf-8").read().split()[1:]
    return spans, ref


def wer(ref, hyp):
    import kaldialign
    return 100.0 * kaldialign.edit_distance(ref, hyp)["total"] / len(ref)


def run_transcribe(wav: Path, out: Path):
    """tingxie transcribe --vad on in a child process: (record, wall s, CPU s, peak RSS MB)."""
    argv = [sys.executable, "-m", "asr.cli", "transcribe", str(wav), "--model",
            str(DEMO / "model"), "--graph", str(DEMO / "graph"), "-o", str(out), "--vad", "on",
            "--no-progress", "--srt"]
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=str(REPO))
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"transcribe failed ({status}): {' '.join(argv)}")
    record = json.loads(open(out / "results.jsonl", encoding="utf-8").readline())
    return record, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def starts_found(truth, segments, within=1.0):
    seg_starts = np.array([s["start"] for s in segments]) if segments else np.zeros(0)
    errors = [float(np.min(np.abs(seg_starts - start))) if len(seg_starts) else np.inf
              for _, start, _ in truth]
    found = sum(e <= within for e in errors)
    return found, float(np.median(errors))


def one_by_one_clean(rec, truth):
    cache = {}
    hyp = []
    for key, _, _ in truth:
        if key not in cache:
            cache[key] = rec.transcribe(str(DEMO / "test" / "wav" / f"{key}.wav")).text.split()
        hyp.extend(cache[key])
    return hyp


def one_by_one_spans(rec, wav, truth):
    from asr.segment import read_span
    hyp = []
    for _, start, end in truth:
        hyp.extend(rec.transcribe(read_span(str(wav), start, end, rec.sample_rate)).text.split())
    return hyp


def fixed_windows(rec, wav, window, overlap):
    import soundfile
    from asr.segment import read_span
    total = soundfile.info(str(wav)).duration
    hop = window - overlap
    hyp = []
    start = 0.0
    while start < total:
        end = min(start + window, total)
        lo = 0.0 if start == 0 else start + overlap / 2
        hi = total if end >= total else end - overlap / 2
        piece = read_span(str(wav), start, end, rec.sample_rate)
        if len(piece) >= 0.025 * rec.sample_rate:
            result = rec.transcribe(piece)
            for word, (begin, end_) in zip(result.words, result.times):
                middle = start + (begin + end_) / 2
                if lo <= middle < hi:
                    hyp.append(word)
        start += hop
    return hyp


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recordings", required=True)
    p.add_argument("--names", required=True, help="comma-separated recording names")
    p.add_argument("--out", help="transcribe output directories (default RECORDINGS/bench)")
    p.add_argument("--spans", default="", help="recordings to also decode span by span")
    p.add_argument("--windows", default="", help="recordings to also decode in fixed windows")
    p.add_argument("--window", type=float, default=20.0)
    p.add_argument("--overlap", type=float, default=4.0)
    p.add_argument("--json")
    args = p.parse_args(argv)
    recordings = Path(args.recordings)
    out_root = Path(args.out or recordings / "bench")
    report = {}
    rec = None
    for name in args.names.split(","):
        truth, ref = read_truth(recordings, name)
        wav = recordings / f"{name}.wav"
        out = out_root / name
        if out.exists():
            import shutil
            shutil.rmtree(out)
        record, wall, cpu, rss = run_transcribe(wav, out)
        found, median_error = starts_found(truth, record["segments"])
        row = {"minutes": record["duration"] / 60, "utterances": len(truth),
               "segments": len(record["segments"]), "wall_s": wall, "cpu_s": cpu,
               "rtf_cpu": cpu / record["duration"], "peak_rss_mb": rss,
               "wer_vad": wer(ref, record["text"].split()),
               "starts_within_1s": f"{found}/{len(truth)}",
               "starts_within_1s_pct": 100.0 * found / len(truth),
               "start_error_median_s": median_error}
        print(f"{name}: " + json.dumps(row), flush=True)
        if rec is None:
            from asr import Recognizer
            rec = Recognizer(str(DEMO / "model"), graph=str(DEMO / "graph"))
        row["wer_one_by_one_clean"] = wer(ref, one_by_one_clean(rec, truth))
        if name in args.spans.split(","):
            row["wer_one_by_one_spans"] = wer(ref, one_by_one_spans(rec, wav, truth))
        if name in args.windows.split(","):
            start = time.process_time()
            row["wer_fixed_windows"] = wer(ref, fixed_windows(rec, wav, args.window,
                                                              args.overlap))
            row["fixed_windows_cpu_s"] = time.process_time() - start
        print(f"{name}: " + json.dumps(row), flush=True)
        report[name] = row
    names = args.names.split(",")
    if len(names) > 1:
        report["rss_ratio_last_first"] = (report[names[-1]]["peak_rss_mb"]
                                          / report[names[0]]["peak_rss_mb"])
        print(f"peak RSS {names[-1]} / {names[0]}: {report['rss_ratio_last_first']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
