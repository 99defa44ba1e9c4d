"""`tingxie transcribe --ray` against `--jobs 2`, side by side on the same utterances, and the
per-stage throughput that the scaling model in BENCHMARKS.md (## Ray) starts from.

The audio is resources/demo/test (50 files) listed under --copies keys each (300 utterances by
default); the demo model and graph. Each run is a fresh `python -m asr.cli transcribe` process
into a fresh output directory, wall time from start to exit, in an alternating order:

  --jobs 2               the local pool (two worker processes)
  --ray local            Ray started by the command itself (cold: Ray's start-up included)
  --ray 127.0.0.1:PORT   a running one-node Ray (2 CPUs; ray.cluster_utils.Cluster, started
                         and stopped by this script), as a team's cluster is: joining,
                         actors, the batch

Then, in this process, one thread, the stages one at a time over the same files: reading
(asr.audio.load_audio), the acoustic model (posteriors), the decoder (TLG search + records);
seconds of compute per second of audio for each.

    python tools/bench/transcribe_ray_bench.py [--copies 6] [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "resources", "demo")
MODEL = os.path.join(DEMO, "model")
GRAPH = os.path.join(DEMO, "graph")
sys.path.insert(0, ROOT)  # this checkout's asr, as the runs below use


def make_scp(work: str, copies: int) -> str:
    with open(os.path.join(DEMO, "test", "wav.scp"), encoding="utf-8") as handle:
        pairs = [line.split() for line in handle if line.strip()]
    path = os.path.join(work, "wav.scp")
    with open(path, "w", encoding="utf-8") as handle:
        for copy in range(copies):
            for key, wav in pairs:
                handle.write(f"{key}_{copy} {os.path.join(ROOT, wav)}\n")
    return path


def timed_run(scp: str, out: str, extra) -> float:
    command = [sys.executable, "-m", "asr.cli", "transcribe", scp, "--model", MODEL,
               "--graph", GRAPH, "-o", out, "--no-progress", *extra]
    start = time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{run.stderr}")
    return time.perf_counter() - start


def ray_phases(scp: str, address: str) -> None:
    """Where a --ray run's time goes: joining, starting the actors, the batch itself."""
    from asr import transcribe_ray
    from asr.transcribe import Progress, collect_inputs
    start = time.perf_counter()
    options = transcribe_ray.RayOptions(address=address)
    ray = transcribe_ray.connect(options)
    joined = time.perf_counter()
    spec = {"model": MODEL, "graph": GRAPH, "mode": None, "backend": "auto", "threads": 1,
            "nbest": 1, "decoder_options": {}, "hotword_options": {}}
    pipeline = transcribe_ray.Pipeline(ray, spec, options)
    started = time.perf_counter()
    todo = [(u.key, u.path) for u in collect_inputs([scp])]
    results = []
    pipeline.run(iter(todo), results.append, Progress(len(todo), False))
    done = time.perf_counter()
    ray.shutdown()
    print(f"--ray running cluster, in this process: join {joined - start:.2f} s, actors "
          f"{started - joined:.2f} s ({len(pipeline.model_actors)} model, "
          f"{len(pipeline.decoder_actors)} decoder, {len(pipeline.readers)} reader), batch "
          f"{done - started:.2f} s ({len(results) / (done - started):.1f} utt/s)", flush=True)


def stage_throughput(scp: str) -> None:
    from asr import Recognizer
    from asr.audio import load_audio
    with open(scp, encoding="utf-8") as handle:
        paths = [line.split()[1] for line in handle if line.strip()]
    recognizer = Recognizer(MODEL, GRAPH)
    seconds = {"read": 0.0, "model": 0.0, "decode": 0.0}
    audio = 0.0
    frames = 0
    for path in paths:
        start = time.perf_counter()
        wave = load_audio(path, recognizer.sample_rate)
        seconds["read"] += time.perf_counter() - start
        start = time.perf_counter()
        output = recognizer.posteriors(wave)
        seconds["model"] += time.perf_counter() - start
        start = time.perf_counter()
        recognizer.decode(output)
        seconds["decode"] += time.perf_counter() - start
        audio += len(wave) / recognizer.sample_rate
        frames += output.logp.shape[0]
    print(f"stages, one thread, {len(paths)} utterances, {audio:.1f} s of audio, "
          f"{frames / audio:.1f} posterior rows/s of audio x {len(recognizer.tokens)} columns:")
    for name, value in seconds.items():
        print(f"  {name:7s} {value:7.3f} s   {value / audio:.5f} s per audio second   "
              f"{audio / value:8.1f}x real time per core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="keys per demo test file")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="tingxie_ray_bench_")
    scp = make_scp(work, args.copies)
    from ray.cluster_utils import Cluster
    os.environ["PYTHONPATH"] = ROOT  # the cluster's workers import this checkout
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "include_dashboard": False, "object_store_memory": 500 * 2**20})
    address = cluster.address
    runs = {"--jobs 2": ["--jobs", "2"], "--ray local (cold)": ["--ray", "local"],
            "--ray running cluster": ["--ray", address]}
    times = {name: [] for name in runs}
    try:
        for repeat in range(args.repeat):
            order = list(runs) if repeat % 2 == 0 else list(reversed(list(runs)))
            for name in order:
                out = os.path.join(work, f"out_{len(times[name])}_{name.split()[1]}")
                times[name].append(timed_run(scp, out, runs[name]))
                print(f"  {name:24s} {times[name][-1]:6.2f} s", flush=True)
        ray_phases(scp, address)
    finally:
        cluster.shutdown()
    texts = set()
    for name in os.listdir(work):
        if name.startswith("out_"):
            with open(os.path.join(work, name, "text"), encoding="utf-8") as handle:
                texts.add(handle.read())
    print(f"OUTDIR/text identical across all runs: {len(texts) == 1}")
    utterances = 50 * args.copies
    base = min(times["--jobs 2"])
    print(f"{utterances} utterances, best of {args.repeat}, fresh process each:")
    for name, values in times.items():
        best = min(values)
        print(f"  {name:24s} {best:6.2f} s  {utterances / best:6.1f} utt/s  "
              f"{best / base:4.2f}x --jobs 2")
    stage_throughput(scp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
