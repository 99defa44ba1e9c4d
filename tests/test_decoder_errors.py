"""Bad input never crashes the decoder: graphs and posteriors are checked at the boundary
and reported as InputError (bad data) or ValueError (API misuse). Includes a fuzz test."""
import json
import os
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from asr.cli import main as tingxie
from asr.decoder import Decoder, DecoderOptions
from common.errors import InputError
from decoder_fixtures import TINY_ARPA, frames

import kaldifst



@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A three-word CTC graph over tokens <blank> a b |."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "tokens.txt").write_text("<blank> 0\na 1\nb 2\n| 3\n")
    (root / "lm.arpa").write_text(TINY_ARPA)
    out = root / "graph"
    assert tingxie(["graph", "compile", "--tokens", str(root / "tokens.txt"), "--lm",
                    str(root / "lm.arpa"), "--spelling", "chars", "--word-boundary", "|",
                    "-o", str(out)]) == 0
    return str(out)



def test_tiny_graph_decodes(tiny):
    dec = Decoder(tiny, DecoderOptions(acoustic_scale=1.0))
    r = dec.decode(frames(0, 1, 1, 0, 3, 0, 2, 3, 0))
    assert r.words == ["a", "b"]
    assert r.word_frames == [(1, 4), (6, 7)]
    assert r.token_columns == [1, 3, 2, 3] and r.tokens == ["a", "|", "b", "|"]


def test_repeat_survives_blank_skipping(tiny):
    """`a a` with a long confident blank run between: skipping must keep one blank, or the
    two a's merge and `aa` becomes `a`."""
    logp = frames(0, 1, 0, 0, 0, 0, 1, 3, 0)
    logp[1] = np.log([0.05, 0.6, 0.3, 0.05])  # the frame before the run is led by `a` ...
    logp[6] = np.log([0.01, 0.9, 0.08, 0.01])
    for threshold in (None, 0.9):
        dec = Decoder(tiny, DecoderOptions(acoustic_scale=3.0, blank_skip_threshold=threshold))
        assert dec.decode(logp).words == ["aa"]
    dec = Decoder(tiny, DecoderOptions(acoustic_scale=3.0, blank_skip_threshold=0.9))
    assert dec._native.decode(logp).frames_searched < len(logp)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((5, 4), dtype=np.float64), "float32"),
    (np.zeros((5,), dtype=np.float32), "2-D"),
    (np.zeros((2, 5, 4), dtype=np.float32), "2-D"),
    (np.zeros((0, 4), dtype=np.float32), "T = 0"),
    (np.zeros((5, 3), dtype=np.float32), "V = 3"),
    (np.zeros((5, 7), dtype=np.float32), "V = 7"),
    (np.array([[0, np.nan, 0, 0]], dtype=np.float32), "NaN"),
    (np.array([[0, np.inf, 0, 0]], dtype=np.float32), "not a log-probability"),
    (np.array([[0, 2.0, 0, 0]], dtype=np.float32), "not a log-probability"),
    ([[0.0, 0.0, 0.0, 0.0]], "numpy array"),
])
def test_bad_posteriors(tiny, bad, message):
    dec = Decoder(tiny)
    with pytest.raises(InputError, match=message):
        dec.decode(bad)
    with pytest.raises(InputError, match="utterance 1"):
        dec.decode_batch([frames(1, 3), bad])


def test_odd_but_valid_posteriors(tiny):
    dec = Decoder(tiny)
    # a frame of all -inf: no path can pass it; an error naming the frame, not a silently
    # empty result
    x = frames(0, 1, 3, 0)
    x[2] = -np.inf
    with pytest.raises(InputError, match="frame 2: every column is -inf"):
        dec.decode(x)
    # non-contiguous input is accepted
    x = np.asfortranarray(frames(0, 1, 3, 0))
    assert dec.decode(x).words == ["a"]
    # too short to reach a final state: best partial path, flagged
    x = frames(1)
    x[0, 0] = -np.inf  # no blank: the path must stop inside the word `a`
    r = dec.decode(x)
    assert not r.reached_final and np.isfinite(r.total_cost)


@pytest.mark.parametrize("field, value", [
    ("beam", 0.0), ("beam", float("nan")), ("max_active", 1), ("min_active", -1),
    ("lattice_beam", -1.0), ("acoustic_scale", 0.0), ("nbest", 0),
    ("blank_skip_threshold", 1.5), ("word_insertion_penalty", float("inf")),
])
def test_bad_options(tiny, field, value):
    with pytest.raises(InputError, match=field):
        Decoder(tiny, DecoderOptions(**{field: value}))


