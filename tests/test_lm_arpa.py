"""ARPA writing (KenLM's formatting) and the native reader against the plain-Python reference."""
import gzip

import numpy as np
import pytest

from common.errors import InputError
from lm import _native
from lm.arpa import format_float, read_arpa, write_arpa
from tests.arpa_reference import read_arpa_python
from tests.lm_reference import KENLM


@pytest.mark.parametrize("value, text", [
    (0.0, "0"), (-0.0, "0"), (-0.5, "-0.5"), (-4.758586, "-4.758586"), (-12.5, "-12.5"),
    (-1.2345e-7, "-1.2345e-7"), (-3e-6, "-0.000003"), (-1e-6, "-0.000001"),
    (-9.99e-7, "-9.99e-7"), (-100.0, "-100"), (1.5e22, "1.5e22"), (-0.30103, "-0.30103"),
    (float("-inf"), "-inf"),
])
def test_number_formatting(value, text):
    assert _native.format_float(value) == text
    assert format_float(value) == text


def test_formatting_is_shortest_round_trip():
    rng = np.random.default_rng(0)
    values = np.concatenate([-rng.exponential(2.0, 3000), -10.0 ** rng.uniform(-12, 1, 3000)])
    for v in values.astype(np.float32):
        text = _native.format_float(float(v))
        assert np.float32(text) == v
        assert text == format_float(float(v))


GOOD = ("\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1.0\t<s>\t-0.5\n-0.5\t</s>\t0\n"
        "-0.7\ta\t-0.1\n-2\t<unk>\t0\n\n\\2-grams:\n-0.2\t<s> a\n-0.3\ta </s>\n\n\\end\\\n")

BAD = [
    GOOD.replace("ngram 2=2", "ngram 2=3"),
    GOOD.replace("ngram 2=2", "ngram 2=1"),
    GOOD.replace("-0.7\ta", "x0.7\ta"),
    GOOD.replace("-0.7\ta\t-0.1", "-0.7\ta\tnan"),
    GOOD.replace("-0.7\ta", "0.7\ta"),
    GOOD.replace("\\end\\\n", ""),
    GOOD.replace("\\end\\\n", "junk\n"),
    GOOD.replace("<s> a", "<s> b"),
    GOOD.replace("-0.2\t<s> a", "-0.2\t<s> a\t-0.1"),
    GOOD.replace("-0.2\t<s> a", "-0.2\t<s>"),
    GOOD.replace("\\data\\", "\\dada\\"),
    GOOD.replace("ngram 1=4\n", ""),
    GOOD.replace("ngram 1=4", "ngram 1=four"),
    GOOD.replace("\\2-grams:", "\\3-grams:"),
    GOOD.replace("-2\t<unk>", "-2\ta"),
    GOOD.split("\\2-grams:")[0],
]


@pytest.mark.parametrize("index", range(len(BAD)))
def test_native_reader_reports_like_the_reference(tmp_path, index):
    path = tmp_path / "bad.arpa"
    path.write_text(BAD[index])
    with pytest.raises(InputError) as reference:
        read_arpa_python(str(path))
    with pytest.raises(InputError) as native:
        read_arpa(str(path))
    assert (native.value.message, native.value.path, native.value.line) == (
        reference.value.message, reference.value.path, reference.value.line)


def test_invalid_utf8_in_arpa(tmp_path):
    path = tmp_path / "bad.arpa"
    path.write_bytes(GOOD.replace("a\t-0.1", "\xff\t-0.1").encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8") as info:
        read_arpa(str(path))
    assert info.value.line == 8


@pytest.mark.parametrize("name", ["m.arpa", "m.arpa.gz"])
def test_round_trip(tmp_path, name):
    path = tmp_path / "in.arpa"
    path.write_text(GOOD)
    model = read_arpa(str(path))
    out = tmp_path / name
    write_arpa(model, str(out))
    if name.endswith(".gz"):
        with gzip.open(out, "rt") as handle:
            text = handle.read()
    else:
        text = out.read_text()
    assert "\\2-grams:\n-0.2\t<s> a\n" in text
    back = read_arpa(str(out))
    assert back.vocab == model.vocab
    for a, b in zip(back.orders, model.orders):
        assert np.array_equal(a.ids, b.ids) and np.array_equal(a.logprob, b.logprob)
        assert np.array_equal(a.backoff, b.backoff)


def test_native_reader_equals_reference_on_lmplz_file():
    a = read_arpa(str(KENLM / "o3_prune011.arpa"))
    b = read_arpa_python(str(KENLM / "o3_prune011.arpa"))
    assert a.vocab == b.vocab
    for x, y in zip(a.orders, b.orders):
        assert np.array_equal(x.ids, y.ids)
        assert np.array_equal(x.logprob, y.logprob) and np.array_equal(x.backoff, y.backoff)


def test_mutated_files_give_input_errors_never_crashes(tmp_path):
    """Random byte edits of a valid ARPA: the native reader either reads the file or raises
    InputError; nothing else (no crash, no other exception)."""
    rng = np.random.default_rng(1)
    good = GOOD.encode()
    path = tmp_path / "fuzz.arpa"
    outcomes = {"ok": 0, "error": 0}
    for _ in range(200):
        data = bytearray(good)
        for _ in range(rng.integers(1, 4)):
            position = int(rng.integers(0, len(data)))
            choice = rng.integers(0, 3)
            if choice == 0:
                data[position] = int(rng.choice(list(b"\t\n -.0123456789ae\\<>x\xff")))
            elif choice == 1:
                del data[position]
            else:
                data.insert(position, int(rng.choice(list(b"\n\t 9-"))))
        path.write_bytes(bytes(data))
        try:
            read_arpa(str(path))
            outcomes["ok"] += 1
        except InputError as err:
            assert err.path == str(path)
            outcomes["error"] += 1
    assert outcomes["error"] > 50 and outcomes["ok"] > 5
