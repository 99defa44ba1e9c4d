"""FunASR's WavFrontend in numpy for the ONNX backend (no torch needed): Kaldi fbank through
kaldi-native-fbank, low frame rate stacking (LFR) and the global CMVN of am.mvn.

Matches funasr.frontends.wav_frontend.WavFrontend with dither 0: samples scaled to 16-bit
range, povey-free Hamming-window fbank with energy floor 0, LFR with (lfr_m - 1) // 2 copies of
the first frame on the left and the last frame repeated on the right, then (x + shift) * scale.
"""
from __future__ import annotations

import numpy as np

from common.errors import InputError


def read_am_mvn(path: str) -> np.ndarray:
    """[2, D] (shift, scale) from a Kaldi nnet1 text file with <AddShift> and <Rescale>."""
    rows = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read CMVN: {err}", path=path) from None
    for number, line in enumerate(lines):
        fields = line.split()
        if fields and fields[0] in ("<AddShift>", "<Rescale>") and number + 1 < len(lines):
            values = lines[number + 1].split()
            if values[:1] != ["<LearnRateCoef>"] or values[-1] != "]":
                raise InputError(f"malformed {fields[0]} block", path=path, line=number + 2)
            try:
                rows[fields[0]] = np.array(values[3:-1], dtype=np.float32)
            except ValueError:
                raise InputError(f"non-numeric {fields[0]} values", path=path,
                                 line=number + 2) from None
    if set(rows) != {"<AddShift>", "<Rescale>"} or \
            len(rows["<AddShift>"]) != len(rows["<Rescale>"]):
        raise InputError("expected one <AddShift> and one <Rescale> of equal size", path=path)
    return np.stack([rows["<AddShift>"], rows["<Rescale>"]])


def apply_lfr(feats: np.ndarray, lfr_m: int, lfr_n: int) -> np.ndarray:
    """Stack lfr_m frames every lfr_n frames, padded as FunASR's apply_lfr."""
    left = (lfr_m - 1) // 2
    padded = np.concatenate([np.repeat(feats[:1], left, axis=0), feats])
    num_out = int(np.ceil(len(feats) / lfr_n))
    needed = (num_out - 1) * lfr_n + lfr_m
    if needed > len(padded):
        padded = np.concatenate([padded, np.repeat(padded[-1:], needed - len(padded), axis=0)])
    index = np.arange(num_out)[:, None] * lfr_n + np.arange(lfr_m)[None, :]
    return padded[index].reshape(num_out, lfr_m * feats.shape[1])


class WavFrontend:
    def __init__(self, frontend_conf: dict, cmvn: np.ndarray | None):
        import kaldi_native_fbank as knf

        self.sample_rate = int(frontend_conf.get("fs", 16000))
        self.lfr_m = int(frontend_conf.get("lfr_m", 1))
        self.lfr_n = int(frontend_conf.get("lfr_n", 1))
        self.cmvn = cmvn
        opts = knf.FbankOptions()
        opts.frame_opts.samp_freq = self.sample_rate
        opts.frame_opts.dither = 0.0
        opts.frame_opts.window_type = frontend_conf.get("window", "hamming")
        opts.frame_opts.frame_shift_ms = float(frontend_conf.get("frame_shift", 10))
        opts.frame_opts.frame_length_ms = float(frontend_conf.get("frame_length", 25))
        opts.frame_opts.snip_edges = bool(frontend_conf.get("snip_edges", True))
        opts.mel_opts.num_bins = int(frontend_conf.get("n_mels", 80))
        opts.energy_floor = 0.0
        self._opts = opts
        self._knf = knf

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        fbank = self._knf.OnlineFbank(self._opts)
        fbank.accept_waveform(self.sample_rate, (wave * 32768.0).tolist())
        fbank.input_finished()
        frames = fbank.num_frames_ready
        if frames == 0:
            raise ValueError("audio shorter than one analysis window")
        feats = np.stack([fbank.get_frame(i) for i in range(frames)]).astype(np.float32)
        if self.lfr_m != 1 or self.lfr_n != 1:
            feats = apply_lfr(feats, self.lfr_m, self.lfr_n)
        if self.cmvn is not None:
            if self.cmvn.shape[1] != feats.shape[1]:
                raise InputError(f"am.mvn has dimension {self.cmvn.shape[1]} but features have "
                                 f"{feats.shape[1]}")
            feats = (feats + self.cmvn[0]) * self.cmvn[1]
        return feats
