"""Long test recordings for `tingxie transcribe --vad`: the demo test utterances
(resources/demo/test, 50 espeak-ng sentences, 16 kHz) joined in shuffled rounds with pauses of
0.8-3 s, over continuous background noise (low-passed Gaussian at --noise-db below the speech
RMS, slowly varying in level), written block by block (memory does not grow with length).

For each recording NAME (of --minutes each) in OUT:
  NAME.wav          the audio
  NAME.segments.tsv one line per utterance: utterance key, start, end (seconds)
  NAME.text         Kaldi text: NAME and the reference words in order

    python tools/long_audio/make_recordings.py --out /tmp/long --minutes 25,120
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parents[2]
RATE = 16000


def read_refs(path):
    with open(path, encoding="utf-8") as f:
        return {line.split()[0]: line.split()[1:] for line in f if line.strip()}


def background(rng, samples, level):
    """Low-passed Gaussian noise whose level drifts by up to +-6 dB over ~10 s."""
    from scipy.signal import lfilter
    white = rng.standard_normal(samples).astype(np.float32)
    coloured = lfilter([1.0], [1.0, -0.9], white).astype(np.float32)
    coloured /= np.sqrt(np.mean(coloured ** 2)) + 1e-12
    drift = 10 ** (rng.uniform(-0.3, 0.3) * np.sin(np.linspace(0, 2 * np.pi * samples / RATE / 10,
                                                                 samples) + rng.uniform(0, 6)) / 1)
    return (coloured * level * drift).astype(np.float32)


def make(out: Path, name: str, minutes: float, demo: Path, noise_db: float, seed: int):
    rng = np.random.default_rng(seed)
    refs = read_refs(demo / "text")
    keys = sorted(refs)
    waves = {k: soundfile.read(str(demo / "wav" / f"{k}.wav"), dtype="float32")[0] for k in keys}
    speech_rms = float(np.sqrt(np.mean(np.concatenate(list(waves.values())) ** 2)))
    level = speech_rms * 10 ** (-noise_db / 20)
    target = minutes * 60 * RATE
    written = 0
    words = []
    with soundfile.SoundFile(str(out / f"{name}.wav"), "w", RATE, 1, "PCM_16") as wav, \
            open(out / f"{name}.segments.tsv", "w", encoding="utf-8") as tsv:
        done = False
        while not done:
            for k in rng.permutation(keys):
                pause = np.zeros(int(rng.uniform(0.8, 3.0) * RATE), np.float32)
                speech = waves[k]
                if written + len(pause) + len(speech) + RATE > target:
                    done = True
                    break
                block = np.concatenate([pause, speech])
                block += background(rng, len(block), level)
                wav.write(np.clip(block, -1, 1))
                start = (written + len(pause)) / RATE
                written += len(block)
                tsv.write(f"{k}\t{start:.3f}\t{written / RATE:.3f}\n")
                words.extend(refs[k])
        tail = background(rng, int(target - written), level)
        wav.write(tail)
    with open(out / f"{name}.text", "w", encoding="utf-8") as f:
        f.write(f"{name} {' '.join(words)}\n")
    print(f"{out / name}.wav: {target / RATE / 60:.1f} min, noise {noise_db:g} dB below speech",
          file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", default="25,120", help="comma-separated lengths")
    p.add_argument("--demo", default=str(REPO / "resources" / "demo" / "test"))
    p.add_argument("--noise-db", type=float, default=30.0,
                   help="background noise this many dB below the speech RMS")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, minutes in enumerate(float(m) for m in args.minutes.split(",")):
        make(out, f"long_{minutes:g}min", minutes, Path(args.demo), args.noise_db,
             args.seed + i)


if __name__ == "__main__":
    main()
