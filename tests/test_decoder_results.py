"""What a result carries: costs that add up and match the posteriors, word timestamps,
N-best lists and lattices."""
import numpy as np
import pytest

from asr.decoder import Decoder, DecoderOptions
from decoder_fixtures import graphs, load_posteriors  # noqa: F401

import kaldifst


def path_acoustic_cost(logp, tokens, token_frames, blank, scale):
    """-scale * sum of the log-posteriors along the alignment implied by the tokens."""
    label = np.full(len(logp), blank)
    for tok, (first, last) in zip(tokens, token_frames):
        label[first:last + 1] = tok
    return -scale * float(logp[np.arange(len(logp)), label].astype(np.float64).sum())


def test_costs_add_up_and_match_the_posteriors(graphs):
    dec = Decoder(graphs["ctc"], DecoderOptions(acoustic_scale=3.0))
    for logp, _, _ in load_posteriors().values():
        r = dec.decode(logp)
        assert r.reached_final
        assert r.total_cost == pytest.approx(r.acoustic_cost + r.graph_cost, rel=1e-6)
        expected = path_acoustic_cost(logp, r.token_columns, r.token_frames, dec.blank_column, 3.0)
        assert r.acoustic_cost == pytest.approx(expected, rel=1e-4, abs=1e-2)
        spelled = "".join(r.tokens).replace("|", " ").split()
        assert spelled == r.words  # the token sequence spells the words


def test_word_timestamps_within_one_frame(graphs):
    for topology, npz in (("ctc", "posteriors_test.npz"), ("sync", "posteriors_test_sync.npz")):
        dec = Decoder(graphs[topology])
        close = total = 0
        for logp, wstart, wend in load_posteriors(npz).values():
            r = dec.decode(logp)
            if len(r.word_frames) != len(wstart):
                continue  # an insertion or deletion: positions cannot be paired simply
            for (s, e), ts, te in zip(r.word_frames, wstart, wend):
                total += 1
                close += abs(s - ts) <= 1 and abs(e - te) <= 1
        assert total > 200
        assert close >= 0.95 * total, f"{topology}: {close}/{total} words within 1 frame"


def test_nbest_first_is_best_distinct_sorted(graphs):
    dec = Decoder(graphs["ctc"], DecoderOptions(nbest=10, lattice_beam=8.0))
    longer = 0
    for logp, _, _ in load_posteriors().values():
        r = dec.decode(logp)
        assert r.nbest[0].word_ids == r.word_ids
        assert r.nbest[0].total_cost == pytest.approx(r.total_cost, abs=1e-3)
        sequences = [tuple(h.word_ids) for h in r.nbest]
        assert len(set(sequences)) == len(sequences)
        costs = [h.total_cost for h in r.nbest]
        assert costs == sorted(costs)
        for h in r.nbest:
            assert h.total_cost == pytest.approx(h.acoustic_cost + h.graph_cost, rel=1e-6)
            assert len(h.word_frames) == len(h.words)
        longer += len(r.nbest) > 1
    assert longer >= 10  # alternatives exist within the lattice beam for most utterances


def test_nbest_matches_openfst_on_the_lattice(graphs, tmp_path):
    """The distinct N-best equals OpenFst's n-shortest distinct strings of the state-level
    lattice (project to words, remove epsilons, determinise, n-shortest paths) that lie
    within lattice_beam of the best (the N-best stops there, as the word lattice does)."""
    dec = Decoder(graphs["ctc"], DecoderOptions(nbest=5, keep_lattice=True,
                                                determinize_lattice=False))
    utts = list(load_posteriors().values())[:6]
    for logp, _, _ in utts:
        r = dec.decode(logp)
        path = str(tmp_path / "lat.fst")
        r.lattice.write_fst(path)
        lat = kaldifst.StdVectorFst.read(path)
        assert lat.num_states == r.lattice.num_states
        # OpenFst's best path through the written lattice has the best total cost
        _, _, olabels, weight = kaldifst.get_linear_symbol_sequence(kaldifst.shortest_path(lat))
        assert list(olabels) == r.word_ids
        assert float(weight.value) == pytest.approx(r.total_cost, abs=1e-2)
        # distinct word strings: output projection + rmepsilon + determinize, via pynini
        import pynini
        words = pynini.Fst.read(path).project("output").rmepsilon()
        det = pynini.determinize(words)
        best = pynini.shortestpath(det, nshortest=5)
        costs = sorted(float(pynini.shortestdistance(p, reverse=True)[0])
                       for p in _paths(best))
        costs = [c for c in costs if c <= costs[0] + dec.options.lattice_beam + 1e-3]
        ours = [h.total_cost for h in r.nbest]
        assert len(ours) == len(costs)
        assert ours == pytest.approx(costs, abs=1e-2)


