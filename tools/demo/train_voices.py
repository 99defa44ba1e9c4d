"""Multi-voice recipe, stage V3: fine-tune the demo model on many voices, augmented on the fly.

Starts from a FunASR model directory (default: the shipped resources/demo/model) and keeps its
architecture, tokens and CMVN, so the shipped graphs stay valid. Each step draws utterances
from the clean shards of tools/demo/voices_synth.py (re-scanned every `--rescan-steps`, so new
shards join while synthesis is still running), espeak with probability `--espeak-share` and
otherwise one of the other training voices uniformly, augments them (tools/demo/augment.py: speed,
pitch/tempo, reverberation, noise of four colours incl. babble, telephone band, gain), computes
fbank+LFR features with funasr's WavFrontend (a `--espeak-light-share` of the espeak utterances
get only the demo's own light treatment, to keep the espeak test set) and trains funasr's Paraformer (CTC + attention +
predictor losses, SpecAugLFR) with Adam.

Resumable: every `--checkpoint-minutes` it writes <exp>/checkpoint.pt (model, optimizer,
scheduler, step), exports the model to <exp>/models/step_NNNNNN (FunASR model directory, float32),
logs greedy CER of the CTC head and the Paraformer decoder on the TTS dev set (training voices)
and the real-speech dev set to <exp>/train.log (JSON lines), and mirrors <exp> (all but the
shards) to `--mirror`. The same command continues from the checkpoint; if <exp> is gone but the
mirror is there, it resumes from the mirror.

    python tools/demo/train_voices.py --shards exp/demo/voices/shards --exp exp/demo/voices/train
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil
import time

import numpy as np
import soundfile
import torch
import yaml

import augment
from train import TOKENS, greedy_errors, json_log, text_to_ids

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE_RATE = 16000


class Frontend:
    def __init__(self, config):
        from funasr.frontends.wav_frontend import WavFrontend

        conf = config["frontend_conf"]
        self.frontend = WavFrontend(cmvn_file=None, fs=SAMPLE_RATE, window=conf["window"],
                                    n_mels=conf["n_mels"], frame_length=conf["frame_length"],
                                    frame_shift=conf["frame_shift"], lfr_m=conf["lfr_m"],
                                    lfr_n=conf["lfr_n"], dither=0.0)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        samples = np.clip(np.round(audio * 32767), -32768, 32767).astype(np.float32) / 32768.0
        wave = torch.from_numpy(samples)[None]
        feats, lengths = self.frontend(wave, torch.tensor([wave.shape[1]]))
        return feats[0, : int(lengths[0])].numpy()


class ShardPool:
    """The finished shards of a directory, memory-mapped; utterances grouped by voice."""

    def __init__(self, directory: str):
        self.directory = directory
        self.loaded: set[str] = set()
        self.by_voice: dict[str, list[tuple[np.ndarray, int, int, str]]] = {}

    def rescan(self) -> int:
        for meta_path in sorted(glob.glob(os.path.join(self.directory, "*.json"))):
            name = os.path.basename(meta_path)[:-5]
            if name in self.loaded:
                continue
            with open(meta_path) as f:
                meta = json.load(f)
            samples = np.load(os.path.join(self.directory, name + ".npy"), mmap_mode="r")
            utts = self.by_voice.setdefault(meta["voice"], [])
            for (start, length), text in zip(meta["offsets"], meta["texts"]):
                utts.append((samples, start, length, text))
            self.loaded.add(name)
        return sum(len(u) for u in self.by_voice.values())

    def draw(self, rng: np.random.Generator, espeak_share: float | None = None):
        """A random utterance: espeak with probability `espeak_share` (when given and espeak
        has shards), else a voice drawn uniformly from the others (or from all)."""
        voices = sorted(self.by_voice)
        if espeak_share is not None and "espeak" in self.by_voice and len(voices) > 1:
            others = [v for v in voices if v != "espeak"]
            voice = "espeak" if rng.random() < espeak_share else \
                others[rng.integers(len(others))]
        else:
            voice = voices[rng.integers(len(voices))]
        samples, start, length, text = self.by_voice[voice][rng.integers(len(self.by_voice[voice]))]
        return voice, samples[start:start + length].astype(np.float32) / 32767.0, text


class FeatureSet:
    """Features and transcripts of a Kaldi directory, in memory (for dev evaluation)."""

    def __init__(self, directory: str, frontend: Frontend):
        with open(os.path.join(directory, "text"), encoding="utf-8") as f:
            texts = dict(line.rstrip("\n").split(" ", 1) for line in f if line.strip())
        with open(os.path.join(directory, "wav.scp"), encoding="utf-8") as f:
            scp = [line.split(None, 1) for line in f if line.strip()]
        self.texts, self.feats = [], []
        for uttid, path in scp:
            path = path.strip()
            path = path if os.path.isabs(path) else os.path.join(ROOT, path)
            audio, _ = soundfile.read(path, dtype="float32")
            self.feats.append(frontend(audio))
            self.texts.append(texts[uttid])


def pad_batch(feats_list, mean, inv_std, texts=None):
    lengths = [len(f) for f in feats_list]
    speech = torch.zeros(len(feats_list), max(lengths), feats_list[0].shape[1])
    for k, f in enumerate(feats_list):
        speech[k, : len(f)] = torch.from_numpy((f - mean) * inv_std)
    if texts is None:
        return speech, torch.tensor(lengths)
    targets = [text_to_ids(t) for t in texts]
    text = torch.full((len(targets), max(len(t) for t in targets)), -1, dtype=torch.long)
    for k, t in enumerate(targets):
        text[k, : len(t)] = torch.tensor(t)
    return speech, torch.tensor(lengths), text, torch.tensor([len(t) for t in targets])


@torch.no_grad()
def greedy_cer(model, feature_set: FeatureSet, mean, inv_std, batch_frames=4000):
    model.eval()
    errors = {"ctc": 0, "paraformer": 0}
    total = 0
    order = sorted(range(len(feature_set.feats)), key=lambda i: len(feature_set.feats[i]))
    batches, current = [], []
    for i in order:
        if current and (len(current) + 1) * len(feature_set.feats[i]) > batch_frames:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    for rows in batches:
        speech, lengths = pad_batch([feature_set.feats[r] for r in rows], mean, inv_std)
        batch_errors, chars = greedy_errors(model, speech, lengths,
                                            [feature_set.texts[r] for r in rows])
        for name in errors:
            errors[name] += batch_errors[name]
        total += chars
    model.train()
    return {name: round(100.0 * e / total, 2) for name, e in errors.items()}


def mirror(src: str, dst: str) -> None:
    """Copy files that are new or changed (by size and mtime) from src to dst."""
    for dirpath, _, filenames in os.walk(src):
        target_dir = os.path.join(dst, os.path.relpath(dirpath, src))
        os.makedirs(target_dir, exist_ok=True)
        for name in filenames:
            source, target = os.path.join(dirpath, name), os.path.join(target_dir, name)
            st = os.stat(source)
            if os.path.exists(target):
                tt = os.stat(target)
                if tt.st_size == st.st_size and tt.st_mtime >= st.st_mtime:
                    continue
            shutil.copy2(source, target + ".tmp")
            os.replace(target + ".tmp", target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", default=os.path.join(ROOT, "resources/demo/model"),
                        help="FunASR model directory to start from (architecture, tokens, CMVN)")
    parser.add_argument("--shards", default="exp/demo/voices/shards")
    parser.add_argument("--dev", nargs="*", default=["tts_dev=exp/demo/voices/tts_dev",
                                                      "real_dev=exp/demo/real_dev",
                                                      "espeak_dev=exp/demo/data/dev"],
                        help="NAME=KALDI_DIR sets whose greedy CER is logged at checkpoints")
    parser.add_argument("--exp", default="exp/demo/voices/train")
    parser.add_argument("--mirror", default="/root/tingxie-exp/demo/voices/train",
                        help="a copy of --exp kept outside the work tree ('' for none)")
    parser.add_argument("--batch-utts", type=int, default=48, help="utterances drawn per round")
    parser.add_argument("--max-frames", type=int, default=2000, help="padded frames per batch")
    parser.add_argument("--espeak-share", type=float, default=0.2,
                        help="fraction of the utterances drawn from espeak (the others share "
                             "the rest equally)")
    parser.add_argument("--espeak-light-share", type=float, default=0.0,
                        help="fraction of the espeak utterances given only the demo's own "
                             "light treatment (augment.light: gain, white noise 20-45 dB, "
                             "padding; what the shipped espeak test set has) instead of the "
                             "full augmentation chain")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--max-steps", type=int, default=200000)
    parser.add_argument("--checkpoint-minutes", type=float, default=12.0)
    parser.add_argument("--rescan-steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--decoder-blocks", type=int, default=None,
                        help="grow the Paraformer decoder to this many blocks (new blocks start "
                             "as the identity; kept in the checkpoint, so give it once)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    from asr.models.frontend import read_am_mvn
    from asr.models.model_dir import build_model, write_model_dir

    checkpoint_path = os.path.join(args.exp, "checkpoint.pt")
    if not os.path.exists(checkpoint_path) and args.mirror and \
            os.path.exists(os.path.join(args.mirror, "checkpoint.pt")):
        mirror(args.mirror, args.exp)  # exp/ was lost; the mirror has the state
    os.makedirs(args.exp, exist_ok=True)
    report = json_log(os.path.join(args.exp, "train.log"))

    with open(os.path.join(args.init, "config.yaml")) as f:
        config = yaml.safe_load(f)
    with open(os.path.join(args.init, "tokens.json")) as f:
        assert json.load(f) == TOKENS, "the token list differs from tools/demo/train.py's"
    shift, scale = read_am_mvn(os.path.join(args.init, "am.mvn"))
    mean, inv_std = -shift, scale
    # stronger SpecAugment for the harder data; training-only settings
    config["specaug_conf"].update(num_freq_mask=2, num_time_mask=2,
                                  time_mask_width_range=[0, 8])
    checkpoint = torch.load(checkpoint_path, weights_only=False) \
        if os.path.exists(checkpoint_path) else None
    if checkpoint is not None and "config" in checkpoint:
        config = checkpoint["config"]  # the architecture trained so far (maybe grown)
    model = build_model(config, len(TOKENS))
    if checkpoint is None:
        initial = torch.load(os.path.join(args.init, "model.pt"), map_location="cpu",
                             weights_only=True)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in initial.items()})
    else:
        model.load_state_dict(checkpoint["model"])
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    schedule = lambda step: min((step + 1) / args.warmup_steps,
                                math.sqrt(args.warmup_steps / (step + 1)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    state = {"step": 0, "round": 0, "utterances": 0, "seconds_of_audio": 0.0}
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        state = checkpoint["state"]
        report(event="resume", **state, args=vars(args))
    else:
        report(event="start", init=args.init, args=vars(args))
    if args.decoder_blocks and args.decoder_blocks > config["decoder_conf"]["num_blocks"]:
        config, model, optimizer, scheduler = grow_decoder(
            config, model, optimizer, scheduler, args.decoder_blocks, schedule)
        report(event="grow_decoder", blocks=args.decoder_blocks,
               parameters=sum(p.numel() for p in model.parameters()))

    frontend = Frontend(config)
    dev_sets = {}
    for item in args.dev:
        name, directory = item.split("=", 1)
        if os.path.exists(os.path.join(directory, "text")):
            dev_sets[name] = FeatureSet(directory, frontend)
    pool = ShardPool(args.shards)
    while pool.rescan() == 0:
        report(event="waiting_for_shards", shards=args.shards)
        time.sleep(60)

    def checkpoint(tag):
        cers = {name: greedy_cer(model, s, mean, inv_std) for name, s in dev_sets.items()}
        model_dir = os.path.join(args.exp, "models", f"step_{state['step']:06d}")
        write_model_dir(model_dir, config, model.state_dict(), TOKENS, mean, inv_std)
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "state": state, "config": config},
                   checkpoint_path + ".tmp")
        os.replace(checkpoint_path + ".tmp", checkpoint_path)
        report(event=tag, step=state["step"], utterances=state["utterances"],
               hours_of_audio=round(state["seconds_of_audio"] / 3600, 2),
               voices={v: len(u) for v, u in pool.by_voice.items()},
               **{f"{n}_cer_{m}": c[m] for n, c in cers.items() for m in c})
        if args.mirror:
            mirror(args.exp, args.mirror)

    if state["step"] == 0:
        checkpoint("initial")
    model.train()
    last_checkpoint, started = time.time(), time.time()
    running = {}
    while state["step"] < args.max_steps:
        rng = np.random.default_rng([args.seed, state["round"]])
        babble_source = lambda n: babble(pool, rng, n)
        items = []
        for _ in range(args.batch_utts):
            voice, audio, text = pool.draw(rng, args.espeak_share)
            if not text_to_ids(text):
                continue
            if voice == "espeak" and rng.random() < args.espeak_light_share:
                audio = augment.light(audio, rng)
            else:
                audio = augment.augment(audio, rng, babble_source)
            feats = frontend(audio)
            items.append((feats, text))
            state["seconds_of_audio"] += len(feats) * 0.04
        items.sort(key=lambda it: len(it[0]))
        batches, current = [], []
        for it in items:
            if current and (len(current) + 1) * len(it[0]) > args.max_frames:
                batches.append(current)
                current = []
            current.append(it)
        if current:
            batches.append(current)
        for batch in batches:
            speech, lengths, text, text_lengths = pad_batch(
                [f for f, _ in batch], mean, inv_std, [t for _, t in batch])
            loss, stats, _ = model(speech, lengths, text, text_lengths)
            optimizer.zero_grad()
            if torch.isfinite(loss):
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
            scheduler.step()
            state["step"] += 1
            state["utterances"] += len(batch)
            for key in ("loss", "loss_ctc", "loss_att", "loss_pre"):
                if stats.get(key) is not None:
                    running[key] = running.get(key, 0.0) + float(stats[key])
            if state["step"] % 50 == 0:
                report(event="train", step=state["step"], lr=round(scheduler.get_last_lr()[0], 6),
                       **{k: round(v / 50, 3) for k, v in running.items()},
                       seconds=round(time.time() - started, 1))
                running = {}
        state["round"] += 1
        if state["round"] % max(1, args.rescan_steps // 10) == 0:
            pool.rescan()
        if time.time() - last_checkpoint > args.checkpoint_minutes * 60:
            checkpoint("checkpoint")
            last_checkpoint = time.time()
    checkpoint("done")


def grow_decoder(config, model, optimizer, scheduler, blocks, schedule):
    """The model with `blocks` Paraformer decoder blocks (all with source attention): the
    trained blocks kept, new ones appended after them with their output projections (feed-forward
    w_2, source-attention linear_out) zeroed, so each new block is the identity and the grown
    model computes exactly what the old one did. Adam's moments move over by parameter name."""
    import copy

    from asr.models.model_dir import build_model

    config = copy.deepcopy(config)
    config["decoder_conf"].update(num_blocks=blocks, att_layer_num=blocks)
    grown = build_model(config, len(TOKENS))
    old_state, new_state = model.state_dict(), grown.state_dict()
    for key in new_state:
        if key in old_state:
            new_state[key] = old_state[key].clone()
        elif key.endswith(("feed_forward.w_2.weight", "feed_forward.w_2.bias",
                           "src_attn.linear_out.weight", "src_attn.linear_out.bias")):
            new_state[key] = torch.zeros_like(new_state[key])
    grown.load_state_dict(new_state)
    grown.train()
    old_params = dict(model.named_parameters())
    new_optimizer = torch.optim.Adam(grown.parameters(), lr=optimizer.defaults["lr"],
                                     betas=optimizer.defaults["betas"],
                                     eps=optimizer.defaults["eps"])
    for name, param in grown.named_parameters():
        if name in old_params and old_params[name] in optimizer.state:
            new_optimizer.state[param] = {k: v.clone() if torch.is_tensor(v) else v
                                          for k, v in optimizer.state[old_params[name]].items()}
    new_scheduler = torch.optim.lr_scheduler.LambdaLR(new_optimizer, schedule)
    new_scheduler.load_state_dict(scheduler.state_dict())
    return config, grown, new_optimizer, new_scheduler


def babble(pool: ShardPool, rng: np.random.Generator, n: int) -> np.ndarray:
    """2-5 other utterances summed and tiled to n samples."""
    out = np.zeros(n)
    for _ in range(rng.integers(2, 6)):
        _, audio, _ = pool.draw(rng)
        reps = int(np.ceil(n / max(len(audio), 1)))
        out += np.tile(audio, reps)[:n] * rng.uniform(0.5, 1.0)
    return out


if __name__ == "__main__":
    main()
