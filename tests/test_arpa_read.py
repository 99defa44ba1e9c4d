import gzip
from pathlib import Path

import pytest

from lm.arpa import read_arpa
from common.errors import InputError

KENLM = Path(__file__).resolve().parent / "data" / "kenlm"

GOOD = """\\data\\
ngram 1=3
ngram 2=1

\\1-grams:
-1.0\t<s>\t-0.5
-0.5\t</s>
-0.7\ta\t-0.1

\\2-grams:
-0.2\t<s> a

\\end\\
"""


def write(tmp_path, text, name="m.arpa"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_reads_counts_and_values(tmp_path):
    model = read_arpa(write(tmp_path, GOOD))
    assert model.counts() == [3, 1]
    assert model.vocab[:2] == ["<s>", "</s>"]
    a = model.word_id["a"]
    assert model.orders[0].backoff[a] == pytest.approx(-0.1)
    assert list(model.orders[1].ids[0]) == [model.word_id["<s>"], a]


def test_gzip(tmp_path):
    path = tmp_path / "m.arpa.gz"
    with gzip.open(path, "wt") as f:
        f.write(GOOD)
    assert read_arpa(str(path)).counts() == [3, 1]


@pytest.mark.parametrize("bad, line, message", [
    (GOOD.replace("ngram 2=1", "ngram 2=2"), 12, "declares 2 2-grams"),
    (GOOD.replace("-0.7\ta", "x0.7\ta"), 8, "not a number"),
    (GOOD.replace("\\end\\\n", ""), None, "missing"),
    (GOOD.replace("<s> a", "<s> b"), 11, "not among the unigrams"),
])
def test_malformed_names_file_and_line(tmp_path, bad, line, message):
    path = write(tmp_path, bad)
    with pytest.raises(InputError) as info:
        read_arpa(path)
    assert message in str(info.value)
    assert info.value.path == path
    assert info.value.line == line


def test_reads_lmplz_output():
    model = read_arpa(str(KENLM / "tiny_o4_fallback.arpa"))
    assert model.counts() == [124, 218, 231, 223]
    assert model.vocab[:3] == ["<unk>", "<s>", "</s>"]
