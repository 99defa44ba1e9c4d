"""The decoder's word lattice (Result.lattice with keep_lattice=True; determinize.h): against
OpenFst's determinisation of the same search's state-level lattice, its best path and timing
against Result's, its N-best against Result.nbest, its files, and its edge cases."""
import math

import numpy as np
import pytest

from asr.decoder import Decoder, DecoderOptions, WordLattice
from common.errors import InputError
from asr.rescoring.lattice import nbest as lattice_nbest
from asr.rescoring.lattice import read_kaldi_lattices
from decoder_fixtures import graphs, load_posteriors  # noqa: F401

import pynini
import kaldifst

NUM_SHORTEST = 200  # enough to list every word sequence of these lattices within the beam


def fst_paths(fst, n=NUM_SHORTEST):
    """[(labels, cost)] of the n best paths of an acceptor, best first."""
    best = pynini.shortestpath(fst, nshortest=n)
    if best.start() == pynini.NO_STATE_ID:
        return []
    found = []
    paths = best.paths()
    while not paths.done():
        found.append((tuple(i for i in paths.ilabels() if i), float(str(paths.weight()))))
        paths.next()
    return sorted(found, key=lambda p: p[1])


def sequence_cost(fst, labels):
    """The cost of one word sequence in an acceptor (inf if absent)."""
    line = pynini.Fst()
    state = line.add_state()
    line.set_start(state)
    for label in labels:
        nxt = line.add_state()
        line.add_arc(state, pynini.Arc(label, label, 0, nxt))
        state = nxt
    line.set_final(state)
    both = pynini.intersect(fst.copy().arcsort("olabel"), line)
    if both.start() == pynini.NO_STATE_ID:
        return math.inf
    return float(str(pynini.shortestdistance(both, reverse=True)[both.start()]))


def openfst_word_lattice(state_level, path):
    """OpenFst's determinize(rmepsilon(word acceptor)) of a state-level lattice."""
    state_level.write_fst(str(path))
    words = pynini.Fst.read(str(path)).project("output").rmepsilon()
    return pynini.determinize(words)


def assert_deterministic_epsilon_free(lattice: WordLattice):
    a = lattice.arrays()
    assert np.all(a["olabel"] > 0)
    pairs = set(zip(a["src"].tolist(), a["olabel"].tolist()))
    assert len(pairs) == lattice.num_arcs  # no state has two arcs with one word
    assert np.all(a["ilabel"] == a["olabel"])


def decoders(graph, **options):
    words = Decoder(graph, DecoderOptions(keep_lattice=True, **options))
    states = Decoder(graph, DecoderOptions(keep_lattice=True, determinize_lattice=False,
                                           **options))
    return words, states


@pytest.mark.parametrize("graph, options", [
    ("ctc", {}),
    ("ctc", {"lattice_beam": 9.0, "acoustic_scale": 1.0}),
    ("compact", {"lattice_beam": 4.0}),
    ("sync", {"lattice_beam": 6.0, "acoustic_scale": 1.0}),
])
def test_same_word_sequences_and_costs_as_openfst(graphs, tmp_path, graph, options):
    """Within lattice_beam of the best, our word lattice and OpenFst's determinisation of the
    state-level lattice hold the same word sequences at the same costs; beyond it ours may
    drop sequences or hold them above their best cost, never below."""
    sync = graph == "sync"
    utts = load_posteriors("posteriors_test_sync.npz" if sync else "posteriors_test.npz")
    ours_decoder, states_decoder = decoders(graphs[graph], **options)
    beam = ours_decoder.options.lattice_beam
    compared = alternatives = 0
    for logp, _, _ in list(utts.values())[:12]:
        ours = ours_decoder.decode(logp).lattice
        states = states_decoder.decode(logp).lattice
        assert isinstance(ours, WordLattice) and ours.attempts == 1 and ours.beam == beam
        assert_deterministic_epsilon_free(ours)
        ours.write_fst(str(tmp_path / "ours.fst"))
        mine = fst_paths(pynini.Fst.read(str(tmp_path / "ours.fst")))
        det = openfst_word_lattice(states, tmp_path / "states.fst")
        reference = fst_paths(det)
        best = reference[0][1]
        limit = best + beam
        assert len(reference) < NUM_SHORTEST or reference[-1][1] > limit
        ref_cost = dict(reference)
        mine_cost = dict(mine)
        assert len(mine_cost) == len(mine)  # distinct word sequences
        for words, cost in reference:
            if cost <= limit - 1e-3:
                assert mine_cost.get(words) == pytest.approx(cost, rel=1e-6, abs=1e-3)
                compared += 1
        for words, cost in mine:
            reference_cost = ref_cost.get(words) or sequence_cost(det, words)
            assert cost >= reference_cost - 1e-3 * (1 + abs(cost))
            if cost <= limit - 1e-3:
                assert cost == pytest.approx(reference_cost, rel=1e-6, abs=1e-3)
        alternatives += sum(cost <= limit for _, cost in reference) > 1
        # the lattice is much smaller than the state-level one
        assert ours.num_arcs < states.num_arcs
    assert compared >= 12 and alternatives >= 3


