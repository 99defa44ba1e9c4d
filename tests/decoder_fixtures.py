"""Shared setup of the decoder tests: small graphs compiled with `tingxie graph compile` from
the bench LM (the vocabulary cut to the words of the first utterances plus frequent words,
so a graph compiles in seconds), and the bench posteriors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asr.cli import main as tingxie

BENCH = Path(__file__).resolve().parent / "data" / "decoder_bench"
NUM_UTTS = 20
EXTRA_WORDS = 1500



# A three-word bigram (a, aa, b) for tiny hand-made graphs.
TINY_ARPA = """\\data\\
ngram 1=5
ngram 2=2

\\1-grams:
-1.0\t<s>\t-0.3
-0.7\t</s>
-0.6\ta\t-0.2
-1.2\taa\t-0.2
-0.9\tb\t-0.2

\\2-grams:
-0.3\t<s> a
-0.4\ta </s>

\\end\\
"""


def frames(*columns, v=4, p=0.98):
    """Log-posteriors with the given best column per frame."""
    x = np.full((len(columns), v), np.log((1 - p) / (v - 1)), dtype=np.float32)
    x[np.arange(len(columns)), columns] = np.log(p)
    return x


def read_refs(path):
    refs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if fields:
                refs[fields[0]] = fields[1:]
    return refs


def small_word_list(out_path, num_utts=NUM_UTTS, extra=EXTRA_WORDS):
    words = set()
    refs = read_refs(BENCH / "refs_test.txt")
    for key in sorted(refs)[:num_utts]:
        words.update(refs[key])
    with open(BENCH / "vocab.txt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= extra:
                break
            words.add(line.strip())
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(sorted(words)) + "\n")
    return out_path


def compile_graph(out_dir, topology, words_path, const=False, lm=None):
    argv = ["graph", "compile", "--tokens", str(BENCH / "units.txt"),
            "--lm", lm or str(BENCH / "lm3.arpa.gz"), "--words", str(words_path),
            "--spelling", "chars", "--word-boundary", "|", "--topology", topology,
            "-o", str(out_dir)]
    if const:
        argv.append("--const")
    assert tingxie(argv) == 0
    return str(out_dir)


def load_posteriors(name="posteriors_test.npz", num_utts=NUM_UTTS):
    d = np.load(BENCH / name)
    keys = sorted(k for k in d.files if "__" not in k)[:num_utts]
    return {k: (d[k], d[k + "__wstart"], d[k + "__wend"]) for k in keys}


@pytest.fixture(scope="session")
def graphs(tmp_path_factory):
    """{'ctc', 'compact', 'sync', 'ctc_const'} -> small graph directories."""
    root = tmp_path_factory.mktemp("decoder_graphs")
    words = small_word_list(root / "words.txt")
    return {
        "ctc": compile_graph(root / "ctc", "ctc", words),
        "ctc_const": compile_graph(root / "ctc_const", "ctc", words, const=True),
        "compact": compile_graph(root / "compact", "compact", words),
        "sync": compile_graph(root / "sync", "sync", words),
    }
