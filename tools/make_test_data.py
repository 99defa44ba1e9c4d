"""Rebuild tests/data from ../shared: the test suite's own copy of what it needs, so that a
clone with no ../shared beside it runs every test.

    python tools/make_test_data.py            # from the repository root

What it writes (all public domain or the project's own synthetic data; see tests/data/README.md):
  tests/data/kenlm/          KenLM lmplz/query outputs on the Treasury of David text, as shipped
                             in ../shared/reference/kenlm (byte for byte)
  tests/data/corpora/        en_train.txt.gz, the Treasury of David corpus (the demo's
                             rescoring 5-gram is rebuilt from it in a test)
  tests/data/decoder_bench/  a slice of ../shared/bench/decoder: the first NUM_UTTS utterances'
                             posteriors (CTC and Paraformer-style) and references, the units,
                             the vocabulary, and the bench LM filtered to the words that the
                             test graphs use (n-grams with any other word dropped, as
                             `graph compile --words` drops them: the compiled G is the same)
"""
from __future__ import annotations

import argparse
import gzip
import shutil
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NUM_UTTS = 40          # the most any decoder test reads
GRAPH_UTTS = 20        # tests/decoder_fixtures.py: NUM_UTTS (graph vocabulary)
EXTRA_WORDS = 1500     # tests/decoder_fixtures.py: EXTRA_WORDS
KENLM_FILES = ["train.txt", "test.txt", "tiny.txt", "o3.arpa.gz", "o5.arpa.gz",
               "o3_prune011.arpa", "o3_nointerpuni.arpa.gz", "tiny_o4_fallback.arpa",
               "perplexity_query.txt"]


def read_refs(path: Path) -> dict:
    refs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields:
            refs[fields[0]] = fields[1:]
    return refs


def filter_arpa(src: Path, dst: Path, keep: set) -> None:
    """Keep the n-grams whose words are all in `keep`; counts rewritten, values untouched."""
    sections, order, header_done = {}, 0, False
    with gzip.open(src, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("\\") and line.endswith("-grams:"):
                order = int(line[1:line.index("-")])
                sections[order] = []
                header_done = True
                continue
            if not header_done or not line or line == "\\end\\":
                continue
            fields = line.split("\t")
            if all(w in keep for w in fields[1].split()):
                sections[order].append(line)
    with gzip.open(dst, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("\\data\\\n")
        for n in sorted(sections):
            out.write(f"ngram {n}={len(sections[n])}\n")
        for n in sorted(sections):
            out.write(f"\n\\{n}-grams:\n")
            out.write("\n".join(sections[n]) + "\n")
        out.write("\n\\end\\\n")


def slice_npz(src: Path, dst: Path, keys: list) -> None:
    data = np.load(src)
    arrays = {}
    for key in keys:
        for suffix in ("", "__wstart", "__wend"):
            if key + suffix in data.files:
                arrays[key + suffix] = data[key + suffix]
    if "__meta__" in data.files:
        arrays["__meta__"] = data["__meta__"]
    np.savez_compressed(dst, **arrays)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--out", default=str(ROOT / "tests" / "data"))
    args = parser.parse_args(argv)
    shared, out = Path(args.shared), Path(args.out)

    kenlm = out / "kenlm"
    kenlm.mkdir(parents=True, exist_ok=True)
    for name in KENLM_FILES:
        shutil.copyfile(shared / "reference" / "kenlm" / name, kenlm / name)

    corpora = out / "corpora"
    corpora.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared / "corpora" / "en_train.txt.gz", corpora / "en_train.txt.gz")

    bench_src, bench = shared / "bench" / "decoder", out / "decoder_bench"
    bench.mkdir(parents=True, exist_ok=True)
    for name in ("units.txt", "vocab.txt"):
        shutil.copyfile(bench_src / name, bench / name)
    for refs_name, npz_name in (("refs_test.txt", "posteriors_test.npz"),
                                ("refs_test_sync.txt", "posteriors_test_sync.npz")):
        refs = read_refs(bench_src / refs_name)
        keys = sorted(refs)[:NUM_UTTS]
        (bench / refs_name).write_text(
            "".join(f"{k} {' '.join(refs[k])}\n" for k in keys), encoding="utf-8")
        slice_npz(bench_src / npz_name, bench / npz_name, keys)
    refs = read_refs(bench_src / "refs_test.txt")
    keep = {w for k in sorted(refs)[:GRAPH_UTTS] for w in refs[k]}
    keep.update((bench_src / "vocab.txt").read_text(encoding="utf-8").split()[:EXTRA_WORDS])
    keep.update(("<s>", "</s>", "<unk>"))
    filter_arpa(bench_src / "lm3.arpa.gz", bench / "lm3.arpa.gz", keep)
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(ROOT)}\t{path.stat().st_size}")


if __name__ == "__main__":
    main()
