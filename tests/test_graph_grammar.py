"""G built from ARPA arrays scores every sentence exactly as the ARPA model does (KenLM as the
reference), at every order, pruned or not, and with out-of-lexicon words removed; and it
agrees with Kaldi's arpa2fst (kaldilm) on every path cost."""
import math
import os
import shutil

import numpy as np
import pytest

from graph import fstio
from graph.grammar import build_grammar
from tests.graph_reference import BackoffWalker, best_cost
from lm.arpa import read_arpa

import kenlm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KENLM_DIR = os.path.join(ROOT, "tests", "data", "kenlm")
LN10 = math.log(10.0)
MODELS = ["o3.arpa.gz", "o5.arpa.gz", "o3_prune011.arpa", "o3_nointerpuni.arpa.gz",
          "tiny_o4_fallback.arpa"]


def random_sentences(model, words, n, seed):
    """Half uniform over `words`, half following the model's n-grams (to reach high orders)."""
    rng = np.random.default_rng(seed)
    ids = np.array([model.word_id[w] for w in words])
    top = model.orders[-1].ids
    sentences = []
    for i in range(n):
        if i % 2:
            sentences.append([model.vocab[w] for w in rng.choice(ids, int(rng.integers(1, 10)))])
        else:
            rows = top[rng.integers(len(top), size=int(rng.integers(1, 4)))]
            sentence = [model.vocab[w] for row in rows for w in row]
            sentences.append([w for w in sentence if w in set(words)] or [words[0]])
    return sentences


def grammar(model, keep=None):
    """G with label = LM id + 1 (or -1 for a word outside `keep`), #0 after the vocabulary."""
    labels = np.arange(1, len(model.vocab) + 1, dtype=np.int32)
    if keep is not None:
        labels[[w not in keep
                for w in model.vocab]] = -1
    arrays, report = build_grammar(model, labels, len(model.vocab) + 1)
    return fstio.arrays_to_fst(arrays), report


@pytest.mark.parametrize("name", MODELS)
def test_g_walk_equals_kenlm(name):
    path = os.path.join(KENLM_DIR, name)
    model = read_arpa(path)
    reference = kenlm.Model(path)
    g, report = grammar(model)
    assert report.kept == model.counts()
    walker = BackoffWalker(g, len(model.vocab) + 1)
    words = [w for w in model.vocab if w not in ("<s>", "</s>")]
    worst = 0.0
    for sentence in random_sentences(model, words, 200, seed=len(name)):
        expected = -reference.score(" ".join(sentence), bos=True, eos=True) * LN10
        got = walker.cost([model.word_id[w] + 1 for w in sentence])
        worst = max(worst, abs(got - expected))
    assert worst < 1e-4


def test_g_without_out_of_lexicon_words():
    """Removing every n-gram that holds a dropped word leaves the scores of the other sentences
    unchanged, and sentences with a dropped word are rejected."""
    path = os.path.join(KENLM_DIR, "o3.arpa.gz")
    model = read_arpa(path)
    reference = kenlm.Model(path)
    rng = np.random.default_rng(7)
    words = [w for w in model.vocab if w not in ("<s>", "</s>", "<unk>")]
    keep = set(rng.choice(words, 3000, replace=False)) | {"<s>", "</s>"}
    g, report = grammar(model, keep)
    assert report.dropped_out_of_lexicon[0] == len(model.vocab) - len(keep)
    for k, table in enumerate(model.orders):
        inside = np.isin(table.ids, [model.word_id[w] for w in keep]).all(axis=1)
        assert report.kept[k] == int(inside.sum())
        assert report.dropped_out_of_lexicon[k] == int((~inside).sum())
    walker = BackoffWalker(g, len(model.vocab) + 1)
    kept_words = sorted(keep - {"<s>", "</s>"})
    for sentence in random_sentences(model, kept_words, 200, seed=8):
        expected = -reference.score(" ".join(sentence), bos=True, eos=True) * LN10
        labels = [model.word_id[w] + 1 for w in sentence]
        assert abs(walker.cost(labels) - expected) < 1e-4
    dropped = next(w for w in words if w not in keep)
    assert best_cost(g, outputs=[model.word_id[dropped] + 1]) == math.inf


