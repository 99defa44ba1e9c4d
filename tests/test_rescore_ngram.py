"""The n-gram rescorer's queries against KenLM, word by word, on KenLM's own models."""
import math
import os

import pytest

import kenlm

from asr.rescoring.ngram import NgramRescorer, open_query, sentence_logprob  # noqa: E402
from common.errors import InputError  # noqa: E402

REF = os.path.join(os.path.dirname(__file__), "data", "kenlm")
LN10 = math.log(10)


def sentences(limit):
    with open(os.path.join(REF, "test.txt"), encoding="utf-8") as handle:
        out = [line.split() for _, line in zip(range(limit), handle)]
    return out + [["qqqunseen", "the", "lord", "zzzunseen"], []]


NO_UNK_ARPA = """\\data\\
ngram 1=5
ngram 2=4

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.3
-0.5\tthe\t-0.2
-0.7\tlord\t-0.1
-0.9\tis

\\2-grams:
-0.2\t<s> the
-0.1\tthe lord
-0.4\tlord is
-0.3\tis </s>

\\end\\
"""


@pytest.mark.parametrize("name", ["o3_prune011.arpa", "tiny_o4_fallback.arpa", "o5.arpa.gz",
                                  "no_unk"])
def test_word_by_word_equals_kenlm(name, tmp_path):
    if name == "no_unk":  # KenLM's rule: an unknown word scores log10 -100
        path = str(tmp_path / "no_unk.arpa")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(NO_UNK_ARPA)
    else:
        path = os.path.join(REF, name)
    query, model = open_query(path), kenlm.Model(path)
    for words in sentences(150):
        state = query.begin()
        ours = []
        for word in words:
            logprob, state = query.advance(state, word)
            ours.append(logprob)
        ours.append(query.end(state))
        theirs = [p * LN10 for p, _, _ in model.full_scores(" ".join(words))]
        assert ours == pytest.approx(theirs, abs=1e-5), words


def test_state_is_the_minimal_history():
    query = open_query(os.path.join(REF, "tiny_o4_fallback.arpa"))
    _, state = query.advance(query.begin(), "qqqunseen")
    assert state == (query.word_id["<unk>"],) or state == ()
    state = query.begin()
    for word in "this psalm may be regarded".split():
        _, state = query.advance(state, word)
    assert len(state) <= query.order - 1
    # the truncated state predicts exactly what the full history does
    full = sentence_logprob(query, "this psalm may be regarded as the preface".split())
    kenlm_model = kenlm.Model(os.path.join(REF, "tiny_o4_fallback.arpa"))
    assert full == pytest.approx(
        kenlm_model.score("this psalm may be regarded as the preface") * LN10, abs=1e-4)


def test_rescorer_scores_a_batch_and_backends_agree():
    path = os.path.join(REF, "o3_prune011.arpa")
    hyps = sentences(20)
    python_scores = NgramRescorer(path).score(hyps)
    kenlm_scores = NgramRescorer(path, backend="kenlm").score(hyps)
    assert python_scores == pytest.approx(kenlm_scores, abs=1e-3)
    assert len(set(round(s, 3) for s in python_scores)) > 15


def test_bad_model_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        NgramRescorer(str(tmp_path / "missing.arpa"))
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\t<s>\nnot-a-number\t</s>\n\\end\\\n")
    with pytest.raises(InputError, match="bad.arpa"):
        NgramRescorer(str(bad))
    with pytest.raises(ValueError, match="unknown n-gram backend"):
        open_query(os.path.join(REF, "tiny_o4_fallback.arpa"), backend="srilm")


def test_batched_scores_equal_word_by_word_queries_and_kenlm():
    """The batch goes to lm's native scorer (float32 sums, as KenLM): equal to the stateful
    word-by-word queries (float64 sums) and to kenlm's own score() to float32 precision."""
    path = os.path.join(REF, "o3_prune011.arpa")
    rescorer = NgramRescorer(path)
    hyps = sentences(40) + [["an", "unknownword", "here"], []]
    stateful = [sentence_logprob(rescorer.query, h) for h in hyps]
    model = kenlm.Model(path)
    theirs = [model.score(" ".join(h)) * LN10 for h in hyps]
    ours = rescorer.score(hyps)
    assert ours == pytest.approx(stateful, rel=1e-6, abs=1e-4)
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-4)
    with pytest.raises(ValueError, match="white space"):
        rescorer.score([["two words"]])
