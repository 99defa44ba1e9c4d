"""The memory-mapped binary LM format: the same answers as the ARPA file it came from, and a
bad file is an InputError (never a crash or a hang)."""
import os
import random
import struct

import numpy as np
import pytest

import lm
from asr.cli import main
from lm.arpa import write_arpa
from lm.binary import build_binary, is_binary
from common.errors import InputError
from lm.estimate import train
from lm.perplexity import perplexity
from tests.lm_reference import KENLM

WORDS = [f"w{i}" for i in range(2000)]
HEADER_BYTES = 8 + 4 * 8 + 8 * (1 + 6 + 2 + 7)  # scorer.h ModelImageHeader


def zipf_sentences(n, seed):
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) for i in range(len(WORDS))]
    return [rng.choices(WORDS, weights, k=rng.randint(1, 15)) for _ in range(n)]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """An order-4 model of Zipfian text, as ARPA and binary."""
    work = tmp_path_factory.mktemp("binary")
    arpa = work / "o4.arpa"
    write_arpa(train(zipf_sentences(3000, 1), 4, discount_fallback=True), str(arpa))
    binary = work / "o4.bin"
    build_binary(arpa, binary)
    return arpa, binary


def test_binary_answers_equal_arpa(models):
    arpa, binary = models
    assert is_binary(binary) and not is_binary(arpa)
    a, b = lm.load(arpa), lm.load(binary)
    assert b.mapped and not a.mapped
    assert (a.order, a.vocab_size, a.counts, a.bos, a.eos, a.unk) == \
        (b.order, b.vocab_size, b.counts, b.bos, b.eos, b.unk)
    sentences = [" ".join(s) for s in zipf_sentences(500, 2)]
    sentences += ["w1 unseen w2 w3", "", "unseen", "w0 w0 w0 w0 w0 w0 w0"]
    pa, pb = perplexity(a, sentences), perplexity(b, sentences)
    for field in ("sentence_logprob", "sentence_tokens", "sentence_oovs", "sentence_oov_logprob"):
        assert np.array_equal(getattr(pa, field), getattr(pb, field)), field
    assert pa.sentence_logprob.std() > 1  # the sentences differ: the comparison means something
    for word in WORDS + ["<s>", "</s>", "<unk>", "unseen"]:
        assert a.index(word) == b.index(word)
        if b.index(word) >= 0:
            assert b.word(b.index(word)) == word
    rng = random.Random(3)
    for _ in range(2000):
        history = tuple(rng.randrange(a.vocab_size) for _ in range(rng.randint(0, 3)))
        word = rng.randrange(-1, a.vocab_size)
        assert a.advance(history, word) == b.advance(history, word)