@pytest.mark.parametrize("graph, options", [
    ("ctc", {}),
    ("ctc", {"blank_skip_threshold": 0.95}),
    ("compact", {}),
    ("sync", {}),
])
def test_best_path_split_and_timing_equal_the_result(graphs, graph, options):
    """The lattice's best path: Result's words, tokens, graph/acoustic split and word frames
    (recomputed from the path's strings: one token label per input frame, skipped blank
    frames included); its arcs' start/end frames tile the input."""
    sync = graph == "sync"
    utts = load_posteriors("posteriors_test_sync.npz" if sync else "posteriors_test.npz")
    dec = Decoder(graphs[graph], DecoderOptions(keep_lattice=True, nbest=3, **options))
    for logp, _, _ in utts.values():
        r = dec.decode(logp)
        best = r.lattice.nbest[0]
        assert best.words == r.words and best.tokens == r.tokens
        assert best.word_frames == r.word_frames
        assert best.graph_cost == pytest.approx(r.graph_cost, rel=1e-6, abs=1e-3)
        assert best.acoustic_cost == pytest.approx(r.acoustic_cost, rel=1e-6, abs=1e-3)
        a = r.lattice.arrays()
        # walk the best path by its words: frames consumed add up to T
        state, frames, labels = r.lattice.start, 0, []
        for word in r.word_ids:
            i = np.flatnonzero((a["src"] == state) & (a["olabel"] == word))
            assert len(i) == 1
            i = i[0]
            assert a["start_frame"][i] == frames == a["state_frame"][state]
            frames = a["end_frame"][i]
            labels += a["strings"][a["string_offsets"][i]:a["string_offsets"][i + 1]].tolist()
            state = a["dst"][i]
        labels += a["final_strings"][a["final_string_offsets"][state]:
                                     a["final_string_offsets"][state + 1]].tolist()
        assert len(labels) == len(logp)
        # the labels are the alignment: its acoustic cost is the result's
        columns = np.array(labels) - 1
        acoustic = -float(logp[np.arange(len(logp)), columns].astype(np.float64).sum())
        assert acoustic * _scale(dec) == pytest.approx(r.acoustic_cost, rel=1e-4)


def _scale(dec):
    return dec.acoustic_scale


def test_lattice_nbest_equals_result_nbest(graphs):
    """Result.nbest (read lazily off the state-level lattice) == the word lattice's 10 best
    paths: same words, costs, split and timing, on the first 20 bench utterances."""
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, nbest=10))
    longer = 0
    for logp, _, _ in load_posteriors().values():
        r = dec.decode(logp)
        ours, lazy = r.lattice.nbest, r.nbest
        assert [h.words for h in ours] == [h.words for h in lazy]
        assert [h.total_cost for h in ours] == pytest.approx([h.total_cost for h in lazy],
                                                             abs=1e-3)
        assert [h.graph_cost for h in ours] == pytest.approx([h.graph_cost for h in lazy],
                                                             abs=1e-3)
        assert [h.word_frames for h in ours] == [h.word_frames for h in lazy]
        assert [h.tokens for h in ours] == [h.tokens for h in lazy]
        costs = [h.total_cost for h in ours]
        assert costs == sorted(costs) and costs[-1] <= costs[0] + dec.options.lattice_beam
        assert len({tuple(h.words) for h in ours}) == len(ours)
        longer += len(ours) > 1
    assert longer >= 8


