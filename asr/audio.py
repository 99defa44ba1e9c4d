"""Reading audio for the acoustic models: any file soundfile reads (wav, flac, ...), mixed down
to mono, resampled to the model's rate, as float32 in [-1, 1].

Bad audio is an `InputError` naming the file: missing, unreadable, empty, too short to hold one
25 ms analysis window, or containing NaN/inf samples.
"""
from __future__ import annotations

import math
import os
import warnings

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
    check_samples(mono, file_rate, path)
    missing = _wav_bytes_missing(path)
    if missing:
        warnings.warn(f"{path}: truncated: the header promises {missing} more bytes of audio "
                      "than the file holds (decoded what is there)", stacklevel=2)
    if file_rate < sample_rate:
        warnings.warn(f"{path}: sampled at {file_rate} Hz, below the model's {sample_rate} Hz: "
                      f"upsampled, it has nothing above {file_rate // 2} Hz and is recognised "
                      "less well", stacklevel=2)
    if file_rate != sample_rate:
        mono = resample(mono, file_rate, sample_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


def check_samples(samples, sample_rate: int, path=None) -> np.ndarray:
    """Samples a model can take: a 1-D float32 array, finite, long enough for one analysis
    window; InputError otherwise (`path` names the source in the message, if any)."""
    try:
        wave = np.asarray(samples, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise InputError(f"audio must be an array of numbers ({err})", path=path) from None
    if wave.ndim != 1:
        raise InputError(f"audio must be mono, a 1-D array at {sample_rate} Hz; got shape "
                         f"{wave.shape} (mix the channels down first)", path=path)
    if wave.size == 0:
        raise InputError("audio is empty (no samples)", path=path)
    if not np.isfinite(wave).all():
        raise InputError("audio contains NaN or infinite samples", path=path)
    if len(wave) < MIN_SECONDS * sample_rate:
        raise InputError(f"audio is too short ({len(wave) / sample_rate * 1000:.1f} ms; "
                         f"at least {MIN_SECONDS * 1000:.0f} ms needed)", path=path)
    return wave


def _wav_bytes_missing(path: str) -> int:
    """For a RIFF/WAVE file: how many bytes its data chunk declares beyond the end of the
    file (a copy cut short); 0 for complete files and other formats."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return 0
            size = os.fstat(handle.fileno()).st_size
            while True:
                chunk = handle.read(8)
                if len(chunk) < 8:
                    return 0
                length = int.from_bytes(chunk[4:8], "little")
                if chunk[:4] == b"data":
                    if length == 0xFFFFFFFF:  # streaming writers: "to the end of the file"
                        return 0
                    return max(0, handle.tell() + length - size)
                handle.seek(length + (length & 1), os.SEEK_CUR)
    except OSError:
        return 0


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy's resample_poly: a Kaiser-windowed FIR anti-alias filter)."""
    from scipy.signal import resample_poly

    common = math.gcd(int(from_rate), int(to_rate))
    return resample_poly(samples, to_rate // common, from_rate // common).astype(np.float32)
