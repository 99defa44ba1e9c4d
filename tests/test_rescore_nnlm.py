"""Neural LM rescorer: batched, padded scoring equals one-at-a-time scoring computed by hand;
the training recipe learns (held-out perplexity falls) and writes a loadable model directory."""
import json
import math
import os
import subprocess
import sys

import pytest

import torch

from asr.rescoring.nnlm import (NeuralLmRescorer, TransformerLmConfig, build_model,  # noqa: E402
                                load_model, save_model)
from common.errors import InputError  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
VOCAB = ["<unk>", "<s>", "</s>", "the", "lord", "is", "my", "shepherd", "i", "shall", "not"]


@pytest.fixture
def model_dir(tmp_path):
    torch.manual_seed(0)
    model = build_model(TransformerLmConfig(len(VOCAB), d_model=16, num_layers=2, num_heads=2,
                                            d_ff=32, max_len=16, dropout=0.0))
    with torch.no_grad():  # large weights: a context-sensitive model, not near-uniform
        for p in model.parameters():
            p.normal_(0, 0.7)
    save_model(model, VOCAB, str(tmp_path / "nnlm"))
    return str(tmp_path / "nnlm")


def by_hand(model, vocab, words):
    ids = [vocab.index(w) if w in vocab else 0 for w in words]
    inputs = torch.tensor([[1] + ids])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(inputs)[0], dim=-1)
    return sum(float(logprobs[t, tok]) for t, tok in enumerate(ids + [2]))


def test_batched_scores_equal_single_sentence_scores(model_dir):
    rescorer = NeuralLmRescorer(model_dir, batch_size=3)
    model, vocab = load_model(model_dir)
    hyps = [["the", "lord", "is", "my", "shepherd"], ["the"], [], ["i", "shall", "not", "want"],
            ["my", "lord"], ["shepherd", "shepherd", "the", "is", "not", "i", "shall"]]
    scores = rescorer.score(hyps)
    expected = [by_hand(model, vocab, h) for h in hyps]
    assert scores == pytest.approx(expected, abs=1e-4)
    assert len({round(s, 3) for s in scores}) == len(scores)
    # the score of a sentence depends on its words, not on its batch neighbours
    assert NeuralLmRescorer(model_dir, batch_size=1).score(hyps) == pytest.approx(scores,
                                                                                  abs=1e-4)


def test_distribution_is_normalised_over_one_word_sentences(model_dir):
    rescorer = NeuralLmRescorer(model_dir)
    model, vocab = load_model(model_dir)
    with torch.no_grad():
        first = torch.log_softmax(model(torch.tensor([[1]]))[0, 0], dim=-1)
    # P(w </s>) / P(</s> | <s> w) summed over every w (and </s> alone) is 1
    total = math.exp(rescorer.score([[]])[0])
    for w in vocab[3:]:
        total += math.exp(float(first[vocab.index(w)]))
    total += math.exp(float(first[0])) + math.exp(float(first[1]))
    assert total == pytest.approx(1.0, abs=1e-5)


def test_unknown_words_are_unk_plus_penalty(model_dir):
    plain = NeuralLmRescorer(model_dir).score([["the", "zebra"], ["the", "<unk>"]])
    assert plain[0] == pytest.approx(plain[1], abs=1e-5)
    penalised = NeuralLmRescorer(model_dir, unk_penalty=-2.5).score([["the", "zebra"]])
    assert penalised[0] == pytest.approx(plain[0] - 2.5, abs=1e-5)


def test_too_long_and_bad_directories(model_dir, tmp_path):
    with pytest.raises(InputError, match="at most 15"):
        NeuralLmRescorer(model_dir).score([["the"] * 16])
    with pytest.raises(InputError, match="no config.json"):
        NeuralLmRescorer(str(tmp_path))
    with open(os.path.join(model_dir, "vocab.txt"), "a") as handle:
        handle.write("extra\n")
    with pytest.raises(InputError, match="vocab.txt has 12 words"):
        NeuralLmRescorer(model_dir)


def test_training_recipe_learns_and_writes_a_loadable_model(tmp_path):
    text = tmp_path / "train.txt"
    lines = [f"utt{i} the lord is my shepherd i shall not want" if i % 2 else
             f"utt{i} he leadeth me beside the still waters" for i in range(400)]
    text.write_text("\n".join(lines) + "\n")
    out = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "nnlm", "train.py"), "--kaldi-text",
         "--text", str(text), "--out", str(out), "--minutes", "0.08", "--eval-minutes", "0.04",
         "--d-model", "32", "--layers", "1", "--d-ff", "64", "--dev-every", "10",
         "--batch-tokens", "256"], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "training.json").read_text())
    # 15 words: an untrained model is near perplexity 15; two memorisable sentences give ~1
    assert record["best_dev_ppl"] < 2.0
    rescorer = NeuralLmRescorer(str(out))
    good, bad = rescorer.score([["the", "lord", "is", "my", "shepherd", "i", "shall", "not",
                                 "want"], ["want", "not", "shall", "i", "shepherd"]])
    assert good > bad + 5
    assert "utt1" not in rescorer.vocab  # --kaldi-text dropped the keys


def test_shipped_demo_model_prefers_real_sentences():
    directory = os.path.join(ROOT, "resources", "demo", "nnlm")
    assert sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory)) \
        <= 10 * 1024 * 1024
    rescorer = NeuralLmRescorer(directory)
    with open(os.path.join(ROOT, "tools", "demo", "data", "dev.txt"), encoding="utf-8") as f:
        sentences = [line.split()[1:] for _, line in zip(range(20), f)]
    real = rescorer.score(sentences)
    shuffled = rescorer.score([list(reversed(s)) for s in sentences])
    assert sum(r > s for r, s in zip(real, shuffled)) >= 18
    # per-word perplexity of held-out demo sentences is far below the vocabulary size
    words = sum(len(s) + 1 for s in sentences)
    assert math.exp(-sum(real) / words) < 0.1 * len(rescorer.vocab)
