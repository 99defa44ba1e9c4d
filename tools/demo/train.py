"""Stage 3 of the demo recipe: train the demo Paraformer + CTC model on precomputed features.

A plain torch loop over funasr's own `Paraformer` class (the model, its losses, SpecAugLFR and
the CIF predictor are funasr's; this file only feeds batches). Built for a shared CPU: one
OpenMP thread, length-bucketed batches, and a checkpoint every `--checkpoint-minutes`, so the
run can be stopped at any point and resumed with the same command (it continues from
`<exp>/checkpoint.pt`: same epoch, same batch, same RNG).

After every epoch (and at every checkpoint) it measures greedy CER on the dev set, both from
the CTC head and from the Paraformer decoder, logs it as a JSON line to `<exp>/train.log`, and
exports the best model so far (by CTC CER) as a FunASR model directory in `<exp>/model`
(asr.models.model_dir). Stops after `--max-epochs` or once `--target-cer` is reached and
`--extra-epochs` more have run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch
import yaml

from asr.models.model_dir import build_model, write_model_dir

HERE = os.path.dirname(os.path.abspath(__file__))
# Column order of the model's outputs: the decoder benchmark's units (../shared/bench/decoder/
# units.txt: blank, apostrophe, a-z, word end) followed by FunASR's sentence markers and <unk>.
TOKENS = ["<blank>", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + \
         ["|", "<s>", "</s>", "<unk>"]
TOKEN_ID = {t: i for i, t in enumerate(TOKENS)}
WORD_END = "|"


def text_to_ids(sentence: str) -> list[int]:
    """'the lord' -> ids of t h e | l o r d |"""
    ids = []
    for word in sentence.split():
        ids.extend(TOKEN_ID.get(ch, TOKEN_ID["<unk>"]) for ch in word)
        ids.append(TOKEN_ID[WORD_END])
    return ids


def ids_to_text(ids) -> str:
    from common.token_words import TokenWords

    return TokenWords(TOKENS, WORD_END).text([TOKENS[i] for i in ids if i > 0])


def json_log(path: str):
    """A report(**fields) that prints one JSON line (with the time) and appends it to path."""
    log = open(path, "a")

    def report(**fields):
        fields["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        line = json.dumps(fields)
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    return report


def edit_distance(a, b) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


class Split:
    """Features (float16, concatenated), their index and the transcripts of one data split."""

    def __init__(self, directory: str):
        self.feats = np.load(os.path.join(directory, "feats.npy"), mmap_mode="r")
        self.index = np.load(os.path.join(directory, "feats_index.npy"))
        with open(os.path.join(directory, "text"), encoding="utf-8") as f:
            self.texts = [line.rstrip("\n").split(" ", 1)[1] for line in f]
        assert len(self.texts) == len(self.index), directory
        self.targets = [text_to_ids(t) for t in self.texts]

    def batch(self, rows, mean, inv_std):
        lengths = [int(self.index[r, 1]) for r in rows]
        speech = torch.zeros(len(rows), max(lengths), self.feats.shape[1])
        for k, r in enumerate(rows):
            start, n = self.index[r]
            speech[k, :n] = torch.from_numpy((self.feats[start:start + n].astype(np.float32)
                                              - mean) * inv_std)
        target_lengths = [len(self.targets[r]) for r in rows]
        text = torch.full((len(rows), max(target_lengths)), -1, dtype=torch.long)
        for k, r in enumerate(rows):
            text[k, : target_lengths[k]] = torch.tensor(self.targets[r])
        return speech, torch.tensor(lengths), text, torch.tensor(target_lengths)


def compute_cmvn(split: Split):
    total = np.zeros(split.feats.shape[1], np.float64)
    total_sq = np.zeros_like(total)
    for start in range(0, len(split.feats), 200_000):
        chunk = split.feats[start:start + 200_000].astype(np.float64)
        total += chunk.sum(0)
        total_sq += (chunk**2).sum(0)
    mean = total / len(split.feats)
    std = np.sqrt(np.maximum(total_sq / len(split.feats) - mean**2, 1e-8))
    return mean.astype(np.float32), (1.0 / std).astype(np.float32)


def make_batches(split: Split, max_frames: int, seed: int):
    """Length-sorted buckets of at most max_frames padded frames, in a seeded random order."""
    order = np.argsort(split.index[:, 1], kind="stable")
    batches, current = [], []
    for r in order:
        if current and (len(current) + 1) * split.index[r, 1] > max_frames:
            batches.append(current)
            current = []
        current.append(int(r))
    if current:
        batches.append(current)
    random.Random(seed).shuffle(batches)
    return batches


@torch.no_grad()
def greedy_errors(model, speech, lengths, references):
    """Character errors of the CTC head's and the Paraformer decoder's greedy output on one
    padded batch: ({'ctc': errors, 'paraformer': errors}, reference characters)."""
    enc, enc_lens = model.encode(speech, lengths)
    ctc_best = model.ctc.log_softmax(enc).argmax(-1)
    emb, token_num, _, _ = model.calc_predictor(enc, enc_lens)
    token_num = token_num.round().long().clamp(min=1)
    dec, _ = model.cal_decoder_with_predictor(enc, enc_lens, emb, token_num)
    dec_best = dec.argmax(-1)
    errors = {"ctc": 0, "paraformer": 0}
    for k, reference in enumerate(references):
        frames = ctc_best[k, : enc_lens[k]].tolist()
        collapsed = [t for i, t in enumerate(frames) if t != 0 and (i == 0 or t != frames[i - 1])]
        errors["ctc"] += edit_distance(ids_to_text(collapsed), reference)
        errors["paraformer"] += edit_distance(
            ids_to_text(dec_best[k, : token_num[k]].tolist()), reference)
    return errors, sum(len(r) for r in references)


def evaluate(model, split: Split, mean, inv_std, max_frames: int):
    """Greedy CER (%) of the CTC head and of the Paraformer decoder over a split."""
    model.eval()
    errors = {"ctc": 0, "paraformer": 0}
    total = 0
    for rows in make_batches(split, max_frames, 0):
        speech, lengths, _, _ = split.batch(rows, mean, inv_std)
        batch_errors, chars = greedy_errors(model, speech, lengths, [split.texts[r] for r in rows])
        for name in errors:
            errors[name] += batch_errors[name]
        total += chars
    model.train()
    return {name: 100.0 * e / total for name, e in errors.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="exp/demo/data", help="holds train/ and dev/")
    parser.add_argument("--exp", default="exp/demo/train")
    parser.add_argument("--config", default=os.path.join(HERE, "conf", "config.yaml"))
    parser.add_argument("--max-frames", type=int, default=3000, help="padded frames per batch")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup-steps", type=int, default=500)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--target-cer", type=float, default=8.0)
    parser.add_argument("--extra-epochs", type=int, default=2)
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.exp, exist_ok=True)
    report = json_log(os.path.join(args.exp, "train.log"))

    with open(args.config) as f:
        config = yaml.safe_load(f)
    train = Split(os.path.join(args.data, "train"))
    dev = Split(os.path.join(args.data, "dev"))
    cmvn_path = os.path.join(args.exp, "cmvn.npz")
    if not os.path.exists(cmvn_path):
        np.savez(cmvn_path, *compute_cmvn(train))
    stats = np.load(cmvn_path)
    mean, inv_std = stats["arr_0"], stats["arr_1"]

    torch.manual_seed(args.seed)
    model = build_model(config, len(TOKENS))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    schedule = lambda step: min((step + 1) / args.warmup_steps,
                                math.sqrt(args.warmup_steps / (step + 1)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    state = {"epoch": 0, "batch": 0, "step": 0, "best_cer": float("inf"), "reached_at": None}
    checkpoint_path = os.path.join(args.exp, "checkpoint.pt")
    if os.path.exists(checkpoint_path):
        checkpoint = torch.load(checkpoint_path, weights_only=False)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        state = checkpoint["state"]
        torch.set_rng_state(checkpoint["torch_rng"])
        report(event="resume", **state)
    else:
        report(event="start", parameters=sum(p.numel() for p in model.parameters()),
               train_utts=len(train.texts), train_frames=int(train.index[:, 1].sum()),
               args=vars(args))

    def save_checkpoint():
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "state": state,
                    "torch_rng": torch.get_rng_state()}, checkpoint_path + ".tmp")
        os.replace(checkpoint_path + ".tmp", checkpoint_path)

    def evaluate_and_export(tag):
        cer = evaluate(model, dev, mean, inv_std, args.max_frames * 2)
        improved = cer["ctc"] < state["best_cer"]
        if improved:
            state["best_cer"] = cer["ctc"]
            write_model_dir(os.path.join(args.exp, "model"), config, model.state_dict(), TOKENS,
                            mean, inv_std)
        report(event=tag, epoch=state["epoch"], batch=state["batch"], step=state["step"],
               dev_cer_ctc=round(cer["ctc"], 2), dev_cer_paraformer=round(cer["paraformer"], 2),
               exported=improved)
        return cer

    model.train()
    last_checkpoint = time.time()
    while state["epoch"] < args.max_epochs:
        batches = make_batches(train, args.max_frames, args.seed * 1000 + state["epoch"])
        running, started = {}, time.time()
        while state["batch"] < len(batches):
            rows = batches[state["batch"]]
            speech, lengths, text, text_lengths = train.batch(rows, mean, inv_std)
            loss, stats, _ = model(speech, lengths, text, text_lengths)
            optimizer.zero_grad()
            if torch.isfinite(loss):
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
            scheduler.step()
            state["batch"] += 1
            state["step"] += 1
            for key in ("loss", "loss_ctc", "loss_att", "loss_pre"):
                if stats.get(key) is not None:
                    running[key] = running.get(key, 0.0) + float(stats[key])
            if state["step"] % 50 == 0:
                report(event="train", epoch=state["epoch"], batch=state["batch"],
                       batches=len(batches), step=state["step"],
                       lr=round(scheduler.get_last_lr()[0], 6),
                       **{k: round(v / 50, 3) for k, v in running.items()},
                       seconds=round(time.time() - started, 1))
                running = {}
            if time.time() - last_checkpoint > args.checkpoint_minutes * 60:
                evaluate_and_export("checkpoint")
                save_checkpoint()
                last_checkpoint = time.time()
        state["epoch"] += 1
        state["batch"] = 0
        cer = evaluate_and_export("epoch")
        if state["reached_at"] is None and cer["ctc"] < args.target_cer:
            state["reached_at"] = state["epoch"]
        save_checkpoint()
        last_checkpoint = time.time()
        if state["reached_at"] is not None and \
                state["epoch"] >= state["reached_at"] + args.extra_epochs:
            break
    report(event="done", **state)


if __name__ == "__main__":
    main()
