"""Long audio: voice-activity segmentation, read in blocks.

A long recording is cut into speech segments before the acoustic model sees it (a full-length
encoder pass asks for memory quadratic in the length). The voice-activity detector is Silero
VAD: the ONNX model that the PyPI package `silero-vad` ships (no download at run time), run
through onnxruntime on 32 ms chunks of 16 kHz audio with its recurrent state carried across
the whole file. The file is read in blocks (`BLOCK_SECONDS`), so memory does not grow with its
length; only one speech probability per chunk is kept (0.1 MB per hour).

Segments from the probabilities (`speech_segments`): speech starts where the probability
reaches `threshold` and ends where it stays below `threshold - 0.15` for `min_silence`
seconds; each segment is padded by `speech_pad` (never past the middle of the pause to its
neighbour); speech longer than `max_segment` is cut at its least speech-like chunk in the
second half of the allowed length.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from common.errors import InputError

VAD_RATE = 16000
CHUNK = 512            # samples per VAD decision at 16 kHz (32 ms)
CONTEXT = 64           # samples of the previous chunk the model sees with each chunk
BLOCK_SECONDS = 30.0   # audio read per block
CHUNK_SECONDS = CHUNK / VAD_RATE


@dataclass
class SegmentOptions:
    """How long input is segmented (`tingxie transcribe --vad ...`)."""
    vad: str = "auto"            # on | off | auto (on for input longer than auto_seconds)
    auto_seconds: float = 30.0   # auto: the length above which the VAD runs
    max_segment: float = 20.0    # seconds; longer speech is cut at its quietest chunk
    min_silence: float = 0.5     # seconds of non-speech that end a segment
    threshold: float = 0.5       # speech probability that starts speech
    speech_pad: float = 0.2      # seconds kept before and after each segment
    min_speech: float = 0.25     # shorter speech is dropped
    # audio per acoustic-model batch (sum of segment lengths); 0: one segment per call. Off
    # by default: an int8 dynamically quantised ONNX model (the demo's) scales each batch
    # as a whole, so a segment's posteriors would depend on its batch-mates (up to 0.18 in
    # log-probability on the demo model), and a resumed file could differ from a whole run.
    batch_seconds: float = 0.0

    def check(self) -> "SegmentOptions":
        if self.vad not in ("auto", "on", "off"):
            raise InputError(f"--vad must be auto, on or off, not {self.vad!r}")
        for name in ("auto_seconds", "max_segment", "min_silence", "speech_pad",
                     "min_speech", "batch_seconds"):
            value = getattr(self, name)
            if not (value >= 0 and np.isfinite(value)):
                raise InputError(f"--{name.replace('_', '-')} must be a number >= 0, got {value}")
        if self.max_segment < 1.0:
            raise InputError(f"--max-segment must be at least 1 second, got {self.max_segment}")
        if not 0.0 < self.threshold < 1.0:
            raise InputError(f"--vad-threshold must be in (0, 1), got {self.threshold}")
        return self

    def wanted(self, seconds: float) -> bool:
        """Whether input of this length is segmented."""
        return self.vad == "on" or (self.vad == "auto" and seconds > self.auto_seconds)


# --- audio in blocks -------------------------------------------------------------------------
def audio_seconds(path: str) -> float:
    import soundfile
    try:
        info = soundfile.info(os.fspath(path))
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError) as err:
        raise InputError(f"cannot read audio: {err}", path=os.fspath(path)) from None
    return info.frames / info.samplerate


def read_blocks(path: str, sample_rate: int, block_seconds: float = BLOCK_SECONDS
                ) -> Iterator[np.ndarray]:
    """The file as float32 mono blocks at sample_rate (each block resampled on its own: the
    filter's edge effect at block joins is below what a VAD notices)."""
    import soundfile
    from asr.audio import resample
    path = os.fspath(path)
    with soundfile.SoundFile(path) as f:
        rate = f.samplerate
        block = max(1, int(block_seconds * rate))
        while True:
            samples = f.read(block, dtype="float32", always_2d=True)
            if not len(samples):
                return
            mono = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 \
                else samples[:, 0]
            if not np.isfinite(mono).all():
                raise InputError("audio contains NaN or infinite samples", path=path)
            yield resample(mono, rate, sample_rate) if rate != sample_rate else mono


def read_span(path: str, start: float, end: float, sample_rate: int) -> np.ndarray:
    """Samples [start, end) seconds of a file, float32 mono at sample_rate."""
    import soundfile
    from asr.audio import resample
    with soundfile.SoundFile(os.fspath(path)) as f:
        rate = f.samplerate
        first = int(round(start * rate))
        f.seek(min(first, f.frames))
        samples = f.read(max(0, int(round(end * rate)) - first), dtype="float32",
                         always_2d=True)
    mono = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]
    mono = resample(mono, rate, sample_rate) if rate != sample_rate else mono
    return np.ascontiguousarray(mono, dtype=np.float32)


def array_blocks(wave: np.ndarray, sample_rate: int, block_seconds: float = BLOCK_SECONDS
                 ) -> Iterator[np.ndarray]:
    block = max(1, int(block_seconds * sample_rate))
    for start in range(0, len(wave), block):
        yield wave[start:start + block]


