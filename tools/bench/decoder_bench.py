"""Decoder benchmark: Tingxie's native decoder against Kaldi's FasterDecoder (PyPI
kaldi-decoder), side by side in one run, on the same TLG and the same posteriors.

Stages:
  1. graphs: `tingxie graph compile` of the bench LM (ctc and sync topologies) into
     --work-dir, once; a const copy of the CTC graph (OpenFst ConstFst, memory-mappable);
  2. load: seconds to load each graph, Kaldi (kaldifst) and ours (vector, const);
  3. CTC decode at the same beam / max_active / min_active / acoustic scale: CPU seconds,
     RTF (CPU seconds / audio seconds), WER, best paths identical to Kaldi's;
     ours with blank skipping; ours with lattices and the 10-best (its oracle WER), and
     with the determinised word lattice kept;
     working memory of the search (bytes of its buffers) and RSS growth while decoding;
  4. sync (Paraformer) decode at FunASR's defaults (beam 3, acoustic scale 10).

    python tools/bench/decoder_bench.py --work-dir /tmp/decoder_bench [--utts 200]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
BENCH = REPO.parent / "shared" / "bench" / "decoder"
AUDIO_SECONDS_PER_FRAME = 1 / 25  # the bench posteriors are 25 frames/s


def compile_graph(out_dir, topology):
    from asr.cli import main as tingxie
    if (Path(out_dir) / "TLG.fst").exists():
        return str(out_dir)
    argv = ["graph", "compile", "--tokens", str(BENCH / "units.txt"), "--lm",
            str(BENCH / "lm3.arpa.gz"), "--spelling", "chars", "--word-boundary", "|",
            "--topology", topology, "-o", str(out_dir)]
    assert tingxie(argv) == 0
    return str(out_dir)


def aligned_copy(graph_dir, out_dir):
    from asr.decoder import convert_graph
    if not (Path(out_dir) / "TLG.fst").exists():
        convert_graph(graph_dir, out_dir)
    return str(out_dir)


def read_refs(path):
    return {l.split()[0]: l.split()[1:] for l in open(path, encoding="utf-8") if l.strip()}


def wer(refs, hyps):
    import kaldialign
    errors = sum(kaldialign.edit_distance(refs[k], hyps[k])["total"] for k in hyps)
    return 100.0 * errors / sum(len(refs[k]) for k in hyps)


def kaldi_decode(fst, utts, words, beam, scale, max_active, min_active):
    import kaldi_decoder
    import kaldifst
    opts = kaldi_decoder.FasterDecoderOptions(beam=beam, max_active=max_active,
                                              min_active=min_active)
    hyps = {}
    start = time.process_time()
    for key, logp in utts.items():
        dec = kaldi_decoder.FasterDecoder(fst, opts)
        dec.decode(kaldi_decoder.DecodableCtc(logp * np.float32(scale)))
        ok, lattice = dec.get_best_path()
        hyps[key] = list(kaldifst.get_linear_symbol_sequence(lattice)[2])
    cpu = time.process_time() - start
    return hyps, cpu


def our_decode(decoder, utts):
    hyps, results = {}, {}
    start = time.process_time()
    for key, logp in utts.items():
        r = decoder.decode(logp)
        hyps[key] = r.word_ids
        results[key] = r
    cpu = time.process_time() - start
    return hyps, results, cpu


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work-dir", required=True, help="graphs are compiled here once")
    p.add_argument("--utts", type=int, default=200)
    p.add_argument("--beam", type=float, default=13.0)
    p.add_argument("--acoustic-scale", type=float, default=3.0)
    p.add_argument("--max-active", type=int, default=7000)
    p.add_argument("--min-active", type=int, default=20, help="Kaldi's default")
    p.add_argument("--repeats", type=int, default=3, help="timing repeats (best of)")
    p.add_argument("--json", help="write the numbers here")
    args = p.parse_args(argv)

    import kaldifst
    from asr.decoder import Decoder, DecoderOptions

    work = Path(args.work_dir)
    ctc_dir = compile_graph(work / "ctc", "ctc")
    sync_dir = compile_graph(work / "sync", "sync")
    const_dir = aligned_copy(ctc_dir, work / "ctc_const")
    aligned_dir = aligned_copy(ctc_dir, work / "ctc_aligned")
    report = {"graph_mb": os.path.getsize(f"{ctc_dir}/TLG.fst") / 2 ** 20}

    # 2. load
    t, c = time.perf_counter(), time.process_time()
    kaldi_fst = kaldifst.StdVectorFst.read(f"{ctc_dir}/TLG.fst")
    report["load_s_kaldi_vector"] = time.perf_counter() - t
    report["load_cpu_s_kaldi_vector"] = time.process_time() - c
    base = dict(beam=args.beam, acoustic_scale=args.acoustic_scale,
                max_active=args.max_active, min_active=args.min_active)
    for name, gdir in (("vector", ctc_dir), ("const", const_dir), ("aligned_const", aligned_dir)):
        best = best_cpu = 1e9
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            dec = Decoder(gdir, DecoderOptions(**base))
            best = min(best, time.perf_counter() - t)
            best_cpu = min(best_cpu, time.process_time() - c)
        report[f"load_s_ours_{name}"] = best
        report[f"load_cpu_s_ours_{name}"] = best_cpu
        report[f"memory_mapped_{name}"] = dec._native.memory_mapped

    # 3. CTC decode side by side
    npz = np.load(BENCH / "posteriors_test.npz")
    keys = sorted(k for k in npz.files if "__" not in k)[:args.utts]
    utts = {k: npz[k] for k in keys}
    audio = sum(len(v) for v in utts.values()) * AUDIO_SECONDS_PER_FRAME
    refs = read_refs(BENCH / "refs_test.txt")
    ours = Decoder(ctc_dir, DecoderOptions(**base))
    words = ours.words

    def as_words(hyps):
        return {k: [words[i] for i in v] for k, v in hyps.items()}

    kaldi_cpu = our_cpu = 1e9
    rss_before = rss_mb()
    for _ in range(args.repeats):  # alternate, best of N, so load drift hits both alike
        kaldi_hyps, cpu = kaldi_decode(kaldi_fst, utts, words, **{
            "beam": args.beam, "scale": args.acoustic_scale, "max_active": args.max_active,
            "min_active": args.min_active})
        kaldi_cpu = min(kaldi_cpu, cpu)
        our_hyps, our_results, cpu = our_decode(ours, utts)
        our_cpu = min(our_cpu, cpu)
    work_bytes = max(ours._native.decode(v).work_bytes for v in utts.values())
    report.update({
        "utts": len(utts), "audio_s": audio,
        "kaldi_cpu_s": kaldi_cpu, "kaldi_rtf": kaldi_cpu / audio,
        "kaldi_wer": wer(refs, as_words(kaldi_hyps)),
        "ours_cpu_s": our_cpu, "ours_rtf": our_cpu / audio,
        "ours_wer": wer(refs, as_words(our_hyps)),
        "speedup_vs_kaldi": kaldi_cpu / our_cpu,
        "same_best_path": sum(our_hyps[k] == kaldi_hyps[k] for k in keys),
        "reached_final": sum(r.reached_final for r in our_results.values()),
        "work_mb": work_bytes / 2 ** 20,
        "rss_growth_mb_while_decoding": rss_mb() - rss_before,
    })

    for threshold in (0.95, 0.99):
        skip = Decoder(ctc_dir, DecoderOptions(**base, blank_skip_threshold=threshold))
        cpu = 1e9
        for _ in range(args.repeats):
            hyps, _, c = our_decode(skip, utts)
            cpu = min(cpu, c)
        searched = sum(skip._native.decode(v).frames_searched for v in utts.values())
        report[f"skip{threshold}_rtf"] = cpu / audio
        report[f"skip{threshold}_wer"] = wer(refs, as_words(hyps))
        report[f"skip{threshold}_frames_searched"] = searched / sum(len(v) for v in utts.values())

    defaults = Decoder(ctc_dir)  # the tuned defaults (on dev), reported on test
    cpu = 1e9
    for _ in range(args.repeats):
        hyps, _, c = our_decode(defaults, utts)
        cpu = min(cpu, c)
    report["defaults_rtf"] = cpu / audio
    report["defaults_wer"] = wer(refs, as_words(hyps))

    lat = Decoder(ctc_dir, DecoderOptions(**base, nbest=10))
    cpu = 1e9
    for _ in range(args.repeats):
        _, lat_results, c = our_decode(lat, utts)
        cpu = min(cpu, c)
    import kaldialign
    oracle_errors = sum(min(kaldialign.edit_distance(refs[k], h.words)["total"]
                            for h in lat_results[k].nbest) for k in keys)
    report.update({
        "lattice_nbest10_rtf": cpu / audio,
        "lattice_cost_ratio": cpu / our_cpu,
        "nbest10_oracle_wer": 100.0 * oracle_errors / sum(len(refs[k]) for k in keys),
        "nbest10_mean_entries": float(np.mean([len(r.nbest) for r in lat_results.values()])),
        "lattice_work_mb": max(lat._native.decode(v).work_bytes for v in utts.values()) / 2 ** 20,
    })
    # the word lattice kept too (keep_lattice: determinised, determinize.h); details in
    # tools/bench/decoder_lattice.py
    kept = Decoder(ctc_dir, DecoderOptions(**base, nbest=10, keep_lattice=True))
    cpu = 1e9
    for _ in range(args.repeats):
        _, kept_results, c = our_decode(kept, utts)
        cpu = min(cpu, c)
    report.update({
        "word_lattice_rtf": cpu / audio,
        "word_lattice_cost_ratio": cpu / our_cpu,
        "word_lattice_arcs_mean": float(np.mean([r.lattice.num_arcs
                                                 for r in kept_results.values()])),
    })

    # hotwords: 1,000 in-vocabulary hotwords (every 20th vocabulary word), decode time
    # against none; and the recall of words the plain search misses when they are given
    # (control: none of them occurs in the test references)
    in_refs = {w for k in keys for w in refs[k]}
    hot_list = [w for i, w in enumerate(open(BENCH / "vocab.txt").read().split())
                if i % 17 == 0 and w not in in_refs]
    hot = ours.compile_hotwords(hot_list[:1000])
    report["hotwords_control_count"] = len(hot.entries)
    cpu = 1e9
    for _ in range(args.repeats):
        start = time.process_time()
        hot_hyps = {k: ours.decode(v, hotwords=hot).words for k, v in utts.items()}
        cpu = min(cpu, time.process_time() - start)
    report["hotwords1000_time_ratio"] = cpu / our_cpu
    report["hotwords1000_wer"] = wer(refs, hot_hyps)
    missed = total = found = 0
    for k, v in utts.items():
        plain = set(words[i] for i in our_hyps[k])
        lost = [w for w in refs[k] if w not in plain and ours._spell(w) is not None]
        if lost:
            total += len(lost)
            biased = ours.decode(v, hotwords=lost).words
            found += sum(w in biased for w in lost)
    report["missed_words"] = total
    report["missed_words_found_with_hotwords"] = found

    # threads: decode_batch over 2 threads, wall clock
    t = time.perf_counter()
    ours.decode_batch(list(utts.values()), num_threads=1)
    one = time.perf_counter() - t
    t = time.perf_counter()
    ours.decode_batch(list(utts.values()), num_threads=2)
    report["batch_wall_speedup_2_threads"] = one / (time.perf_counter() - t)

    # 4. sync
    sync_npz = np.load(BENCH / "posteriors_test_sync.npz")
    sync_utts = {k: sync_npz[k] for k in keys}
    sync_refs = read_refs(BENCH / "refs_test_sync.txt")
    sync_kaldi_fst = kaldifst.StdVectorFst.read(f"{sync_dir}/TLG.fst")
    sopts = dict(beam=3.0, acoustic_scale=10.0, max_active=args.max_active,
                 min_active=args.min_active)
    sync_ours = Decoder(sync_dir, DecoderOptions(**sopts))
    kcpu = ocpu = 1e9
    for _ in range(args.repeats):
        khyps, c = kaldi_decode(sync_kaldi_fst, sync_utts, words, beam=3.0, scale=10.0,
                                max_active=args.max_active, min_active=args.min_active)
        kcpu = min(kcpu, c)
        ohyps, _, c = our_decode(sync_ours, sync_utts)
        ocpu = min(ocpu, c)
    report.update({
        "sync_kaldi_wer": wer(sync_refs, as_words(khyps)), "sync_kaldi_rtf": kcpu / audio,
        "sync_ours_wer": wer(sync_refs, as_words(ohyps)), "sync_ours_rtf": ocpu / audio,
        "sync_speedup_vs_kaldi": kcpu / ocpu,
        "sync_same_best_path": sum(ohyps[k] == khyps[k] for k in keys),
    })

    for k, v in report.items():
        print(f"{k:32s} {v:.4g}" if isinstance(v, float) else f"{k:32s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
