"""Pruned word determinisation (asr/decoder/csrc/determinize.h) of random acyclic lattices,
through `_native.determinize_lattice` (what lattice rescoring determinises with), against
brute force: every path of the input enumerated, grouped by word sequence. Also its guard and
its errors."""
import math
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asr.decoder import _native


@st.composite
def lattices(draw, synchronous=True):
    """An acyclic lattice: arcs go from lower to higher state numbers; start 0. Synchronous
    (as the decoder's): each state has a frame, and an arc reads one label per frame it
    crosses; otherwise strings of any length."""
    n = draw(st.integers(1, 7))
    frame = [0]
    for _ in range(n - 1):
        frame.append(frame[-1] + draw(st.integers(0, 2)))
    arcs = []
    for src in range(n):
        for dst in range(src + 1, n):
            for _ in range(draw(st.integers(0, 2))):
                length = frame[dst] - frame[src] if synchronous else draw(st.integers(0, 2))
                arcs.append((src, dst, draw(st.sampled_from([0, 0, 1, 2, 3])),
                             draw(st.floats(-1, 5, width=32)), draw(st.floats(0, 5, width=32)),
                             draw(st.lists(st.integers(1, 4), min_size=length,
                                           max_size=length))))
    finals = [draw(st.one_of(st.just(math.inf), st.floats(-1, 3, width=32))) for _ in range(n)]
    final_acoustic = [draw(st.floats(0, 2, width=32)) for _ in range(n)]
    return n, arcs, finals, final_acoustic


def determinize(lattice, beam, **limits):
    n, arcs, finals, final_acoustic = lattice
    offsets, labels = [0], []
    for arc in arcs:
        labels += arc[5]
        offsets.append(len(labels))
    return _native.determinize_lattice(
        n, 0, [a[0] for a in arcs], [a[1] for a in arcs], [a[2] for a in arcs],
        [a[3] for a in arcs], [a[4] for a in arcs], offsets, labels, finals, final_acoustic,
        beam, **limits)


def input_sequences(lattice):
    """word sequence -> sorted [(cost, labels)] over every complete path of the input."""
    n, arcs, finals, final_acoustic = lattice
    out = defaultdict(list)

    def walk(state, words, cost, labels):
        if math.isfinite(finals[state]):
            out[tuple(words)].append((cost + finals[state] + final_acoustic[state],
                                      tuple(labels)))
        for src, dst, word, graph, acoustic, string in arcs:
            if src == state:
                walk(dst, words + ([word] if word else []), cost + graph + acoustic,
                     labels + string)

    walk(0, [], 0.0, [])
    return {words: sorted(paths) for words, paths in out.items()}


def output_sequences(result, synchronous=True):
    """word sequence -> (cost, labels) of every path of the determinised lattice; checks
    that it is deterministic, epsilon-free and (synchronous input) that state_frame is the
    same on every path."""
    a = result.arrays()
    out = {}
    if result.start < 0:
        return out
    by_src = defaultdict(list)
    for i in range(len(a["src"])):
        by_src[int(a["src"][i])].append(i)
    for state, arcs in by_src.items():
        words = [int(a["olabel"][i]) for i in arcs]
        assert 0 not in words and len(set(words)) == len(words)
    for i in range(len(a["src"]) if synchronous else 0):
        length = a["string_offsets"][i + 1] - a["string_offsets"][i]
        assert a["state_frame"][a["dst"][i]] == a["state_frame"][a["src"][i]] + length

    def walk(state, words, cost, labels):
        if math.isfinite(a["final_cost"][state]):
            final = a["final_strings"][a["final_string_offsets"][state]:
                                       a["final_string_offsets"][state + 1]].tolist()
            assert tuple(words) not in out
            out[tuple(words)] = (cost + float(a["final_graph_cost"][state]) +
                                 float(a["final_acoustic_cost"][state]), tuple(labels + final))
        for i in by_src[state]:
            walk(int(a["dst"][i]), words + [int(a["olabel"][i])],
                 cost + float(a["graph_cost"][i]) + float(a["acoustic_cost"][i]),
                 labels + a["strings"][a["string_offsets"][i]:a["string_offsets"][i + 1]].tolist())

    walk(result.start, [], 0.0, [])
    return out


def tolerance(cost):
    return 1e-4 * (1 + abs(cost))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), beam=st.one_of(st.just(1e9), st.floats(0, 8)))
def test_random_lattices_against_brute_force(data, beam):
    synchronous = data.draw(st.booleans())
    lattice = data.draw(lattices(synchronous))
    expected = input_sequences(lattice)
    result = determinize(lattice, beam)
    got = output_sequences(result, synchronous)
    if not expected:
        assert got == {}
        return
    best = min(paths[0][0] for paths in expected.values())
    for words, paths in expected.items():
        true_cost, labels = paths[0]
        unique = len(paths) == 1 or paths[1][0] - true_cost > 1e-3
        if true_cost <= best + beam - tolerance(best):
            # within the beam: present, at its best cost, with its best path's labels
            assert words in got
            assert got[words][0] == pytest.approx(true_cost, abs=tolerance(true_cost))
            if unique:
                assert got[words][1] == labels
    for words, (cost, _) in got.items():
        assert words in expected  # nothing invented
        assert cost >= expected[words][0][0] - tolerance(cost)  # never below its best
    if beam >= 1e9:
        assert got.keys() == expected.keys()


