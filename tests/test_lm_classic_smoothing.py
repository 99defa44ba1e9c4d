"""The classic smoothing methods against hand-computed values, and normalisation for all.

Probabilities are read back through `NgramModel.logprob` / `.distribution` (lm/model.py, the
plain dict-based back-off query), so these tests also check that the estimators' back-off form
means what their formulas say.
"""
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from lm.counts import count_sentences
from common.errors import InputError
from lm.smoothing import ESTIMATORS, estimate

KENLM = Path(__file__).resolve().parent / "data" / "kenlm"

YES_NO = [["yes", "no", "no", "no", "no", "yes"], ["no", "no", "no", "yes", "yes", "yes", "no"]]
# "<s> a b </s>", "<s> b a a </s>": vocabulary <unk> <s> </s> a b, so |V| = 4 predicted words.
# bigram counts: <s> a 1, <s> b 1, a b 1, a a 1, a </s> 1, b a 1, b </s> 1
# c(<s>) = 2, c(a) = 3, c(b) = 2; unigrams a 3, b 2, </s> 2, <unk> 0, N = 7.
AB = [["a", "b"], ["b", "a", "a"]]


def p(model, word, *history):
    ids = [model.word_id[w] for w in history]
    return 10.0 ** model.logprob(model.word_id[word], ids)


def close(value, fraction, rel=2e-7):
    return value == pytest.approx(float(fraction), rel=rel)


# --- maximum likelihood: the chapter's yes/no trigram example ---------------------------------

def test_mle_trigram_with_the_chapters_two_start_symbols():
    model = estimate("mle", count_sentences(YES_NO, 3), bos_padding="full")
    assert close(p(model, "yes", "<s>", "<s>"), F(1, 2))  # <s><s>yes once, <s><s> twice
    assert close(p(model, "no", "<s>", "yes"), F(1, 1))
    assert close(p(model, "no", "yes", "no"), F(1, 2))
    assert close(p(model, "yes", "no", "no"), F(2, 5))  # "no no" is a context 5 times
    assert close(p(model, "</s>", "no", "yes"), F(1, 2))
    # P(<s> <s> yes no no yes </s>) = 1/2 * 1 * 1/2 * 2/5 * 1/2 = 1/20
    history, log10 = ["<s>", "<s>"], 0.0
    for word in ["yes", "no", "no", "yes", "</s>"]:
        log10 += model.logprob(model.word_id[word], [model.word_id[w] for w in history])
        history = history[1:] + [word]
    assert 10.0 ** log10 == pytest.approx(1 / 20, rel=1e-6)
    # the padded trigrams are in the model, and <s> is never predicted
    assert ("<s>", "<s>", "yes") in {tuple(model.vocab[i] for i in row)
                                     for row in model.orders[2].ids.tolist()}
    assert np.isneginf(model.distribution([model.word_id["<s>"]] * 2)[model.word_id["<s>"]])


def test_mle_trigram_with_kenlms_single_start_symbol():
    model = estimate("mle", count_sentences(YES_NO, 3))
    assert close(p(model, "yes", "<s>"), F(1, 2))  # the history is just <s>
    assert close(p(model, "yes", "<s>", "<s>"), F(1, 2))  # <s> <s> is not an n-gram: backs off
    assert 10.0 ** model.score_sentence(["yes", "no", "no", "yes"]) == pytest.approx(0.05, 1e-6)
    # P(no no yes yes) = P(no|<s>) P(no|<s> no) P(yes|no no) P(yes|no yes) P(</s>|yes yes)
    #                  = 1/2 * 1 * 2/5 * 1/2 * 0/2 (yes yes </s> never occurs) = 0
    assert model.score_sentence(["no", "no", "yes", "yes"]) <= -99
    counts_of = {tuple(model.vocab[i] for i in row) for row in model.orders[2].ids.tolist()}
    assert ("<s>", "<s>", "yes") not in counts_of


def test_mle_sums_to_one_and_gives_zero_to_unseen():
    model = estimate("mle", count_sentences(YES_NO, 2))
    unigrams = 10.0 ** model.distribution([])
    assert unigrams.sum() == pytest.approx(1.0, abs=1e-6)
    assert unigrams[model.word_id["<unk>"]] < 1e-90
    # unigram MLE: yes 5/15, no 8/15, </s> 2/15 (one </s> per sentence, <s> not predicted)
    assert close(p(model, "yes"), F(5, 15)) and close(p(model, "</s>"), F(2, 15))


