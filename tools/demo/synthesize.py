"""Stage 2 of the demo recipe: speak the demo sentences with espeak-ng and extract features.

For every `<uttid> <words>` of a split this writes a 16 kHz mono 16-bit wav, Kaldi `wav.scp` and
`text`, FunASR's training jsonl (`{"key", "source", "source_len", "target", "target_len"}` as
funasr's scp2jsonl writes it), and the model's input features in one float16 array:

    <work>/<split>/wav/<uttid>.wav, wav.scp, text, data.jsonl
    <work>/<split>/feats.npy (all frames, concatenated), feats_index.npy ([n, 2] start, length)

Each utterance gets a random voice (8 English accents x 13 variants), speaking rate, pitch,
word gap, gain and light white noise (SNR 20-45 dB, or none), all drawn from a seeded RNG per
utterance, so a rerun reproduces the same audio. Features are computed by funasr's own
WavFrontend (fbank, LFR) from the 16-bit samples that were written, without CMVN, so training
sees exactly what inference will compute from the wav file.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import subprocess
import zlib
from multiprocessing import Pool

import numpy as np
import soundfile
from scipy.signal import resample_poly

ACCENTS = ["en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4",
            "+f5"]
SAMPLE_RATE = 16000

_frontend = None


def read_sentences(path: str) -> list[tuple[str, str]]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [tuple(line.rstrip("\n").split(" ", 1)) for line in f if line.strip()]


def speak(uttid: str, sentence: str) -> np.ndarray:
    """Random-voiced espeak-ng rendering of `sentence`, int16 at 16 kHz."""
    rng = np.random.default_rng(zlib.crc32(uttid.encode()))
    voice = ACCENTS[rng.integers(len(ACCENTS))] + VARIANTS[rng.integers(len(VARIANTS))]
    command = ["espeak-ng", "--stdout", "-v", voice, "-s", str(rng.integers(130, 191)),
               "-p", str(rng.integers(25, 76)), "-g", str(rng.integers(0, 4)), sentence]
    wav_bytes = subprocess.run(command, check=True, capture_output=True).stdout
    audio, rate = soundfile.read(io.BytesIO(wav_bytes), dtype="float32")
    audio = resample_poly(audio, SAMPLE_RATE, rate) if rate != SAMPLE_RATE else audio
    peak = float(np.abs(audio).max()) or 1.0
    audio = audio / peak * rng.uniform(0.1, 0.9)
    if rng.random() < 0.8:
        snr_db = rng.uniform(20.0, 45.0)
        noise_rms = np.sqrt(np.mean(audio**2)) / 10 ** (snr_db / 20)
        audio = audio + rng.normal(0.0, noise_rms, size=audio.shape)
    lead, tail = rng.integers(800, 4000, size=2)  # 50-250 ms of padding at each end
    audio = np.concatenate([np.zeros(lead), audio, np.zeros(tail)])
    return np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)


def features(samples: np.ndarray, lfr_m: int, lfr_n: int) -> np.ndarray:
    global _frontend
    import torch
    if _frontend is None:
        torch.set_num_threads(1)
        from funasr.frontends.wav_frontend import WavFrontend
        _frontend = WavFrontend(cmvn_file=None, fs=SAMPLE_RATE, window="hamming", n_mels=80,
                                frame_length=25, frame_shift=10, lfr_m=lfr_m, lfr_n=lfr_n,
                                dither=0.0)
    wave = torch.from_numpy(samples.astype(np.float32) / 32768.0)[None]
    feats, lengths = _frontend(wave, torch.tensor([wave.shape[1]]))
    return feats[0, : int(lengths[0])].numpy().astype(np.float16)


def process(job):
    uttid, sentence, wav_path, lfr_m, lfr_n = job
    samples = speak(uttid, sentence)
    soundfile.write(wav_path, samples, SAMPLE_RATE, subtype="PCM_16")
    return uttid, len(samples), features(samples, lfr_m, lfr_n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sentences", help="<uttid> <words> per line (.gz ok)")
    parser.add_argument("out_dir", help="split directory, e.g. exp/demo/data/train")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--lfr-m", type=int, default=7)
    parser.add_argument("--lfr-n", type=int, default=4)
    args = parser.parse_args()

    sentences = read_sentences(args.sentences)
    wav_dir = os.path.join(args.out_dir, "wav")
    os.makedirs(wav_dir, exist_ok=True)
    jobs = [(u, s, os.path.abspath(os.path.join(wav_dir, f"{u}.wav")), args.lfr_m, args.lfr_n)
            for u, s in sentences]
    all_feats, index, total_samples = [], [], 0
    with Pool(args.jobs) as pool, \
            open(os.path.join(args.out_dir, "wav.scp"), "w") as scp, \
            open(os.path.join(args.out_dir, "text"), "w") as text, \
            open(os.path.join(args.out_dir, "data.jsonl"), "w") as jsonl:
        start = 0
        for (uttid, n_samples, feats), (_, sentence, wav_path, _, _) in zip(
                pool.imap(process, jobs, chunksize=8), jobs):
            scp.write(f"{uttid} {wav_path}\n")
            text.write(f"{uttid} {sentence}\n")
            jsonl.write(json.dumps({"key": uttid, "source": wav_path,
                                    "source_len": n_samples * 100 // SAMPLE_RATE,
                                    "target": sentence, "target_len": len(sentence.split())})
                        + "\n")
            all_feats.append(feats)
            index.append((start, len(feats)))
            start += len(feats)
            total_samples += n_samples
            if len(index) % 1000 == 0:
                print(f"{len(index)}/{len(jobs)} utterances, "
                      f"{total_samples / SAMPLE_RATE / 3600:.2f} h", flush=True)
    np.save(os.path.join(args.out_dir, "feats.npy"), np.concatenate(all_feats))
    np.save(os.path.join(args.out_dir, "feats_index.npy"), np.array(index, dtype=np.int64))
    print(f"{args.out_dir}: {len(index)} utterances, {total_samples / SAMPLE_RATE / 3600:.2f} h")


if __name__ == "__main__":
    main()
