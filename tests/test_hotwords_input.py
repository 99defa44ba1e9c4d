"""Bad hotword lists (issue 8): every problem is reported with file:line and the rest of the
list is used. Format: `word [weight]`; the last field is a weight only when it is a plain
decimal number, a last field that starts like a number but is not one is a malformed weight,
anything else is a word of a phrase."""
import pytest

from asr.decoder import Decoder, DecoderOptions
from asr.decoder.hotwords import read_hotword_file
from test_decoder_errors import tiny  # noqa: F401

LINES = [
    "b 2.5",        # 1 ok
    "",             # 2 empty
    "aa",           # 3 ok, default weight
    "b 1.0",        # 4 duplicate of line 1: the first is used
    "zz 3",         # 5 not spellable with the graph's tokens
    "a b",          # 6 a two-word phrase, default weight
    "b -1",         # 7 weight not positive
    "a 1.5x",       # 8 malformed weight
    "a 2,5",        # 9 malformed weight (decimal comma)
    "a aa 0",       # 10 weight not positive
    "   ",          # 11 empty (blanks only)
    "ab .5",        # 12 ok: an out-of-vocabulary word, weight 0.5
    "a b",          # 13 duplicate of line 6
    "a 1e-1",       # 14 ok: exponent notation
]


@pytest.fixture
def hot_file(tmp_path):
    path = tmp_path / "hot.txt"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_reader_reports_each_malformed_line(hot_file):
    entries, problems = read_hotword_file(str(hot_file))
    assert [(p.line, p.path) for p in problems] == [(n, str(hot_file)) for n in
                                                     (2, 7, 8, 9, 10, 11)]
    messages = {p.line: p.message for p in problems}
    assert "empty" in messages[2] and "empty" in messages[11]
    assert "not a number" in messages[8] and "'1.5x'" in messages[8]
    assert "not a number" in messages[9]
    assert "positive" in messages[7] and "positive" in messages[10]
    assert [(e[0], e[1], e[2]) for e in entries] == [
        ("b", 2.5, 1), ("aa", None, 3), ("b", 1.0, 4), ("zz", 3.0, 5), ("a b", None, 6),
        ("ab", 0.5, 12), ("a b", None, 13), ("a", 0.1, 14)]


@pytest.mark.parametrize("line,phrase,weight", [
    ("new york", "new york", None),      # a two-word phrase, not a word + weight
    ("new york 2", "new york", 2.0),
    ("nan", "nan", None),                # words that Python's float() would read
    ("grandma nan", "grandma nan", None),
    ("inf 2", "inf", 2.0),
])
def test_weight_or_word(tmp_path, line, phrase, weight):
    path = tmp_path / "h.txt"
    path.write_text(line + "\n")
    entries, problems = read_hotword_file(str(path))
    assert problems == [] and [(e[0], e[1]) for e in entries] == [(phrase, weight)]


def test_compiled_list_uses_the_rest_and_warns_with_file_and_line(tiny, hot_file):
    d = Decoder(tiny, DecoderOptions(acoustic_scale=3.0))
    with pytest.warns(UserWarning) as caught:
        hw = d.compile_hotwords(str(hot_file))
    assert hw.entries == [("b", 2.5), ("aa", 1.0), ("a b", 1.0), ("ab", 0.5), ("a", 0.1)]
    assert hw.oov_words == ["ab"]
    messages = [str(w.message) for w in caught]
    for line in (2, 4, 5, 7, 8, 9, 10, 11, 13):
        assert any(f"hot.txt:{line}:" in m for m in messages), line
    assert any("hot.txt:4:" in m and "twice" in m for m in messages)
    assert any("hot.txt:5:" in m and "cannot be spelled" in m for m in messages)
    assert len(messages) == 9


def test_empty_entries_of_a_list_are_reported(tiny):
    d = Decoder(tiny, DecoderOptions(acoustic_scale=3.0))
    with pytest.warns(UserWarning, match="empty hotword"):
        hw = d.compile_hotwords(["", "b"])
    assert hw.entries == [("b", 1.0)]


def test_a_list_with_no_usable_entry_decodes_as_without(tiny, tmp_path):
    from test_decoder_errors import frames
    path = tmp_path / "bad.txt"
    path.write_text("\nzz 1\nb x1\n")
    d = Decoder(tiny, DecoderOptions(acoustic_scale=3.0))
    logp = frames(0, 1, 3, 0)
    with pytest.warns(UserWarning):
        biased = d.decode(logp, hotwords=str(path))
    plain = d.decode(logp)
    assert biased.words == plain.words and biased.total_cost == pytest.approx(plain.total_cost)


def test_cli_reports_the_problems_and_decodes_with_the_rest(tiny, hot_file, tmp_path, capsys):
    import numpy as np

    from asr.cli import main as tingxie
    from test_decoder_errors import frames
    logp = frames(0, 1, 3, 0)
    logp[1] = np.log([0.02, 0.55, 0.41, 0.02])  # `a` a little above `b`: `b 2.5` flips it
    npz = tmp_path / "p.npz"
    np.savez(npz, u1=logp)
    out = tmp_path / "hyp.txt"
    argv = ["decode", "--graph", tiny, "--posteriors", str(npz), "-o", str(out),
            "--acoustic-scale", "3", "--hotword-bonus", "3"]
    assert tingxie(argv) == 0
    assert out.read_text().split() == ["u1", "a"]
    assert tingxie(argv + ["--hotwords", str(hot_file)]) == 0
    err = capsys.readouterr().err
    for line in (2, 4, 5, 7, 8, 9, 10, 11, 13):
        assert f"hot.txt:{line}:" in err, line
    assert out.read_text().split() == ["u1", "b"]
