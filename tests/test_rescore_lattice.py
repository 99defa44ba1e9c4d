"""Whole-lattice rescoring against brute force: enumerate every path of small random lattices,
score each word sequence with KenLM (old LM off, new LM on), compare best paths and N-best."""
import math
import os
import random

import pytest

import kenlm

from asr.rescoring.lattice import (Arc, LatticeRescoreOptions, ArcLattice, nbest,  # noqa: E402
                                   read_kaldi_lattices, rescore_lattice)
from asr.rescoring.ngram import KenlmQuery, open_query  # noqa: E402
from common.errors import InputError  # noqa: E402

REF = os.path.join(os.path.dirname(__file__), "data", "kenlm")
OLD = os.path.join(REF, "tiny_o4_fallback.arpa")
NEW = os.path.join(REF, "o3_prune011.arpa")
WORDS = ["the", "psalm", "of", "is", "blessed", "man", "lord", "zzunknown", "word"]
LN10 = math.log(10)


@pytest.fixture(scope="module")
def lms():
    return open_query(OLD), open_query(NEW), kenlm.Model(OLD), kenlm.Model(NEW)


def random_lattice(rng, num_states=7, num_arcs=14):
    arcs = []
    for _ in range(num_arcs):
        src = rng.randrange(num_states - 1)
        dst = rng.randrange(src + 1, num_states)
        word = None if rng.random() < 0.15 else rng.choice(WORDS)
        arcs.append(Arc(src, dst, word, rng.uniform(0, 5), rng.uniform(0, 20)))
    for src in range(num_states - 1):  # every state can reach the end
        arcs.append(Arc(src, src + 1, rng.choice(WORDS), rng.uniform(0, 5), rng.uniform(0, 20)))
    finals = {num_states - 1: (rng.uniform(0, 1), 0.0)}
    if rng.random() < 0.5:
        finals[num_states - 3] = (rng.uniform(0, 2), rng.uniform(0, 1))
    return ArcLattice(0, arcs, finals, "utt")


def all_paths(lattice):
    out = []

    def walk(state, words, graph, acoustic):
        if state in lattice.finals:
            g, a = lattice.finals[state]
            out.append((list(words), graph + g, acoustic + a))
        for arc in lattice.arcs:
            if arc.src == state:
                walk(arc.dst, words + ([arc.word] if arc.word else []), graph + arc.graph,
                     acoustic + arc.acoustic)

    walk(lattice.start, [], 0.0, 0.0)
    return out


def brute_force(lattice, old_kenlm, new_kenlm, old_scale, new_scale, acoustic_scale):
    """{word sequence: lowest rescored cost}."""
    best = {}
    for words, graph, acoustic in all_paths(lattice):
        sentence = " ".join(words)
        graph = (graph + old_scale * old_kenlm.score(sentence) * LN10
                 - new_scale * new_kenlm.score(sentence) * LN10)
        cost = graph + acoustic_scale * acoustic
        best[tuple(words)] = min(cost, best.get(tuple(words), math.inf))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_best_path_and_nbest_match_brute_force(lms, seed):
    old, new, old_k, new_k = lms
    rng = random.Random(seed)
    lattice = random_lattice(rng)
    options = LatticeRescoreOptions(old_lm_scale=rng.choice([1.0, 0.7]),
                                    new_lm_scale=rng.choice([1.0, 1.3]))
    acoustic_scale = rng.choice([1.0, 0.1])
    expected = brute_force(lattice, old_k, new_k, options.old_lm_scale, options.new_lm_scale,
                           acoustic_scale)
    ranked = sorted(expected.items(), key=lambda kv: kv[1])
    rescored = rescore_lattice(lattice, new, old, options)
    paths = nbest(rescored, n=5, acoustic_scale=acoustic_scale)
    assert len(paths) == min(5, len(ranked))
    for path, (words, cost) in zip(paths, ranked):
        # KenLM sums in float32: allow its rounding, far below any real cost difference
        assert path.cost == pytest.approx(cost, abs=2e-3)
        assert expected[tuple(path.words)] == pytest.approx(path.cost, abs=2e-3)
        assert path.graph + acoustic_scale * path.acoustic == pytest.approx(path.cost, abs=1e-6)
    assert tuple(paths[0].words) == ranked[0][0] or ranked[1][1] - ranked[0][1] < 4e-3


def test_rescoring_with_the_same_lm_changes_nothing(lms):
    old, _, _, _ = lms
    lattice = random_lattice(random.Random(99))
    before = nbest(lattice, n=3)
    after = nbest(rescore_lattice(lattice, old, old), n=3)
    assert [p.words for p in before] == [p.words for p in after]
    assert [p.cost for p in before] == pytest.approx([p.cost for p in after], abs=1e-9)


def test_states_are_shared_when_histories_coincide(lms):
    # two parallel arcs with the same word -> one expanded state, not two
    _, new, _, _ = lms
    arcs = [Arc(0, 1, "the", 1.0, 1.0), Arc(0, 1, "the", 2.0, 1.0), Arc(1, 2, "lord", 0, 0)]
    rescored = rescore_lattice(ArcLattice(0, arcs, {2: (0.0, 0.0)}), new)
    assert rescored.num_states() == 3


