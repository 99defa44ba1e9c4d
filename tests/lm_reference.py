"""Shared helpers of the LM tests: where KenLM's reference outputs live, and comparisons."""
from pathlib import Path

import pytest

KENLM = Path(__file__).resolve().parent / "data" / "kenlm"  # tools/make_test_data.py


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


def assert_same_model(ours, ref, tolerance=2e-6):
    """Same n-gram set (by word strings) and |Δ log10 p|, |Δ log10 backoff| <= tolerance."""
    import numpy as np
    assert ours.order == ref.order
    assert sorted(ours.vocab) == sorted(ref.vocab)
    to_ref = np.array([ref.word_id[w] for w in ours.vocab], dtype=np.int64)
    for k, (a, b) in enumerate(zip(ours.orders, ref.orders), 1):
        assert len(a) == len(b), f"order {k}: {len(a)} vs {len(b)} n-grams"
        a_ids = to_ref[a.ids]
        b_ids = b.ids.astype(np.int64)
        a_order = np.lexsort(a_ids.T[::-1])
        b_order = np.lexsort(b_ids.T[::-1])
        assert np.array_equal(a_ids[a_order], b_ids[b_order]), f"order {k}: n-gram sets differ"
        assert np.max(np.abs(a.logprob[a_order] - b.logprob[b_order]), initial=0) <= tolerance
        assert np.max(np.abs(a.backoff[a_order] - b.backoff[b_order]), initial=0) <= tolerance
