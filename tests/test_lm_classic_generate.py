"""Generation: greedy, beam search (against exhaustive search) and seeded sampling."""
import itertools
from pathlib import Path

import numpy as np
import pytest

from lm.counts import count_sentences
from common.errors import InputError
from lm.generate import generate
from lm.smoothing import estimate

KENLM = Path(__file__).resolve().parent / "data" / "kenlm"
YES_NO = [["yes", "no", "no", "no", "no", "yes"], ["no", "no", "no", "yes", "yes", "yes", "no"]]


@pytest.fixture(scope="module")
def model():
    lines = (KENLM / "train.txt").read_text().splitlines()[:400]
    return estimate("kn", count_sentences([line.split() for line in lines], 3))


def test_greedy_is_deterministic_and_takes_the_argmax_each_step(model):
    first = generate(model, "greedy", max_words=20)
    assert first == generate(model, "greedy", max_words=20)
    history = [model.word_id["<s>"]]  # checked with the model's own (dict-based) query
    sentence = first[0]
    for word in sentence + (["</s>"] if len(sentence) < 20 else []):
        assert model.vocab[int(np.argmax(model.distribution(history[-2:])))] == word
        history.append(model.word_id[word])


@pytest.mark.parametrize("prefix", [(), ("the",), ("he", "shall")])
def test_beam_of_width_one_is_greedy(model, prefix):
    greedy = generate(model, "greedy", prefix=prefix, max_words=30)
    assert generate(model, "beam", beam=1, prefix=prefix, max_words=30) == greedy
    assert greedy[0][:len(prefix)] == list(prefix)


def test_wide_beam_finds_the_exhaustive_best_sentences():
    small = estimate("laplace", count_sentences(YES_NO, 2))
    words = ["yes", "no", "<unk>"]
    limit = 4
    scored = []
    for length in range(0, limit):  # all sentences of < limit words, ended by </s>
        for sentence in itertools.product(words, repeat=length):
            scored.append((small.score_sentence(list(sentence)), list(sentence)))
    scored.sort(key=lambda s: -s[0])
    found = generate(small, "beam", n=5, beam=200, max_words=limit)
    assert found == [sentence for _, sentence in scored[:5]]
    scores = [small.score_sentence(s) for s in found]
    assert scores == sorted(scores, reverse=True)


def test_beam_returns_n_sentences_best_first(model):
    found = generate(model, "beam", n=3, beam=6, max_words=30)
    assert len(found) == 3 and len({tuple(s) for s in found}) == 3
    scores = [model.score_sentence(s) for s in found]
    assert scores == sorted(scores, reverse=True)


def test_sampling_is_reproducible_with_a_seed(model):
    a = generate(model, "sample", n=5, seed=7, max_words=25)
    assert a == generate(model, "sample", n=5, seed=7, max_words=25)
    assert a != generate(model, "sample", n=5, seed=8, max_words=25)


def _chi_square_critical(df, z=3.09):  # upper 0.1% point, Wilson-Hilferty approximation
    return df * (1 - 2 / (9 * df) + z * np.sqrt(2 / (9 * df))) ** 3


def test_sampled_first_words_follow_the_model(model):
    draws = 6000
    samples = generate(model, "sample", n=draws, seed=12345, max_words=1)
    probs = np.power(10.0, model.distribution([model.word_id["<s>"]]))
    observed = np.zeros(len(model.vocab))
    for sentence in samples:
        observed[model.word_id[sentence[0]] if sentence else model.word_id["</s>"]] += 1
    expected = probs * draws
    big = expected >= 5  # pool the rare words into one cell
    cells_obs = np.append(observed[big], observed[~big].sum())
    cells_exp = np.append(expected[big], expected[~big].sum())
    chi2 = float(((cells_obs - cells_exp) ** 2 / cells_exp).sum())
    assert big.sum() >= 10
    assert chi2 < _chi_square_critical(len(cells_obs) - 1), chi2
    assert observed[model.word_id["<s>"]] == 0


def test_low_temperature_approaches_greedy_and_high_spreads(model):
    greedy_first = generate(model, "greedy", max_words=1)[0][0]
    cold = generate(model, "sample", n=300, seed=3, temperature=0.05, max_words=1)
    assert sum(s[0] == greedy_first for s in cold) >= 297
    hot = generate(model, "sample", n=300, seed=3, temperature=3.0, max_words=1)
    plain = generate(model, "sample", n=300, seed=3, temperature=1.0, max_words=1)
    assert len({s[0] for s in hot if s}) > len({s[0] for s in plain if s})


def test_allow_unk_false_never_generates_unk():
    small = estimate("laplace", count_sentences(YES_NO, 2))
    samples = generate(small, "sample", n=300, seed=0, max_words=5, allow_unk=False)
    assert all("<unk>" not in s for s in samples)
    assert any("<unk>" in s for s in generate(small, "sample", n=300, seed=0, max_words=5))


def test_bad_arguments_are_clear_errors(model):
    with pytest.raises(InputError, match="unknown generation method"):
        generate(model, "nucleus")
    with pytest.raises(InputError, match="temperature"):
        generate(model, "sample", temperature=0)
    with pytest.raises(InputError, match="at most beam"):
        generate(model, "beam", n=5, beam=2)
    with pytest.raises(InputError, match="prefix word"):
        generate(model, prefix=["zzzz-not-a-word"])
    with pytest.raises(InputError, match="max_words"):
        generate(model, max_words=0)


def test_beam_of_width_one_is_greedy_on_an_lmplz_model():
    from lm.arpa import read_arpa
    lmplz = read_arpa(str(KENLM / "o3.arpa.gz"))
    for prefix in [(), ("thou",), ("the", "lord")]:
        greedy = generate(lmplz, "greedy", prefix=prefix, max_words=25)
        assert generate(lmplz, "beam", beam=1, prefix=prefix, max_words=25) == greedy