def test_ppl_and_rescorers_accept_the_binary(models, tmp_path, capsys):
    arpa, binary = models
    text = tmp_path / "text.txt"
    text.write_text("\n".join(" ".join(s) for s in zipf_sentences(50, 4)) + "\n")
    outputs = []
    for model in (arpa, binary):
        assert main(["lm", "ppl", str(model), str(text)]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and "Perplexity including OOVs" in outputs[0]
    assert main(["lm", "info", str(binary)]) == 0
    assert "ngram 4" in capsys.readouterr().out

    from asr.rescoring.lattice import rescore_lattice  # noqa: F401  (the lattice path uses open_query)
    from asr.rescoring.ngram import NgramRescorer, open_query, sentence_logprob
    hyps = zipf_sentences(20, 5) + [["w3", "never-seen"]]
    assert NgramRescorer(str(arpa)).score(hyps) == NgramRescorer(str(binary)).score(hyps)
    qa, qb = open_query(str(arpa)), open_query(str(binary))
    assert [sentence_logprob(qa, h) for h in hyps] == [sentence_logprob(qb, h) for h in hyps]


def test_build_binary_command(models, tmp_path, capsys):
    arpa, _ = models
    out = tmp_path / "cli.bin"
    assert main(["lm", "build-binary", str(arpa), "-o", str(out)]) == 0
    assert "order 4" in capsys.readouterr().err
    assert is_binary(out) and not os.path.exists(str(out) + ".tmp")
    assert main(["lm", "build-binary", str(out), "-o", str(tmp_path / "again.bin")]) == 2
    assert "already a binary model" in capsys.readouterr().err


def corrupt(data, offset, value_bytes):
    data = bytearray(data)
    data[offset:offset + len(value_bytes)] = value_bytes
    return bytes(data)


def header_field_offset(name):
    layout = ["magic8", "version", "byte_order", "order", "unk", "bos", "eos", "unk_is_word",
              "reserved", "vocab_size", "c1", "c2", "c3", "c4", "c5", "c6", "word_slots",
              "ngram_slots", "strings_offset", "strings_bytes", "string_ends_offset",
              "word_slots_offset", "unigrams_offset", "ngram_slots_offset", "image_bytes"]
    offset = 0
    for field in layout:
        if field == name:
            return offset
        offset += 8 if field == "magic8" or offset >= 40 else 4
    raise KeyError(name)


def test_corrupt_or_truncated_binary_is_an_input_error(models, tmp_path, capsys):
    _, binary = models
    data = binary.read_bytes()
    bad = tmp_path / "bad.bin"

    def load_fails(blob, message):
        bad.write_bytes(blob)
        with pytest.raises(InputError, match=message) as err:
            lm.load(bad)
        assert err.value.path == str(bad)

    for size in (8, 40, HEADER_BYTES - 1):
        load_fails(data[:size], "truncated")
    for size in (HEADER_BYTES, len(data) // 2, len(data) - 1):
        load_fails(data[:size], "truncated or corrupt")
    load_fails(data + b"\0", "truncated or corrupt")
    load_fails(corrupt(data, 8, struct.pack("<I", 99)), "format version 99")
    load_fails(corrupt(data, header_field_offset("order"), struct.pack("<I", 9)), "bad order")
    big = struct.pack("<Q", 1 << 62)
    for field, message in [("vocab_size", "vocabulary size"), ("word_slots", "word table size"),
                           ("ngram_slots", "n-gram table size"),
                           ("strings_offset", "outside the file"),
                           ("unigrams_offset", "outside the file"),
                           ("ngram_slots_offset", "outside the file"),
                           ("strings_bytes", "outside the file")]:
        load_fails(corrupt(data, header_field_offset(field), big), message)
    load_fails(corrupt(data, header_field_offset("unigrams_offset"), struct.pack("<Q", 12)),
               "outside the file")
    load_fails(corrupt(data, header_field_offset("bos"), struct.pack("<I", 1 << 30)), "<s>")
    # a word-table entry pointing past the vocabulary
    info = lm.load(binary)
    offset = struct.unpack_from("<Q", data, header_field_offset("word_slots_offset"))[0]
    slots = struct.unpack_from("<Q", data, header_field_offset("word_slots"))[0]
    entry = next(i for i in range(slots) if struct.unpack_from("<I", data, offset + 16 * i + 8)[0]
                 != 0xffffffff)
    load_fails(corrupt(data, offset + 16 * entry + 8, struct.pack("<I", info.vocab_size + 5)),
               "bad word table entry")

    bad.write_bytes(data[:100])
    assert main(["lm", "ppl", str(bad), str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"tingxie: error: {bad}: truncated")


def test_random_damage_never_crashes(models, tmp_path):
    """Bytes overwritten anywhere: an InputError at load, or queries that still return (the
    n-gram table's contents are not checked; its probes are bounded, so a table with no free
    slot cannot hang)."""
    _, binary = models
    data = binary.read_bytes()
    rng = random.Random(7)
    sentences = [" ".join(s) for s in zipf_sentences(30, 8)]
    damaged = tmp_path / "damaged.bin"
    for trial in range(40):
        blob = bytearray(data)
        start = rng.randrange(len(blob))
        length = rng.choice([1, 8, 64, 4096])
        blob[start:start + length] = bytes(rng.randrange(256) for _ in range(min(length, len(blob) - start)))
        damaged.write_bytes(bytes(blob))
        try:
            model = lm.load(damaged)
        except InputError:
            continue
        perplexity(model, sentences)
    # an n-gram table with every slot taken and no key matching: the bounded probe returns
    offset = struct.unpack_from("<Q", data, header_field_offset("ngram_slots_offset"))[0]
    slots = struct.unpack_from("<Q", data, header_field_offset("ngram_slots"))[0]
    full = bytearray(data)
    for i in range(slots):
        struct.pack_into("<Q", full, offset + 16 * i, 0x5555 + i)
    damaged.write_bytes(bytes(full))
    assert np.isfinite(perplexity(lm.load(damaged), sentences).logprob)


def test_kenlm_binary_and_missing_file_are_named(tmp_path):
    kenlm_like = tmp_path / "kenlm.bin"
    kenlm_like.write_bytes(b"mmap lm http://kheafield.com/code format version 5\n\0")
    with pytest.raises(InputError, match="KenLM binary"):
        lm.load(kenlm_like)
    with pytest.raises(InputError, match="no such file"):
        lm.load(tmp_path / "missing.bin")


@pytest.mark.parametrize("name", ["o5.arpa.gz", "o3_prune011.arpa", "tiny_o4_fallback.arpa"])
def test_binary_scores_equal_kenlm(name, tmp_path):
    import kenlm
    out = tmp_path / "model.bin"
    build_binary(KENLM / name, out)
    lines = (KENLM / "test.txt").read_text().splitlines()
    ours = perplexity(lm.load(out), lines).sentence_logprob.astype(np.float64)
    reference = kenlm.Model(str(KENLM / name))
    theirs = np.array([reference.score(line, bos=True, eos=True) for line in lines])
    assert np.all(np.abs(ours - theirs) <= 1e-6 * np.abs(theirs))