# --- additive ---------------------------------------------------------------------------------

def test_laplace_bigram_by_hand():
    model = estimate("laplace", count_sentences(AB, 2))
    assert close(p(model, "b", "a"), F(1 + 1, 3 + 4))  # (c(a b) + 1) / (c(a) + |V|)
    assert close(p(model, "a", "<s>"), F(1 + 1, 2 + 4))
    assert close(p(model, "a"), F(3 + 1, 7 + 4))  # unigrams: (c + 1) / (N + |V|)
    assert close(p(model, "<unk>"), F(0 + 1, 7 + 4))
    # after a, only <unk> is unseen: it gets all the formula's unseen mass, (0 + 1) / (3 + 4)
    assert close(p(model, "<unk>", "a"), F(1, 7))
    # after b, b and <unk> are unseen: mass 2 * 1/(2 + 4) = 1/3, shared as the unigrams 3:1
    assert close(p(model, "b", "b"), F(1, 3) * F(3, 4))
    assert close(p(model, "<unk>", "b"), F(1, 3) * F(1, 4))
    # an unseen history (<unk>) backs off with weight 1 to the unigram model
    assert close(p(model, "a", "<unk>"), F(4, 11))


@pytest.mark.parametrize("k", [0.5, 2.0])
def test_add_k_and_lidstone_bigram_by_hand(k):
    model = estimate("add-k", count_sentences(AB, 2), k=k)
    k = F(k)
    assert close(p(model, "b", "a"), (1 + k) / (3 + 4 * k))
    assert close(p(model, "a"), (3 + k) / (7 + 4 * k))
    assert close(p(model, "<unk>", "a"), k / (3 + 4 * k))
    seen_after_b = 2 * (1 + k) / (2 + 4 * k)
    unigram_b, unigram_unk = (2 + k) / (7 + 4 * k), k / (7 + 4 * k)
    assert close(p(model, "b", "b"), (1 - seen_after_b) * unigram_b / (unigram_b + unigram_unk))


def test_laplace_is_add_one():
    counts = count_sentences(AB, 3)
    a, b = estimate("laplace", counts), estimate("add-k", counts, k=1)
    for ta, tb in zip(a.orders, b.orders):
        np.testing.assert_array_equal(ta.logprob, tb.logprob)


# --- absolute discounting ---------------------------------------------------------------------
# D = 1/2 at both orders. Unigrams: max(c - D, 0)/N + (D * 3 types / N) / |V|, in 56ths:
# a 2.5/7 + 1.5/28 = 23/56, b 15/56, </s> 15/56, <unk> 3/56.

def test_absolute_interpolated_by_hand():
    model = estimate("absolute", count_sentences(AB, 2), discount=0.5)
    assert close(p(model, "b"), F(15, 56)) and close(p(model, "<unk>"), F(3, 56))
    # P(b|a) = (1 - D)/c(a) + D * N1+(a .)/c(a) * P(b) = 1/6 + (1/2 * 3/3) * 15/56 = 101/336
    assert close(p(model, "b", "a"), F(101, 336))
    assert close(p(model, "<unk>", "a"), F(1, 2) * F(3, 56))


def test_absolute_backoff_by_hand():
    model = estimate("absolute-backoff", count_sentences(AB, 2), discount=0.5)
    assert close(p(model, "b", "a"), F(1, 6))  # (1 - D) / 3
    assert close(p(model, "<unk>", "a"), F(1, 2))  # the freed 3 * D / 3, <unk> alone unseen
    # after b: </s> and a get (1 - D)/2 each; b and <unk> share 1/2 as their unigrams 15:3
    assert close(p(model, "b", "b"), F(1, 2) * F(15, 18))


def test_absolute_default_discount_is_n1_over_n1_plus_2n2():
    lines = (KENLM / "train.txt").read_text().splitlines()[:300]
    counts = count_sentences([line.split() for line in lines], 3)
    model = estimate("absolute", counts)
    for k in (1, 2, 3):
        values = [c for gram, c in counts.as_dict(k).items() if gram != ("<s>",)]
        n1, n2 = values.count(1), values.count(2)
        assert model.smoothing_info["discounts"][k - 1] == pytest.approx(n1 / (n1 + 2 * n2))


def test_absolute_default_discount_out_of_range_is_a_clear_error():
    with pytest.raises(InputError, match="discount="):
        estimate("absolute", count_sentences(AB, 2))  # every bigram once: D = 1


