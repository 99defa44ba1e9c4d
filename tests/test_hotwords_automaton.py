"""The automaton's moves through failure links (csrc/hotwords.h, its dense transition
table): bonuses on a path whose hotword match restarts inside a longer partial match, checked
against the hand-computed Aho-Corasick walk."""
import pytest

from asr.decoder import Decoder, DecoderOptions
from asr.decoder.hotwords import HotwordOptions
from test_decoder_errors import frames, tiny  # noqa: F401

A, B, END = 1, 2, 3  # columns of the tiny graph's tokens a, b, |


def decoder(tiny, bonus=1.0):
    return Decoder(tiny, DecoderOptions(acoustic_scale=3.0),
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
        assert biased.total_cost == pytest.approx(plain.total_cost - 6.0, abs=1e-4), hotwords


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
    assert biased.total_cost == pytest.approx(plain.total_cost - 0.5 * (2 + 4), abs=1e-4)