def test_g_structure():
    """Start = <s>'s history, #0:eps back-off arcs, </s> only as final weights, arcs sorted."""
    import pywrapfst as fst
    model = read_arpa(os.path.join(KENLM_DIR, "tiny_o4_fallback.arpa"))
    g, _ = grammar(model)
    backoff = len(model.vocab) + 1
    eos = model.word_id["</s>"] + 1
    bos = model.word_id["<s>"] + 1
    assert g.properties(fst.I_LABEL_SORTED, True) == fst.I_LABEL_SORTED
    labels = [(a.ilabel, a.olabel) for s in g.states() for a in g.arcs(s)]
    assert all(o == 0 for i, o in labels if i == backoff)
    assert all(i == o for i, o in labels if i != backoff)
    assert not any(i in (eos, bos, 0) for i, _ in labels)
    start_arcs = {a.ilabel for a in g.arcs(g.start())}
    bigrams_after_bos = {int(r[1]) + 1 for r in model.orders[1].ids
                         if r[0] == model.word_id["<s>"] and r[1] != model.word_id["</s>"]}
    assert bigrams_after_bos | {backoff} == start_arcs


@pytest.mark.parametrize("name", ["o3_prune011.arpa", "tiny_o4_fallback.arpa"])
def test_g_matches_kaldi_arpa2fst(tmp_path, name):
    """Every sentence's best path (back-off routes included) costs the same in our G and in
    Kaldi's arpa2fst G; ours has no more states (Kaldi keeps some back-off-only states)."""
    import kaldilm
    import pywrapfst as fst
    path = os.path.join(KENLM_DIR, name)
    model = read_arpa(path)
    table = tmp_path / "words.txt"
    table.write_text("<eps> 0\n" + "".join(f"{w} {i + 1}\n" for i, w in enumerate(model.vocab))
                     + f"#0 {len(model.vocab) + 1}\n", encoding="utf-8")
    plain = tmp_path / "lm.arpa"
    shutil.copy(path, plain)
    kaldilm.arpa2fst(str(plain), str(tmp_path / "G.fst"), disambig_symbol="#0",
                     read_symbol_table=str(table), max_arpa_warnings=0)
    theirs = fst.Fst.read(str(tmp_path / "G.fst"))
    ours, _ = grammar(model)
    assert fstio.count(ours)["states"] <= fstio.count(theirs)["states"]
    words = [w for w in model.vocab if w not in ("<s>", "</s>")]
    for sentence in random_sentences(model, words, 100, seed=9):
        labels = [model.word_id[w] + 1 for w in sentence]
        assert abs(best_cost(ours, outputs=labels) - best_cost(theirs, outputs=labels)) < 1e-4


@pytest.mark.parametrize("order", [1, 2, 4])
def test_g_from_lm_trained_models(tmp_path, order):
    """Models trained by lm/ at orders 1 (a single-state G), 2 and 4 score like lm/ says."""
    import lm.estimate as estimate
    sentences = [line.split() for line in open(os.path.join(KENLM_DIR, "tiny.txt"),
                                               encoding="utf-8")]
    model = estimate.train(sentences, order, discount_fallback=True)
    g, report = grammar(model)
    assert report.kept == model.counts()
    if order == 1:
        assert fstio.count(g)["states"] == 1
    walker = BackoffWalker(g, len(model.vocab) + 1)
    words = [w for w in model.vocab if w not in ("<s>", "</s>")]
    for sentence in random_sentences(model, words, 100, seed=order):
        expected = -model.score_sentence(sentence) * LN10
        got = walker.cost([model.word_id[w] + 1 for w in sentence])
        assert abs(got - expected) < 1e-4
