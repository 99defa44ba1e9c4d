"""Multi-voice recipe, stage V2: speak the training text with every training voice, in shards.

Clean audio only (augmentation happens on the fly in tools/demo/train_voices.py). Shards are
written round-robin over the voices, so training can start on the first round while the rest is
still being spoken, and each shard is complete or absent (its .json is written last): a rerun
skips finished shards and resumes where it stopped. Each shard's sentences and voice settings
come from an RNG seeded by the shard's name, so reruns give the same audio.

    <out>/shards/<voice>-<k>.npy   int16 samples at 16 kHz, concatenated
    <out>/shards/<voice>-<k>.json  {"voice", "offsets": [[start, length]...], "texts": [...]}

It also writes two evaluation sets as Kaldi directories (wav/, wav.scp, text):
    <out>/heldout_test  the demo test sentences spoken by the held-out voice(s) (never trained)
    <out>/heldout_dev   the demo dev sentences spoken by the held-out voice(s) (for tuning)
    <out>/tts_dev       the demo dev sentences spoken by the training voices in turn

    python tools/demo/voices_synth.py --text exp/demo/voices/text.txt --out exp/demo/voices
"""
from __future__ import annotations

import argparse
import json
import os
import zlib

import numpy as np
import soundfile

import voices

SOURCE_WEIGHTS = {"treasury": 0.4, "kjv": 0.4, "generated": 0.2}


def read_pool(path: str) -> dict[str, list[str]]:
    pool: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            source, text = line.rstrip("\n").split(" ", 1)
            pool.setdefault(source, []).append(text)
    return pool


def shard_texts(pool, rng: np.random.Generator, count: int) -> list[str]:
    sources = list(SOURCE_WEIGHTS)
    weights = np.array([SOURCE_WEIGHTS[s] for s in sources])
    picks = rng.choice(len(sources), size=count, p=weights / weights.sum())
    return [pool[sources[p]][rng.integers(len(pool[sources[p]]))] for p in picks]


def write_shard(directory: str, name: str, voice: str, audios, texts) -> None:
    samples = np.concatenate([np.round(a * 32767).astype(np.int16) for a in audios])
    offsets, start = [], 0
    for a in audios:
        offsets.append([start, len(a)])
        start += len(a)
    np.save(os.path.join(directory, name + ".npy"), samples)
    tmp = os.path.join(directory, name + ".json.tmp")
    with open(tmp, "w") as f:
        json.dump({"voice": voice, "offsets": offsets, "texts": texts}, f)
    os.replace(tmp, os.path.join(directory, name + ".json"))


def write_kaldi_set(directory: str, items) -> None:
    """items: (uttid, voice, text); skipped if already complete."""
    if os.path.exists(os.path.join(directory, "text")):
        return
    os.makedirs(os.path.join(directory, "wav"), exist_ok=True)
    rows = []
    for uttid, voice, text in items:
        rng = np.random.default_rng(zlib.crc32(uttid.encode()))
        audio = voices.speak(voice, text, rng)
        path = os.path.abspath(os.path.join(directory, "wav", uttid + ".wav"))
        soundfile.write(path, audio, voices.SAMPLE_RATE, subtype="PCM_16")
        rows.append((uttid, path, text))
    with open(os.path.join(directory, "wav.scp"), "w") as scp:
        scp.writelines(f"{u} {p}\n" for u, p, _ in rows)
    with open(os.path.join(directory, "text.tmp"), "w") as text:
        text.writelines(f"{u} {t}\n" for u, _, t in rows)
    os.replace(os.path.join(directory, "text.tmp"), os.path.join(directory, "text"))
    print(f"{directory}: {len(rows)} utterances", flush=True)


def read_kaldi_text(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split(" ", 1) for line in f if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default="exp/demo/voices/text.txt")
    parser.add_argument("--out", default="exp/demo/voices")
    parser.add_argument("--shard-size", type=int, default=200)
    parser.add_argument("--shards-per-voice", type=int, default=12,
                        help="espeak gets twice as many (104 accent x variant voices)")
    args = parser.parse_args()

    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    test = read_kaldi_text(os.path.join(data, "test.txt"))
    dev = read_kaldi_text(os.path.join(data, "dev.txt"))
    for voice in voices.HELD_OUT:
        tag = voice.replace("-", "_")
        write_kaldi_set(os.path.join(args.out, "heldout_test"),
                        [(f"{tag}_{u}", voice, t) for u, t in test])
        write_kaldi_set(os.path.join(args.out, "heldout_dev"),
                        [(f"{tag}_{u}", voice, t) for u, t in dev])
    training = voices.TRAINING_VOICES
    write_kaldi_set(os.path.join(args.out, "tts_dev"),
                    [(f"{training[k % len(training)].replace('-', '_')}_{u}",
                      training[k % len(training)], t) for k, (u, t) in enumerate(dev)])

    pool = read_pool(args.text)
    shards = os.path.join(args.out, "shards")
    os.makedirs(shards, exist_ok=True)
    for k in range(2 * args.shards_per_voice):
        for voice in training:
            if k >= args.shards_per_voice and voice != "espeak":
                continue
            name = f"{voice}-{k:03d}"
            if os.path.exists(os.path.join(shards, name + ".json")):
                continue
            rng = np.random.default_rng(zlib.crc32(name.encode()))
            texts = shard_texts(pool, rng, args.shard_size)
            audios = voices.speak_many(voice, texts, rng)
            write_shard(shards, name, voice, audios, texts)
            hours = sum(len(a) for a in audios) / voices.SAMPLE_RATE / 3600
            print(f"{name}: {len(texts)} utterances, {hours:.2f} h", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