# --- Katz -------------------------------------------------------------------------------------
# "a a" / "b" / "c" / "c c" / "c a", Good-Turing cutoff k = 2.
# Bigrams: <s> c 3; a </s> 2, c </s> 2; <s> a, a a, <s> b, b </s>, c c, c a once each:
# n1 = 6, n2 = 2, n3 = 1, so (k+1) n3 / n1 = 3/6 and
#   d1 = (2 n2/n1 - 1/2) / (1 - 1/2) = (4/6 - 3/6) / (1/2) = 1/3
#   d2 = (3 n3/(2 n2) - 1/2) / (1 - 1/2) = (3/4 - 1/2) / (1/2) = 1/2,  d3 = 1 (3 > k).
# Unigrams a 3, b 1, c 4, </s> 5 (N = 13): n1 = 1, n3 = 1 so (k+1) n3 / n1 = 3 >= 1: the
# unigrams are not discounted (MLE), and <unk> gets nothing.
KATZ = [["a", "a"], ["b"], ["c"], ["c", "c"], ["c", "a"]]


def test_katz_by_hand():
    model = estimate("katz", count_sentences(KATZ, 2), k=2)
    assert model.smoothing_info["good_turing_ratios"][1] == pytest.approx([1 / 3, 1 / 2])
    assert close(p(model, "c"), F(4, 13))
    assert close(p(model, "c", "<s>"), F(3, 5))  # count 3 > k: undiscounted
    assert close(p(model, "a", "<s>"), F(1, 3) * F(1, 5))
    # after <s> the seen words take 3/5 + 2/15 = 11/15; </s> and <unk> are unseen, with
    # unigram mass 5/13 + 0: alpha(<s>) = (4/15) / (5/13), so P(</s>|<s>) = 4/15
    assert close(p(model, "</s>", "<s>"), F(4, 15))
    # after a (c(a) = 3): a a -> 1/3 * 1/3 = 1/9, a </s> -> 1/2 * 2/3 = 1/3; left 5/9 for
    # b, c, <unk> whose unigram mass is 5/13: alpha(a) = 13/9, P(c|a) = 13/9 * 4/13 = 4/9
    assert close(p(model, "a", "a"), F(1, 9))
    assert close(p(model, "</s>", "a"), F(1, 3))
    assert close(p(model, "c", "a"), F(4, 9))
    assert any("order 1" in w for w in model.smoothing_info["warnings"])


# --- Kneser-Ney -------------------------------------------------------------------------------
# Same corpus. Unigram adjusted counts = number of distinct words before w:
# a <- {<s>, a, c} 3, b <- {<s>} 1, c <- {<s>, c} 2, </s> <- {a, b, c} 3; sum 9, 4 types.
# With D = 1/2 at both orders, unigrams max(a - D, 0)/9 + (D * 4/9) / |V| (|V| = 5), in 90ths:
# a 25 + 4 = 29, b 5 + 4 = 9, c 15 + 4 = 19, </s> 29, <unk> 4.

def test_kn_interpolated_by_hand():
    model = estimate("kn", count_sentences(KATZ, 2), discount=0.5)
    assert close(p(model, "a"), F(29, 90)) and close(p(model, "<unk>"), F(4, 90))
    # bigrams use raw counts: after a (c = 3; a a 1, a </s> 2; two types)
    # P(a|a) = (1 - D)/3 + (D * 2/3) * 29/90 = 1/6 + 29/270 = 37/135
    assert close(p(model, "a", "a"), F(37, 135))
    assert close(p(model, "</s>", "a"), F(3, 2) / 3 + F(1, 3) * F(29, 90))
    assert close(p(model, "c", "a"), F(1, 3) * F(19, 90))


def test_kn_backoff_by_hand():
    model = estimate("kn-backoff", count_sentences(KATZ, 2), discount=0.5)
    assert close(p(model, "a", "a"), F(1, 6))  # (1 - D) / 3
    assert close(p(model, "</s>", "a"), F(1, 2))  # (2 - D) / 3
    # left 1/3 for b, c, <unk> (unigrams 9 + 19 + 4 = 32 ninetieths): P(c|a) = 1/3 * 19/32
    assert close(p(model, "c", "a"), F(1, 3) * F(19, 32))