def test_nbest_without_the_lattice_is_the_same(graphs):
    """N-best does not need keep_lattice: the same list either way."""
    with_lattice = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, nbest=10))
    without = Decoder(graphs["ctc"], DecoderOptions(nbest=10))
    for logp, _, _ in list(load_posteriors().values())[:8]:
        a, b = with_lattice.decode(logp), without.decode(logp)
        assert [h.words for h in a.nbest] == [h.words for h in b.nbest]
        assert b.lattice is None


def test_write_fst_and_text_read_back(graphs, tmp_path):
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, nbest=10))
    for key, (logp, _, _) in list(load_posteriors().items())[:5]:
        r = dec.decode(logp)
        lat = r.lattice
        a = lat.arrays()
        # OpenFst binary: pynini and kaldifst read it; same paths as the lattice's N-best
        path = tmp_path / "lat.fst"
        lat.write_fst(str(path))
        fst = pynini.Fst.read(str(path))
        assert fst.num_states() == lat.num_states
        assert sum(fst.num_arcs(s) for s in fst.states()) == lat.num_arcs
        assert fst.properties(pynini.I_DETERMINISTIC, True) == pynini.I_DETERMINISTIC
        paths = fst_paths(fst, 10)
        assert [p[0] for p in paths] == [tuple(h.word_ids) for h in lat.nbest]
        assert [p[1] for p in paths] == pytest.approx([h.total_cost for h in lat.nbest],
                                                      abs=1e-3)
        kfst = kaldifst.StdVectorFst.read(str(path))
        _, _, olabels, weight = kaldifst.get_linear_symbol_sequence(kaldifst.shortest_path(kfst))
        assert list(olabels) == r.word_ids
        assert float(weight.value) == pytest.approx(r.total_cost, abs=1e-2)

        # Kaldi CompactLattice text, integer word ids
        text = tmp_path / "lat.txt"
        lat.write_text(str(text), key=key, symbols=False)
        lines = text.read_text().split("\n")
        assert lines[0] == key and lines[-2:] == ["", ""]  # key, ..., blank line
        arcs, finals = [], {}
        for line in lines[1:-2]:
            fields = line.split("\t")
            weight = fields[-1].split(",")
            assert len(weight) == 3
            labels = [int(x) for x in weight[2].split("_")] if weight[2] else []
            if len(fields) == 4:
                arcs.append((int(fields[0]), int(fields[1]), int(fields[2]), float(weight[0]),
                             float(weight[1]), labels))
            else:
                assert len(fields) == 2
                finals[int(fields[0])] = (float(weight[0]), float(weight[1]), labels)
        assert arcs[0][0] == lat.start  # Kaldi takes the first state as the start
        assert len(arcs) == lat.num_arcs
        for i, (src, dst, word, graph, acoustic, labels) in enumerate(arcs):
            assert (src, dst, word) == (a["src"][i], a["dst"][i], a["olabel"][i])
            assert graph == pytest.approx(a["graph_cost"][i], rel=1e-6, abs=1e-5)
            assert acoustic == pytest.approx(a["acoustic_cost"][i], rel=1e-6, abs=1e-5)
            assert labels == a["strings"][a["string_offsets"][i]:a["string_offsets"][i + 1]].tolist()
        assert sorted(finals) == np.flatnonzero(np.isfinite(a["final_cost"])).tolist()

        # with word symbols: what `tingxie rescore --lattice` reads; same N-best
        lat.write_text(str(text), key=key)
        (read,) = list(read_kaldi_lattices(str(text)))
        assert read.key == key
        again = lattice_nbest(read, 10)
        assert [p.words for p in again] == [h.words for h in lat.nbest]
        assert [p.cost for p in again] == pytest.approx([h.total_cost for h in lat.nbest],
                                                        abs=1e-3)


