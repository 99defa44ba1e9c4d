"""Scoring must equal KenLM: `query` summaries, and the kenlm module's `score()` per sentence."""
import numpy as np
import pytest

from lm.arpa import read_arpa, write_arpa
from lm.estimate import train
from lm.perplexity import perplexity, scorer
from tests.lm_reference import KENLM, query_summaries

import kenlm


@pytest.mark.parametrize("name", ["o3.arpa.gz", "o5.arpa.gz", "o3_prune011.arpa",
                                  "o3_nointerpuni.arpa.gz"])
def test_lmplz_models_match_query_summary(name):
    expected = query_summaries()[name.split(".")[0]]
    result = perplexity(str(KENLM / name), str(KENLM / "test.txt"))
    assert result.including_oovs == pytest.approx(expected["Perplexity including OOVs"], rel=1e-5)
    assert result.excluding_oovs == pytest.approx(expected["Perplexity excluding OOVs"], rel=1e-5)
    assert (result.oovs, result.tokens) == (expected["OOVs"], expected["Tokens"])
    assert result.sentences == 500


def kenlm_scores(path, lines):
    model = kenlm.Model(str(path))
    return np.array([model.score(line, bos=True, eos=True) for line in lines])


@pytest.mark.parametrize("name", ["o5.arpa.gz", "o3_prune011.arpa", "tiny_o4_fallback.arpa"])
def test_sentence_scores_equal_kenlm_module(name):
    lines = (KENLM / "test.txt").read_text().splitlines()
    ours = perplexity(str(KENLM / name), lines).sentence_logprob.astype(np.float64)
    theirs = kenlm_scores(KENLM / name, lines)
    assert np.all(np.abs(ours - theirs) <= 1e-6 * np.abs(theirs))


def test_our_own_arpa_scores_equal_kenlm_module(tmp_path):
    """An ARPA we estimated and wrote (order 4, not among the references) read back by KenLM."""
    model = train(str(KENLM / "train.txt"), 4)
    path = tmp_path / "o4.arpa"
    write_arpa(model, str(path))
    lines = (KENLM / "test.txt").read_text().splitlines()[:200]
    theirs = kenlm_scores(path, lines)
    ours_native = perplexity(model, lines).sentence_logprob.astype(np.float64)
    assert np.all(np.abs(ours_native - theirs) <= 1e-6 * np.abs(theirs))
    # The Python query path (NgramModel.score_sentence) agrees as well.
    ours_python = np.array([model.score_sentence(line.split()) for line in lines[:50]])
    assert np.all(np.abs(ours_python - theirs[:50]) <= 1e-6 * np.abs(theirs[:50]))


def test_bos_eos_flags_and_oov_accounting():
    model = read_arpa(str(KENLM / "o3.arpa.gz"))
    reference = kenlm.Model(str(KENLM / "o3.arpa.gz"))
    native = scorer(model)
    sentence = "the lord is my shepherd qqqzzz"
    for bos in (True, False):
        for eos in (True, False):
            assert native.score_sentence(sentence, bos, eos) == pytest.approx(
                reference.score(sentence, bos=bos, eos=eos), rel=1e-6)
    result = perplexity(model, [sentence, "", "qqqzzz qqqzzz"])
    assert list(result.sentence_oovs) == [1, 0, 2]
    assert list(result.sentence_tokens) == [7, 1, 3]
    unk = model.logprob(model.word_id["<unk>"], [model.word_id["<s>"]])
    assert result.sentence_oov_logprob[2] < 0 and result.sentence_oov_logprob[0] < 0
    full = [w for w in reference.full_scores(sentence)]
    assert result.sentence_oov_logprob[0] == pytest.approx(full[5][0], rel=1e-6)
    assert unk < 0


def test_model_without_unk_scores_unknown_words_at_minus_100(tmp_path):
    path = tmp_path / "m.arpa"
    path.write_text("\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-0.5\t<s>\t-0.1\n"
                    "-0.3\t</s>\t0\n-0.4\ta\t-0.2\n\n\\2-grams:\n-0.05\t<s> a\n\n\\end\\\n")
    result = perplexity(str(path), ["a b"])
    assert result.oovs == 1
    model = read_arpa(str(path))
    assert model.score_sentence(["a", "b"]) == pytest.approx(float(result.sentence_logprob[0]),
                                                             rel=1e-6)
    # p(a|<s>) from the bigram; b unknown: -100 plus the back-off of "a"; </s> after b: unigram
    assert float(result.sentence_logprob[0]) == pytest.approx(-0.05 + (-0.2 - 100) - 0.3,
                                                              rel=1e-6)
