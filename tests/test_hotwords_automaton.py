"""The automaton's moves through failure links (csrc/hotwords.h, its dense transition
table): bonuses on a path whose hotword match restarts inside a longer partial match, checked
against the hand-computed Aho-Corasick walk."""
import pytest

from asr.decoder import Decoder, DecoderOptions
from asr.decoder.hotwords import HotwordOptions
from decoder_fixtures import graphs  # noqa: F401
from test_decoder_errors import frames, tiny  # noqa: F401

A, B, END = 1, 2, 3  # columns of the tiny graph's tokens a, b, |
SCALE = 3.0  # the bonus is in log-posterior units: x acoustic_scale in the search's cost


def decoder(tiny, bonus=1.0):
    return Decoder(tiny, DecoderOptions(acoustic_scale=SCALE),
                   hotword_options=HotwordOptions(bonus=bonus, cap=100.0))


def test_match_restarts_through_a_failure_link(tiny):
    """`a a a b` against hotword `a a b` (a|a|b|): after a|a| the next `a` fails to the
    prefix a| and goes on to a|a; the walk's depths are 1 2 3 4 3 4 5 6, so the path keeps
    6 x bonus (the partial bonus of the failed match given back down to depth 3)."""
    d = decoder(tiny)
    logp = frames(0, A, END, A, END, A, END, B, END, 0)
    plain = d.decode(logp)
    assert plain.words == ["a", "a", "a", "b"]
    for hotwords in (["a a b"], ["a a b", "a b"], {"a a b": 1.0, "b a": 1.0}):
        biased = d.decode(logp, hotwords=hotwords)
        assert biased.words == plain.words
        assert biased.total_cost == pytest.approx(plain.total_cost - 6.0 * SCALE, abs=1e-4), \
            hotwords


def test_failed_match_with_no_suffix_gives_everything_back(tiny):
    """`a b a` against `a a b`: depths 1 2 0 0 1 2 -- the `b` fails to the root (no prefix
    starts with b) and the final `a|` is a match still open at the end of the utterance,
    taken back: no bonus at all."""
    d = decoder(tiny)
    logp = frames(0, A, END, B, END, A, END, 0)
    plain = d.decode(logp)
    assert plain.words == ["a", "b", "a"]
    biased = d.decode(logp, hotwords=["a a b"])
    assert biased.words == plain.words
    assert biased.total_cost == pytest.approx(plain.total_cost, abs=1e-4)


def test_two_hotwords_in_a_row_both_bank(tiny):
    """`b a b` with hotwords `b` (b|) and `a b` (a|b|): b| banks 2, then a|b| banks 4."""
    d = decoder(tiny, bonus=0.5)
    logp = frames(0, B, END, A, END, B, END, 0)
    plain = d.decode(logp)
    assert plain.words == ["b", "a", "b"]
    biased = d.decode(logp, hotwords=["b", "a b"])
    assert biased.total_cost == pytest.approx(plain.total_cost - 0.5 * (2 + 4) * SCALE,
                                              abs=1e-4)


def test_dense_table_and_sparse_walk_agree_on_bench_data(graphs):
    """The same automaton with its full dense table and with only the root's row dense
    (goto edges + failure links: what lists too large for the table use) give the same
    best paths and costs, with ~300 hotwords (40 of them phrases) on 20 bench utterances."""
    import functools
    from types import SimpleNamespace

    from asr.decoder import _native
    from asr.decoder.hotwords import Hotwords, _build
    from decoder_fixtures import BENCH, load_posteriors, read_refs

    d = Decoder(graphs["ctc"], DecoderOptions(acoustic_scale=3.0))
    refs = read_refs(BENCH / "refs_test.txt")
    words = [w for w in d.words if d._spell(w) is not None]
    first = sorted(refs)[:20]  # all their words are in the small graph
    hot = words[::5][:260] + [" ".join(refs[k][i:i + 2]) for k in first for i in (0, 3)]
    phrases = [(sum((d._spell(w) for w in h.split()), []), 1.0) for h in hot]
    sparse_native = SimpleNamespace(HotwordAutomaton=functools.partial(
        _native.HotwordAutomaton, max_dense_entries=0))
    bonus, cap = d.hotword_options.bonus * SCALE, d.hotword_options.cap * SCALE
    dense = _build(phrases, bonus, cap, _native)
    sparse = _build(phrases, bonus, cap, sparse_native)
    assert len(set(hot)) >= 280 and dense.dense and not sparse.dense and dense.num_nodes > 500
    changed = 0
    for logp, _, _ in load_posteriors().values():
        plain = d.decode(logp)
        a = d.decode(logp, hotwords=Hotwords(dense, [], owner=d._identity))
        b = d.decode(logp, hotwords=Hotwords(sparse, [], owner=d._identity))
        assert a.words == b.words and a.total_cost == pytest.approx(b.total_cost, abs=1e-3)
        changed += a.total_cost < plain.total_cost - 1e-3
    assert changed >= 10  # the hotwords are on these paths: the bonuses were exercised
