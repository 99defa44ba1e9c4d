"""The real-speech dev set: human recordings shipped by Debian packages, never trained on.

  pocketsphinx-testdata  cards/00[1-5].wav, librivox/*.wav (16 kHz wav), goforward.raw
                         and tidigits/dhd.2934z.raw (16 kHz raw): 12 utterances
  alsa-utils             /usr/share/sounds/alsa/{Front,Rear,Side}_*.wav (48 kHz): 8 utterances
Transcripts (lower case, no punctuation, numbers as words) are tools/demo/data/real_dev.txt.
Writes a Kaldi directory with 16 kHz mono 16-bit wavs:

    python tools/demo/real_dev.py --out exp/demo/real_dev      # -> wav/, wav.scp, text
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import soundfile
from scipy.signal import resample_poly

HERE = os.path.dirname(os.path.abspath(__file__))
PS = "/usr/share/pocketsphinx/test/data"
ALSA = "/usr/share/sounds/alsa"
SOURCES = {f"cards_00{k}": (f"{PS}/cards/00{k}.wav", None) for k in range(1, 6)}
SOURCES.update({f"librivox_{n}": (f"{PS}/librivox/sense_and_sensibility_01_austen_64kb-{n}.wav",
                                  None) for n in ("0870", "0880", "0890", "0920", "0930")})
SOURCES["goforward"] = (f"{PS}/goforward.raw", 16000)
SOURCES["tidigits_dhd_2934z"] = (f"{PS}/tidigits/dhd.2934z.raw", 16000)
SOURCES.update({f"alsa_{name.lower()}": (f"{ALSA}/{name}.wav", None) for name in (
    "Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right",
    "Side_Left", "Side_Right")})
PACKAGES = "pocketsphinx-testdata alsa-utils"


def load(path: str, raw_rate) -> np.ndarray:
    if raw_rate:
        audio = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0
        rate = raw_rate
    else:
        audio, rate = soundfile.read(path, dtype="float32")
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
    if rate != 16000:
        g = np.gcd(rate, 16000)
        audio = resample_poly(audio, 16000 // g, rate // g)
    return audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="exp/demo/real_dev")
    args = parser.parse_args()
    missing = [p for p, _ in SOURCES.values() if not os.path.exists(p)]
    if missing:
        sys.exit(f"real_dev.py: {missing[0]} is missing: apt-get install {PACKAGES}")
    with open(os.path.join(HERE, "data", "real_dev.txt"), encoding="utf-8") as f:
        texts = dict(line.rstrip("\n").split(" ", 1) for line in f if line.strip())
    os.makedirs(os.path.join(args.out, "wav"), exist_ok=True)
    with open(os.path.join(args.out, "wav.scp"), "w") as scp, \
            open(os.path.join(args.out, "text"), "w") as text:
        for uttid, (path, raw_rate) in SOURCES.items():
            wav = os.path.abspath(os.path.join(args.out, "wav", uttid + ".wav"))
            soundfile.write(wav, load(path, raw_rate), 16000, subtype="PCM_16")
            scp.write(f"{uttid} {wav}\n")
            text.write(f"{uttid} {texts[uttid]}\n")
    print(f"{args.out}: {len(SOURCES)} utterances")


if __name__ == "__main__":
    main()
