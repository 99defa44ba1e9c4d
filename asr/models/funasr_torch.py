"""The torch backend: a FunASR model directory loaded by funasr's own classes.

`funasr.AutoModel(model=dir, disable_update=True, device="cpu")` builds the frontend
(WavFrontend: fbank, LFR, CMVN from am.mvn), the tokenizer and the model from config.yaml and
model.pt without touching the network. Dither is forced to 0 so features are reproducible.

Paraformer posteriors: frontend -> encode -> calc_predictor -> cal_decoder_with_predictor, the
same calls funasr's `Paraformer.inference` makes, batched with padding; the decoder's last
position is dropped when it is the </s> slot (base.paraformer_positions). Token times: the
predictor's CIF weights (Paraformer), or for BiCif and SeACo the 3x upsampled ones of
calc_predictor_timestamp, which is where their funasr timestamps come from.
SeACo without hotwords: funasr's SeACo inference then returns the plain decoder's output,
which is what cal_decoder_with_predictor gives.
CTC posteriors: frontend -> encode -> the model's CTC head (log-softmax per encoder frame).
"""
from __future__ import annotations

import contextlib
import io
import logging

import os
from typing import List

import numpy as np

from asr.models.base import (AcousticModel, AcousticOutput, cif_token_times, cif_upsampling,
                             frame_shift_seconds, paraformer_positions, read_config)
from common.errors import InputError
from common.tokens import model_tokens


class TorchAcousticModel(AcousticModel):
    def __init__(self, model_dir: str, mode: str, num_threads: int = 1):
        import torch

        config = read_config(model_dir)
        self.tokens = model_tokens(model_dir)
        weights = os.path.join(model_dir, "model.pt")
        if not os.path.exists(weights):
            raise InputError("model directory has no model.pt", path=model_dir)
        check_output_size(weights, len(self.tokens))
        torch.set_num_threads(num_threads)
        self._torch = torch
        try:
            with _funasr_quiet():
                from funasr import AutoModel
                self.auto_model = AutoModel(model=model_dir, disable_update=True, device="cpu",
                                            ncpu=num_threads, log_level="ERROR")
        except (RuntimeError, KeyError, TypeError, ValueError, AssertionError) as err:
            raise InputError(f"funasr cannot build the model: {err}", path=model_dir) from None
        self.model = self.auto_model.model.eval()
        self.frontend = self.auto_model.kwargs["frontend"]
        self.frontend.dither = 0.0
        self.mode = mode
        self.sample_rate = int(getattr(self.frontend, "fs", 16000))
        self.frame_shift = frame_shift_seconds(config)
        self.upsampling = cif_upsampling(config)
        if mode == "ctc" and getattr(self.model, "ctc", None) is None:
            raise InputError("model has no CTC head (ctc_weight is 0)", path=model_dir)
        if mode == "paraformer" and getattr(self.model, "predictor", None) is None:
            raise InputError("model is not a Paraformer (no CIF predictor)", path=model_dir)

    def features(self, waves: List[np.ndarray]):
        """Padded FunASR features [B, T, D] and lengths for a batch of waveforms."""
        torch = self._torch
        lengths = torch.tensor([len(w) for w in waves])
        batch = torch.zeros(len(waves), int(lengths.max()))
        for k, wave in enumerate(waves):
            batch[k, : len(wave)] = torch.from_numpy(wave)
        return self.frontend(batch, lengths)

    def _posteriors(self, waves: List[np.ndarray]) -> List[AcousticOutput]:
        torch = self._torch
        with torch.no_grad():
            speech, speech_lengths = self.features(waves)
            encoder_out, encoder_lens = self.model.encode(speech, speech_lengths)
            if isinstance(encoder_out, tuple):
                encoder_out = encoder_out[0]
            if self.mode == "ctc":
                logp = self.model.ctc.log_softmax(encoder_out)
                return [AcousticOutput(logp[k, : int(encoder_lens[k])].numpy())
                        for k in range(len(waves))]
            # The CIF tail frame is the one after each utterance's last frame: zeros when run
            # alone, but the encoder's padding output in a batch. Zeroing the padding makes
            # batched posteriors equal one-at-a-time ones (what funasr's generate computes).
            valid = torch.arange(encoder_out.shape[1])[None, :] < encoder_lens[:, None]
            encoder_out = encoder_out * valid[:, :, None]
            embeds, token_num, alphas, peaks = self.model.calc_predictor(encoder_out,
                                                                         encoder_lens)
            token_num = token_num.round().long()
            if int(token_num.max()) < 1:
                return [AcousticOutput(np.zeros((0, len(self.tokens)), np.float32), [])
                        for _ in waves]
            logp, _ = self.model.cal_decoder_with_predictor(encoder_out, encoder_lens, embeds,
                                                            token_num)
            if self.upsampling > 1:  # BiCif / SeACo: times from the upsampled CIF weights
                _, _, alphas, peaks = self.model.calc_predictor_timestamp(
                    encoder_out, encoder_lens, token_num)
        outputs = []
        for k in range(len(waves)):
            n = paraformer_positions(logp[k].numpy(), int(token_num[k]), self.tokens)
            if self.upsampling > 1:
                frames = int(encoder_lens[k]) * self.upsampling
            else:
                frames = int(encoder_lens[k]) + 1  # the predictor's tail frame
            outputs.append(AcousticOutput(
                logp[k, :n].numpy(),
                cif_token_times(alphas[k, :frames].numpy(), peaks[k, :frames].numpy(), n,
                                self.frame_shift / self.upsampling)))
        return outputs


def check_output_size(weights_path: str, num_tokens: int) -> None:
    """funasr sizes the model from the token list and skips weights whose shape disagrees
    (leaving them random), so a token list that does not fit model.pt must be caught here."""
    import torch

    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # torch raises many types for a corrupt file
        raise InputError(f"cannot read model weights: {err}", path=weights_path) from None
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    for key, value in state.items():
        if key.endswith(("ctc.ctc_lo.weight", "decoder.output_layer.weight")):
            if value.shape[0] != num_tokens:
                raise InputError(f"token list has {num_tokens} entries but the model outputs "
                                 f"{value.shape[0]} ({key})", path=weights_path)


@contextlib.contextmanager
def _funasr_quiet():
    """funasr talks on import and load (an ffmpeg notice on stdout, "download models from
    model hub" and config dumps through logging): none of it concerns a user who gave a
    local model directory, and stdout may be a transcript. Its errors still raise."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(previous)
