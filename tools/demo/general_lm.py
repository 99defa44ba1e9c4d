"""A general-English ARPA bigram LM from the CMU en-us LM that pocketsphinx ships.

Source: en-us.lm.bin of the PyPI `pocketsphinx` package (the same LM as Debian's
pocketsphinx-en-us: 72,547 words, 2.05M bigrams, 1.67M trigrams, trained on broad English
text by CMU). Converting it: pocketsphinx's ARPA writer (`NGramModel.write`, as Debian's
`sphinx_lm_convert`) crashes in the trigram section of this file, after the unigram and bigram
sections (all but the last few dozen bigram lines, still in its output buffer at the crash)
are written. So this keeps what it wrote before the crash -- a bigram LM -- in a child process,
and rebuilds a proper bigram LM from it:

  1. vocabulary: the words the demo tokens can spell (a-z and the apostrophe), lower case;
     unigram probabilities renormalised over it;
  2. bigrams among those words, the `--bigrams` most probable by joint probability P(h) P(w|h);
  3. back-off weights recomputed for every context from what was kept, so that each
     conditional distribution sums to one:
       alpha(h) = (1 - sum_kept P(w|h)) / (1 - sum_kept P(w)).

    python tools/demo/general_lm.py --out exp/demo/general/lm2.arpa.gz [--bigrams 600000]
"""
from __future__ import annotations

import argparse
import gzip
import math
import os
import re
import subprocess
import sys
import tempfile

SPELLABLE = re.compile(r"^[a-z']+$")
CONVERT = """
import sys
from pocketsphinx import NGramModel, get_model_path
import os
model = NGramModel.readfile(os.path.join(get_model_path(), "en-us", "en-us.lm.bin"))
model.write(sys.argv[1], NGramModel.str_to_type("arpa"))
"""


def dump_cmu_arpa(path: str) -> None:
    """Whatever pocketsphinx's writer manages (it may crash in the trigram section)."""
    subprocess.run([sys.executable, "-c", CONVERT, path], capture_output=True)
    if not os.path.exists(path) or os.path.getsize(path) < 10_000_000:
        sys.exit("general_lm.py: pocketsphinx did not write the CMU LM's bigrams "
                 "(pip install pocketsphinx)")


def read_partial_arpa(path: str):
    """unigrams {w: (log10 p, log10 bow)}, bigrams [(h, w, log10 p)], complete lines only."""
    unigrams, bigrams, section = {}, [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    lines = lines[:-1]  # the last piece has no newline: complete, or cut by the crash
    for line in lines:
        if line.startswith("\\"):
            section = {"\\data\\": 0, "\\1-grams:": 1, "\\2-grams:": 2}.get(line.strip(), 3)
            continue
        fields = line.split()
        if section == 1 and len(fields) >= 2:
            unigrams[fields[1]] = (float(fields[0]),
                                   float(fields[2]) if len(fields) > 2 else 0.0)
        elif section == 2 and len(fields) >= 3:
            bigrams.append((fields[1], fields[2], float(fields[0])))
        elif section == 3:
            break
    return unigrams, bigrams


def build(unigrams, bigrams, max_bigrams: int):
    keep = {w for w in unigrams if SPELLABLE.match(w) or w in ("<s>", "</s>")}
    total = sum(10 ** unigrams[w][0] for w in keep if w != "<s>")
    p_uni = {w: (10 ** unigrams[w][0] / total if w != "<s>" else 0.0) for w in keep}
    # conditional probabilities under the original model, joint weight for ranking
    candidates = []
    for h, w, logp in bigrams:
        if h in keep and w in keep and w != "<s>":
            joint = (p_uni[h] if h != "<s>" else 0.05) * 10 ** logp
            candidates.append((joint, h, w, 10 ** logp))
    candidates.sort(reverse=True)
    kept = candidates[:max_bigrams]
    by_context: dict[str, list[tuple[str, float]]] = {}
    for _, h, w, p in kept:
        by_context.setdefault(h, []).append((w, p))
    alphas = {}
    for h, successors in by_context.items():
        mass = sum(p for _, p in successors)
        if mass >= 1.0:  # renormalise the kept successors; nothing left to back off
            successors[:] = [(w, p / mass * 0.999) for w, p in successors]
            mass = 0.999
        lower = sum(p_uni[w] for w, _ in successors)
        alphas[h] = (1.0 - mass) / max(1.0 - lower, 1e-9)
    return p_uni, by_context, alphas


def write_arpa(path: str, p_uni, by_context, alphas) -> None:
    n_bigrams = sum(len(s) for s in by_context.values())
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as f:
        f.write(f"\\data\\\nngram 1={len(p_uni)}\nngram 2={n_bigrams}\n\n\\1-grams:\n")
        for w in sorted(p_uni):
            logp = math.log10(p_uni[w]) if p_uni[w] > 0 else -99.0
            bow = f"\t{math.log10(alphas[w]):.6f}" if w in alphas else ""
            f.write(f"{logp:.6f}\t{w}{bow}\n")
        f.write("\n\\2-grams:\n")
        for h in sorted(by_context):
            for w, p in sorted(by_context[h]):
                f.write(f"{math.log10(p):.6f}\t{h} {w}\n")
        f.write("\n\\end\\\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="exp/demo/general/lm2.arpa.gz")
    parser.add_argument("--bigrams", type=int, default=600_000,
                        help="bigrams kept (most probable first); the graph grows with them")
    args = parser.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "cmu.arpa")
        dump_cmu_arpa(raw)
        unigrams, bigrams = read_partial_arpa(raw)
    p_uni, by_context, alphas = build(unigrams, bigrams, args.bigrams)
    write_arpa(args.out, p_uni, by_context, alphas)
    print(f"{args.out}: {len(p_uni)} words, {sum(len(s) for s in by_context.values())} bigrams "
          f"(of {len(bigrams)} read; the CMU LM has {len(unigrams)} words)")


if __name__ == "__main__":
    main()
