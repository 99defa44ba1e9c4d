"""Train the Paraformer path of a demo model on a frozen encoder: the CTC path stays bit for bit.

The demo's Paraformer decoder (2 blocks over letters, trained jointly with CTC, whose
per-utterance loss outweighs the decoder's per-token one ~100 to 1) lags its CTC head. This
stage keeps the encoder and the CTC head of `--init` fixed (so every CTC-mode result, the demo's
README figure included, is unchanged), grows the decoder to `--decoder-blocks` (new blocks start
as the identity, train_voices.grow_decoder) and trains only the decoder and the CIF predictor
with funasr's own attention and predictor losses (glancing sampler included). Encoder outputs are
computed once per utterance and augmentation copy, without SpecAugment, and cached in memory.

Data: the espeak shards of tools/demo/voices_synth.py (`--voices`), each utterance in
`--copies` lightly augmented copies (augment.light: gain, faint noise, silence margins, as
the demo's own data). After every epoch it logs the Paraformer greedy CER on `--dev` to
<exp>/train.log and writes the best model so far to <exp>/model (FunASR directory).

    python tools/demo/train_decoder.py --init resources/demo/model --exp exp/demo/decoder
"""
from __future__ import annotations

import argparse
import math
import os

import numpy as np
import torch
import yaml

import augment
from train import TOKENS, json_log, text_to_ids
from train_voices import FeatureSet, Frontend, ShardPool, greedy_cer, grow_decoder, pad_batch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


@torch.no_grad()
def encode_all(model, items, mean, inv_std, max_frames):
    """[(encoder output (T x D float16), ids)] for [(features, text)], batched by length."""
    out = []
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]))
    batch = []
    for i in order + [None]:
        if batch and (i is None or (len(batch) + 1) * len(items[i][0]) > max_frames):
            speech, lengths = pad_batch([items[j][0] for j in batch], mean, inv_std)
            enc, enc_lens = model.encode(speech, lengths)
            for k, j in enumerate(batch):
                out.append((enc[k, : enc_lens[k]].half(), text_to_ids(items[j][1])))
            batch = []
        if i is not None:
            batch.append(i)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", default=os.path.join(ROOT, "resources/demo/model"))
    parser.add_argument("--shards", default="exp/demo/voices/shards")
    parser.add_argument("--voices", nargs="+", default=["espeak"])
    parser.add_argument("--dev", default="exp/demo/data/dev")
    parser.add_argument("--exp", default="exp/demo/decoder")
    parser.add_argument("--decoder-blocks", type=int, default=5)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-frames", type=int, default=3000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    from asr.models.frontend import read_am_mvn
    from asr.models.model_dir import build_model, write_model_dir

    for name in ("config.yaml", "tokens.json", "am.mvn", "model.pt"):
        if not os.path.isfile(os.path.join(args.init, name)):
            raise SystemExit(f"{args.init}: not a FunASR model directory (no {name})")
    if not os.path.isdir(args.shards) or not os.path.isfile(os.path.join(args.dev, "wav.scp")):
        raise SystemExit(f"needs the voice shards ({args.shards}) and a dev set ({args.dev}): "
                         "run tools/demo/run.sh 2 and 3 first")
    os.makedirs(args.exp, exist_ok=True)
    report = json_log(os.path.join(args.exp, "train.log"))

    with open(os.path.join(args.init, "config.yaml")) as f:
        config = yaml.safe_load(f)
    shift, scale = read_am_mvn(os.path.join(args.init, "am.mvn"))
    mean, inv_std = -shift, scale
    model = build_model(config, len(TOKENS))
    state = torch.load(os.path.join(args.init, "model.pt"), map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    frozen = {k: v.clone() for k, v in model.state_dict().items()
              if k.startswith(("encoder.", "ctc."))}
    if args.decoder_blocks > config["decoder_conf"]["num_blocks"]:
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
        config, model, _, _ = grow_decoder(config, model, optimizer, scheduler,
                                           args.decoder_blocks, lambda step: 1.0)
    trained = [p for name, p in model.named_parameters()
               if name.startswith(("decoder.", "predictor."))]
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith(("decoder.", "predictor."))
    report(event="start", args=vars(args), trained=sum(p.numel() for p in trained),
           total=sum(p.numel() for p in model.parameters()))

    frontend = Frontend(config)
    dev = FeatureSet(args.dev, frontend)
    pool = ShardPool(args.shards)
    pool.rescan()
    rng = np.random.default_rng(args.seed)
    items = []
    for voice in args.voices:
        for samples, start, length, text in pool.by_voice.get(voice, []):
            if not text_to_ids(text):
                continue
            audio = samples[start:start + length].astype(np.float32) / 32767.0
            for _ in range(args.copies):
                items.append((frontend(augment.light(audio, rng)), text))
    model.eval()
    cache = encode_all(model, items, mean, inv_std, args.batch_frames)
    del items
    report(event="encoded", utterances=len(cache),
           frames=int(sum(len(e) for e, _ in cache)))

    optimizer = torch.optim.Adam(trained, lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    order = sorted(range(len(cache)), key=lambda i: len(cache[i][0]))
    batches, current = [], []
    for i in order:
        if current and (len(current) + 1) * len(cache[i][0]) > args.batch_frames:
            batches.append(current)
            current = []
        current.append(i)
    batches.append(current)
    total_steps = args.epochs * len(batches)
    warmup = min(200, total_steps // 10)
    schedule = lambda step: min((step + 1) / warmup,
                                0.5 * (1 + math.cos(math.pi * step / total_steps)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    best = greedy_cer(model, dev, mean, inv_std)
    report(event="initial", dev_cer=best)
    best_cer = best["paraformer"]
    step = 0
    for epoch in range(args.epochs):
        model.decoder.train()
        model.predictor.train()
        sums = {"loss_att": 0.0, "loss_pre": 0.0}
        for b in rng.permutation(len(batches)):
            rows = [cache[i] for i in batches[b]]
            lengths = torch.tensor([len(e) for e, _ in rows])
            enc = torch.zeros(len(rows), int(lengths.max()), rows[0][0].shape[1])
            for k, (e, _) in enumerate(rows):
                enc[k, : len(e)] = e.float()
            ys = torch.full((len(rows), max(len(t) for _, t in rows)), -1, dtype=torch.long)
            for k, (_, t) in enumerate(rows):
                ys[k, : len(t)] = torch.tensor(t)
            ys_lens = torch.tensor([len(t) for _, t in rows])
            loss_att, _, _, _, loss_pre, _ = model._calc_att_loss(enc, lengths, ys, ys_lens)
            loss = loss_att + loss_pre * model.predictor_weight
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 5.0)
            optimizer.step()
            scheduler.step()
            step += 1
            sums["loss_att"] += float(loss_att)
            sums["loss_pre"] += float(loss_pre)
        cer = greedy_cer(model, dev, mean, inv_std)
        model.eval()
        report(event="epoch", epoch=epoch + 1, step=step,
               lr=round(scheduler.get_last_lr()[0], 6),
               **{k: round(v / len(batches), 4) for k, v in sums.items()}, dev_cer=cer)
        if cer["paraformer"] < best_cer:
            best_cer = cer["paraformer"]
            state = model.state_dict()
            assert all(torch.equal(state[k], v) for k, v in frozen.items())
            write_model_dir(os.path.join(args.exp, "model"), config, state, TOKENS, mean,
                            inv_std)
            report(event="best", epoch=epoch + 1, dev_cer=cer)


if __name__ == "__main__":
    main()
