"""The ONNX backend: funasr's ONNX export run by onnxruntime, features by the numpy frontend.

No torch and no funasr at run time. Reads model_quant.onnx or model.onnx (Paraformer mode) and
model_ctc_quant.onnx or model_ctc.onnx (CTC mode; see asr.models.export), preferring the
quantised file when both exist unless `quantized=False`.
"""
from __future__ import annotations

import os
from typing import List

import numpy as np

from asr.models.base import (AcousticModel, AcousticOutput, cif_token_times, frame_shift_seconds,
                             paraformer_positions, read_config)
from asr.models.frontend import WavFrontend, read_am_mvn
from common.errors import InputError
from common.tokens import model_tokens

FILES = {"paraformer": ("model_quant.onnx", "model.onnx"),
         "ctc": ("model_ctc_quant.onnx", "model_ctc.onnx")}


class OnnxAcousticModel(AcousticModel):
    def __init__(self, model_dir: str, mode: str, num_threads: int = 1,
                 quantized: bool | None = None):
        import onnxruntime

        config = read_config(model_dir)
        candidates = FILES[mode] if quantized is None else \
            FILES[mode][:1] if quantized else FILES[mode][1:]
        paths = [os.path.join(model_dir, f) for f in candidates]
        existing = [p for p in paths if os.path.exists(p)]
        if not existing:
            raise InputError(f"no ONNX export for {mode} mode ({' or '.join(candidates)})",
                             path=model_dir)
        self.onnx_path = existing[0]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(
                self.onnx_path, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise InputError(f"cannot load ONNX model: {err}", path=self.onnx_path) from None
        self.output_names = [o.name for o in self.session.get_outputs()]
        mvn_path = os.path.join(model_dir, "am.mvn")
        cmvn = read_am_mvn(mvn_path) if os.path.exists(mvn_path) else None
        self.frontend = WavFrontend(config.get("frontend_conf") or {}, cmvn)
        self.mode = mode
        self.tokens = model_tokens(model_dir)
        self.sample_rate = self.frontend.sample_rate
        self.frame_shift = frame_shift_seconds(config)
        vocab = self.session.get_outputs()[0].shape[-1]
        if isinstance(vocab, int) and vocab != len(self.tokens):
            raise InputError(f"token list has {len(self.tokens)} entries but the model "
                             f"outputs {vocab}", path=self.onnx_path)

    def _posteriors(self, waves: List[np.ndarray]) -> List[AcousticOutput]:
        feats = [self.frontend(w) for w in waves]
        lengths = np.array([len(f) for f in feats], dtype=np.int32)
        speech = np.zeros((len(feats), int(lengths.max()), feats[0].shape[1]), np.float32)
        for k, f in enumerate(feats):
            speech[k, : len(f)] = f
        results = dict(zip(self.output_names, self.session.run(
            None, {"speech": speech, "speech_lengths": lengths})))
        logp = results["logits"]
        if self.mode == "ctc":
            frames = results["logits_lengths"]
            return [AcousticOutput(logp[k, : int(frames[k])]) for k in range(len(waves))]
        outputs = []
        for k in range(len(waves)):
            n = paraformer_positions(logp[k], int(results["token_num"][k]), self.tokens)
            times = None
            if "alphas" in results:
                tail = int(lengths[k]) + 1
                times = cif_token_times(results["alphas"][k, :tail], results["peaks"][k, :tail],
                                        n, self.frame_shift)
            outputs.append(AcousticOutput(logp[k, :n], times))
        return outputs
