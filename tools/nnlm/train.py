#!/usr/bin/env python3
"""Train the demo's neural LM (a small word-level Transformer, asr/rescoring/nnlm.py).

Stages: read sentences -> vocabulary (most frequent words, ids 0-2 = <unk> <s> </s>) -> hold
out every `--dev-every`-th sentence -> batches of similar-length sentences (sorted buckets,
about `--batch-tokens` words each) -> AdamW with linear warm-up and a cosine decay over a fixed
CPU-time budget (`--minutes`), one thread by default -> keep the weights with the best held-out
perplexity -> write the model directory that `NeuralLmRescorer` loads.

    nice python tools/nnlm/train.py --kaldi-text --text tools/demo/data/train.txt.gz \
        --out resources/demo/nnlm --minutes 20 (the other options as in resources/demo/nnlm/
        training.json, which records the exact arguments of the shipped model)

Perplexity is reported as KenLM reports it: one </s> per sentence, never <s>, OOVs as <unk>.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import torch  # noqa: E402

from asr.rescoring.nnlm import (BOS, EOS, UNK, TransformerLmConfig, build_model,  # noqa: E402
                                save_model)
from common.textio import numbered_lines  # noqa: E402


def read_sentences(path, max_words, kaldi_text):
    sentences = []
    for _, line in numbered_lines(path):
        words = line.split()[1:] if kaldi_text else line.split()
        if words:
            sentences.append(words[:max_words])
    return sentences


def make_vocab(sentences, size):
    counts = collections.Counter(w for s in sentences for w in s)
    for special in (UNK, BOS, EOS):
        counts.pop(special, None)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: size - 3]
    return [UNK, BOS, EOS] + [w for w, _ in ranked]


def make_batches(encoded, batch_tokens, rng):
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), rng.random()))
    batches, current, width = [], [], 0
    for i in order:
        width = max(width, len(encoded[i]) + 1)
        if current and width * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, width = [], len(encoded[i]) + 1
        current.append(i)
    if current:
        batches.append(current)
    return batches


def tensors(encoded, batch):
    width = max(len(encoded[i]) for i in batch) + 1
    inputs = torch.full((len(batch), width), 2, dtype=torch.long)
    targets = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, i in enumerate(batch):
        ids = encoded[i]
        inputs[row, : len(ids) + 1] = torch.tensor([1] + ids)
        targets[row, : len(ids) + 1] = torch.tensor(ids + [2])
    return inputs, targets


def evaluate(model, encoded, batches):
    model.eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for batch in batches:
            inputs, targets = tensors(encoded, batch)
            logits = model(inputs)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
            total += float(loss)
            tokens += int((targets != -100).sum())
    model.train()
    return math.exp(total / tokens)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", required=True, help="training text, one sentence per line")
    parser.add_argument("--kaldi-text", action="store_true",
                        help="each line starts with an utterance id (Kaldi `text`): drop it")
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--vocab-size", type=int, default=12000)
    parser.add_argument("--d-model", type=int, default=192)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--d-ff", type=int, default=768)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--batch-tokens", type=int, default=2048)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup-steps", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=30.0, help="CPU-time budget")
    parser.add_argument("--eval-minutes", type=float, default=3.0, help="evaluate this often")
    parser.add_argument("--dev-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    sentences = read_sentences(args.text, args.max_len - 1, args.kaldi_text)
    train = [s for i, s in enumerate(sentences) if i % args.dev_every != args.dev_every - 1]
    dev = [s for i, s in enumerate(sentences) if i % args.dev_every == args.dev_every - 1]
    vocab = make_vocab(train, args.vocab_size)
    word_id = {w: i for i, w in enumerate(vocab)}
    encode = lambda s: [word_id.get(w, 0) for w in s]  # noqa: E731
    train_ids, dev_ids = [encode(s) for s in train], [encode(s) for s in dev]
    dev_batches = make_batches(dev_ids, args.batch_tokens, rng)
    config = TransformerLmConfig(len(vocab), args.d_model, args.layers, args.heads, args.d_ff,
                                 args.max_len, args.dropout)
    model = build_model(config)
    params = sum(p.numel() for p in model.parameters())
    print(f"{len(train)} training / {len(dev)} held-out sentences, vocab {len(vocab)}, "
          f"{params / 1e6:.2f}M parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr,
                                  betas=(0.9, 0.98))
    budget = args.minutes * 60
    start = time.process_time()
    next_eval = args.eval_minutes * 60
    best, step, epoch, words_seen = float("inf"), 0, 0, 0
    history = []
    done = False
    while not done:
        epoch += 1
        batches = make_batches(train_ids, args.batch_tokens, rng)
        rng.shuffle(batches)
        for batch in batches:
            used = time.process_time() - start
            if used >= budget:
                done = True
                break
            lr = args.lr * min(1.0, (step + 1) / args.warmup_steps) * 0.5 * (
                1 + math.cos(math.pi * used / budget))
            for group in optimizer.param_groups:
                group["lr"] = lr
            inputs, targets = tensors(train_ids, batch)
            logits = model(inputs)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            words_seen += int((targets != -100).sum())
            if used >= next_eval:
                next_eval += args.eval_minutes * 60
                ppl = evaluate(model, dev_ids, dev_batches)
                history.append({"cpu_s": round(used), "epoch": epoch, "step": step,
                                "words": words_seen, "dev_ppl": round(ppl, 2)})
                print(json.dumps(history[-1]), flush=True)
                if ppl < best:
                    best = ppl
                    save_model(model, vocab, args.out)
    ppl = evaluate(model, dev_ids, dev_batches)
    history.append({"cpu_s": round(time.process_time() - start), "epoch": epoch, "step": step,
                    "words": words_seen, "dev_ppl": round(ppl, 2)})
    print(json.dumps(history[-1]), flush=True)
    if ppl < best:
        best = ppl
        save_model(model, vocab, args.out)
    with open(os.path.join(args.out, "training.json"), "w", encoding="utf-8") as handle:
        json.dump({"text": args.text, "args": vars(args), "parameters": params,
                   "best_dev_ppl": round(best, 2), "history": history}, handle, indent=1)
    print(f"best held-out perplexity {best:.2f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