# --- the detector ------------------------------------------------------------------------------
def silero_model_path() -> str:
    """The ONNX model inside the installed `silero-vad` package."""
    try:
        import importlib.resources as resources
        path = resources.files("silero_vad") / "data" / "silero_vad.onnx"
    except ModuleNotFoundError:
        raise InputError("voice-activity detection needs the silero-vad package "
                         "(pip install -e '.[am]'), or use --vad off") from None
    if not path.is_file():
        raise InputError("the silero-vad package has no data/silero_vad.onnx", path=str(path))
    return str(path)


class SileroVad:
    """Speech probability per 32 ms chunk of 16 kHz audio, the state carried across calls."""

    def __init__(self, num_threads: int = 1):
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            silero_model_path(), sess_options=options, providers=["CPUExecutionProvider"])
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)

    def probabilities(self, samples: np.ndarray, final: bool = False) -> np.ndarray:
        """Probabilities of the whole chunks in what has arrived; with final, the last
        partial chunk too (zero-padded)."""
        data = np.concatenate([self._pending, np.asarray(samples, np.float32)])
        whole = len(data) // CHUNK
        if final and len(data) % CHUNK:
            data = np.concatenate([data, np.zeros(CHUNK - len(data) % CHUNK, np.float32)])
            whole += 1
        probs = np.empty(whole, np.float32)
        rate = np.array(VAD_RATE, dtype=np.int64)
        for i in range(whole):
            chunk = data[i * CHUNK:(i + 1) * CHUNK]
            frame = np.concatenate([self._context, chunk])[None, :]
            out, self._state = self.session.run(
                None, {"input": frame, "state": self._state, "sr": rate})
            probs[i] = out[0, 0]
            self._context = chunk[-CONTEXT:]
        self._pending = data[whole * CHUNK:]
        return probs

    def file_probabilities(self, blocks: Iterator[np.ndarray]) -> np.ndarray:
        self.reset()
        parts = [self.probabilities(block) for block in blocks]
        parts.append(self.probabilities(np.zeros(0, np.float32), final=True))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


# --- probabilities -> segments ---------------------------------------------------------------
def speech_segments(probs: Sequence[float], options: SegmentOptions, total_seconds: float
                    ) -> List[Tuple[float, float]]:
    """[(start, end)] seconds of speech, in order, not overlapping, each at most
    options.max_segment + 2 * speech_pad long."""
    probs = np.asarray(probs, np.float32)
    on, off = options.threshold, options.threshold - 0.15
    silence_chunks = max(1, int(round(options.min_silence / CHUNK_SECONDS)))
    raw: List[Tuple[int, int]] = []  # chunk ranges [first, end)
    start = None
    quiet_since = None
    for i, p in enumerate(probs):
        if start is None:
            if p >= on:
                start, quiet_since = i, None
            continue
        if p < off:
            if quiet_since is None:
                quiet_since = i
            if i + 1 - quiet_since >= silence_chunks:
                raw.append((start, quiet_since))
                start = quiet_since = None
        else:
            quiet_since = None
    if start is not None:
        raw.append((start, quiet_since if quiet_since is not None else len(probs)))
    min_chunks = options.min_speech / CHUNK_SECONDS
    max_chunks = max(2, int(options.max_segment / CHUNK_SECONDS))
    cut: List[Tuple[int, int]] = []
    for first, end in raw:
        if end - first < min_chunks:
            continue
        while end - first > max_chunks:  # cut at the least speech-like chunk
            lo, hi = first + max_chunks // 2, first + max_chunks
            at = lo + int(np.argmin(probs[lo:hi]))
            cut.append((first, at))
            first = at
        cut.append((first, end))
    segments = []
    pad = options.speech_pad
    for k, (first, end) in enumerate(cut):
        begin, finish = first * CHUNK_SECONDS, min(end * CHUNK_SECONDS, total_seconds)
        before = cut[k - 1][1] * CHUNK_SECONDS if k else 0.0
        after = cut[k + 1][0] * CHUNK_SECONDS if k + 1 < len(cut) else total_seconds
        begin = max(begin - pad, (before + begin) / 2 if k else 0.0)
        finish = min(finish + pad, (finish + after) / 2 if k + 1 < len(cut) else total_seconds)
        if finish > begin:
            segments.append((round(begin, 3), round(finish, 3)))
    return segments


def find_segments(audio, sample_rate: int, options: SegmentOptions,
                  vad: Optional[SileroVad] = None) -> Tuple[List[Tuple[float, float]], float]:
    """(segments, total seconds) of a path or a float32 array at sample_rate."""
    vad = vad or SileroVad()
    if isinstance(audio, (str, os.PathLike)):
        total = audio_seconds(audio)
        blocks = read_blocks(audio, VAD_RATE)
    else:
        wave = np.asarray(audio, np.float32)
        total = len(wave) / sample_rate
        if sample_rate != VAD_RATE:
            from asr.audio import resample
            blocks = (resample(b, sample_rate, VAD_RATE) for b in array_blocks(wave, sample_rate))
        else:
            blocks = array_blocks(wave, sample_rate)
    probs = vad.file_probabilities(blocks)
    return speech_segments(probs, options, total), total


def batches(segments: Sequence[Tuple[float, float]], batch_seconds: float
            ) -> Iterator[List[int]]:
    """Indices of segments grouped in order, each group's total length at most
    batch_seconds (a longer segment goes alone)."""
    group: List[int] = []
    total = 0.0
    for i, (start, end) in enumerate(segments):
        if group and total + (end - start) > batch_seconds:
            yield group
            group, total = [], 0.0
        group.append(i)
        total += end - start
    if group:
        yield group
