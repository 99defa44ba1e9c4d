"""What every acoustic model gives the decoder: per-frame (CTC) or per-token (Paraformer)
log-posteriors over its token list, plus token times for Paraformer positions.

A model directory is FunASR's published shape: config.yaml, tokens.json (or tokens.txt),
am.mvn, model.pt and/or model.onnx / model_quant.onnx (+ model_ctc.onnx, Tingxie's CTC-head
export), configuration.json. `load_acoustic_model` picks the backend; both backends share the
greedy decoding and the token-time rule below.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from common.errors import InputError
from common.token_words import TokenWords

MODES = ("ctc", "paraformer")
# FunASR's CIF timestamp rule (funasr.utils.timestamp_tools.ts_prediction_lfr6_standard), in
# CIF frames: peaks are shifted 1.5 frames earlier, a token lasts at most 12 frames, and the
# last token ends halfway to the end of the audio when more than 5 frames remain.
FIRE_SHIFT_FRAMES = -1.5
MAX_TOKEN_FRAMES = 12
TAIL_FRAMES = 5
# BiCif and SeACo give their CIF weights upsampled this many times (predictor upsample_times)
UPSAMPLE_TIMES = 3
SPECIAL_TOKENS = ("<blank>", "<s>", "</s>", "<unk>", "<pad>")


@dataclass
class AcousticOutput:
    """Posteriors of one utterance.

    logp: float32 [T, V] natural-log posteriors; CTC: one row per output frame (frame i covers
      [i * frame_shift, (i + 1) * frame_shift) seconds); Paraformer: one row per predicted token
      position, the final </s> position removed (`paraformer_positions`).
    token_times: Paraformer only: (start_s, end_s) of each row, from the CIF peaks.
    """

    logp: np.ndarray
    token_times: Optional[List[Tuple[float, float]]] = None


class AcousticModel:
    """Common interface; subclasses implement `_posteriors` for a batch of waveforms."""

    mode: str
    tokens: List[str]
    sample_rate: int
    frame_shift: float
    has_token_times: bool = True  # False: a Paraformer whose outputs cannot time its tokens

    def posteriors(self, waves: Sequence[np.ndarray]) -> List[AcousticOutput]:
        """Log-posteriors for a batch of float32 mono waveforms at `sample_rate`."""
        from asr.audio import check_samples
        checked = []
        for k, wave in enumerate(waves):
            try:
                checked.append(check_samples(wave, self.sample_rate))
            except InputError as err:
                raise InputError(f"wave {k}: {err.message}") from None
        waves = checked
        return self._posteriors(waves) if waves else []

    def _posteriors(self, waves: List[np.ndarray]) -> List[AcousticOutput]:
        raise NotImplementedError

    def greedy_tokens(self, output: AcousticOutput) -> List[str]:
        """Best token per row; CTC: repeats collapsed and blanks dropped."""
        best = output.logp.argmax(axis=1) if len(output.logp) else np.zeros(0, np.int64)
        if self.mode == "ctc":
            keep = np.ones(len(best), bool)
            keep[1:] = best[1:] != best[:-1]
            best = best[keep]
        return [self.tokens[i] for i in best if self.tokens[i] not in SPECIAL_TOKENS]

    def greedy_text(self, outputs: Sequence[AcousticOutput]) -> List[str]:
        words = TokenWords(self.tokens)
        return [words.text(self.greedy_tokens(o)) for o in outputs]


def paraformer_positions(logp: np.ndarray, token_num: int, tokens: Sequence[str]) -> int:
    """How many of the decoder's `token_num` positions are tokens of the sentence. CIF fires
    once more for the sentence end, and that last position is trained to say </s>: it is
    dropped when it does. When the predictor under-counts, the last position is a real token
    instead, and funasr's own `generate` keeps it (it filters </s> by id): so do we."""
    n = max(int(token_num), 0)
    if n and "</s>" in tokens and int(np.argmax(logp[n - 1])) == tokens.index("</s>"):
        n -= 1
    return n


def read_config(model_dir: str) -> dict:
    import yaml

    path = os.path.join(model_dir, "config.yaml")
    if not os.path.exists(path):
        raise InputError("not a FunASR model directory (no config.yaml)", path=model_dir)
    try:
        with open(path, encoding="utf-8") as f:
            config = yaml.safe_load(f)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InputError(f"cannot parse: {err}", path=path) from None
    if not isinstance(config, dict) or "model" not in config:
        raise InputError("config has no `model` entry", path=path)
    return config


