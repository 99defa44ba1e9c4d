"""Acoustic models: FunASR Paraformer / CTC posteriors through torch (funasr's classes) or
ONNX (onnxruntime), behind one interface; FunASR model directories and sherpa-onnx Paraformer
directories (`model_directory_kind` tells them apart).

    am = load_acoustic_model("resources/demo/model")   # mode: the model's own (ctc here)
    outputs = am.posteriors([load_audio(path, am.sample_rate)])
    am.greedy_text(outputs)
"""
from __future__ import annotations

import os
from typing import Optional

from asr.models.base import MODES, AcousticModel, AcousticOutput, default_mode, read_config
from common.errors import InputError

__all__ = ["AcousticModel", "AcousticOutput", "load_acoustic_model", "model_directory_kind"]

ONNX_FILES = {"paraformer": ("model_quant.onnx", "model.onnx"),
              "ctc": ("model_ctc_quant.onnx", "model_ctc.onnx")}


def model_directory_kind(path: str) -> str:
    """What a model directory is (the one place that decides): "funasr" (config.yaml: as
    downloaded or its `*-onnx` export) or "sherpa-onnx" (model.onnx or model.int8.onnx with
    tokens.txt and no config.yaml: asr.models.sherpa)."""
    if not os.path.isdir(path):
        raise InputError("no such model directory", path=path)
    if os.path.exists(os.path.join(path, "config.yaml")):
        return "funasr"
    from asr.models import sherpa

    if sherpa.model_file(path) is not None:
        if not os.path.exists(os.path.join(path, sherpa.TOKENS_FILE)):
            raise InputError(f"a sherpa-onnx directory ({os.path.basename(sherpa.model_file(path))}"
                             f", no config.yaml) needs its tokens.txt", path=path)
        return "sherpa-onnx"
    raise InputError("not a model directory: neither FunASR's (config.yaml) nor sherpa-onnx's "
                     "(model.onnx or model.int8.onnx with tokens.txt)", path=path)


def load_acoustic_model(path, mode: Optional[str] = None, backend: str = "auto",
                        num_threads: int = 1) -> AcousticModel:
    """Load a FunASR model directory: as downloaded (model.pt) or its ONNX export
    (`*-onnx`: model.onnx / model_quant.onnx, + model_eb*.onnx for SeACo; no model.pt); or a
    sherpa-onnx offline Paraformer directory (model.onnx / model.int8.onnx + tokens.txt,
    features from the ONNX metadata: asr.models.sherpa; ONNX backend, Paraformer mode).

    mode: "ctc" (per-frame posteriors from the CTC head) or "paraformer" (per-token posteriors
      from the CIF predictor + decoder); None: "ctc" when the model has a CTC head, else
      "paraformer" (base.default_mode: every published FunASR Paraformer has ctc_weight 0).
    backend: "torch" (funasr's classes over model.pt), "onnx" (onnxruntime over funasr's
      export), or "auto": ONNX when the directory has an export for `mode` or no model.pt,
      else torch.
    num_threads: intra-op threads for torch / onnxruntime.
    """
    path = os.fspath(path)
    kind = model_directory_kind(path)
    if mode is None:
        mode = default_mode(read_config(path)) if kind == "funasr" else "paraformer"
    if mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, not {mode!r}")
    if backend not in ("auto", "torch", "onnx"):
        raise InputError(f"backend must be auto, torch or onnx, not {backend!r}")
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise InputError(f"num_threads must be a whole number of at least 1, not "
                         f"{num_threads!r}")
    if kind == "sherpa-onnx":
        if mode != "paraformer" or backend == "torch":
            raise InputError("a sherpa-onnx Paraformer directory runs in paraformer mode with "
                             f"the ONNX backend only (asked: mode {mode}, backend {backend})",
                             path=path)
        from asr.models.sherpa import load_sherpa_paraformer
        return load_sherpa_paraformer(path, num_threads)
    if backend == "auto":
        has_onnx = any(os.path.exists(os.path.join(path, f)) for f in ONNX_FILES[mode])
        has_weights = os.path.exists(os.path.join(path, "model.pt"))
        backend = "onnx" if has_onnx or not has_weights else "torch"
    if backend == "onnx":
        from asr.models.onnx_model import OnnxAcousticModel
        return OnnxAcousticModel(path, mode, num_threads)
    from asr.models.funasr_torch import TorchAcousticModel
    return TorchAcousticModel(path, mode, num_threads)
