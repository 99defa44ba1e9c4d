"""Modified Kneser-Ney must reproduce KenLM lmplz's ARPA files (tests/data/kenlm, copied from the reference outputs)."""
import gzip

import numpy as np
import pytest

from lm.arpa import read_arpa, write_arpa
from common.errors import InputError
from lm.estimate import train
from lm.perplexity import perplexity
from tests.lm_reference import KENLM, assert_same_model, query_summaries

CASES = {
    # reference file: (corpus, order, options)
    "o3.arpa.gz": ("train.txt", 3, {}),
    "o5.arpa.gz": ("train.txt", 5, {}),
    "o3_prune011.arpa": ("train.txt", 3, {"prune": [0, 1, 1]}),
    "o3_nointerpuni.arpa.gz": ("train.txt", 3, {"interpolate_unigrams": False}),
    "tiny_o4_fallback.arpa": ("tiny.txt", 4, {"discount_fallback": True}),
}


@pytest.fixture(scope="module")
def estimated():
    cache = {}

    def get(name):
        if name not in cache:
            corpus, order, options = CASES[name]
            cache[name] = train(str(KENLM / corpus), order, **options)
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_lmplz(estimated, name):
    assert_same_model(estimated(name), read_arpa(str(KENLM / name)), tolerance=2e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_arpa_text_is_byte_identical(estimated, tmp_path, name):
    out = tmp_path / "ours.arpa"
    write_arpa(estimated(name), str(out))
    opener = gzip.open if name.endswith(".gz") else open
    with opener(KENLM / name, "rb") as handle:
        assert out.read_bytes() == handle.read()


@pytest.mark.parametrize("name", ["o3.arpa.gz", "o5.arpa.gz", "o3_prune011.arpa",
                                  "o3_nointerpuni.arpa.gz"])
def test_perplexity_of_our_model_equals_query(estimated, name):
    expected = query_summaries()[name.split(".")[0]]
    result = perplexity(estimated(name), str(KENLM / "test.txt"))
    assert result.including_oovs == pytest.approx(expected["Perplexity including OOVs"], rel=1e-5)
    assert result.excluding_oovs == pytest.approx(expected["Perplexity excluding OOVs"], rel=1e-5)
    assert result.oovs == expected["OOVs"]
    assert result.tokens == expected["Tokens"]


def test_discounts_are_kept_and_fallback_is_explained(estimated):
    model = estimated("o3.arpa.gz")
    assert len(model.discounts) == 3
    for d1, d2, d3 in model.discounts:
        assert 0 < d1 < d2 < d3 < 3
    with pytest.raises(InputError, match="--discount-fallback"):
        train(str(KENLM / "tiny.txt"), 4)


def test_explicit_fallback_values_are_used():
    # Order 4 on tiny.txt cannot compute its discounts; the given ones must be used there.
    model = train(str(KENLM / "tiny.txt"), 4, discount_fallback=[0.25, 0.75, 1.25])
    assert model.discounts[3] == pytest.approx((0.25, 0.75, 1.25))
    default = train(str(KENLM / "tiny.txt"), 4, discount_fallback=True)
    assert default.discounts[3] == pytest.approx((0.5, 1.0, 1.5))
    assert not np.allclose(model.orders[3].logprob, default.orders[3].logprob)


SMALL = ["a b c a b", "b c a", "a b a b c c", "c a b", "a a b", "b b c a"]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("interpolate_unigrams", [True, False])
def test_distributions_sum_to_one(order, interpolate_unigrams):
    model = train([s.split() for s in SMALL], order, discount_fallback=True,
                  interpolate_unigrams=interpolate_unigrams)
    vocab_ids = range(len(model.vocab))
    contexts = {()}
    for table in model.orders[:-1]:
        contexts.update(tuple(row) for row in table.ids.tolist())
    for context in contexts:
        dist = model.distribution(list(context))
        assert np.sum(10.0 ** dist) == pytest.approx(1.0, abs=1e-6), context
        # distribution() and logprob() agree
        for w in vocab_ids:
            if np.isfinite(dist[w]):
                assert model.logprob(w, list(context)) == pytest.approx(dist[w], abs=1e-9)


def test_pruned_model_still_normalised():
    sentences = [s.split() for s in SMALL * 3 + ["a c b", "c c a b b"]]
    model = train(sentences, 3, prune=[0, 1, 2], discount_fallback=True)
    for table in model.orders[:-1]:
        for row in table.ids.tolist():
            assert np.sum(10.0 ** model.distribution(row)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("prune, message", [
    ([1, 1, 1], "unigrams"),
    ([0, 2, 1], "non-decreasing"),
    ([0, 1, 1, 1], "thresholds"),
])
def test_bad_prune_thresholds(prune, message):
    with pytest.raises(InputError, match=message):
        train([s.split() for s in SMALL], 3, prune=prune, discount_fallback=True)


@pytest.mark.parametrize("interpolate_unigrams", [True, False])
def test_closed_vocabulary_all_seen_stays_normalised(interpolate_unigrams):
    model = train([s.split() for s in SMALL], 3, vocab=["a", "b"], discount_fallback=True,
                  interpolate_unigrams=interpolate_unigrams)
    for context in [[]] + [row for t in model.orders[:-1] for row in t.ids.tolist()]:
        assert np.sum(10.0 ** model.distribution(context)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("interpolate_unigrams", [True, False])
def test_closed_vocabulary_maps_to_unk_and_stays_normalised(interpolate_unigrams):
    model = train([s.split() for s in SMALL] + [["z", "a"]], 3, vocab=["a", "b", "y"],
                  discount_fallback=True, interpolate_unigrams=interpolate_unigrams)
    assert np.all(np.isfinite(model.orders[0].logprob))
    assert "z" not in model.word_id and "c" not in model.word_id
    assert "y" in model.word_id  # in the vocabulary, never seen: a zeroton
    for table in model.orders[:-1]:
        for row in table.ids.tolist():
            assert np.sum(10.0 ** model.distribution(row)) == pytest.approx(1.0, abs=1e-6)


def test_chars_mode_splits_characters():
    model = train([["北京", "欢迎", "你"], ["欢迎", "北京"]], 2, chars=True,
                  discount_fallback=True)
    assert {"北", "京", "欢", "迎", "你"} <= set(model.vocab)
    assert "北京" not in model.word_id


def _estimate_arpa_natively(name, memory_bytes, temp_dir, write):
    """The bounded-memory pipeline through the native counter, which (unlike `-S`) accepts
    budgets below 1M: at 64K every order's stream spills hundreds of runs, so the merging of
    runs into one (at 64 runs) is exercised too."""
    from lm import _native
    from lm.counting import Corpus
    corpus_name, order, options = CASES[name]
    counter = _native.Counter(order, chars=False, skip_symbols=False, vocab=None,
                              memory_bytes=memory_bytes, temp_dir=str(temp_dir), verbose=False)
    Corpus.from_source(str(KENLM / corpus_name)).feed(counter)
    fallback = [0.5, 1.0, 1.5] if options.get("discount_fallback") else None
    return counter.kneser_ney_arpa(options.get("prune", []), fallback,
                                   options.get("interpolate_unigrams", True), write)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("memory_bytes", [64 << 10, 1 << 20, 1 << 30])
def test_bounded_memory_estimation_writes_lmplz_bytes_whatever_the_budget(name, memory_bytes,
                                                                          tmp_path):
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    chunks = []
    result = _estimate_arpa_natively(name, memory_bytes, temp_dir, chunks.append)
    opener = gzip.open if name.endswith(".gz") else open
    with opener(KENLM / name, "rb") as handle:
        assert b"".join(chunks) == handle.read()
    large_corpus = CASES[name][0] == "train.txt"
    if memory_bytes < (1 << 30) and large_corpus:
        assert result["estimation_spilled_runs"] > 0
    if memory_bytes == 1 << 30:
        assert result["estimation_spilled_runs"] == 0
    assert list(temp_dir.iterdir()) == []  # every run file is gone


def test_bounded_memory_estimation_cleans_up_when_the_writer_fails(tmp_path):
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    written = []

    def write(chunk):
        written.append(chunk)
        if len(written) == 2:
            raise OSError(28, "No space left on device")
    with pytest.raises(OSError, match="No space left"):
        _estimate_arpa_natively("o5.arpa.gz", 1 << 20, temp_dir, write)
    assert list(temp_dir.iterdir()) == []


def test_estimate_to_arpa_reports_counts_and_leaves_no_partial_file(tmp_path):
    from lm.counting import Corpus
    from lm.mkn import estimate_to_arpa
    out = tmp_path / "o3.arpa.gz"
    written = estimate_to_arpa(Corpus.from_source(str(KENLM / "train.txt")), 3, out,
                               memory="1M")
    model = read_arpa(str(KENLM / "o3.arpa.gz"))
    assert written.counts == model.counts()
    assert written.estimation_spilled_runs > 0 and written.counting_spilled_runs > 0
    assert gzip.decompress(out.read_bytes()) == gzip.decompress((KENLM / "o3.arpa.gz").read_bytes())
    with pytest.raises(InputError, match="discount-fallback"):
        estimate_to_arpa(Corpus.from_source(str(KENLM / "tiny.txt")), 4, tmp_path / "x.arpa")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o3.arpa.gz"]


def test_estimate_to_arpa_file_gets_the_usual_permissions(tmp_path):
    import os
    import stat
    from lm.counting import Corpus
    from lm.mkn import estimate_to_arpa
    out = tmp_path / "tiny.arpa"
    estimate_to_arpa(Corpus.from_source(str(KENLM / "tiny.txt")), 2, out, discount_fallback=True)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
