"""Decoder lifecycle and long-input benchmark, on the decoder bench (full TLG, 200 test
utterances; settings as decoder_bench.py's Kaldi comparison: beam 13, max_active 7000,
min_active 20, acoustic scale 3).

  identity  each utterance decoded whole and chunk by chunk (Decoder.stream, random chunk
            sizes 1-60 frames): first-best, distinct 10-best, word lattice, state-level lattice,
            blank skipping; counts of identical results (paths, costs, N-best, lattice arrays).
  long      the test posteriors joined into inputs of 2k, 8k and 32k frames; CPU µs per frame
            of first-best and of lattice mode (nbest 10; and with the word lattice kept), best
            of --repeats, each length's configurations alternated; the ratio 32k / 2k.

    python tools/bench/decoder_stream.py --work-dir /tmp/dec/bench [--repo /work/main]
        [--skip-identity] [--settings defaults]

--repo runs the long part against another checkout's build (e.g. main before this change),
for a side-by-side run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def same(a, b):
    def fields(h):
        return (h.words, list(h.tokens), list(h.word_frames), h.total_cost, h.acoustic_cost,
                h.graph_cost)
    if fields(a) != fields(b) or a.reached_final != b.reached_final:
        return False
    if [fields(h) for h in a.nbest] != [fields(h) for h in b.nbest]:
        return False
    if (a.lattice is None) != (b.lattice is None):
        return False
    if a.lattice is not None:
        x, y = a.lattice.arrays(), b.lattice.arrays()
        return all(np.array_equal(x[k], y[k]) for k in x)
    return True


def identity(graph, utts, base):
    from asr.decoder import Decoder, DecoderOptions
    configs = {"first-best": {}, "nbest10": dict(nbest=10),
               "word-lattice": dict(nbest=10, keep_lattice=True),
               "state-lattice": dict(nbest=10, keep_lattice=True, determinize_lattice=False),
               "blank-skip-0.95-lattice": dict(nbest=10, keep_lattice=True,
                                               blank_skip_threshold=0.95)}
    report = {}
    for name, extra in configs.items():
        decoder = Decoder(graph, DecoderOptions(**base, **extra))
        rng = np.random.default_rng(1)
        identical = 0
        for logp in utts.values():
            s = decoder.stream()
            start = 0
            while start < len(logp):
                step = int(rng.integers(1, 61))
                s.accept(logp[start:start + step])
                s.partial()
                start += step
            identical += same(decoder.decode(logp), s.finalize())
        report[name] = f"{identical}/{len(utts)}"
        print(f"identity {name}: {identical}/{len(utts)} identical", flush=True)
    return report


def long_inputs(utts, lengths):
    joined = np.concatenate(list(utts.values()))
    reps = -(-max(lengths) // len(joined))
    joined = np.concatenate([joined] * reps)
    return {n: np.ascontiguousarray(joined[:n]) for n in lengths}


def long_bench(graph, utts, base, lengths, repeats):
    from asr.decoder import Decoder, DecoderOptions
    configs = {"first-best": {}, "nbest10": dict(nbest=10),
               "nbest10+word-lattice": dict(nbest=10, keep_lattice=True)}
    decoders = {name: Decoder(graph, DecoderOptions(**base, **extra))
                for name, extra in configs.items()}
    report = {}
    for n, logp in long_inputs(utts, lengths).items():
        best = {name: float("inf") for name in configs}
        for _ in range(repeats):
            for name, decoder in decoders.items():
                start = time.process_time()
                decoder.decode(logp)
                best[name] = min(best[name], time.process_time() - start)
        report[n] = {name: 1e6 * t / n for name, t in best.items()}
        print(f"{n} frames: " + ", ".join(f"{name} {us:.1f} us/frame"
                                          for name, us in report[n].items()), flush=True)
    lo, hi = min(lengths), max(lengths)
    for name in configs:
        ratio = report[hi][name] / report[lo][name]
        print(f"{name}: {hi} / {lo} frames per-frame cost ratio {ratio:.2f}", flush=True)
    return report


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work-dir", required=True)
    p.add_argument("--repo", default=str(REPO), help="checkout whose asr package is timed")
    p.add_argument("--utts", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--lengths", default="2000,8000,32000")
    p.add_argument("--skip-identity", action="store_true")
    p.add_argument("--settings", choices=("bench", "defaults"), default="bench",
                   help="bench: the Kaldi-comparison settings; defaults: DecoderOptions' "
                   "defaults (min_active 200, acoustic scale 2)")
    p.add_argument("--json")
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO / "tools" / "bench"))
    from decoder_bench import BENCH, aligned_copy, compile_graph
    sys.path.insert(0, args.repo)  # after decoder_bench, which puts this checkout first
    import asr
    print(f"asr from {Path(asr.__file__).parent}", flush=True)

    work = Path(args.work_dir)
    graph = aligned_copy(compile_graph(work / "ctc", "ctc"), work / "ctc_aligned")
    npz = np.load(BENCH / "posteriors_test.npz")
    keys = sorted(k for k in npz.files if "__" not in k)[:args.utts]
    utts = {k: npz[k] for k in keys}
    base = dict(beam=13.0, max_active=7000, min_active=20, acoustic_scale=3.0)
    if args.settings == "defaults":
        base = {}
    report = {}
    if not args.skip_identity:
        report["identity"] = identity(graph, utts, base)
    lengths = [int(x) for x in args.lengths.split(",")]
    report["long_us_per_frame"] = long_bench(graph, utts, base, lengths, args.repeats)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
