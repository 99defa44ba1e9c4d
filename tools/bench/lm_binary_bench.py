#!/usr/bin/env python3
"""The binary LM format side by side with KenLM's (probing, `build_binary` default): convert,
load, query speed, and memory shared between processes. Each figure is measured in its own
process; KenLM through its static tools (../shared/tools/kenlm/bin) and the `kenlm` module.

    python tools/bench/lm_binary_bench.py --arpa exp/demo/lm_rescore/lm5.arpa.gz \
        --text ../shared/corpora/en_test.txt.gz --repeat 10 --work /tmp/lm_binary_bench

Load: seconds from a path to a model that answers queries (in-process, imports excluded):
`lm.load` of the ARPA vs of the binary; `kenlm.Model` of the ARPA vs of its binary.
Query: CPU seconds to score the text `--repeat` times over (one sentence a line, <s> and
</s>), end to end as `tingxie lm ppl` and `query -v summary` run, and with the same run on an
empty text subtracted (the scoring alone). Sharing: two processes map the binary and score the
text; the second one's Rss / Pss / Shared_Clean of the mapping (/proc/PID/smaps).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KENLM_BIN = os.path.join(ROOT, "..", "shared", "tools", "kenlm", "bin")


def child_cpu(cmd, stdin=None, env=None):
    """(wall s, CPU s user+sys, max RSS MB, stdout) of a command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as handle:
        out = subprocess.run(cmd, stdin=handle, capture_output=True, check=True, env=env).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024, out.decode()


def in_process(code):
    """Runs python code that prints one JSON line; returns it parsed."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                         cwd=ROOT, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


LOAD_OURS = """
import json, time, lm, lm._native, lm.arpa, lm.perplexity
t = time.perf_counter(); m = lm.load({path!r}); t = time.perf_counter() - t
print(json.dumps({{"seconds": t, "mapped": m.mapped, "bytes": m.bytes}}))
"""
LOAD_KENLM = """
import json, time, kenlm
t = time.perf_counter(); m = kenlm.Model({path!r}); t = time.perf_counter() - t
print(json.dumps({{"seconds": t}}))
"""
SHARE = """
import json, os, sys, time, lm
from lm.perplexity import perplexity
m = lm.load({path!r}, populate=False)
perplexity(m, {text!r})
if {hold}:
    print(json.dumps({{"ready": True}}), flush=True)
    sys.stdin.read()
else:
    fields, inside = {{}}, False
    for line in open("/proc/self/smaps"):
        if line[0] in "0123456789abcdef" and "-" in line.split()[0]:
            inside = line.rstrip().endswith(os.path.realpath({path!r}))
        elif inside and line.split(":")[0] in ("Rss", "Pss", "Shared_Clean", "Private_Clean"):
            key = line.split(":")[0]
            fields[key] = fields.get(key, 0) + int(line.split()[1]) / 1024
    print(json.dumps(fields))
"""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arpa", required=True)
    p.add_argument("--text", required=True, help="text to score (.gz ok)")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--work", default="/tmp/lm_binary_bench")
    p.add_argument("--runs", type=int, default=3, help="best of this many for each timing")
    args = p.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    report = {"arpa": args.arpa}

    # the inputs: the ARPA uncompressed (KenLM reads .gz too, but slower), the text repeated
    arpa = os.path.join(args.work, "model.arpa")
    opener = gzip.open if args.arpa.endswith(".gz") else open
    with opener(args.arpa, "rb") as src, open(arpa, "wb") as dst:
        dst.write(src.read())
    opener = gzip.open if args.text.endswith(".gz") else open
    with opener(args.text, "rb") as src:
        text = src.read()
    text_path = os.path.join(args.work, "text.txt")
    with open(text_path, "wb") as dst:
        dst.write(text * args.repeat)
    empty = os.path.join(args.work, "empty.txt")
    open(empty, "wb").close()
    report["tokens_scored"] = (len(text.split()) + text.count(b"\n")) * args.repeat

    ours_bin, kenlm_bin = os.path.join(args.work, "ours.bin"), os.path.join(args.work, "kenlm.bin")
    tingxie = [sys.executable, "-m", "asr.cli"]
    env = dict(os.environ, PYTHONPATH=ROOT)
    wall, cpu, rss, _ = child_cpu(tingxie + ["lm", "build-binary", arpa, "-o", ours_bin], env=env)
    report["convert"] = {"ours_s": round(wall, 2), "ours_mb": round(rss),
                         "ours_bytes": os.path.getsize(ours_bin)}
    wall, cpu, rss, _ = child_cpu([os.path.join(KENLM_BIN, "build_binary"), arpa, kenlm_bin])
    report["convert"].update(kenlm_s=round(wall, 2), kenlm_mb=round(rss),
                             kenlm_bytes=os.path.getsize(kenlm_bin))

    def best(fn):
        return min(fn() for _ in range(args.runs))

    report["load_s"] = {
        "ours_arpa": best(lambda: in_process(LOAD_OURS.format(path=arpa))["seconds"]),
        "ours_binary": best(lambda: in_process(LOAD_OURS.format(path=ours_bin))["seconds"]),
        "kenlm_arpa": best(lambda: in_process(LOAD_KENLM.format(path=arpa))["seconds"]),
        "kenlm_binary": best(lambda: in_process(LOAD_KENLM.format(path=kenlm_bin))["seconds"]),
    }
    load = report["load_s"]
    load["ours_arpa_over_binary"] = load["ours_arpa"] / load["ours_binary"]

    def ppl_cpu(model, path):
        return child_cpu(tingxie + ["lm", "ppl", model, path], env=env)

    def query_cpu(model, path):
        return child_cpu([os.path.join(KENLM_BIN, "query"), "-v", "summary", model], stdin=path)

    query = {}
    for name, run, model in (("ours", ppl_cpu, ours_bin), ("kenlm", query_cpu, kenlm_bin)):
        full = best(lambda: run(model, text_path)[1])
        base = best(lambda: run(model, empty)[1])
        query[name] = {"end_to_end_cpu_s": round(full, 3), "empty_text_cpu_s": round(base, 3),
                       "scoring_cpu_s": round(full - base, 3)}
    outputs = {name: run(model, text_path)[3] for name, run, model in
               (("ours", ppl_cpu, ours_bin), ("kenlm", query_cpu, kenlm_bin))}
    query["same_perplexity"] = [l for l in outputs["ours"].splitlines() if "including" in l][0] \
        .split("\t")[-1][:10] == [l for l in outputs["kenlm"].splitlines() if "including" in l][0] \
        .split("\t")[-1][:10]
    query["scoring_kenlm_over_ours"] = query["kenlm"]["scoring_cpu_s"] / query["ours"]["scoring_cpu_s"]
    report["query"] = query

    holder = subprocess.Popen([sys.executable, "-c", SHARE.format(path=ours_bin, text=text_path,
                                                                   hold=True)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True)
    holder.stdout.readline()
    report["sharing_mb"] = in_process(SHARE.format(path=ours_bin, text=text_path, hold=False))
    holder.communicate("")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