def test_openfst_agrees_on_a_random_lattice():
    """The same comparison through OpenFst on one larger lattice: pynini's
    determinize(rmepsilon(.)) of the weight-summed acceptor accepts the same sequences at
    the same costs as ours (no pruning)."""
    import pynini
    import random

    rng = random.Random(7)
    n = 14
    arcs = []
    for src in range(n):
        for dst in range(src + 1, min(n, src + 4)):
            for _ in range(rng.randint(1, 2)):
                arcs.append((src, dst, rng.choice([0, 0, 1, 2, 3, 4]), rng.uniform(0, 3),
                             rng.uniform(0, 3), [rng.randint(1, 5)]))
    finals = [math.inf] * (n - 2) + [0.5, 0.0]
    lattice = (n, arcs, finals, [0.0] * n)
    ours = output_sequences(determinize(lattice, 1e9), synchronous=False)
    fst = pynini.Fst()
    for _ in range(n):
        fst.add_state()
    fst.set_start(0)
    for s, f in enumerate(finals):
        if math.isfinite(f):
            fst.set_final(s, f)
    for src, dst, word, graph, acoustic, _ in arcs:
        fst.add_arc(src, pynini.Arc(word, word, graph + acoustic, dst))
    det = pynini.determinize(pynini.rmepsilon(fst))
    best = pynini.shortestpath(det, nshortest=len(ours) + 5)
    reference = {}
    paths = best.paths()
    while not paths.done():
        reference[tuple(i for i in paths.ilabels() if i)] = float(str(paths.weight()))
        paths.next()
    assert len(reference) == len(ours) > 20
    for words, cost in reference.items():
        assert ours[words][0] == pytest.approx(cost, abs=1e-3)


def test_guard_retries_then_keeps_the_best_path():
    """A lattice whose determinisation needs many states: with max_states 3 every attempt
    is abandoned (tighter beams each time) and the best path alone is kept. No crash."""
    n = 30
    arcs = []
    for src in range(n - 1):  # a chain of two-way word choices
        arcs.append((src, src + 1, 1, 1.0, 0.0, [1]))
        arcs.append((src, src + 1, 2, 1.1, 0.0, [2]))
    finals = [math.inf] * (n - 1) + [0.0]
    lattice = (n, arcs, finals, [0.0] * n)
    full = determinize(lattice, 10.0)
    assert full.attempts == 1 and full.num_states > 10
    small = determinize(lattice, 10.0, max_states=3, max_retries=4)
    assert small.attempts == 6 and small.beam < 10.0
    got = output_sequences(small)
    assert list(got) == [tuple([1] * (n - 1))]
    assert got[tuple([1] * (n - 1))][0] == pytest.approx(n - 1.0)
    by_arcs = determinize(lattice, 10.0, max_arcs=5, max_retries=2)  # the arc limit too
    assert by_arcs.attempts == 4 and list(output_sequences(by_arcs)) == list(got)
    # a cheap chain of 10 words and a dearer one of 20 (+6): at beam 10 both (31 states),
    # at beam 5, after one retry, the cheap one alone (11)
    arcs = [(i, i + 1, 1, 1.0, 0.0, [1]) for i in range(10)]
    arcs += [(0 if i == 0 else 10 + i, 11 + i, 2, 0.8, 0.0, [2]) for i in range(20)]
    finals = [math.inf] * 31
    finals[10] = finals[30] = 0.0
    lattice = (31, arcs, finals, [0.0] * 31)
    assert determinize(lattice, 10.0).num_states == 31
    fits = determinize(lattice, 10.0, max_states=20)
    assert fits.attempts == 2 and fits.beam == 5.0 and fits.num_states == 11
    assert list(output_sequences(fits)) == [tuple([1] * 10)]


@pytest.mark.parametrize("change, message", [
    (lambda l: (l[0], l[1] + [(1, 0, 1, 0.0, 0.0, [])], l[2], l[3]), "cycle"),
    (lambda l: (l[0], l[1] + [(0, 9, 1, 0.0, 0.0, [])], l[2], l[3]), "out of range"),
    (lambda l: (l[0], l[1] + [(0, 1, -2, 0.0, 0.0, [])], l[2], l[3]), "negative word"),
    (lambda l: (l[0], l[1] + [(0, 1, 1, math.nan, 0.0, [])], l[2], l[3]), "NaN"),
    (lambda l: (l[0], l[1], l[2][:1], l[3]), "one final weight per state"),
])
def test_malformed_lattices_raise(change, message):
    lattice = (2, [(0, 1, 1, 1.0, 1.0, [3])], [math.inf, 0.0], [0.0, 0.0])
    assert output_sequences(determinize(lattice, 5.0)) == {(1,): (2.0, (3,))}
    with pytest.raises(ValueError, match=message):
        determinize(change(lattice), 5.0)