def test_kenlm_backend_gives_the_same_lattice(lms):
    old, new, _, _ = lms
    lattice = random_lattice(random.Random(5))
    ours = nbest(rescore_lattice(lattice, new, old), n=3)
    theirs = nbest(rescore_lattice(lattice, KenlmQuery(NEW), KenlmQuery(OLD)), n=3)
    assert [p.words for p in ours] == [p.words for p in theirs]
    assert [p.cost for p in ours] == pytest.approx([p.cost for p in theirs], abs=2e-3)


def test_kaldi_text_round_trip_and_errors(tmp_path, lms):
    lattice = random_lattice(random.Random(3))
    path = tmp_path / "lat.txt"
    path.write_text(lattice.to_kaldi_text() + lattice.to_kaldi_text().replace("utt", "utt2"))
    read = list(read_kaldi_lattices(str(path)))
    assert [l.key for l in read] == ["utt", "utt2"]
    assert [p.words for p in nbest(read[0], 3)] == [p.words for p in nbest(lattice, 3)]
    bad = tmp_path / "bad.txt"
    bad.write_text("utt\n0 1 the 1.0\n")
    with pytest.raises(InputError, match=r"bad.txt:2: expected a 'graph,acoustic'"):
        list(read_kaldi_lattices(str(bad)))
    cyclic = ArcLattice(0, [Arc(0, 1, "a", 0, 0), Arc(1, 0, "b", 0, 0)], {1: (0, 0)}, "c")
    with pytest.raises(InputError, match="cycle"):
        rescore_lattice(cyclic, lms[1])


@pytest.mark.parametrize("scale", [1.0, 0.3])
def test_determinisation_keeps_each_sequence_best_path_and_its_cost_split(scale):
    """The decoder's determiniser: one path per word sequence, with the graph and acoustic
    costs of that sequence's best path (at the acoustic scale) in the input, not merged."""
    from asr.rescoring.lattice import determinize_words

    for seed in range(5):
        lattice = random_lattice(random.Random(100 + seed), num_states=8, num_arcs=20)
        best = {}
        for words, graph, acoustic in all_paths(lattice):
            cost = graph + scale * acoustic
            if tuple(words) not in best or cost < best[tuple(words)][0]:
                best[tuple(words)] = (cost, graph, acoustic)
        compact = determinize_words(lattice, scale)
        assert not any(a.word is None for a in compact.arcs)
        paths = list(all_paths(compact))
        assert sorted(tuple(w) for w, _, _ in paths) == sorted(best)  # each sequence once
        for words, graph, acoustic in paths:
            _, want_graph, want_acoustic = best[tuple(words)]
            assert graph == pytest.approx(want_graph, abs=1e-4)
            assert acoustic == pytest.approx(want_acoustic, abs=1e-4)


def test_cli_lattice_mode_matches_the_api(tmp_path, lms):
    from asr.cli import main

    old, new, _, _ = lms
    lattices = [random_lattice(random.Random(s)) for s in (11, 12)]
    for lattice, key in zip(lattices, ("a", "b")):
        lattice.key = key
    path = tmp_path / "lat.txt"
    path.write_text("".join(l.to_kaldi_text() for l in lattices))
    # the same lattices with word ids and a words.txt
    symbols = ["<eps>"] + WORDS
    (tmp_path / "words.txt").write_text("".join(f"{w} {i}\n" for i, w in enumerate(symbols)))
    numeric = path.read_text()
    for i, w in enumerate(symbols):
        numeric = numeric.replace(f" {w} ", f" {i} ")
    (tmp_path / "lat_ids.txt").write_text(numeric)
    expected = "".join(
        " ".join([l.key] + nbest(rescore_lattice(l, new, old), 1)[0].words) + "\n"
        for l in lattices)
    for lattice_file, extra in (("lat.txt", []), ("lat_ids.txt", ["--words",
                                                                  str(tmp_path / "words.txt")])):
        out = tmp_path / "best.txt"
        assert main(["rescore", "--lattice", str(tmp_path / lattice_file), "--old-lm", OLD,
                     "--new-lm", NEW, "--text", str(out),
                     "-o", str(tmp_path / "rescored.txt")] + extra) == 0
        assert out.read_text() == expected
    rescored = list(read_kaldi_lattices(str(tmp_path / "rescored.txt")))
    assert [nbest(l, 1)[0].words for l in rescored] == [
        nbest(rescore_lattice(l, new, old), 1)[0].words for l in lattices]
    assert main(["rescore", "--lattice", str(path), "--old-lm", OLD]) == 2


@pytest.mark.parametrize("seed", range(6))
def test_determinised_rescoring_keeps_every_sequence_cost(lms, seed):
    old, new, _, _ = lms
    lattice = random_lattice(random.Random(200 + seed), num_states=8, num_arcs=22)
    scale = 0.5
    plain = nbest(rescore_lattice(lattice, new, old), 6, acoustic_scale=scale)
    options = LatticeRescoreOptions(determinize=True, acoustic_scale=scale)
    compact = rescore_lattice(lattice, new, old, options)
    assert not any(a.word is None for a in compact.arcs)  # epsilon-free
    fast = nbest(compact, 6, acoustic_scale=scale)
    assert [p.words for p in fast] == [p.words for p in plain]
    assert [p.cost for p in fast] == pytest.approx([p.cost for p in plain], abs=1e-3)
