"""Maximum likelihood (no smoothing), the teaching baseline: p(w | h) = c(h w) / c(h).

c(h) is the number of times h is followed by a predicted word (sum of c(h w) over w). An unseen
word after a seen history gets probability 0 (back-off weight 0, written -99 like ARPA's log 0);
an unseen history backs off with weight 1 to the shorter one, so the model is the MLE of the
longest history seen in training.

Padding: KenLM pads each sentence with ONE `<s>` (`bos_padding="single"`, the default, what the
counts hold). The chapter pads a trigram model's sentences with two (n-1 in general):
`bos_padding="full"` adds the n-grams that start with several `<s>` (`<s> <s> yes`), derived
exactly from the single-padded counts: `<s>`^j x1..xm occurs as often as `<s> x1..xm`, and
`<s>`^k as often as there are sentences. Score such a model with the history [`<s>`] * (n-1).
"""
from __future__ import annotations

import numpy as np

from lm.counts import CountTable, NgramCounts
from common.errors import InputError
from lm.model import NgramModel
from lm.smoothing.backoff_form import BackoffBuilder, CountLayout


def estimate(counts: NgramCounts, *, bos_padding: str = "single") -> NgramModel:
    if bos_padding == "full":
        counts = pad_fully(counts)
    elif bos_padding != "single":
        raise InputError(f"bos_padding must be 'single' (KenLM) or 'full' (the chapter's n-1 "
                         f"<s>), got {bos_padding!r}")
    layout = CountLayout(counts)
    builder = BackoffBuilder(layout)
    builder.set_unigrams(layout.counts[0] / layout.counts[0].sum())
    for k in range(2, layout.order + 1):
        c = layout.counts[k - 1]
        totals = layout.per_history(k, c)
        builder.add_backoff(k, c / totals[layout.history_rows(k)].clip(min=1e-300))
    return builder.model()


def pad_fully(counts: NgramCounts) -> NgramCounts:
    """The counts the chapter's padding (n-1 `<s>` per sentence) gives, from KenLM's (one)."""
    bos = counts.word_id.get("<s>")
    if bos is None:
        raise InputError("bos_padding='full' needs <s> in the vocabulary")
    order = counts.order
    unigrams = counts.orders[0]
    n_sentences = int(unigrams.counts[unigrams.ids[:, 0] == bos].sum())
    tables = [counts.orders[0]]
    for k in range(2, order + 1):
        ids = [counts.orders[k - 1].ids]
        freq = [counts.orders[k - 1].counts]
        for j in range(2, min(k, order - 1) + 1):  # j leading <s> (at most n-1 of them)
            if j == k:
                ids.append(np.full((1, k), bos, dtype=np.int32))
                freq.append(np.array([n_sentences], dtype=np.int64))
                continue
            source = counts.orders[k - j]  # the (k-j+1)-grams that start with one <s>
            starts = source.ids[:, 0] == bos
            pad = np.full((int(starts.sum()), j - 1), bos, dtype=np.int32)
            ids.append(np.hstack([pad, source.ids[starts]]))
            freq.append(source.counts[starts])
        all_ids = np.vstack(ids).astype(np.int32)
        all_counts = np.concatenate(freq).astype(np.int64)
        order_rows = np.lexsort(all_ids.T[::-1])
        tables.append(CountTable(all_ids[order_rows], all_counts[order_rows]))
    return NgramCounts(list(counts.vocab), tables, dict(counts.word_id))