def _paths(fst):
    """Split an n-shortest-paths FST (a tree from the start) into single paths."""
    import pynini
    start = fst.start()
    for arc in fst.arcs(start):
        path = pynini.Fst()
        s0 = path.add_state()
        path.set_start(s0)
        src, a = s0, arc
        while True:
            dst = path.add_state()
            path.add_arc(src, pynini.Arc(a.ilabel, a.olabel, a.weight, dst))
            state = a.nextstate
            if float(fst.final(state)) != float("inf"):
                path.set_final(dst, fst.final(state))
            arcs = list(fst.arcs(state))
            if not arcs:
                break
            a, src = arcs[0], dst
        yield path


def test_lattice_text_and_arrays(graphs, tmp_path):
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, acoustic_scale=3.0,
                                                determinize_lattice=False))
    logp = next(iter(load_posteriors().values()))[0]
    r = dec.decode(logp)
    a = r.lattice.arrays()
    assert len(a["src"]) == r.lattice.num_arcs
    # graph and acoustic costs are kept apart: the acoustic part of emitting arcs is the
    # scaled posterior of their token at their frame
    emitting = a["ilabel"] > 0
    frames = a["state_frame"][a["dst"][emitting]] - 1
    expected = -3.0 * logp[frames, a["ilabel"][emitting] - 1]
    np.testing.assert_allclose(a["acoustic_cost"][emitting], expected, rtol=1e-5)
    assert np.all(a["acoustic_cost"][~emitting] == 0)
    path = tmp_path / "lat.txt"
    r.lattice.write_text(str(path), key="utt1")
    lines = path.read_text().splitlines()
    assert lines[0] == "utt1"
    first = lines[1].split("\t")
    assert first[0] == str(r.lattice.start) and "," in first[4]
    finals = [l for l in lines[1:] if len(l.split("\t")) == 2]
    assert finals


def test_blank_skipping_keeps_repeats_and_accuracy(graphs):
    utts = load_posteriors()
    plain = Decoder(graphs["ctc"])
    skip = Decoder(graphs["ctc"], DecoderOptions(blank_skip_threshold=0.95))
    same = 0
    searched = total = 0
    for logp, _, _ in utts.values():
        a, b = plain.decode(logp), skip.decode(logp)
        same += a.words == b.words
        searched += skip._native.decode(logp).frames_searched
        total += len(logp)
        # skipped frames are charged their blank cost: totals stay comparable
        if a.words == b.words:
            assert b.total_cost == pytest.approx(a.total_cost, rel=0.02)
    assert searched < 0.9 * total  # frames were actually skipped
    assert same >= 0.9 * len(utts)


def test_long_input_keeps_memory_bounded(graphs):
    """Forty utterances back to back (~5,000 frames): the lattice is pruned every 25 frames
    and first-best back-pointers are collected, so the search's buffers stay small; the
    lattice's best path is still the first-best path."""
    utts = load_posteriors(num_utts=40)
    long = np.concatenate([v[0] for v in utts.values()])
    first = Decoder(graphs["ctc"], DecoderOptions(acoustic_scale=3.0))._native.decode(long)
    lat = Decoder(graphs["ctc"], DecoderOptions(acoustic_scale=3.0, nbest=5))._native.decode(long)
    assert lat.best.word_ids == first.best.word_ids
    assert lat.nbest[0].word_ids == lat.best.word_ids
    assert len(lat.nbest) == 5
    assert first.work_bytes < 4 * 2 ** 20
    assert lat.work_bytes < 8 * 2 ** 20
