"""Decoder lattice benchmark: what lattices cost, side by side in one run on the decoder
bench (200 test utterances, full TLG), and how big they are.

Configurations, all at the decoder bench's Kaldi-comparison settings (beam 13, max_active
7000, min_active 20, acoustic scale 3), alternated within each repeat, best of N CPU time:
  first-best     no lattice
  nbest10        the lazy distinct 10-best over the pruned state-level lattice (no lattice kept)
  states         keep_lattice, determinize_lattice=False: the pruned state-level lattice
  words          keep_lattice (default): the pruned, word-determinised lattice (determinize.h)
Reported per lattice_beam: RTF and ratio to first-best, states/arcs per utterance of the
state-level and of the word lattice, how often the determinisation guard retried, the 10-best
oracle WER and mean entries, and whether the word lattice's 10-best equals Result.nbest.

    python tools/bench/decoder_lattice.py --work-dir /tmp/dec/bench [--lattice-beams 6,8]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools" / "bench"))
from decoder_bench import (AUDIO_SECONDS_PER_FRAME, BENCH, aligned_copy,  # noqa: E402
                           compile_graph, read_refs)


def decode_all(decoder, utts):
    start = time.process_time()
    results = {k: decoder.decode(v) for k, v in utts.items()}
    return results, time.process_time() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work-dir", required=True, help="graphs are compiled here once "
                   "(the same directory as decoder_bench.py's)")
    p.add_argument("--utts", type=int, default=200)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--lattice-beams", default="6,8")
    p.add_argument("--json", help="write the numbers here")
    args = p.parse_args(argv)

    import kaldialign
    from asr.decoder import Decoder, DecoderOptions

    work = Path(args.work_dir)
    graph = aligned_copy(compile_graph(work / "ctc", "ctc"), work / "ctc_aligned")
    npz = np.load(BENCH / "posteriors_test.npz")
    keys = sorted(k for k in npz.files if "__" not in k)[:args.utts]
    utts = {k: npz[k] for k in keys}
    audio = sum(len(v) for v in utts.values()) * AUDIO_SECONDS_PER_FRAME
    refs = read_refs(BENCH / "refs_test.txt")
    base = dict(beam=13.0, max_active=7000, min_active=20, acoustic_scale=3.0)
    report = {"utts": len(utts), "audio_s": audio}
    for lattice_beam in (float(b) for b in args.lattice_beams.split(",")):
        decoders = {
            "first_best": Decoder(graph, DecoderOptions(**base, lattice_beam=lattice_beam)),
            "nbest10": Decoder(graph, DecoderOptions(**base, lattice_beam=lattice_beam,
                                                     nbest=10)),
            "states": Decoder(graph, DecoderOptions(**base, lattice_beam=lattice_beam, nbest=10,
                                                    keep_lattice=True,
                                                    determinize_lattice=False)),
            "words": Decoder(graph, DecoderOptions(**base, lattice_beam=lattice_beam, nbest=10,
                                                   keep_lattice=True)),
        }
        cpu = {name: 1e9 for name in decoders}
        results = {}
        for _ in range(args.repeats):
            for name, decoder in decoders.items():
                results[name], c = decode_all(decoder, utts)
                cpu[name] = min(cpu[name], c)
        states, words = results["states"], results["words"]
        row = {f"{name}_rtf": c / audio for name, c in cpu.items()}
        row.update({f"{name}_ratio": c / cpu["first_best"] for name, c in cpu.items()})
        for name, res in (("states", states), ("words", words)):
            n_states = np.array([r.lattice.num_states for r in res.values()])
            n_arcs = np.array([r.lattice.num_arcs for r in res.values()])
            row.update({f"{name}_states_mean": float(n_states.mean()),
                        f"{name}_arcs_mean": float(n_arcs.mean()),
                        f"{name}_arcs_median": float(np.median(n_arcs)),
                        f"{name}_arcs_max": int(n_arcs.max())})
        row["words_guard_retries"] = sum(r.lattice.attempts > 1 for r in words.values())
        row["lattice_nbest_equals_result_nbest"] = sum(
            [h.words for h in r.lattice.nbest] == [h.words for h in r.nbest]
            for r in words.values())
        row["nbest10_mean_entries"] = float(np.mean([len(r.nbest) for r in words.values()]))
        errors = sum(min(kaldialign.edit_distance(refs[k], h.words)["total"]
                         for h in words[k].nbest) for k in keys)
        row["nbest10_oracle_wer"] = 100.0 * errors / sum(len(refs[k]) for k in keys)
        row["first_best_wer"] = 100.0 * sum(
            kaldialign.edit_distance(refs[k], results["first_best"][k].words)["total"]
            for k in keys) / sum(len(refs[k]) for k in keys)
        report[f"lattice_beam_{lattice_beam:g}"] = row
        print(f"lattice_beam {lattice_beam:g}")
        for k, v in row.items():
            print(f"  {k:36s} {v:.4g}" if isinstance(v, float) else f"  {k:36s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
