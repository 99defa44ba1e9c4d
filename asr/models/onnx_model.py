"""The ONNX backend: funasr's ONNX export run by onnxruntime, features by the numpy frontend.

No torch and no funasr at run time. Reads model_quant.onnx or model.onnx (Paraformer mode) and
model_ctc_quant.onnx or model_ctc.onnx (CTC mode; see asr.models.export), preferring the
quantised file when both exist unless `quantized=False`.

What each export gives:
- funasr's Paraformer export: `logits`, `token_num` only: no CIF weights, so no token times
  (`has_token_times` is False and words come without times; Tingxie's own export,
  asr.models.export, adds `alphas`/`peaks`);
- funasr's BiCif / SeACo export: also `us_alphas`/`us_cif_peak`, the 3x upsampled CIF weights
  that FunASR's timestamps come from;
- SeACo's model.onnx takes a third input, `bias_embed`, the hotword embeddings made by
  model_eb.onnx. Without hotwords it gets the embedding of the no-hotword entry (<s>) alone,
  as FunASR's runtime appends to every hotword list; a trained SeACo then says NO_BIAS and the
  output is the plain decoder's.
"""
from __future__ import annotations

import os
from typing import List

import numpy as np

from asr.models.base import (UPSAMPLE_TIMES, AcousticModel, AcousticOutput, cif_token_times,
                             frame_shift_seconds, paraformer_positions, read_config)
from asr.models.frontend import WavFrontend, read_am_mvn
from common.errors import InputError
from common.tokens import model_tokens

FILES = {"paraformer": ("model_quant.onnx", "model.onnx"),
         "ctc": ("model_ctc_quant.onnx", "model_ctc.onnx")}


