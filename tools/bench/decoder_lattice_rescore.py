"""Whole-lattice rescoring from the decoder's word lattice vs from its state-level lattice
(determinised by OpenFst first, as before), side by side on the rescoring bench's data.

Decodes the synthetic posteriors of `tools/bench/rescore_synth.py`'s output directory with its
graph, acoustic scale and lattice beam (first_pass.json), once with the word lattice
(default) and once with the state-level one (determinize_lattice=False); writes both as Kaldi
text, reads them back as `tingxie rescore --lattice` does, and rescores with the 5-gram (the
3-gram removed): the word lattice as it comes, the state-level one with `determinize=True`.
Reports WER before/after, arcs per lattice and CPU ms per utterance of each path (reading
excluded; both LMs through kenlm, so that the lattice work, not the ARPA queries, is timed).

    python tools/bench/decoder_lattice_rescore.py --data exp/rescore_bench [--parts test,extra]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def read_refs(path):
    return {l.split()[0]: l.split()[1:] for l in open(path, encoding="utf-8") if l.strip()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="rescore_synth.py's output directory")
    p.add_argument("--parts", default="test,extra")
    p.add_argument("--work", default="/tmp/decoder_lattice_rescore")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    from asr.decoder import Decoder, DecoderOptions
    from asr.rescoring.lattice import (LatticeRescoreOptions, nbest, read_kaldi_lattices,
                                       rescore_lattice)
    from asr.rescoring.ngram import open_query
    from asr.scoring import error_rate

    data = Path(args.data)
    os.makedirs(args.work, exist_ok=True)
    first_pass = json.loads((data / "first_pass.json").read_text())
    options = dict(acoustic_scale=first_pass["acoustic_scale"], nbest=10, keep_lattice=True,
                   lattice_beam=first_pass["lattice_beam"])
    kinds = {"words": (Decoder(str(data / "graph"), DecoderOptions(**options)),
                       LatticeRescoreOptions()),
             "states": (Decoder(str(data / "graph"), DecoderOptions(
                 **options, determinize_lattice=False)), LatticeRescoreOptions(determinize=True))}
    new_lm = open_query(str(data / "lm5.arpa"), "kenlm")
    old_lm = open_query(str(data / "lm3.arpa"), "kenlm")
    report = {}
    for part in args.parts.split(","):
        posts = dict(np.load(data / f"{part}_post.npz"))
        refs = read_refs(data / f"{part}_ref.txt")
        keys = sorted(posts)
        for kind, (decoder, rescore_options) in kinds.items():
            path = os.path.join(args.work, f"{part}_{kind}_lat.txt")
            with open(path, "w", encoding="utf-8") as out:
                for key, result in zip(keys, decoder.decode_batch([posts[k] for k in keys])):
                    one = os.path.join(args.work, "one.txt")
                    result.lattice.write_text(one, key)
                    out.write(Path(one).read_text(encoding="utf-8"))
            lattices = list(read_kaldi_lattices(path))
            best = min_cpu = None
            for _ in range(args.repeats):
                cpu = time.process_time()
                after = [nbest(rescore_lattice(lattice, new_lm, old_lm, rescore_options), 1)
                         for lattice in lattices]
                cpu = time.process_time() - cpu
                min_cpu = cpu if min_cpu is None else min(min_cpu, cpu)
            best = [nbest(lattice, 1, 1.0) for lattice in lattices]
            ref = [refs[lattice.key] for lattice in lattices]
            row = {
                "utterances": len(lattices),
                "first_pass_wer": round(100 * error_rate(ref, [b[0].words for b in best]), 2),
                "rescored_wer": round(100 * error_rate(ref, [a[0].words if a else []
                                                             for a in after]), 2),
                "arcs_per_lattice": round(float(np.mean([len(l.arcs) for l in lattices])), 1),
                "rescore_cpu_ms_per_utt": round(1000 * min_cpu / len(lattices), 3),
            }
            report[f"{part}_{kind}"] = row
            print(f"{part:6s} {kind:7s} {row}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
