"""On-the-fly audio augmentation for the multi-voice demo training (16 kHz float32 in, out).

One call, `augment(audio, rng, babble)`, draws a random chain:
  speed perturbation 0.9 / 1.0 / 1.1 (resampling: tempo and pitch together), always;
  pitch shift (+-300 cents) and/or tempo change (0.85-1.15) with sox, 30%;
  simulated-room reverberation (exponentially decaying noise impulse response, RT60 0.15-0.9 s,
    with a direct path and a random direct-to-reverberant ratio), 30%;
  additive noise, 60%: white, pink, brown or babble (other utterances) at 0-30 dB SNR;
  telephone band, 15%: 8 kHz, 300-3400 Hz band-pass, 8-bit mu-law, back to 16 kHz;
  gain: peak level -35 to -1 dBFS, with light clipping 3% of the time.
Leading and trailing silence of 50-400 ms is added before the noise, so the noise covers it.

`light(audio, rng)` is the treatment of the espeak-only demo data (tools/demo/synthesize.py):
gain 0.1-0.9 of full scale, white noise at 20-45 dB SNR (80%), 50-250 ms of silence each end.
"""
from __future__ import annotations

import subprocess

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

SAMPLE_RATE = 16000
_TELEPHONE_BAND = butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")


def speed(audio: np.ndarray, factor: float) -> np.ndarray:
    if factor == 1.0:
        return audio
    up = 10
    return resample_poly(audio, up, int(round(up * factor)))


def sox_pitch_tempo(audio: np.ndarray, cents: float, tempo: float) -> np.ndarray:
    raw = ["-t", "raw", "-r", str(SAMPLE_RATE), "-e", "floating-point", "-b", "32", "-c", "1"]
    command = ["sox", "-q", *raw, "-", *raw, "-"]
    if cents:
        command += ["pitch", f"{cents:.0f}"]
    if tempo != 1.0:
        command += ["tempo", "-s", f"{tempo:.3f}"]
    out = subprocess.run(command, input=audio.astype(np.float32).tobytes(),
                         capture_output=True, check=True).stdout
    shifted = np.frombuffer(out, dtype=np.float32)
    return shifted if len(shifted) > SAMPLE_RATE // 10 else audio


def room_impulse_response(rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(0.15, 0.9)
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.003 * SAMPLE_RATE)] = 0.0  # first reflections arrive a few ms after the direct
    tail /= np.sqrt(np.sum(tail**2)) + 1e-9
    direct_to_reverb_db = rng.uniform(-5.0, 15.0)
    rir = tail * 10 ** (-direct_to_reverb_db / 20)
    rir[0] = 1.0
    return rir


def coloured_noise(rng: np.random.Generator, n: int, colour: str) -> np.ndarray:
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    spectrum /= np.sqrt(f) if colour == "pink" else f
    return np.fft.irfft(spectrum, n)


def telephone(audio: np.ndarray) -> np.ndarray:
    narrow = sosfilt(_TELEPHONE_BAND, resample_poly(audio, 1, 2))
    peak = float(np.abs(narrow).max()) or 1.0
    x = np.clip(narrow / peak, -1, 1)
    mu = 255.0
    encoded = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127
    decoded = np.sign(encoded) * ((1 + mu) ** np.abs(encoded) - 1) / mu
    return resample_poly(decoded * peak, 2, 1)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) + 1e-9


def augment(audio: np.ndarray, rng: np.random.Generator, babble=None) -> np.ndarray:
    """`babble`: a callable n -> other speech of n samples, for babble noise (or None)."""
    audio = speed(audio, float(rng.choice([0.9, 1.0, 1.1])))
    if rng.random() < 0.3:
        cents = rng.uniform(-300, 300) if rng.random() < 0.7 else 0.0
        tempo = rng.uniform(0.85, 1.15) if rng.random() < 0.5 else 1.0
        if cents or tempo != 1.0:
            audio = sox_pitch_tempo(audio, cents, tempo)
    lead, tail = rng.integers(800, 6400, size=2)
    audio = np.concatenate([np.zeros(lead), audio, np.zeros(tail)])
    if rng.random() < 0.3:
        audio = fftconvolve(audio, room_impulse_response(rng))[: len(audio)]
    if rng.random() < 0.6:
        colours = ["white", "pink", "brown"] + (["babble"] if babble is not None else [])
        colour = colours[rng.integers(len(colours))]
        noise = babble(len(audio)) if colour == "babble" else \
            coloured_noise(rng, len(audio), colour)
        snr_db = rng.uniform(0.0, 30.0)
        audio = audio + noise * (rms(audio) / rms(noise) / 10 ** (snr_db / 20))
    if rng.random() < 0.15:
        audio = telephone(audio)
    peak = float(np.abs(audio).max()) or 1.0
    audio = audio / peak * 10 ** (rng.uniform(-35.0, -1.0) / 20)
    if rng.random() < 0.03:
        audio = np.clip(audio * rng.uniform(1.5, 4.0), -0.99, 0.99)
    return audio.astype(np.float32)


def light(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    peak = float(np.abs(audio).max()) or 1.0
    audio = audio / peak * rng.uniform(0.1, 0.9)
    if rng.random() < 0.8:
        audio = audio + rng.normal(0.0, rms(audio) / 10 ** (rng.uniform(20.0, 45.0) / 20),
                                   size=audio.shape)
    lead, tail = rng.integers(800, 4000, size=2)
    return np.concatenate([np.zeros(lead), audio, np.zeros(tail)]).astype(np.float32)
