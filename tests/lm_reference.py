"""Shared helpers of the LM tests: where KenLM's reference outputs live, and comparisons."""
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
KENLM = SHARED / "reference" / "kenlm"
needs_shared = pytest.mark.skipif(not KENLM.exists(), reason="../shared not present")


def as_dict(model):
    """{words tuple: (log10 p, log10 backoff)} of every n-gram of a model."""
    out = {}
    for table in model.orders:
        for row, lp, bo in zip(table.ids.tolist(), table.logprob.tolist(), table.backoff.tolist()):
            out[tuple(model.vocab[i] for i in row)] = (lp, bo)
    return out


def query_summaries():
    """{model name: {field: value}} from perplexity_query.txt (KenLM `query -v summary`)."""
    result, current = {}, None
    for line in (KENLM / "perplexity_query.txt").read_text().splitlines():
        if line.startswith("== "):
            current = result.setdefault(line[3:].strip(), {})
        elif "\t" in line and current is not None:
            key, value = line.split("\t")
            current[key.rstrip(":")] = float(value)
    return result
