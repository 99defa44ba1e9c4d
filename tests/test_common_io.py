"""common/: the one reader of each shared file kind (token lists, wav.scp, Kaldi text)."""
import gzip

import pytest

from common.errors import InputError
from common.kaldi import read_kaldi_text, read_wav_scp
from common.textio import numbered_lines
from common.tokens import model_tokens, read_tokens


def test_a_byte_order_mark_is_not_part_of_the_first_line(tmp_path):
    plain, packed = tmp_path / "a.txt", tmp_path / "a.txt.gz"
    plain.write_bytes("\ufeffone\ntwo\n".encode())
    with gzip.open(packed, "wb") as handle:
        handle.write("\ufeffone\ntwo\n".encode())
    assert list(numbered_lines(str(plain))) == [(1, "one"), (2, "two")]
    assert list(numbered_lines(str(packed))) == [(1, "one"), (2, "two")]


def test_token_lists_in_every_form_give_the_same_columns(tmp_path):
    (tmp_path / "tokens.json").write_bytes('\ufeff["<blank>", "a", "b"]'.encode())
    (tmp_path / "units.txt").write_text("b 2\n<blank> 0\na 1\n")
    (tmp_path / "plain.txt").write_text("<blank>\na\nb\n")
    expected = ["<blank>", "a", "b"]
    assert read_tokens(str(tmp_path / "tokens.json")) == expected
    assert read_tokens(str(tmp_path / "units.txt")) == expected
    assert read_tokens(str(tmp_path / "plain.txt")) == expected
    assert model_tokens(str(tmp_path)) == expected  # tokens.json first


def test_bad_token_lists_name_file_and_line(tmp_path):
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("a 0\nb\n")
    with pytest.raises(InputError, match="SYMBOL ID") as err:
        read_tokens(str(mixed))
    assert err.value.line == 2
    gap = tmp_path / "gap.txt"
    gap.write_text("a 0\nb 2\n")
    with pytest.raises(InputError, match="without gaps"):
        read_tokens(str(gap))
    twice = tmp_path / "twice.txt"
    twice.write_text("a\nb\na\n")
    with pytest.raises(InputError, match="listed twice") as err:
        read_tokens(str(twice))
    assert err.value.line == 3
    with pytest.raises(InputError, match="neither tokens.json nor tokens.txt"):
        model_tokens(str(tmp_path / "nowhere"))


def test_wav_scp_keys_repeat_and_paths_with_spaces(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("u1 /data/my audio/a.wav\nu2 b.wav\n")
    assert [(e.key, e.path, e.problem) for e in read_wav_scp(str(scp))] == [
        ("u1", "/data/my audio/a.wav", None), ("u2", "b.wav", None)]
    scp.write_text("u1 a.wav\nu2 b.wav\nu1 c.wav\n")
    with pytest.raises(InputError, match="key 'u1' repeats line 1") as err:
        list(read_wav_scp(str(scp)))
    assert err.value.line == 3


def test_kaldi_text_keeps_empty_transcripts(tmp_path):
    text = tmp_path / "text"
    text.write_text("u1  hello   world\nu2\n")
    assert read_kaldi_text(str(text)) == {"u1": "hello world", "u2": ""}
