"""The native counter must agree exactly with the reference counter lm.counts.count_sentences."""
import gzip

import numpy as np
import pytest

from lm.counting import count, parse_memory
from lm.counts import count_sentences
from common.errors import InputError
from tests.lm_reference import KENLM


def same_counts(a, b):
    assert a.vocab == b.vocab
    assert a.order == b.order
    for k in range(1, a.order + 1):
        assert a.as_dict(k) == b.as_dict(k), f"order {k}"
        ta, tb = a.orders[k - 1], b.orders[k - 1]
        assert np.array_equal(ta.ids, tb.ids) and np.array_equal(ta.counts, tb.counts)


SENTENCES = [["a", "b", "c"], [], ["b"], ["a", "b", "a", "b", "a"], ["c", "c", "c", "c"]]


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6])
def test_agrees_with_reference_on_small_input(order):
    same_counts(count(SENTENCES, order), count_sentences(SENTENCES, order))


@pytest.mark.parametrize("order, lines", [(3, 5000), (5, 1500)])
def test_agrees_with_reference_on_a_real_corpus(tmp_path, order, lines):
    text = (KENLM / "train.txt").read_text(encoding="utf-8").splitlines()[:lines]
    path = tmp_path / "part.txt"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    sentences = [line.split() for line in text]
    same_counts(count(str(path), order), count_sentences(sentences, order))


def test_bounded_memory_spills_runs_and_still_agrees(tmp_path):
    """With a 1 MiB budget the counter must write sorted runs to disk and merge them."""
    from lm import counting
    path = KENLM / "train.txt"
    corpus = counting.Corpus.from_source(str(path))
    counter = counting.make_counter(corpus, 3, memory="1M")
    corpus.feed(counter)
    small = counter.raw_counts()
    assert counter.spilled_runs >= 3
    big = count(str(path), 3)
    for (ids, counts), table in zip(small, big.orders):
        assert np.array_equal(ids, table.ids) and np.array_equal(counts, table.counts)


def test_gzip_and_several_files(tmp_path):
    one = tmp_path / "one.txt.gz"
    with gzip.open(one, "wt", encoding="utf-8") as f:
        f.write("a b c\nb c\n")
    two = tmp_path / "two.txt"
    two.write_text("c a\nno newline at end", encoding="utf-8")
    expected = count_sentences([["a", "b", "c"], ["b", "c"], ["c", "a"],
                                ["no", "newline", "at", "end"]], 3)
    same_counts(count([str(one), str(two)], 3), expected)


def test_chars_and_whitespace():
    counts = count([["我们", "好"], ["好好"]], 2, chars=True)
    expected = count_sentences([["我", "们", "好"], ["好", "好"]], 2)
    same_counts(counts, expected)


def test_closed_vocabulary():
    vocab = ["b", "a", "zz"]
    same_counts(count(SENTENCES, 3, vocab=vocab), count_sentences(SENTENCES, 3, vocab=vocab))


def test_vocab_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("b\na\n")
    same_counts(count(SENTENCES, 2, vocab=str(path)),
                count_sentences(SENTENCES, 2, vocab=["b", "a"]))


@pytest.mark.parametrize("symbol", ["<s>", "</s>", "<unk>"])
def test_reserved_symbols_name_file_and_line(tmp_path, symbol):
    path = tmp_path / "corpus.txt"
    path.write_text(f"a b\nc {symbol} d\n")
    with pytest.raises(InputError) as info:
        count(str(path), 3)
    assert info.value.path == str(path) and info.value.line == 2
    assert symbol in str(info.value) and "--skip-symbols" in str(info.value)


def test_skip_symbols_drops_them(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("a <s> b\n</s> c <unk>\n")
    same_counts(count(str(path), 3, skip_symbols=True),
                count_sentences([["a", "b"], ["c"]], 3))


def test_empty_corpus(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    with pytest.raises(InputError, match="empty") as info:
        count(str(path), 3)
    assert info.value.path == str(path)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok line\nstill ok\nbad \xff byte\n")
    with pytest.raises(InputError, match="UTF-8") as info:
        count(str(path), 2)
    assert info.value.line == 3


def test_missing_file_and_bad_order(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        count(str(tmp_path / "nope.txt"), 3)
    with pytest.raises(InputError, match="order"):
        count(SENTENCES, 7)


@pytest.mark.parametrize("text, expected", [("1G", 1 << 30), ("500M", 500 << 20),
                                            (2 << 20, 2 << 20), ("2048", 2 << 20)])
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


def test_parse_memory_rejects_nonsense():
    with pytest.raises(InputError):
        parse_memory("lots")


def test_source_must_be_paths_or_token_lists(tmp_path):
    with pytest.raises(InputError, match="not a mix"):
        count([["a", "b"], "c d"], 2)
    with pytest.raises(InputError, match="no such file"):
        count(["a b c"], 2)  # a string is a path, never a sentence


def test_random_bytes_give_counts_or_input_errors(tmp_path):
    """Random corpora (bad UTF-8, reserved symbols, blank lines, long lines): the native counter
    either agrees with the reference counter or raises InputError."""
    rng = np.random.default_rng(5)
    pieces = [b"a", b"b", b" ", b"\t", b"\n", b"\n\n", b"<s>", b"</s>", b"<unk>", b"\xe4\xbd\xa0",
              b"\xff", b"\xe4\xbd", b"\r\n", b"xyz" * 50]
    path = tmp_path / "fuzz.txt"
    for _ in range(60):
        data = b"".join(pieces[i] for i in rng.integers(0, len(pieces), rng.integers(0, 40)))
        path.write_bytes(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            counts = count(str(path), 3)
        except InputError as err:
            assert err.path == str(path)
            continue
        assert text is not None
        # \r and the other ASCII blanks separate tokens, like KenLM's reader
        lines = text.replace("\r", " ").split("\n")
        if text.endswith("\n"):
            lines = lines[:-1]
        same_counts(counts, count_sentences([line.split() for line in lines], 3))


@pytest.mark.parametrize("bad", [["a", ""], ["a b"], ["x\ty"]])
def test_tokens_with_whitespace_are_refused(bad):
    with pytest.raises(InputError, match="whitespace"):
        count([bad], 2)


def test_many_runs_are_merged_in_stages():
    """2M tokens under a 1 MiB budget write dozens of runs; they are merged in stages (never
    more than 32 files at once) and the counts still equal the in-memory ones."""
    from lm import counting
    path = str(KENLM.parent / "corpora" / "en_train.txt.gz")
    corpus = counting.Corpus.from_source(path)
    counter = counting.make_counter(corpus, 2, memory="1M")
    corpus.feed(counter)
    small = counter.raw_counts()
    assert counter.spilled_runs > 40
    big = count(path, 2)
    for (ids, counts), table in zip(small, big.orders):
        assert np.array_equal(ids, table.ids) and np.array_equal(counts, table.counts)