def test_kn_default_discounts_come_from_adjusted_counts():
    model = estimate("kn", count_sentences(KATZ, 2))
    # unigram adjusted counts 3, 1, 2, 3: n1 = 1, n2 = 1 -> 1/3; bigrams n1 = 6, n2 = 2 -> 6/10
    assert model.smoothing_info["discounts"] == pytest.approx([1 / 3, 0.6])


# --- Jelinek-Mercer ---------------------------------------------------------------------------

def _corpus(first, count):
    lines = (KENLM / "train.txt").read_text().splitlines()[first:first + count]
    return [line.split() for line in lines]


def test_jelinek_mercer_lambda_maximises_heldout_likelihood():
    train, heldout = _corpus(0, 300), _corpus(300, 100)
    model = estimate("jelinek-mercer", count_sentences(train, 1), heldout=heldout)
    lam = model.smoothing_info["lambdas"][0][0]
    counts = count_sentences(train, 1).as_dict(1)
    total = sum(c for w, c in counts.items() if w != ("<s>",))
    size = len(model.vocab) - 1
    ml = [counts.get((w,), 0) / total if w in model.word_id else 0.0
          for sentence in heldout for w in sentence + ["</s>"]]
    ml = np.array(ml)

    def loglik(value):
        return np.log(value * ml + (1 - value) / size).sum()

    assert 0 < lam < 1
    assert loglik(lam) > loglik(lam - 0.01) and loglik(lam) > loglik(lam + 0.01)
    assert close(p(model, "the"), lam * counts[("the",)] / total + (1 - lam) / size, rel=1e-6)


def test_jelinek_mercer_count_buckets_differ_by_history_count():
    train, heldout = _corpus(0, 300), _corpus(300, 100)
    model = estimate("jelinek-mercer", count_sentences(train, 2), heldout=heldout,
                     buckets="count")
    bigram_lambdas = model.smoothing_info["lambdas"][1]
    assert len(set(round(x, 6) for x in bigram_lambdas)) > 2


def test_jelinek_mercer_needs_heldout():
    with pytest.raises(InputError, match="held-out"):
        estimate("jelinek-mercer", count_sentences(AB, 2))


# --- every method: proper distributions at orders 1-4 -----------------------------------------

def _options(name, heldout):
    return {"jelinek-mercer": {"heldout": heldout}, "add-k": {"k": 0.1}}.get(name, {})


@pytest.fixture(scope="module")
def small_corpus():
    return _corpus(0, 300), _corpus(300, 50)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_history_sums_to_one(name, order, small_corpus):
    train, heldout = small_corpus
    model = estimate(name, count_sentences(train, order), **_options(name, heldout))
    rng = np.random.default_rng(order)
    histories = [()]
    eos = model.word_id["</s>"]
    for k in range(1, order):  # histories that are entries of each order, sampled
        ids = model.orders[k - 1].ids
        ids = ids[ids[:, -1] != eos]
        for row in rng.choice(len(ids), size=min(25, len(ids)), replace=False):
            histories.append(tuple(ids[row].tolist()))
    if order > 1:
        histories.append((model.word_id["<unk>"],) * (order - 1))  # not an entry: backs off
    for history in histories:
        total = np.power(10.0, model.distribution(list(history))).sum()
        assert abs(total - 1.0) < 1e-6, (name, history, total)


# --- options ----------------------------------------------------------------------------------

def test_unknown_option_and_method_are_clear_errors():
    counts = count_sentences(AB, 2)
    with pytest.raises(InputError, match="has no option discount"):
        estimate("laplace", counts, discount=0.5)
    with pytest.raises(InputError, match="unknown smoothing"):
        estimate("witten-bell", counts)
    with pytest.raises(InputError, match="positive"):
        estimate("add-k", counts, k=0)
    with pytest.raises(InputError, match="out of range"):
        estimate("kn", counts, discount=1.5)
    with pytest.raises(InputError, match="one value per order"):
        estimate("absolute", counts, discount=[0.5, 0.5, 0.5])
    assert estimate("add-k", counts, k=None).smoothing_info["options"] == {}  # None = not given


