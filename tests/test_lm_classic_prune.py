"""Relative-entropy pruning against a brute-force computation over the whole vocabulary."""
from pathlib import Path

import numpy as np
import pytest

from lm.arpa import read_arpa
from lm.counts import count_sentences
from common.errors import InputError
from lm.model import NgramModel, NgramTable
from lm.prune import prune_relative_entropy, relative_entropy_costs
from lm.smoothing import estimate

KENLM = Path(__file__).resolve().parent / "data" / "kenlm"


@pytest.fixture(scope="module")
def model():
    """A KN trigram model held in float64 with back-off weights renormalised in float64, so
    that every history sums to 1 to ~1e-15 and the brute force is exact (with float32 values
    a history sums to 1 only within ~1e-7, which moves small relative entropies by ~1e-4)."""
    lines = (KENLM / "train.txt").read_text().splitlines()[:60]
    model = estimate("kn", count_sentences([line.split() for line in lines], 3))
    for table in model.orders:
        table.logprob = table.logprob.astype(np.float64)
        table.backoff = table.backoff.astype(np.float64)
    unigrams = model.orders[0]
    predicted = unigrams.ids[:, 0] != model.word_id["<s>"]
    unigrams.logprob[predicted] -= np.log10((10.0 ** unigrams.logprob[predicted]).sum())
    for k in range(2, model.order + 1):
        seen, lower = {}, {}
        for row, lp in zip(model.orders[k - 1].ids.tolist(), model.orders[k - 1].logprob):
            history = tuple(row[:-1])
            seen[history] = seen.get(history, 0.0) + 10.0 ** lp
            lower[history] = lower.get(history, 0.0) + 10.0 ** model.logprob(row[-1], row[1:-1])
        rows = {tuple(r): i for i, r in enumerate(model.orders[k - 2].ids.tolist())}
        for history in seen:
            model.orders[k - 2].backoff[rows[history]] = np.log10(
                (1.0 - seen[history]) / (1.0 - lower[history]))
    return model


def _without(model, k, row):
    """The model without one n-gram (back-off weights untouched)."""
    tables = list(model.orders)
    t = tables[k - 1]
    keep = np.arange(len(t)) != row
    tables[k - 1] = NgramTable(t.ids[keep], t.logprob[keep], t.backoff[keep])
    return NgramModel(list(model.vocab), tables, dict(model.word_id))


def brute_force_cost(model, k, row):
    """p(h) * KL(p(.|h) || p'(.|h)) in nats, every word of the vocabulary summed explicitly."""
    ids = model.orders[k - 1].ids[row].tolist()
    history, word = ids[:-1], ids[-1]
    before = np.power(10.0, model.distribution(history))
    # after: the n-gram is gone; the words seen after h keep their stored probabilities and
    # every other word gets a' p(v | h'), a' fixed by normalisation over the vocabulary
    seen = {tuple(r[:-1]): [] for r in model.orders[k - 1].ids.tolist()}
    for r, lp in zip(model.orders[k - 1].ids.tolist(), model.orders[k - 1].logprob.tolist()):
        if tuple(r[:-1]) == tuple(history) and r[-1] != word:
            seen[tuple(history)].append((r[-1], 10.0 ** lp))
    lower = np.power(10.0, model.distribution(history[1:]))
    after = lower.copy()
    kept = np.zeros(len(model.vocab), dtype=bool)
    for v, prob in seen[tuple(history)]:
        after[v], kept[v] = prob, True
    backs_off = ~kept & np.isfinite(model.distribution(history))
    alpha = (1.0 - after[kept].sum()) / lower[backs_off].sum()
    after[backs_off] *= alpha
    mask = before > 0
    kl = float((before[mask] * np.log(before[mask] / after[mask])).sum())
    # p(h) by the chain rule; a leading <s> weighs as much as </s> (SRILM's convention)
    bos = model.word_id["<s>"]
    log10_history = 0.0
    for i, v in enumerate(history):
        if i == 0 and v == bos:
            v = model.word_id["</s>"]
        log10_history += model.logprob(v, history[:i])
    return 10.0 ** log10_history * kl


