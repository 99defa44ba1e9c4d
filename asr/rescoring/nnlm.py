"""Neural LM rescorer: a small word-level Transformer LM scored in batches.

The model is a decoder-only Transformer (causal self-attention, pre-norm, learned positions,
input and output embeddings tied). A sentence w1..wn is scored as
    ln P(w1..wn </s> | <s>) = sum_i ln softmax(f(<s> w1..w_{i-1}))[w_i]
so its score is directly comparable with an n-gram's sentence log-probability (both include
`</s>`). Words outside the model's vocabulary are scored as `<unk>`, as Kaldi's RNNLM
rescoring does; `unk_penalty` (natural log, default 0) is added once per such word so that
`<unk>`'s probability mass, which covers every OOV word, is not handed to each one of them.

A model directory (what tools/nnlm/train.py writes, what `NeuralLmRescorer` loads) holds
  config.json  architecture: vocab_size, d_model, num_layers, num_heads, d_ff, max_len
  vocab.txt    one word per line, line number = id; ids 0,1,2 are <unk>, <s>, </s>
  model.pt     state_dict (float16 to keep the shipped file small; computed in float32)
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from typing import List, Sequence

from common.errors import InputError

UNK, BOS, EOS = "<unk>", "<s>", "</s>"


@dataclass
class TransformerLmConfig:
    vocab_size: int
    d_model: int = 192
    num_layers: int = 3
    num_heads: int = 4
    d_ff: int = 768
    max_len: int = 128  # longest sequence (words + <s>) the positions cover
    dropout: float = 0.1


def build_model(config: TransformerLmConfig):
    """The torch module; imported lazily so that light subcommands never import torch."""
    import torch
    from torch import nn

    class TransformerLm(nn.Module):
        def __init__(self, cfg: TransformerLmConfig):
            super().__init__()
            self.cfg = cfg
            self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
            nn.init.normal_(self.embed.weight, std=cfg.d_model ** -0.5)  # tied: logits ~ N(0,1)
            self.position = nn.Embedding(cfg.max_len, cfg.d_model)
            nn.init.normal_(self.position.weight, std=0.02)
            layer = nn.TransformerEncoderLayer(
                cfg.d_model, cfg.num_heads, cfg.d_ff, cfg.dropout, batch_first=True,
                norm_first=True, activation="gelu")
            self.layers = nn.TransformerEncoder(layer, cfg.num_layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(cfg.d_model)

        def forward(self, tokens: "torch.Tensor") -> "torch.Tensor":
            """tokens int64 [B, T] -> logits [B, T, V]; position t sees tokens 0..t only.
            Right padding needs no mask: padded positions come after every real one."""
            length = tokens.shape[1]
            positions = torch.arange(length, device=tokens.device)
            hidden = self.embed(tokens) * math.sqrt(self.cfg.d_model) + self.position(positions)
            causal = nn.Transformer.generate_square_subsequent_mask(length, device=tokens.device)
            hidden = self.layers(hidden, mask=causal, is_causal=True)
            return self.norm(hidden) @ self.embed.weight.T

    return TransformerLm(config)


def read_vocab(path: str) -> List[str]:
    from common.textio import numbered_lines

    words = []
    for number, line in numbered_lines(path):
        word = line.strip()
        if not word or len(line.split()) != 1:
            raise InputError("expected one word per line", path=path, line=number)
        words.append(word)
    if words[:3] != [UNK, BOS, EOS]:
        raise InputError("vocabulary must start with <unk>, <s>, </s>", path=path)
    return words


def save_model(model, vocab: Sequence[str], directory: str) -> None:
    import torch

    os.makedirs(directory, exist_ok=True)
    config = asdict(model.cfg)
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=1)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(vocab) + "\n")
    state = {name: tensor.detach().to(torch.float16) for name, tensor in model.state_dict().items()}
    torch.save(state, os.path.join(directory, "model.pt"))


def load_model(directory: str):
    """(model in eval mode, float32, vocab list) from a model directory."""
    import torch

    config_path = os.path.join(directory, "config.json")
    if not os.path.isfile(config_path):
        raise InputError("not a neural LM directory (no config.json)", path=directory)
    try:
        with open(config_path, encoding="utf-8") as handle:
            config = TransformerLmConfig(**json.load(handle))
    except (ValueError, TypeError) as err:
        raise InputError(f"bad neural LM config: {err}", path=config_path) from None
    vocab = read_vocab(os.path.join(directory, "vocab.txt"))
    if len(vocab) != config.vocab_size:
        raise InputError(f"vocab.txt has {len(vocab)} words, config says {config.vocab_size}",
                         path=directory)
    model = build_model(config)
    weights_path = os.path.join(directory, "model.pt")
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except (OSError, RuntimeError, KeyError) as err:
        raise InputError(f"cannot load neural LM weights: {err}", path=weights_path) from None
    model.eval()
    return model, vocab


class NeuralLmRescorer:
    """Scores hypotheses (lists of words) with a Transformer LM; natural-log probabilities."""

    name = "nnlm"

    def __init__(self, directory: str, batch_size: int = 32, unk_penalty: float = 0.0,
                 num_threads: int = 0):
        import torch

        if num_threads > 0:
            torch.set_num_threads(num_threads)
        self.model, self.vocab = load_model(directory)
        self.word_id = {w: i for i, w in enumerate(self.vocab)}
        self.batch_size = batch_size
        self.unk_penalty = unk_penalty

    def _ids(self, words: Sequence[str]) -> List[int]:
        return [self.word_id.get(w, 0) for w in words]

    def score(self, hypotheses: Sequence[Sequence[str]], audio=None) -> List[float]:
        import torch

        results: List[float] = [0.0] * len(hypotheses)
        order = sorted(range(len(hypotheses)), key=lambda i: len(hypotheses[i]))
        max_words = self.model.cfg.max_len - 1
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            sequences = [self._ids(hypotheses[i]) for i in chunk]
            for i, ids in zip(chunk, sequences):
                if len(ids) > max_words:
                    raise InputError(f"hypothesis has {len(ids)} words; the neural LM covers "
                                     f"at most {max_words}")
            width = max(len(s) for s in sequences) + 1
            inputs = torch.full((len(chunk), width), 2, dtype=torch.long)
            targets = torch.full((len(chunk), width), -1, dtype=torch.long)
            for row, ids in enumerate(sequences):
                inputs[row, :len(ids) + 1] = torch.tensor([1] + ids)
                targets[row, :len(ids) + 1] = torch.tensor(ids + [2])
            with torch.inference_mode():
                logprobs = torch.log_softmax(self.model(inputs).float(), dim=-1)
                picked = logprobs.gather(2, targets.clamp(min=0).unsqueeze(2)).squeeze(2)
                totals = (picked * (targets >= 0)).sum(dim=1)
            for row, i in enumerate(chunk):
                unknown = sum(1 for w in sequences[row] if w == 0)
                results[i] = float(totals[row]) + self.unk_penalty * unknown
        return results