def test_blank_skipping_puts_skipped_frames_back(graphs):
    """With blank skipping the lattice strings still have one label per input frame and
    the acoustic costs include the skipped blanks: the lattice's best path costs what the
    result does (the state-level lattice leaves those frames out)."""
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, blank_skip_threshold=0.9))
    skipped_some = 0
    for logp, _, _ in list(load_posteriors().values())[:10]:
        r = dec.decode(logp)
        a = r.lattice.arrays()
        best = r.lattice.nbest[0]
        assert best.total_cost == pytest.approx(r.total_cost, rel=1e-6, abs=1e-3)
        skipped_some += dec._native.decode(logp).frames_searched < len(logp)
        assert a["final_strings"].size + a["strings"].size >= len(logp)
    assert skipped_some >= 5


def test_every_frame_skipped(graphs):
    """Blank everywhere, skipped entirely: a one-state lattice, final, reading T blanks."""
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, blank_skip_threshold=0.5))
    v = len(dec.tokens)
    logp = np.full((7, v), np.log(0.01 / (v - 1)), dtype=np.float32)
    logp[:, dec.blank_column] = np.log(0.99)
    r = dec.decode(logp)
    lat = r.lattice
    a = lat.arrays()
    assert r.words == [] and lat.num_states == 1 and lat.num_arcs == 0
    assert a["final_strings"].tolist() == [dec.blank_column + 1] * 7
    assert lat.nbest[0].total_cost == pytest.approx(r.total_cost, abs=1e-4)
    assert lat.nbest[0].acoustic_cost == pytest.approx(r.acoustic_cost, abs=1e-4)


def test_no_final_state_reached_and_nothing_alive(graphs):
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, nbest=5))
    logp = next(iter(load_posteriors().values()))[0]
    # cut inside a word, without blank: the best non-final path is the fallback; the
    # lattice ends where the search did
    cut = logp[:23].copy()
    cut[-1, dec.blank_column] = -np.inf
    r = dec.decode(cut)
    if not r.reached_final:
        assert r.lattice.nbest[0].words == r.words
        assert r.lattice.nbest[0].total_cost == pytest.approx(r.total_cost, abs=1e-3)
    # all -inf: no path can exist; refused (naming the frame), not an empty lattice
    with pytest.raises(InputError, match="frame 0: every column is -inf"):
        dec.decode(np.full((4, len(dec.tokens)), -np.inf, dtype=np.float32))


def test_blow_up_guard_retries_with_a_tighter_beam(graphs):
    """A tiny lattice_max_states makes determinisation give up and retry with half the beam
    until it fits, or keep the best path alone: never a crash, the best path is kept."""
    utts = list(load_posteriors().values())[:6]
    loose = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, lattice_beam=12.0))
    for max_states in (1, 8):
        tight = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, lattice_beam=12.0,
                                                      lattice_max_states=max_states))
        for logp, _, _ in utts:
            full = loose.decode(logp).lattice
            r = tight.decode(logp)
            lat = r.lattice
            if full.num_states > max_states:
                assert lat.attempts > 1 and lat.beam < 12.0
            assert lat.nbest[0].words == r.words
            if lat.attempts <= 9:  # a retry that fit: within its limits
                assert lat.num_states <= max_states
    with pytest.raises(ValueError, match="lattice_max_states"):
        Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, lattice_max_states=0))


def test_state_level_lattice_still_available(graphs):
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, determinize_lattice=False))
    logp = next(iter(load_posteriors().values()))[0]
    lat = dec.decode(logp).lattice
    a = lat.arrays()
    assert not isinstance(lat, WordLattice)
    assert np.any(a["olabel"] == 0) and np.any(a["ilabel"] > 0)  # token arcs, epsilons


def test_decode_batch_gives_the_same_lattices(graphs):
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, nbest=4))
    utts = [v[0] for v in list(load_posteriors().values())[:6]]
    batch = dec.decode_batch(utts, num_threads=2)
    for logp, r in zip(utts, batch):
        one = dec.decode(logp)
        assert r.lattice.num_states == one.lattice.num_states
        assert r.lattice.num_arcs == one.lattice.num_arcs
        assert [h.words for h in r.lattice.nbest] == [h.words for h in one.lattice.nbest]
        assert math.isclose(r.lattice.nbest[0].total_cost, one.lattice.nbest[0].total_cost,
                            abs_tol=1e-4)


