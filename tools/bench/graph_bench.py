"""Benchmark: `tingxie graph compile` against a kaldifst pipeline, side by side in one run.

Both compile the 20k-word graph of ../shared/bench/decoder (vocab.txt, lm3.arpa.gz, units.txt;
each word spelled as its letters followed by `|`) in each topology, each pipeline in its own
child process so that CPU time (user + sys) and peak RSS are its own.

The peer is Kaldi's recipe through kaldifst (real OpenFst + Kaldi's fst extensions): G from
kaldilm's `arpa2fst` (Kaldi's ArpaLmCompiler, #0 on back-off arcs), L compiled from text
(words on the first arc, #0:#0 loop), LG = minimize_encoded(determinize_star(L∘G)) as in
Kaldi's mkgraph.sh, then T∘LG with the same T as ours (T eats the disambiguation symbols),
arc-sorted and written. The ARPA is decompressed for kaldilm before timing.

    python tools/bench/graph_bench.py [--topologies ctc compact sync] [--repeat 1]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "..", "shared", "bench", "decoder")
ARPA = os.path.join(BENCH, "lm3.arpa.gz")
UNITS = os.path.join(BENCH, "units.txt")
VOCAB = os.path.join(BENCH, "vocab.txt")


# ---------------------------------------------------------------- the kaldifst peer (child)

def peer_compile(arpa_plain: str, topology: str, out_dir: str) -> dict:
    import kaldifst
    import kaldilm

    units = [line.split()[0] for line in open(UNITS, encoding="utf-8") if line.strip()]
    token_label = {u: i + 1 for i, u in enumerate(units)}
    vocab = [w.strip() for w in open(VOCAB, encoding="utf-8") if w.strip()]
    lexicon = [(w, list(w) + ["|"]) for w in vocab if all(c in token_label for c in w)]
    words = ["<eps>"] + [w for w, _ in lexicon] + ["#0", "<s>", "</s>"]
    word_label = {w: i for i, w in enumerate(words)}
    disambig_token = len(units) + 1
    os.makedirs(out_dir, exist_ok=True)
    table = os.path.join(out_dir, "words.txt")
    with open(table, "w", encoding="utf-8") as handle:
        handle.writelines(f"{w} {i}\n" for i, w in enumerate(words))

    g_path = os.path.join(out_dir, "G.fst")
    kaldilm.arpa2fst(arpa_plain, g_path, disambig_symbol="#0", read_symbol_table=table,
                     max_arpa_warnings=0)
    g = kaldifst.StdVectorFst.read(g_path)
    kaldifst.arcsort(g, sort_type="ilabel")

    lines, next_state = [], 1
    for word, spelling in lexicon:
        source = 0
        for i, token in enumerate(spelling):
            last = i == len(spelling) - 1
            target = 0 if last else next_state
            next_state += 0 if last else 1
            lines.append(f"{source} {target} {token_label[token]} "
                         f"{word_label[word] if i == 0 else 0}")
            source = target
    lines.append(f"0 0 {disambig_token} {word_label['#0']}")
    lines.append("0")
    lexicon_fst = kaldifst.compile("\n".join(lines) + "\n")
    kaldifst.arcsort(lexicon_fst, sort_type="olabel")

    lg = kaldifst.compose(lexicon_fst, g)
    kaldifst.determinize_star(lg, use_log=True)
    kaldifst.minimize_encoded(lg)
    kaldifst.arcsort(lg, sort_type="ilabel")

    blank, tokens = 1, list(range(2, len(units) + 1))
    lines = []
    if topology == "sync":
        lines += [f"0 0 {t} {t}" for t in tokens] + [f"0 0 0 {disambig_token}", "0"]
    elif topology == "compact":
        lines.append(f"0 0 {blank} 0")
        for t in tokens:
            lines += [f"0 {t} {t} {t}", f"{t} {t} {t} 0", f"{t} 0 0 0"]
        lines += [f"0 0 0 {disambig_token}", "0"]
    else:  # exact CTC: state t = t was the last output
        lines.append(f"0 0 {blank} 0")
        for t in tokens:
            lines += [f"0 {t} {t} {t}", f"{t} {t} {t} 0", f"{t} 0 {blank} 0"]
            lines += [f"{t} {u} {u} {u}" for u in tokens if u != t]
        lines += [f"{s} {s} 0 {disambig_token}" for s in [0] + tokens]
        lines += ["0"] + [str(t) for t in tokens]
    token_fst = kaldifst.compile("\n".join(lines) + "\n")
    kaldifst.arcsort(token_fst, sort_type="olabel")
    tlg = kaldifst.compose(token_fst, lg)
    kaldifst.arcsort(tlg, sort_type="ilabel")
    tlg.write(os.path.join(out_dir, "TLG.fst"))
    return {"LG_states": lg.num_states, "TLG_states": tlg.num_states}


# ---------------------------------------------------------------- measuring children

def run_child(command: list) -> dict:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = process.stdout.read(), process.stderr.read()
    if status != 0:
        raise RuntimeError(f"{command} failed:\n{stderr.decode()[-2000:]}")
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall,
            "peak_mb": usage.ru_maxrss / 1024.0, "stdout": stdout.decode()}


def fst_size(path: str) -> dict:
    import pywrapfst as fst
    f = fst.Fst.read(path)
    states = f.num_states()
    return {"states": states, "arcs": sum(f.num_arcs(s) for s in range(states))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topologies", nargs="+", default=["ctc", "compact", "sync"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--peer-child", nargs=3, metavar=("ARPA", "TOPOLOGY", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer_child:
        print(json.dumps(peer_compile(*args.peer_child)))
        return 0

    work = tempfile.mkdtemp(prefix="graph_bench_")
    try:
        arpa_plain = os.path.join(work, "lm3.arpa")
        with gzip.open(ARPA, "rb") as src, open(arpa_plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
        rows = []
        for topology in args.topologies:
            for attempt in range(args.repeat):
                ours_dir = os.path.join(work, f"ours_{topology}")
                peer_dir = os.path.join(work, f"peer_{topology}")
                ours = run_child([sys.executable, "-m", "asr.cli", "graph", "compile",
                                  "--tokens", UNITS, "--lm", ARPA, "--words", VOCAB,
                                  "--spelling", "chars", "--word-boundary", "|",
                                  "--topology", topology, "-o", ours_dir])
                peer = run_child([sys.executable, os.path.abspath(__file__), "--peer-child",
                                  arpa_plain, topology, peer_dir])
                sys.path.insert(0, ROOT)
                from graph.directory import GraphDirectory
                info = GraphDirectory(ours_dir).info.details
                row = {"topology": topology, "ours": ours, "peer": peer,
                       "ours_sizes": info["sizes"], "ours_stages": info["cpu_seconds"],
                       "peer_tlg": fst_size(os.path.join(peer_dir, "TLG.fst")),
                       "peer_lg": json.loads(peer["stdout"])}
                for side in ("ours", "peer"):
                    row[side].pop("stdout")
                rows.append(row)
                print(f"{topology}: ours {ours['cpu_s']:.1f} CPU-s {ours['peak_mb']:.0f} MB | "
                      f"peer {peer['cpu_s']:.1f} CPU-s {peer['peak_mb']:.0f} MB | time ratio "
                      f"{ours['cpu_s'] / peer['cpu_s']:.2f}, memory ratio "
                      f"{ours['peak_mb'] / peer['peak_mb']:.2f} | TLG states/arcs ours "
                      f"{info['sizes']['TLG']['states']}/{info['sizes']['TLG']['arcs']} peer "
                      f"{row['peer_tlg']['states']}/{row['peer_tlg']['arcs']}", flush=True)
        print(json.dumps(rows, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