def test_mode_and_directory_errors(tiny, tmp_path):
    with pytest.raises(ValueError, match="does not match"):
        Decoder(tiny, mode="paraformer")
    with pytest.raises(ValueError, match="mode must be"):
        Decoder(tiny, mode="rnnt")
    with pytest.raises(InputError, match="not found"):
        Decoder(str(tmp_path / "nope"))
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    (broken / "graph.json").write_text("{not json")
    with pytest.raises(InputError, match="graph.json"):
        Decoder(str(broken))
    (broken / "graph.json").write_text(json.dumps({"topology": "ctc"}))
    with pytest.raises(InputError, match="graph.json: graph format version None"):
        Decoder(str(broken))
    shutil.copy(os.path.join(tiny, "graph.json"), broken / "graph.json")
    (broken / "words.txt").write_text("<eps> 0\na\n")
    with pytest.raises(InputError, match="words.txt: this file is not the one"):
        Decoder(str(broken))
    from graph.directory import GraphDirectory, seal
    seal(str(broken), GraphDirectory(tiny).info)  # hand-made: its own files, sealed
    with pytest.raises(InputError, match="words.txt:2"):
        Decoder(str(broken))


def _graph_dir_with(tmp_path, tiny, fst_bytes):
    """The tiny graph directory with another TLG.fst, sealed (its checksum recorded), so that
    the FST reader itself meets the bytes."""
    from graph.directory import GraphDirectory, seal

    d = tmp_path / "g"
    shutil.copytree(tiny, d, dirs_exist_ok=True)
    (d / "TLG.fst").write_bytes(fst_bytes)
    seal(str(d), GraphDirectory(tiny).info)
    return str(d)


def test_truncated_and_corrupt_graphs(tiny, tmp_path):
    data = open(os.path.join(tiny, "TLG.fst"), "rb").read()
    for cut in (0, 3, 20, 60, len(data) // 2, len(data) - 1):
        with pytest.raises(InputError, match="TLG.fst"):
            Decoder(_graph_dir_with(tmp_path, tiny, data[:cut]))
    with pytest.raises(InputError, match="magic"):
        Decoder(_graph_dir_with(tmp_path, tiny, b"\x00" * 200))
    # a next-state out of range in the last arc
    corrupt = bytearray(data)
    corrupt[-4:] = (10 ** 6).to_bytes(4, "little")
    with pytest.raises(InputError, match="does not exist"):
        Decoder(_graph_dir_with(tmp_path, tiny, bytes(corrupt)))


def test_graph_without_final_state(tiny, tmp_path):
    f = kaldifst.compile("0 1 2 1\n1 0 4 0\n")  # no final line
    path = tmp_path / "nofinal.fst"
    f.write(str(path))
    with pytest.raises(InputError, match="no final state"):
        Decoder(_graph_dir_with(tmp_path, tiny, path.read_bytes()))


def test_graph_labels_must_fit_the_tables(tiny, tmp_path):
    f = kaldifst.compile("0 0 9 1\n0\n")  # input label 9: column 8, but 4 tokens
    path = tmp_path / "wide.fst"
    f.write(str(path))
    with pytest.raises(InputError, match="input label 9"):
        Decoder(_graph_dir_with(tmp_path, tiny, path.read_bytes()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_never_crashes(tiny, data):
    dtype = data.draw(st.sampled_from([np.float32, np.float32, np.float64, np.int32]))
    shape = data.draw(st.tuples(st.integers(0, 12), st.integers(0, 6)))
    arr = data.draw(hnp.arrays(dtype, shape, elements=st.one_of(
        st.floats(-50, 0, width=32), st.just(-np.inf), st.just(np.nan), st.just(np.inf),
        st.floats(width=32)) if dtype is not np.int32 else st.integers(-5, 5)))
    options = DecoderOptions(
        beam=data.draw(st.floats(0.5, 30)), max_active=data.draw(st.integers(2, 50)),
        min_active=1, acoustic_scale=data.draw(st.floats(0.1, 10)),
        nbest=data.draw(st.integers(1, 4)), keep_lattice=data.draw(st.booleans()),
        blank_skip_threshold=data.draw(st.sampled_from([None, 0.5, 0.99])))
    dec = Decoder(tiny, options)
    try:
        r = dec.decode(arr)
    except InputError:
        return
    assert all(0 <= i < len(dec.words) for i in r.word_ids)
    assert len(r.word_frames) == len(r.words)
    if r.nbest:
        assert r.nbest[0].total_cost == pytest.approx(r.total_cost, abs=1e-2)