def default_mode(config: dict) -> str:
    """The mode a model runs in when none is asked for: "ctc" when it has a CTC head
    (model_conf.ctc_weight > 0: funasr builds the head only then), else "paraformer" when it
    has a CIF predictor (every published FunASR Paraformer: ctc_weight is 0.0), else "ctc"."""
    ctc_weight = float((config.get("model_conf") or {}).get("ctc_weight", 0.0) or 0.0)
    if ctc_weight > 0 or not config.get("predictor"):
        return "ctc"
    return "paraformer"


def cif_upsampling(config: dict) -> int:
    """How many CIF frames per encoder frame the timestamp weights have: 3 for the BiCif /
    SeACo predictor (CifPredictorV3's upsample_times), 1 for Paraformer's."""
    if config.get("predictor") == "CifPredictorV3":
        return int((config.get("predictor_conf") or {}).get("upsample_times", UPSAMPLE_TIMES))
    return 1


def frame_shift_seconds(config: dict) -> float:
    """Seconds per encoder output frame: fbank shift times the LFR stride."""
    frontend = config.get("frontend_conf") or {}
    return frontend.get("frame_shift", 10) / 1000.0 * frontend.get("lfr_n", 1)


def fire_frames(alphas: np.ndarray, threshold: float = 1.0 - 1e-4) -> np.ndarray:
    """Frames where the CIF integrator fires, as FunASR's timestamp rule re-integrates
    (funasr.utils.timestamp_tools.cif_wo_hidden): float32, and a fire takes away the
    threshold, not 1."""
    fires = []
    integrate = np.float32(0.0)
    threshold = np.float32(threshold)
    for t, alpha in enumerate(np.asarray(alphas, dtype=np.float32)):
        integrate = np.float32(integrate + alpha)
        if integrate >= threshold:
            fires.append(t)
            integrate = np.float32(integrate - threshold)
    return np.array(fires, dtype=np.float64)


def cif_token_times(alphas: np.ndarray, peaks: np.ndarray, num_tokens: int,
                    frame_shift: float) -> List[Tuple[float, float]]:
    """(start, end) seconds of `num_tokens` Paraformer positions from the CIF weights, by
    FunASR's rule (funasr.utils.timestamp_tools.ts_prediction_lfr6_standard), in CIF frames of
    `frame_shift` seconds: encoder frames for Paraformer, a third of one for the 3x upsampled
    weights of BiCif and SeACo (us_alphas / us_cif_peak).

    The k-th fire, shifted FIRE_SHIFT_FRAMES earlier, starts token k and the next fire ends it,
    capped at MAX_TOKEN_FRAMES; the last fire stands for </s>, and the last token runs on past
    it to the end of the audio, or to halfway there when more than TAIL_FRAMES remain. When
    the peaks do not give num_tokens + 1 fires, the alphas are rescaled to sum to
    num_tokens + 1 and integrated again, as FunASR does. Times before 0 (a fire in the first
    frame) are clamped to 0, where FunASR reports them negative.
    """
    if num_tokens <= 0:
        return []
    fires = np.flatnonzero(peaks >= 1.0 - 1e-4).astype(np.float64)
    if len(fires) != num_tokens + 1:
        alphas = np.asarray(alphas, dtype=np.float32)
        total = alphas.sum(dtype=np.float32)
        scaled = alphas / np.float32(total / np.float32(num_tokens + 1)) if total > 0 else \
            np.full(len(alphas), (num_tokens + 1) / max(len(alphas), 1), np.float32)
        fires = fire_frames(scaled)
        if len(fires) < num_tokens + 1:  # rounding left the last fire short
            fires = np.concatenate([fires, np.full(num_tokens + 1 - len(fires), len(alphas) - 1)])
    fires = fires + FIRE_SHIFT_FRAMES
    frames = []
    for k in range(num_tokens):
        frames.append([fires[k], min(fires[k + 1], fires[k] + MAX_TOKEN_FRAMES)])
    last_fire = fires[num_tokens]
    if last_fire - fires[num_tokens - 1] <= MAX_TOKEN_FRAMES:  # else a pause follows it
        remaining = len(peaks) - last_fire
        frames[-1][1] = (len(peaks) + last_fire) / 2 if remaining > TAIL_FRAMES else len(peaks)
    return [(float(max(start, 0.0) * frame_shift), float(max(end, 0.0) * frame_shift))
            for start, end in frames]
