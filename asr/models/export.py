"""Export a FunASR model directory to ONNX in funasr's own format, plus the CTC head.

- model.onnx: funasr's Paraformer export (the modules of funasr's export_rebuild_model:
  SANMEncoderExport, CifPredictorV2Export, ParaformerSANMDecoderExport, wired as funasr's
  export_forward); inputs `speech` [B, T, D] (features after CMVN) and `speech_lengths` [B]
  int32; outputs `logits` [B, N, V] (log-softmax) and `token_num` [B] int32, which is what
  funasr_onnx's Paraformer runtime reads, then `alphas` and `peaks` [B, T + 1] (the CIF
  weights and fire values, for token times; extra outputs that funasr's runtime ignores).
  One change to funasr's export_forward: the encoder output is zeroed past each utterance's
  length before the predictor, so that the CIF tail frame of a short utterance in a batch is
  zeros, as when it runs alone (otherwise batched outputs differ in the last tokens).
- BiCif and SeACo (their funasr exports already give the 3x upsampled CIF weights
  `us_alphas`/`us_cif_peak`): model.onnx exactly as funasr exports it; SeACo's also takes
  `bias_embed` (hotword embeddings) and comes with model_eb.onnx, the hotword embedder.
- model_ctc.onnx (Tingxie's addition, when the model has a CTC head): the same export encoder
  followed by the CTC projection; outputs `logits` [B, T, V] (log-softmax per encoder frame)
  and `logits_lengths` [B] int32.
- with quantize=True, *_quant.onnx next to each: dynamic int8 MatMul weights, with funasr's
  settings (per channel, QUInt8, output layers excluded).

torch 2.13's default exporter is the dynamo one, which funasr's export modules do not trace;
the TorchScript-based exporter (dynamo=False) is used.

    python -m asr.models.export MODEL_DIR [--quantize]
"""
from __future__ import annotations

import argparse
import copy
import os
from typing import List

OPSET = 14


def _paraformer_export_module(export_model):
    import torch

    class ParaformerExport(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, speech, speech_lengths):
            model = self.model
            encoder_out, encoder_lens = model.encoder(speech, speech_lengths)
            mask = model.make_pad_mask(encoder_lens)[:, None, :]
            # zero the padding so the CIF tail frame is the same in a batch as alone
            encoder_out = encoder_out * mask.transpose(1, 2)
            embeds, token_num, alphas, peaks = model.predictor(encoder_out, mask)
            token_num = token_num.floor().type(torch.int32)
            decoder_out, _ = model.decoder(encoder_out, encoder_lens, embeds, token_num)
            return torch.log_softmax(decoder_out, dim=-1), token_num, alphas, peaks

    return ParaformerExport(export_model).eval()


def _ctc_export_module(export_model):
    import torch

    class CtcExport(torch.nn.Module):
        def __init__(self, encoder, ctc_projection):
            super().__init__()
            self.encoder = encoder
            self.ctc_projection = ctc_projection

        def forward(self, speech, speech_lengths):
            encoder_out, encoder_lens = self.encoder(speech, speech_lengths)
            logp = torch.log_softmax(self.ctc_projection(encoder_out), dim=-1)
            return logp, encoder_lens.type(torch.int32)

    return CtcExport(export_model.encoder, export_model.ctc.ctc_lo).eval()


def quantize(onnx_path: str) -> str:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.WARNING)  # quantize_dynamic logs every node
    out_path = onnx_path[: -len(".onnx")] + "_quant.onnx"
    nodes = [n.name for n in onnx.load(onnx_path).graph.node]
    excluded = [n for n in nodes if "output" in n or "bias_encoder" in n or "bias_decoder" in n
                or "ctc_projection" in n]
    quantize_dynamic(model_input=onnx_path, model_output=out_path, op_types_to_quantize=["MatMul"],
                     per_channel=True, reduce_range=False, weight_type=QuantType.QUInt8,
                     nodes_to_exclude=excluded)
    return out_path


