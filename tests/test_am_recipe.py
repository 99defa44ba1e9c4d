"""The demo recipe's own pieces (tools/demo): sentence splits, token mapping, batching and the
reproducibility of the synthetic audio."""
import gzip
import importlib.util
import os
import shutil

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tools", "demo", "data")


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tools", "demo",
                                                                     f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read(name):
    opener = gzip.open if name.endswith(".gz") else open
    with opener(os.path.join(DATA, name), "rt", encoding="utf-8") as f:
        return [line.rstrip("\n").split(" ", 1) for line in f]


def test_sentence_splits_are_disjoint_and_in_vocabulary():
    train, dev, test = read("train.txt.gz"), read("dev.txt"), read("test.txt")
    assert (len(train), len(dev), len(test)) == (12500, 200, 50)
    train_sentences = {s for _, s in train}
    assert len(train_sentences) == len(train)
    vocabulary = {w for s in train_sentences for w in s.split()}
    for _, sentence in dev + test:
        assert sentence not in train_sentences
        assert set(sentence.split()) <= vocabulary
        assert 5 <= len(sentence.split()) <= 20
    assert not {s for _, s in dev} & {s for _, s in test}


def test_tokens_follow_the_decoder_units():
    train = load_tool("train")
    units_path = os.path.join(ROOT, "tests", "data", "decoder_bench", "units.txt")
    if os.path.exists(units_path):
        with open(units_path) as f:
            units = [line.split()[0] for line in f if line.strip()]
        assert train.TOKENS[: len(units)] == units
    assert train.TOKENS[29:] == ["<s>", "</s>", "<unk>"]
    ids = train.text_to_ids("the lord's word")
    assert [train.TOKENS[i] for i in ids] == list("the|lord's|word|")
    assert train.ids_to_text(ids) == "the lord's word"


def test_batches_cover_every_utterance_within_the_frame_budget():
    train = load_tool("train")

    class FakeSplit:
        index = np.array([[0, n] for n in np.random.default_rng(0).integers(20, 400, 500)])

    batches = train.make_batches(FakeSplit, 2000, seed=3)
    rows = sorted(r for batch in batches for r in batch)
    assert rows == list(range(500))
    for batch in batches:
        longest = max(FakeSplit.index[r, 1] for r in batch)
        assert len(batch) * longest <= 2000 or len(batch) == 1
    assert batches == train.make_batches(FakeSplit, 2000, seed=3)
    assert batches != train.make_batches(FakeSplit, 2000, seed=4)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_synthesis_is_reproducible_per_utterance():
    synthesize = load_tool("synthesize")
    first = synthesize.speak("test_00001", "the lord is my shepherd")
    again = synthesize.speak("test_00001", "the lord is my shepherd")
    other = synthesize.speak("test_00002", "the lord is my shepherd")
    assert first.dtype == np.int16 and len(first) > 16000 * 0.5
    assert np.array_equal(first, again)
    assert not (len(first) == len(other) and np.array_equal(first, other))
