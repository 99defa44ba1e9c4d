"""Rescoring the real decoder's output: its N-best objects go straight into Rescorer.rescore,
and its lattice, converted to a word lattice, reproduces the decoder's own best path and
N-best before any rescoring and moves each path's cost by exactly the LM difference after."""
import math
import os
import sys

import numpy as np
import pytest

import kenlm
import asr.decoder as decoder_module

from asr.cli import main  # noqa: E402
from asr.rescoring.combine import Rescorer, Weights  # noqa: E402
from asr.rescoring.lattice import from_decoder_lattice, nbest, rescore_lattice  # noqa: E402
from asr.rescoring.ngram import NgramRescorer, open_query  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
REF = os.path.join(ROOT, "tests", "data", "kenlm")
OLD = os.path.join(REF, "tiny_o4_fallback.arpa")
NEW = os.path.join(REF, "o3_prune011.arpa")
SENTENCES = ["this psalm may be regarded as the preface psalm",
             "the word translated blessed is a very expressive one"]


@pytest.fixture(scope="module")
def graph_and_posteriors(tmp_path_factory):
    sys.path.insert(0, os.path.join(ROOT, "tools", "bench"))
    from rescore_synth import UNITS, synthesize

    directory = tmp_path_factory.mktemp("graph")
    (directory / "units.txt").write_text("".join(f"{u} {i}\n" for i, u in enumerate(UNITS)))
    assert main(["graph", "compile", "--tokens", str(directory / "units.txt"), "--lm", OLD,
                 "--spelling", "chars", "--word-boundary", "|", "--topology", "ctc",
                 "-o", str(directory / "graph")]) == 0
    rng = np.random.default_rng(3)
    posts = [synthesize(s.split(), rng, confusion=0.7) for s in SENTENCES]
    return str(directory / "graph"), posts


def decode(graph_and_posteriors, **options):
    graph, posts = graph_and_posteriors
    decoder = decoder_module.Decoder(graph, decoder_module.DecoderOptions(
        acoustic_scale=0.5, nbest=10, keep_lattice=True, lattice_beam=6.0, **options))
    return decoder.decode_batch(posts, num_threads=1)


@pytest.fixture(scope="module")
def decoded(graph_and_posteriors):
    """Results with the decoder's (word-determinised) lattice."""
    return decode(graph_and_posteriors)


@pytest.fixture(scope="module")
def decoded_state_level(graph_and_posteriors):
    """The same decoding with the state-level lattice (determinize_lattice=False)."""
    return decode(graph_and_posteriors, determinize_lattice=False)


def test_converted_lattice_reproduces_the_decoder(decoded):
    for result in decoded:
        lattice = from_decoder_lattice(result.lattice, "u")
        paths = nbest(lattice, len(result.nbest))
        assert paths[0].words == result.words
        assert paths[0].cost == pytest.approx(result.total_cost, abs=1e-3)
        assert paths[0].graph == pytest.approx(result.graph_cost, abs=1e-3)
        assert [p.words for p in paths] == [h.words for h in result.nbest]
        assert [p.cost for p in paths] == pytest.approx([h.total_cost for h in result.nbest],
                                                        abs=1e-3)
        assert [p.acoustic for p in paths] == pytest.approx(
            [h.acoustic_cost for h in result.nbest], abs=1e-3)


def test_lattice_rescoring_moves_each_path_by_the_lm_difference(decoded):
    old, new = open_query(OLD), open_query(NEW)
    old_k, new_k = kenlm.Model(OLD), kenlm.Model(NEW)
    for result in decoded:
        lattice = from_decoder_lattice(result.lattice, "u")
        before = {tuple(h.words): h.total_cost for h in result.nbest}
        after = nbest(rescore_lattice(lattice, new, old), 10)
        checked = 0
        for path in after:
            if tuple(path.words) in before:
                sentence = " ".join(path.words)
                delta = (old_k.score(sentence) - new_k.score(sentence)) * math.log(10)
                assert path.cost == pytest.approx(before[tuple(path.words)] + delta, abs=5e-3)
                checked += 1
        assert checked >= 1


def test_decoder_nbest_goes_straight_into_the_rescorer(decoded):
    rescorer = Rescorer({"ngram": NgramRescorer(NEW)},
                        Weights(1.0, 0.0, 0.0, {"ngram": 1.0}))
    for result in decoded:
        ranked = rescorer.rescore(result.nbest)
        assert sorted(map(tuple, (h.words for h in ranked))) == sorted(
            map(tuple, (h.words for h in result.nbest)))
        for hyp in ranked:
            expected = kenlm.Model(NEW).score(" ".join(hyp.words)) * math.log(10) - hyp.acoustic_cost
            assert hyp.total == pytest.approx(expected, abs=1e-3)
        assert [h.total for h in ranked] == sorted((h.total for h in ranked), reverse=True)


def test_determinised_decoder_lattice_rescoring_matches(decoded_state_level):
    from asr.rescoring.lattice import LatticeRescoreOptions

    old, new = open_query(OLD), open_query(NEW)
    for result in decoded_state_level:
        lattice = from_decoder_lattice(result.lattice, "u")
        plain = nbest(rescore_lattice(lattice, new, old), 3)
        compact = rescore_lattice(lattice, new, old, LatticeRescoreOptions(determinize=True))
        assert len(compact.arcs) < len(lattice.arcs)
        fast = nbest(compact, 3)
        assert [p.words for p in fast] == [p.words for p in plain]
        assert [p.cost for p in fast] == pytest.approx([p.cost for p in plain], abs=1e-3)


def test_decoder_word_lattice_rescores_like_the_determinised_state_level_one(
        decoded, decoded_state_level):
    """The decoder's own word lattice, rescored as it comes, gives the rescored N-best of its
    state-level lattice determinised by OpenFst (within the lattice beam, where both hold
    every word sequence at its best cost)."""
    from asr.rescoring.lattice import LatticeRescoreOptions

    old, new = open_query(OLD), open_query(NEW)
    for words_result, states_result in zip(decoded, decoded_state_level):
        assert words_result.words == states_result.words
        direct = rescore_lattice(from_decoder_lattice(words_result.lattice, "u"), new, old)
        via_openfst = rescore_lattice(from_decoder_lattice(states_result.lattice, "u"), new,
                                      old, LatticeRescoreOptions(determinize=True))
        ours, reference = nbest(direct, 10), nbest(via_openfst, 10)
        # sequences within the beam before rescoring: the same, at the same rescored cost
        before = {tuple(h.words) for h in words_result.nbest}
        expected = {tuple(p.words): p.cost for p in reference if tuple(p.words) in before}
        got = {tuple(p.words): p.cost for p in ours if tuple(p.words) in before}
        assert got.keys() == expected.keys() and len(got) == len(words_result.nbest)
        for words in got:
            assert got[words] == pytest.approx(expected[words], abs=1e-3)
        assert ours[0].words == reference[0].words