def _funasr_job(module, name: str):
    """(file name, module, input names, output names, dynamic axes) of one of funasr's own
    export modules, exported as funasr's export_utils does."""
    return (name, module.eval(), module.export_input_names(), module.export_output_names(),
            module.export_dynamic_axes(), module.export_dummy_inputs())


def export_onnx(model_dir: str, out_dir: str | None = None, with_quantized: bool = False,
                paraformer: bool = True, ctc: bool = True) -> List[str]:
    """Write the ONNX files for model_dir into out_dir (default: model_dir); returns paths.

    Paraformer: funasr's export modules. A plain Paraformer's export has no CIF outputs, so
    it is wrapped to add `alphas`/`peaks` (token times); BiCif and SeACo exports already give
    the upsampled `us_alphas`/`us_cif_peak` and are written as funasr writes them, SeACo as
    model.onnx (inputs speech, speech_lengths, bias_embed) plus its hotword embedder
    model_eb.onnx."""
    import torch
    from funasr import AutoModel

    out_dir = out_dir or model_dir
    os.makedirs(out_dir, exist_ok=True)
    auto_model = AutoModel(model=model_dir, disable_update=True, device="cpu", log_level="ERROR")
    kwargs = copy.deepcopy(auto_model.kwargs)
    kwargs.update(type="onnx", device="cpu")
    kwargs.pop("model", None)
    exported = copy.deepcopy(auto_model.model).eval().export(**kwargs)
    modules = list(exported) if isinstance(exported, (list, tuple)) else [exported]
    export_model, extra_modules = modules[0], modules[1:]
    speech, speech_lengths = export_model.export_dummy_inputs()[:2]
    speech = torch.randn(2, 30, speech.shape[-1])
    inputs = ["speech", "speech_lengths"]
    jobs = []
    if paraformer and getattr(export_model, "predictor", None) is not None:
        names = list(export_model.export_output_names())
        if "us_alphas" in names:  # BiCif / SeACo: funasr's forward as it is
            job = _funasr_job(export_model, "model.onnx")
            dummy = (speech, speech_lengths)
            if "bias_embed" in job[2]:  # SeACo: hotword embeddings of the model's width
                width = getattr(export_model, "inner_dim", job[5][2].shape[-1])
                dummy += (torch.randn(2, 1, width),)
            jobs.append(job[:5] + (dummy,))
            for module in extra_modules:  # SeACo's hotword embedder
                name = module.export_name if isinstance(module.export_name, str) \
                    else module.export_name()
                name = name if name.endswith(".onnx") else name + ".onnx"
                jobs.append(_funasr_job(module, name))
        else:
            axes = dict(export_model.export_dynamic_axes())
            axes.update(alphas={0: "batch_size", 1: "alphas_length"},
                        peaks={0: "batch_size", 1: "alphas_length"})
            jobs.append(("model.onnx", _paraformer_export_module(export_model), inputs,
                         names + ["alphas", "peaks"], axes, (speech, speech_lengths)))
    if ctc and getattr(export_model, "ctc", None) is not None:
        jobs.append(("model_ctc.onnx", _ctc_export_module(export_model), inputs,
                     ["logits", "logits_lengths"],
                     {"speech": {0: "batch_size", 1: "feats_length"},
                      "speech_lengths": {0: "batch_size"},
                      "logits": {0: "batch_size", 1: "logits_length"},
                      "logits_lengths": {0: "batch_size"}}, (speech, speech_lengths)))
    written = []
    with torch.no_grad():
        for name, module, input_names, output_names, dynamic_axes, dummy in jobs:
            path = os.path.join(out_dir, name)
            torch.onnx.export(module, dummy, path, dynamo=False,
                              do_constant_folding=True, opset_version=OPSET,
                              input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes)
            written.append(path)
            if with_quantized:
                written.append(quantize(path))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="export a FunASR model directory to ONNX")
    parser.add_argument("model_dir")
    parser.add_argument("--out-dir")
    parser.add_argument("--quantize", action="store_true", help="also write *_quant.onnx")
    args = parser.parse_args()
    for path in export_onnx(args.model_dir, args.out_dir, args.quantize):
        print(path)


if __name__ == "__main__":
    main()
