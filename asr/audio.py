"""Reading audio for the acoustic models: any file soundfile reads (wav, flac, ...), mixed down
to mono, resampled to the model's rate, as float32 in [-1, 1].

Bad audio is an `InputError` naming the file: missing, unreadable, empty, too short to hold one
25 ms analysis window, or containing NaN/inf samples.
"""
from __future__ import annotations

import math
import os

import numpy as np

from common.errors import InputError

# One fbank analysis window (25 ms); anything shorter yields no feature frame at all.
MIN_SECONDS = 0.025


def load_audio(path, sample_rate: int = 16000) -> np.ndarray:
    """Samples of `path` as float32 mono at `sample_rate` Hz."""
    import soundfile

    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError("no such audio file", path=path)
    try:
        samples, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError) as err:
        raise InputError(f"cannot read audio: {err}", path=path) from None
    if samples.size == 0:
        raise InputError("audio is empty (no samples)", path=path)
    mono = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]
    if not np.isfinite(mono).all():
        raise InputError("audio contains NaN or infinite samples", path=path)
    if len(mono) < MIN_SECONDS * file_rate:
        raise InputError(f"audio is too short ({len(mono) / file_rate * 1000:.1f} ms; "
                         f"at least {MIN_SECONDS * 1000:.0f} ms needed)", path=path)
    if file_rate != sample_rate:
        mono = resample(mono, file_rate, sample_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy's resample_poly: a Kaiser-windowed FIR anti-alias filter)."""
    from scipy.signal import resample_poly

    common = math.gcd(int(from_rate), int(to_rate))
    return resample_poly(samples, to_rate // common, from_rate // common).astype(np.float32)