def test_costs_equal_brute_force_relative_entropy(model):
    costs = relative_entropy_costs(model)
    rng = np.random.default_rng(0)
    checked = 0
    for k in (2, 3):
        ids = model.orders[k - 1].ids
        after_bos = np.flatnonzero(ids[:, 0] == model.word_id["<s>"])[:5]
        rows = np.concatenate([rng.choice(len(ids), size=25, replace=False), after_bos])
        for row in rows:
            expected = brute_force_cost(model, k, int(row))
            assert costs[k - 1][row] == pytest.approx(expected, rel=1e-9, abs=1e-18)
            checked += 1
    assert checked == 60


def test_pruning_removes_exactly_the_cheap_ngrams_and_keeps_prefixes(model):
    costs = relative_entropy_costs(model)
    threshold = float(np.median(np.expm1(costs[2])))
    pruned = prune_relative_entropy(model, threshold)
    kept3 = {tuple(r) for r in pruned.orders[2].ids.tolist()}
    expected3 = {tuple(r) for r, c in zip(model.orders[2].ids.tolist(), costs[2])
                 if not np.expm1(c) < threshold}
    assert kept3 == expected3 and 0 < len(kept3) < len(model.orders[2])
    kept2 = {tuple(r) for r in pruned.orders[1].ids.tolist()}
    prefixes = {r[:2] for r in kept3}
    expected2 = {tuple(r) for r, c in zip(model.orders[1].ids.tolist(), costs[1])
                 if not np.expm1(c) < threshold or tuple(r) in prefixes}
    assert kept2 == expected2
    assert prefixes <= kept2  # still a valid back-off model
    assert len(pruned.orders[0]) == len(model.orders[0])  # unigrams are never pruned
    # kept n-grams keep their probabilities
    old = {tuple(r): lp for r, lp in zip(model.orders[2].ids.tolist(),
                                           model.orders[2].logprob.tolist())}
    for r, lp in zip(pruned.orders[2].ids.tolist(), pruned.orders[2].logprob.tolist()):
        assert lp == old[tuple(r)]


def test_pruned_model_is_normalised(model):
    pruned = prune_relative_entropy(model, 1e-4)
    assert sum(pruned.counts()) < sum(model.counts())
    rng = np.random.default_rng(1)
    histories = [[]]
    for k in (1, 2):
        ids = pruned.orders[k - 1].ids
        for row in rng.choice(len(ids), size=30, replace=False):
            if ids[row, -1] != pruned.word_id["</s>"]:
                histories.append(ids[row].tolist())
    for history in histories:
        total = np.power(10.0, pruned.distribution(history)).sum()
        assert abs(total - 1.0) < 1e-6, (history, total)


def test_threshold_zero_prunes_nothing(model):
    pruned = prune_relative_entropy(model, 0.0)
    for a, b in zip(model.orders, pruned.orders):
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.logprob, b.logprob)
        np.testing.assert_array_equal(a.backoff, b.backoff)


def test_higher_threshold_prunes_more_on_an_lmplz_model():
    lmplz = read_arpa(str(KENLM / "o3.arpa.gz"))
    sizes = [sum(prune_relative_entropy(lmplz, t).counts()) for t in (1e-8, 1e-7, 1e-6)]
    assert sum(lmplz.counts()) > sizes[0] > sizes[1] > sizes[2]


def test_bad_threshold_is_a_clear_error(model):
    with pytest.raises(InputError, match="threshold"):
        prune_relative_entropy(model, -1)
    with pytest.raises(InputError, match="threshold"):
        prune_relative_entropy(model, "lots")


def test_kenlm_reads_the_pruned_model_and_scores_alike(model, tmp_path):
    import kenlm
    from lm.arpa import write_arpa
    pruned = prune_relative_entropy(model, 1e-4)
    path = tmp_path / "pruned.arpa"
    write_arpa(pruned, str(path))
    reference = kenlm.Model(str(path))
    unk, bos = pruned.word_id["<unk>"], pruned.word_id["<s>"]
    lines = (KENLM / "train.txt").read_text().splitlines()[:60]
    for sentence in [line.split() for line in lines[:20]]:
        ids = [pruned.word_id.get(w, unk) for w in sentence] + [pruned.word_id["</s>"]]
        history = [bos]
        theirs = [score for score, _, _ in reference.full_scores(" ".join(sentence))]
        for wid, expected in zip(ids, theirs):
            assert pruned.logprob(wid, history[-2:]) == pytest.approx(expected, abs=2e-5)
            history.append(wid)