def open_session(onnx_path: str, num_threads: int):
    """An onnxruntime session on the CPU; a file onnxruntime cannot load is an InputError."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(onnx_path, options,
                                            providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        raise InputError(f"cannot load ONNX model: {err}", path=onnx_path) from None


class OnnxAcousticModel(AcousticModel):
    def __init__(self, model_dir: str, mode: str, num_threads: int = 1,
                 quantized: bool | None = None):
        config = read_config(model_dir)
        tokens = model_tokens(model_dir)
        candidates = FILES[mode] if quantized is None else \
            FILES[mode][:1] if quantized else FILES[mode][1:]
        paths = [os.path.join(model_dir, f) for f in candidates]
        existing = [p for p in paths if os.path.exists(p)]
        if not existing:
            raise InputError(f"no ONNX export for {mode} mode ({' or '.join(candidates)})",
                             path=model_dir)
        session = open_session(existing[0], num_threads)
        mvn_path = os.path.join(model_dir, "am.mvn")
        cmvn = read_am_mvn(mvn_path) if os.path.exists(mvn_path) else None
        self._setup(session, existing[0], mode, tokens, config.get("frontend_conf") or {},
                    cmvn, frame_shift_seconds(config))
        if "bias_embed" in self.input_names:
            self.bias_embed = self._no_hotword_embedding(model_dir, num_threads)

    @classmethod
    def from_session(cls, session, onnx_path: str, mode: str, tokens: List[str],
                     frontend_conf: dict, cmvn: np.ndarray | None, frame_shift: float):
        """A model whose configuration comes from elsewhere than a FunASR directory (e.g. a
        sherpa-onnx directory's ONNX metadata: asr.models.sherpa)."""
        model = cls.__new__(cls)
        model._setup(session, onnx_path, mode, tokens, frontend_conf, cmvn, frame_shift)
        if "bias_embed" in model.input_names:
            raise InputError("a contextual (SeACo) Paraformer needs its FunASR directory "
                             "(hotword embedder model_eb.onnx)", path=onnx_path)
        return model

    def _setup(self, session, onnx_path, mode, tokens, frontend_conf, cmvn, frame_shift):
        self.session = session
        self.onnx_path = onnx_path
        self.tokens = tokens
        self.output_names = [o.name for o in session.get_outputs()]
        self.input_names = [i.name for i in session.get_inputs()]
        self.bias_embed = None
        self.has_token_times = mode == "paraformer" and (
            "alphas" in self.output_names or "us_alphas" in self.output_names)
        self.upsampling = UPSAMPLE_TIMES if "us_alphas" in self.output_names else 1
        self.frontend = WavFrontend(frontend_conf, cmvn)
        self.mode = mode
        self.sample_rate = self.frontend.sample_rate
        self.frame_shift = frame_shift
        vocab = session.get_outputs()[0].shape[-1]
        if isinstance(vocab, int) and vocab != len(tokens):
            raise InputError(f"token list has {len(tokens)} entries but the model "
                             f"outputs {vocab}", path=onnx_path)

    def _no_hotword_embedding(self, model_dir: str, num_threads: int) -> np.ndarray:
        """[1, 1, D]: model_eb's embedding of the hotword list [<s>] (the quantised embedder
        beside a quantised model.onnx, as FunASR's runtime pairs them)."""
        quantised = self.onnx_path.endswith("_quant.onnx")
        names = ("model_eb_quant.onnx", "model_eb.onnx") if quantised else \
            ("model_eb.onnx", "model_eb_quant.onnx")
        paths = [os.path.join(model_dir, n) for n in names if
                 os.path.exists(os.path.join(model_dir, n))]
        if not paths:
            raise InputError("a SeACo export (model.onnx takes bias_embed) needs its hotword "
                             "embedder model_eb.onnx beside it", path=model_dir)
        self.embedder = open_session(paths[0], num_threads)
        return self.hotword_embeddings([[self.tokens_sos]])

    @property
    def tokens_sos(self) -> int:
        return self.tokens.index("<s>") if "<s>" in self.tokens else 1

    def hotword_embeddings(self, hotwords: List[List[int]]) -> np.ndarray:
        """[1, N, D] bias embeddings of N token-id lists (SeACo): model_eb runs the bias
        encoder (an LSTM, time-major output [L, N, D]) and each list's last step is kept.
        funasr's export fixes L (FunASR's runtime pads every list to 10 tokens)."""
        fixed = self.embedder.get_inputs()[0].shape[1]
        longest = max(len(h) for h in hotwords)
        if isinstance(fixed, int):
            if longest > fixed:
                raise ValueError(f"a SeACo hotword is at most {fixed} tokens long")
            longest = fixed
        padded = np.zeros((len(hotwords), longest), np.int32)
        for k, ids in enumerate(hotwords):
            padded[k, : len(ids)] = ids
        (steps,) = self.embedder.run(None, {self.embedder.get_inputs()[0].name: padded})
        last = [len(h) - 1 for h in hotwords]
        return steps[last, np.arange(len(hotwords))][None].astype(np.float32)

    def _posteriors(self, waves: List[np.ndarray]) -> List[AcousticOutput]:
        feats = [self.frontend(w) for w in waves]
        lengths = np.array([len(f) for f in feats], dtype=np.int32)
        speech = np.zeros((len(feats), int(lengths.max()), feats[0].shape[1]), np.float32)
        for k, f in enumerate(feats):
            speech[k, : len(f)] = f
        inputs = {"speech": speech, "speech_lengths": lengths}
        if self.bias_embed is not None:
            inputs["bias_embed"] = np.repeat(self.bias_embed, len(waves), axis=0)
        results = dict(zip(self.output_names, self.session.run(None, inputs)))
        logp = results["logits"]
        if self.mode == "ctc":
            frames = results["logits_lengths"]
            return [AcousticOutput(logp[k, : int(frames[k])]) for k in range(len(waves))]
        outputs = []
        for k in range(len(waves)):
            n = paraformer_positions(logp[k], int(results["token_num"][k]), self.tokens)
            times = None
            if "alphas" in results:  # Tingxie's export: encoder frames + the tail frame
                tail = int(lengths[k]) + 1
                times = cif_token_times(results["alphas"][k, :tail], results["peaks"][k, :tail],
                                        n, self.frame_shift)
            elif "us_alphas" in results:  # funasr's BiCif / SeACo export: upsampled frames
                frames = int(lengths[k]) * self.upsampling
                times = cif_token_times(results["us_alphas"][k, :frames],
                                        results["us_cif_peak"][k, :frames], n,
                                        self.frame_shift / self.upsampling)
            outputs.append(AcousticOutput(logp[k, :n], times))
        return outputs
