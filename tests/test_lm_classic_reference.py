"""Every method against a direct, dict-based implementation of its formula (order 3, a real
corpus): seen and unseen n-grams, histories of every order, back-off weights found by summing
the lower order over the unseen words explicitly. It shares no code with lm/smoothing."""
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from lm.counts import count_sentences
from lm.smoothing import estimate

KENLM = Path(__file__).resolve().parent / "data" / "kenlm"
ORDER = 3


@pytest.fixture(scope="module")
def data():
    lines = (KENLM / "train.txt").read_text().splitlines()
    train = [line.split() for line in lines[:200]]
    heldout = [line.split() for line in lines[200:260]]
    counts = count_sentences(train, ORDER)
    return train, heldout, counts


class Reference:
    """p(w | h) by the textbook recursions over {n-gram tuple: count} dicts."""

    def __init__(self, counts, method, **options):
        self.method, self.options = method, options
        self.vocab = [w for w in counts.vocab if w != "<s>"]
        self.size = len(self.vocab)
        self.raw = [dict() for _ in range(ORDER + 1)]
        for k in range(1, ORDER + 1):
            self.raw[k] = {g: c for g, c in counts.as_dict(k).items() if g[-1] != "<s>"}
        self.count = self.raw
        if method.startswith("kn"):
            self.count = [dict() for _ in range(ORDER + 1)]
            self.count[ORDER] = dict(self.raw[ORDER])
            for k in range(1, ORDER):
                left = defaultdict(set)
                for g in self.raw[k + 1]:
                    left[g[1:]].add(g[0])
                self.count[k] = {g: (c if g[0] == "<s>" else len(left[g]))
                                 for g, c in self.raw[k].items()}
        self.total, self.types = defaultdict(float), defaultdict(int)
        self.followers = defaultdict(set)
        for k in range(1, ORDER + 1):
            for g, c in self.count[k].items():
                self.total[g[:-1]] += c
                self.types[g[:-1]] += 1
                self.followers[g[:-1]].add(g[-1])
        self.discount = options.get("discount")
        if method == "katz":
            self.gt = [None] + [self._good_turing(k) for k in range(1, ORDER + 1)]
        self.prob = lru_cache(maxsize=None)(self._prob)
        self.alpha = lru_cache(maxsize=None)(self._alpha)

    def _good_turing(self, k, cutoff=5):
        n = defaultdict(int)
        for c in self.count[k].values():
            n[c] += 1
        common = (cutoff + 1) * n[cutoff + 1] / n[1]
        ratios = {}
        for r in range(1, cutoff + 1):
            d = ((r + 1) * n[r + 1] / (r * n[r]) - common) / (1 - common) if n[r] else 1.0
            ratios[r] = d if 0 < d <= 1 else 1.0
        return ratios

    def _discounted(self, g):
        """The seen n-gram's own share (before any lower-order mass), or None if unseen."""
        c = self.count[len(g)].get(g, 0)
        if c == 0:
            return None
        h, m = g[:-1], self.method
        if m == "mle":
            return c / self.total[h]
        if m in ("laplace", "add-k"):
            k = self.options.get("k", 1.0)
            return (c + k) / (self.total[h] + k * self.size)
        if m == "katz":
            return self.gt[len(g)].get(c, 1.0) * c / self.total[h]
        return max(c - self.discount[len(g) - 1], 0) / self.total[h]

    def _prob(self, h, w):
        g = h + (w,)
        m = self.method
        if not h:
            if m in ("laplace", "add-k"):
                k = self.options.get("k", 1.0)
                return (self.count[1].get(g, 0) + k) / (self.total[()] + k * self.size)
            if m == "mle":
                return self.count[1].get(g, 0) / self.total[()]
            if m == "jelinek-mercer":
                lam = self.options["lambdas"][0]
                return lam * self.count[1].get(g, 0) / self.total[()] + (1 - lam) / self.size
            seen_part = self._discounted(g) or 0.0
            freed = 1.0 - sum(self._discounted((v,)) or 0.0 for v in self.followers[()])
            return seen_part + freed / self.size
        if self.total[h] == 0:
            return self.prob(h[1:], w)
        if m == "jelinek-mercer":
            lam = self.options["lambdas"][len(h)]
            ml = self.count[len(g)].get(g, 0) / self.total[h]
            return lam * ml + (1 - lam) * self.prob(h[1:], w)
        if m in ("absolute", "kn"):
            d = self.discount[len(h)]
            return ((self._discounted(g) or 0.0)
                    + d * self.types[h] / self.total[h] * self.prob(h[1:], w))
        own = self._discounted(g)
        if own is not None:
            return own
        return self.alpha(h) * self.prob(h[1:], w)

    def _alpha(self, h):
        seen = self.followers[h]
        left = 1.0 - sum(self._discounted(h + (v,)) for v in seen)
        unseen_lower = sum(self.prob(h[1:], v) for v in self.vocab if v not in seen)
        return left / unseen_lower if left > 1e-12 else 0.0