def test_decode_cli_writes_a_lattice_archive(graphs, tmp_path):
    """`tingxie decode --lattice`: one CompactLattice text entry per utterance, readable by
    the rescoring reader, whose best paths are the 1-best written to the text output."""
    from asr.cli import main as tingxie

    utts = dict(list((k, v[0]) for k, v in load_posteriors().items())[:4])
    np.savez(tmp_path / "post.npz", **utts)
    assert tingxie(["decode", "--graph", graphs["ctc"], "--posteriors",
                    str(tmp_path / "post.npz"), "-o", str(tmp_path / "hyp.txt"),
                    "--lattice", str(tmp_path / "lat.txt")]) == 0
    hyps = {line.split()[0]: line.split()[1:]
            for line in (tmp_path / "hyp.txt").read_text().splitlines()}
    lattices = list(read_kaldi_lattices(str(tmp_path / "lat.txt")))
    assert sorted(l.key for l in lattices) == sorted(utts)
    for lattice in lattices:
        assert lattice_nbest(lattice, 1)[0].words == hyps[lattice.key]


def test_lattice_with_out_of_vocabulary_hotwords(graphs, tmp_path):
    """Hotword names outside the graph get word labels past words.txt: the word lattice
    carries them (text output spells them), its best path and N-best equal the result's."""
    from decoder_fixtures import BENCH, read_refs
    dec = Decoder(graphs["ctc"], DecoderOptions(acoustic_scale=3.0, keep_lattice=True, nbest=5))
    refs = read_refs(BENCH / "refs_test.txt")
    utts = load_posteriors(num_utts=30)
    checked = 0
    for key in list(utts)[20:]:
        oov = sorted({w for w in refs[key] if dec._spell(w) is None})
        if not oov:
            continue
        r = dec.decode(utts[key][0], hotwords=oov)
        names = [w for w in r.words if w in oov]
        if not names:
            continue
        lat = r.lattice
        assert lat.nbest[0].words == r.words
        assert lat.nbest[0].word_frames == r.word_frames
        assert [h.words for h in lat.nbest] == [h.words for h in r.nbest]
        assert max(lat.arrays()["olabel"]) >= len(dec.words)
        text = lat.kaldi_text(key)
        assert all(f"\t{name}\t" in text for name in names)
        checked += 1
    assert checked >= 3


def test_kaldi_lattice_form_read_by_kaldi(graphs, tmp_path):
    """write_fst(kaldi_lattice=True) is a Kaldi Lattice (lattice4 arcs) that kaldifst reads;
    Kaldi's own lattice-to-nbest on it gives our N-best: the same words, the same
    (graph, acoustic) split, and an alignment of one token label per input frame whose CTC
    collapse is the hypothesis' tokens."""
    dec = Decoder(graphs["ctc"], DecoderOptions(keep_lattice=True, nbest=10,
                                                blank_skip_threshold=0.9))
    longer = 0
    for logp, _, _ in list(load_posteriors().values())[:10]:
        r = dec.decode(logp)
        path = tmp_path / "lat.fst"
        r.lattice.write_fst(str(path), kaldi_lattice=True)
        kaldi_paths = kaldifst.lattice_to_nbest(kaldifst.Lattice.read(str(path)), n=10)
        ours = r.lattice.nbest
        assert len(kaldi_paths) >= len(ours)
        for h, kaldi_path in zip(ours, kaldi_paths):
            ok, ilabels, olabels, weight = kaldifst.get_linear_symbol_sequence(kaldi_path)
            assert ok and list(olabels) == h.word_ids
            assert weight.value1 == pytest.approx(h.graph_cost, abs=1e-3)
            assert weight.value2 == pytest.approx(h.acoustic_cost, abs=1e-3)
            assert len(ilabels) == len(logp)
            collapsed = [k - 1 for i, k in enumerate(ilabels)
                         if k - 1 != dec.blank_column and (i == 0 or ilabels[i - 1] != k)]
            assert collapsed == h.token_columns
        for extra in kaldi_paths[len(ours):]:  # Kaldi's go on past the beam; ours stop
            _, _, _, weight = kaldifst.get_linear_symbol_sequence(extra)
            assert weight.value1 + weight.value2 > ours[0].total_cost + dec.options.lattice_beam
        longer += len(ours) > 1
    assert longer >= 3
