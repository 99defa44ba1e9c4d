"""The graph directory contract (graph/directory.py): graph.json says which token is the blank
and which ends words, holds no path outside the directory, and the files must belong
together; directories are written whole."""
import json
import os
import shutil

import pytest

from asr.cli import main as tingxie
from asr.decoder import Decoder, DecoderOptions, convert_graph
from common.errors import InputError
from decoder_fixtures import TINY_ARPA, frames
from graph.directory import GraphDirectory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_args(root, out, *extra):
    return ["graph", "compile", "--tokens", str(root / "tokens.txt"), "--lm",
            str(root / "lm.arpa"), "--spelling", "chars", "-o", str(out), *extra]


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    """A CTC graph whose blank is `<pad>` in column 1 and whose word boundary is `_`."""
    root = tmp_path_factory.mktemp("custom")
    (root / "tokens.txt").write_text("a 0\n<pad> 1\nb 2\n_ 3\n")
    (root / "lm.arpa").write_text(TINY_ARPA)
    out = root / "graph"
    assert tingxie(compile_args(root, out, "--blank", "<pad>", "--word-boundary", "_")) == 0
    return root, out



def test_a_custom_blank_and_word_boundary_decode(custom):
    _, out = custom
    info = json.loads((out / "graph.json").read_text())
    assert info["blank"] == "<pad>" and info["word_boundary"] == "_"
    decoder = Decoder(str(out), DecoderOptions(acoustic_scale=1.0))
    assert decoder.blank_column == 1
    #                          _   a  a  _   |  _  b  |  _     (_ blank, | the boundary `_`)
    result = decoder.decode(frames(1, 0, 0, 1, 3, 1, 2, 3, 1))
    assert result.words == ["a", "b"]
    assert result.tokens == ["a", "_", "b", "_"]
    # each word's frames run through its boundary token: words.cc knows `_` ends words
    assert result.word_frames == [(1, 4), (6, 7)]
    # the same frames with `a` and the blank swapped are another sentence
    assert decoder.decode(frames(0, 1, 1, 0, 3, 0, 2, 3, 0)).words != ["a", "b"]


def test_graph_json_holds_no_path_outside_the_directory(custom):
    root, out = custom

    def strings(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, str):
            yield value

    shipped = [os.path.join(ROOT, "resources", "demo", name, "graph.json")
               for name in ("graph", "graph_sync")]
    for path in [str(out / "graph.json")] + shipped:
        record = json.load(open(path, encoding="utf-8"))
        for text in strings(record):
            assert not os.path.isabs(text) and os.sep not in text and str(root) not in text, \
                (path, text)
        GraphDirectory(os.path.dirname(path))  # and its checksums hold


def test_a_moved_directory_decodes_and_a_mixed_one_is_refused(custom, tmp_path):
    root, out = custom
    moved = tmp_path / "elsewhere" / "g"
    shutil.copytree(out, moved)
    assert Decoder(str(moved)).decode(frames(1, 0, 0, 1, 3, 1)).words == ["a"]
    other = tmp_path / "other"
    assert tingxie(compile_args(root, other, "--blank", "<pad>")) == 0  # no word boundary
    shutil.copy(other / "lexicon.txt", moved / "lexicon.txt")
    with pytest.raises(InputError, match="lexicon.txt: this file is not the one"):
        Decoder(str(moved))


def test_a_directory_is_written_whole(custom, tmp_path):
    root, _ = custom
    out = tmp_path / "g"
    assert tingxie(compile_args(root, out, "--blank", "<pad>")) == 0
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    (root / "bad.arpa").write_text("\\data\\\nngram 1=1\n\n\\1-grams:\nnot a line\n")
    argv = compile_args(root, out, "--blank", "<pad>", "--word-boundary", "_")
    argv[argv.index(str(root / "lm.arpa"))] = str(root / "bad.arpa")
    assert tingxie(argv) == 2
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []  # no leftovers
    assert tingxie(compile_args(root, out, "--blank", "<pad>", "--word-boundary", "_")) == 0
    assert json.loads((out / "graph.json").read_text())["word_boundary"] == "_"
    stranger = tmp_path / "notes"
    stranger.mkdir()
    (stranger / "mine.txt").write_text("keep me")
    assert tingxie(compile_args(root, stranger, "--blank", "<pad>")) == 2
    assert os.listdir(stranger) == ["mine.txt"]


def test_converted_graph_is_sealed_and_equivalent(custom, tmp_path):
    _, out = custom
    converted = tmp_path / "const"
    convert_graph(str(out), str(converted))
    assert GraphDirectory(str(converted)).info.details["fst_type"] == "const"
    logp = frames(1, 0, 0, 1, 3, 1, 2, 3, 1)
    a = Decoder(str(out)).decode(logp)
    b = Decoder(str(converted)).decode(logp)
    assert (a.words, a.word_frames, a.total_cost) == (b.words, b.word_frames, b.total_cost)


def test_graph_json_errors_name_the_file(custom, tmp_path):
    _, out = custom
    broken = tmp_path / "g"
    shutil.copytree(out, broken)
    record = json.loads((broken / "graph.json").read_text())
    for field, value, message in (("format_version", 1, "format version 1"),
                                  ("blank", "<blank>", "blank '<blank>' is not a token"),
                                  ("word_boundary", "|", "boundary '|' is not a token"),
                                  ("lm_order", 0, "lm_order")):
        (broken / "graph.json").write_text(json.dumps(dict(record, **{field: value})))
        with pytest.raises(InputError, match=message) as err:
            Decoder(str(broken))
        assert err.value.path.endswith("graph.json")
