"""The decoder's OpenFst reader against OpenFst itself (kaldifst and pynini write the files):
vector and const FSTs, with and without symbol tables, arcs and weights bit for bit."""
import numpy as np
import pytest

from asr.decoder import _native
from common.errors import InputError

import kaldifst
import pynini


def random_fst_text(rng, num_states=40, num_arcs=300):
    lines = []
    for _ in range(num_arcs):
        src, dst = rng.integers(0, num_states, 2)
        ilabel = int(rng.integers(0, 12)) * int(rng.random() > 0.2)
        lines.append(f"{src} {dst} {ilabel} {rng.integers(0, 50)} {rng.normal(0, 3):.5f}")
    lines.sort(key=lambda l: l.split()[0] != "0")  # state 0 first: the start
    for s in rng.choice(num_states, 5, replace=False):
        lines.append(f"{s} {rng.random() * 4:.5f}")
    return "\n".join(lines) + "\n"


def openfst_arcs(f):
    out = {}
    for s in range(f.num_states):
        arcs = []
        it = kaldifst.ArcIterator(f, s)
        for arc in it:
            arcs.append((arc.ilabel, arc.olabel, np.float32(arc.weight.value), arc.nextstate))
        out[s] = arcs
    return out


def our_arcs(d):
    out = {}
    for s in range(len(d["final_cost"])):
        lo, hi = d["first_arc"][s], d["first_arc"][s + 1]
        out[s] = list(zip(d["ilabel"][lo:hi], d["olabel"][lo:hi], d["weight"][lo:hi],
                          d["nextstate"][lo:hi]))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["vector", "const"])
def test_reader_matches_openfst(tmp_path, seed, kind):
    rng = np.random.default_rng(seed)
    f = kaldifst.compile(random_fst_text(rng))
    if seed == 2:
        kaldifst.arcsort(f, sort_type="ilabel")
    path = str(tmp_path / "g.fst")
    (kaldifst.StdConstFst(f) if kind == "const" else f).write(path)
    d = _native.read_fst(path)
    assert d["fst_type"] == kind
    assert d["start"] == f.start
    finals = np.array([np.float32(f.final(s).value) for s in range(f.num_states)])
    np.testing.assert_array_equal(d["final_cost"], finals)
    theirs, ours = openfst_arcs(f), our_arcs(d)
    for s in theirs:
        # the decoder puts input-epsilon arcs first, otherwise keeps OpenFst's order
        expected = [a for a in theirs[s] if a[0] == 0] + [a for a in theirs[s] if a[0] != 0]
        assert [tuple(map(float, a)) for a in ours[s]] == [tuple(map(float, a)) for a in expected]
        n_eps = sum(a[0] == 0 for a in ours[s])
        assert all(a[0] == 0 for a in ours[s][:n_eps])
        assert d["num_input_eps"][s] == n_eps
    assert d["compact_arc_ranges"]  # the search's 8-byte arc-range table


def test_state_with_more_arcs_than_the_compact_table_holds(tmp_path):
    """A state with 70,000 arcs does not fit the 16-bit counts of the compact arc-range
    table: the search then reads OpenFst's own state records, with the same arcs."""
    lines = [f"0 1 {1 + i % 11} {i % 50} 0.5" for i in range(70000)]
    lines += ["0 2 0 3 1.25", "1 0.5", "2 0 0 0 0", "2 1 4 0 0.25"]
    f = kaldifst.compile("\n".join(lines) + "\n")
    path = str(tmp_path / "wide.fst")
    f.write(path)
    d = _native.read_fst(path)
    assert not d["compact_arc_ranges"]
    theirs, ours = openfst_arcs(f), our_arcs(d)
    assert len(ours[0]) == 70001 and d["num_input_eps"][0] == 1 and d["num_input_eps"][2] == 1
    expected = [a for a in theirs[0] if a[0] == 0] + [a for a in theirs[0] if a[0] != 0]
    assert [tuple(map(float, a)) for a in ours[0]] == [tuple(map(float, a)) for a in expected]


@pytest.mark.parametrize("sort", [True, False])
def test_aligned_const_is_openfst_and_memory_mapped(tmp_path, sort):
    f = kaldifst.compile(random_fst_text(np.random.default_rng(3)))
    if sort:
        kaldifst.arcsort(f, sort_type="ilabel")
    src, dst = str(tmp_path / "g.fst"), str(tmp_path / "aligned.fst")
    f.write(src)
    assert not _native.read_fst(src)["memory_mapped"]  # a vector FST is converted
    _native.convert_to_aligned_const(src, dst)
    d = _native.read_fst(dst)
    assert d["memory_mapped"] and d["fst_type"] == "const"
    back = kaldifst.StdConstFst.read(dst)  # OpenFst reads what we wrote
    assert back.num_states == f.num_states and back.start == f.start
    ours = our_arcs(d)
    for s, arcs in openfst_arcs(back).items():
        assert [tuple(map(float, a)) for a in arcs] == [tuple(map(float, a)) for a in ours[s]]
        assert sorted(arcs) == sorted(openfst_arcs(f)[s])


def test_symbol_tables_are_skipped(tmp_path):
    syms = pynini.SymbolTable()
    for i, s in enumerate(["<eps>", "a", "b", "c"]):
        syms.add_symbol(s, i)
    f = pynini.accep("a b c", token_type=syms)
    f.set_input_symbols(syms)
    f.set_output_symbols(syms)
    path = str(tmp_path / "sym.fst")
    f.write(path)
    d = _native.read_fst(path)
    assert len(d["final_cost"]) == f.num_states()
    assert sorted(d["ilabel"].tolist()) == [1, 2, 3]


def test_unsupported_arc_type(tmp_path):
    f = pynini.Fst(arc_type="log")
    s = f.add_state()
    f.set_start(s)
    f.set_final(s)
    path = str(tmp_path / "log.fst")
    f.write(path)
    with pytest.raises(InputError, match="arc type 'log'"):
        _native.read_fst(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        _native.read_fst(str(tmp_path / "none.fst"))
