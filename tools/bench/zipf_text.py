#!/usr/bin/env python3
"""Random Zipfian text for estimation benchmarks: i.i.d. words drawn with P(rank r) ∝ r^-s from a
vocabulary of `--vocab` words (w0, w1, ...), sentences of uniform random length, seeded. Order-5
counts of such text are nearly all distinct past the bigrams (12M tokens: ~35M n-grams), the
worst case for an in-memory estimator.

    python tools/bench/zipf_text.py --tokens 12000000 -o /tmp/zipf12m.txt
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokens", type=int, default=12_000_000)
    p.add_argument("--vocab", type=int, default=100_000)
    p.add_argument("--exponent", type=float, default=1.0)
    p.add_argument("--min-length", type=int, default=5)
    p.add_argument("--max-length", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    weights = np.arange(1, args.vocab + 1, dtype=np.float64) ** -args.exponent
    cdf = np.cumsum(weights / weights.sum())
    words = np.array([f"w{i}" for i in range(args.vocab)], dtype=object)
    written = 0
    with open(args.output, "w", encoding="ascii") as out:
        while written < args.tokens:
            n = min(1_000_000, args.tokens - written)
            ids = np.minimum(np.searchsorted(cdf, rng.random(n)), args.vocab - 1)
            lengths = rng.integers(args.min_length, args.max_length + 1, size=n // args.min_length + 1)
            ends = np.cumsum(lengths)
            ends = ends[ends < n].tolist() + [n]
            start = 0
            lines = []
            for end in ends:
                lines.append(" ".join(words[ids[start:end]]))
                start = end
            out.write("\n".join(lines) + "\n")
            written += n
    print(f"wrote {args.output}: {written} tokens", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