def _queries(train, rng, count=40):
    """(history, word) pairs: seen trigrams, seen histories with random words, odd histories."""
    words = sorted({w for s in train for w in s}) + ["</s>", "<unk>"]
    pairs = []
    for _ in range(count):
        s = ["<s>"] + train[rng.integers(len(train))] + ["</s>"]
        i = int(rng.integers(1, len(s)))
        history = tuple(s[max(0, i - 2):i])
        pairs.append((history, s[i]))
        pairs.append((history, words[rng.integers(len(words))]))
        pairs.append(((words[rng.integers(len(words))], s[i - 1]), s[i]))
    return pairs


CASES = [("mle", {}), ("laplace", {}), ("add-k", {"k": 0.05}), ("absolute", {}),
         ("absolute-backoff", {}), ("katz", {}), ("kn", {}), ("kn-backoff", {}),
         ("jelinek-mercer", {})]


@pytest.mark.parametrize("name,options", CASES)
def test_method_matches_its_formula(name, options, data):
    train, heldout, counts = data
    if name == "jelinek-mercer":
        options = {"heldout": heldout}
    model = estimate(name, counts, **options)
    info = getattr(model, "smoothing_info", {})
    ref_options = dict(options)
    ref_options.pop("heldout", None)
    if "discounts" in info:
        ref_options["discount"] = info["discounts"]
    if name == "jelinek-mercer":
        ref_options["lambdas"] = [l[0] for l in info["lambdas"]]
    method = {"kn-backoff": "kn-backoff", "absolute-backoff": "absolute-backoff"}.get(name, name)
    reference = Reference(counts, method, **ref_options)
    rng = np.random.default_rng(5)
    checked = 0
    for history, word in _queries(train, rng):
        if word not in model.word_id or any(w not in model.word_id for w in history):
            continue
        expected = reference.prob(history, word)
        got = 10.0 ** model.logprob(model.word_id[word], [model.word_id[w] for w in history])
        if expected == 0.0:
            assert got < 1e-90, (history, word)
        else:
            assert got == pytest.approx(expected, rel=3e-6), (history, word)
        checked += 1
    assert checked >= 100


@pytest.mark.parametrize("order,arpa", [(3, "o3.arpa.gz"), (5, "o5.arpa.gz")])
def test_kn_machinery_with_three_discounts_reproduces_lmplz(order, arpa):
    """`kn` is modified KN with one discount instead of three. Feeding lmplz's three discounts
    per order (D_i = i - (i+1) Y t_(i+1) / t_i, Y = t1 / (t1 + 2 t2), over adjusted counts)
    through the same adjusted counts and interpolated fold must give lmplz's own ARPA."""
    from lm.arpa import read_arpa
    from lm.smoothing.backoff_form import BackoffBuilder, CountLayout
    from lm.smoothing.kneser_ney import adjusted_counts
    lines = (KENLM / "train.txt").read_text().splitlines()
    layout = CountLayout(count_sentences([line.split() for line in lines], order))
    adjusted = adjusted_counts(layout)
    builder = BackoffBuilder(layout)
    for k in range(1, order + 1):
        c = adjusted[k - 1]
        t = layout.count_of_counts(k, c, 4)
        y = t[1] / (t[1] + 2 * t[2])
        table = np.array([0.0] + [i - (i + 1) * y * t[i + 1] / t[i] for i in (1, 2, 3)])
        d = np.where(c > 0, table[np.minimum(np.rint(c).astype(int), 3)], 0.0)
        if k == 1:
            builder.uniform_unigrams((c - d) / c.sum(), d.sum() / c.sum())
            continue
        totals = layout.per_history(k, c)
        safe = np.where(totals > 0, totals, 1.0)
        builder.add_interpolated(k, (c - d) / safe[layout.history_rows(k)],
                                 layout.per_history(k, d) / safe)
    ours, theirs = builder.model(), read_arpa(str(KENLM / arpa))
    for k in range(1, order + 1):
        mine = {tuple(ours.vocab[i] for i in row): (p, b) for row, p, b in zip(
            ours.orders[k - 1].ids.tolist(), ours.orders[k - 1].logprob,
            ours.orders[k - 1].backoff)}
        ref = {tuple(theirs.vocab[i] for i in row): (p, b) for row, p, b in zip(
            theirs.orders[k - 1].ids.tolist(), theirs.orders[k - 1].logprob,
            theirs.orders[k - 1].backoff)}
        assert mine.keys() == ref.keys()
        worst_p = max(abs(mine[g][0] - ref[g][0]) for g in ref if g != ("<s>",))
        worst_b = max(abs(mine[g][1] - ref[g][1]) for g in ref)
        assert worst_p <= 2e-6 and worst_b <= 2e-6, (k, worst_p, worst_b)