def test_models_round_trip_through_arpa(tmp_path, small_corpus):
    from lm.arpa import read_arpa, write_arpa
    train, heldout = small_corpus
    for name in ("katz", "mle", "jelinek-mercer"):
        model = estimate(name, count_sentences(train, 3), **_options(name, heldout))
        path = tmp_path / f"{name}.arpa"
        write_arpa(model, str(path))
        back = read_arpa(str(path))
        for ours, theirs in zip(model.orders, back.orders):
            assert len(ours) == len(theirs)
        assert back.score_sentence(train[0]) == pytest.approx(model.score_sentence(train[0]),
                                                              abs=1e-4)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_kenlm_reads_our_arpa_and_scores_every_token_alike(name, tmp_path, small_corpus):
    """KenLM (the reference back-off query) agrees token by token with the model we built."""
    import kenlm
    from lm.arpa import write_arpa
    train, heldout = small_corpus
    model = estimate(name, count_sentences(train, 3), **_options(name, heldout))
    path = tmp_path / "model.arpa"
    write_arpa(model, str(path))
    reference = kenlm.Model(str(path))
    unk, bos = model.word_id["<unk>"], model.word_id["<s>"]
    for sentence in _corpus(1000, 30):
        ids = [model.word_id.get(w, unk) for w in sentence] + [model.word_id["</s>"]]
        history = [bos]
        theirs = [score for score, _, _ in reference.full_scores(" ".join(sentence))]
        for wid, expected in zip(ids, theirs):
            assert model.logprob(wid, history[-2:]) == pytest.approx(expected, abs=2e-5)
            history.append(wid)


def test_full_padding_counts_equal_counting_the_padded_sentences():
    from collections import Counter
    from lm.smoothing.mle import pad_fully
    sentences = _corpus(0, 40) + [["a"], []]
    order = 4
    padded = pad_fully(count_sentences(sentences, order))
    for k in range(2, order + 1):
        direct = Counter()
        for sentence in sentences:
            tokens = ["<s>"] * (order - 1) + sentence + ["</s>"]
            for i in range(len(tokens) - k + 1):
                direct[tuple(tokens[i:i + k])] += 1
        ours = padded.as_dict(k)
        # <s>^k predicts <s> (probability 0, a history only): n-1 pads hold n-k copies of it
        # per sentence, pad_fully one; every n-gram that predicts a word agrees exactly
        all_bos = ("<s>",) * k
        assert ours.pop(all_bos, len(sentences)) == len(sentences)
        direct.pop(all_bos, None)
        assert ours == dict(direct)


def test_jelinek_mercer_count_buckets_are_normalised(small_corpus):
    train, heldout = small_corpus
    model = estimate("jelinek-mercer", count_sentences(train, 3), heldout=heldout,
                     buckets="count")
    ids = model.orders[1].ids
    for row in range(0, len(ids), max(1, len(ids) // 40)):
        if ids[row, -1] == model.word_id["</s>"]:
            continue
        total = np.power(10.0, model.distribution(ids[row].tolist())).sum()
        assert abs(total - 1.0) < 1e-6


def test_jelinek_mercer_heldout_errors(tmp_path):
    counts = count_sentences(AB, 2)
    with pytest.raises(InputError, match="reserved symbol <s>"):
        estimate("jelinek-mercer", counts, heldout=[["a", "<s>"]])
    bad = tmp_path / "heldout.txt"
    bad.write_text("a b\nb </s> a\n")
    with pytest.raises(InputError) as error:
        estimate("jelinek-mercer", counts, heldout=str(bad))
    assert error.value.line == 2 and error.value.path == str(bad)
    with pytest.raises(InputError, match="empty"):
        estimate("jelinek-mercer", counts, heldout=[])
    model = estimate("jelinek-mercer", counts, heldout=[["a", "zzz", "b"]])  # OOV -> <unk>
    assert model.smoothing_info["heldout_tokens"] == 4


def test_backoff_with_every_word_seen_rescales_the_seen_words():
    # closed vocabulary {a}: "x" becomes <unk>, so after "a" every predicted word is seen:
    # a <unk> 1, a a 1, a </s> 2 (c(a) = 4). Discounted: 1/8, 1/8, 3/8 (sum 5/8); the freed
    # 3/8 has no unseen word to go to, so the seen ones are scaled by 8/5.
    counts = count_sentences([["a", "x"], ["a", "a"], ["a"]], 2, vocab=["a"])
    model = estimate("absolute-backoff", counts, discount=0.5)
    assert close(p(model, "<unk>", "a"), F(1, 5)) and close(p(model, "a", "a"), F(1, 5))
    assert close(p(model, "</s>", "a"), F(3, 5))
    assert np.power(10.0, model.distribution([model.word_id["a"]])).sum() == pytest.approx(1.0)
