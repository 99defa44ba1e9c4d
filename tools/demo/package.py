"""Stage 4 of the demo recipe: ship the trained model and the held-out test audio.

    resources/demo/model/  config.yaml, model.pt (float16), tokens.json, am.mvn,
                           configuration.json, and with --onnx the int8 ONNX exports
                           model_quant.onnx (Paraformer) and model_ctc_quant.onnx (CTC head)
    resources/demo/test/   wav/<uttid>.wav (16 kHz mono 16-bit), text (Kaldi), wav.scp

wav.scp paths are relative to the repository root (Kaldi resolves them against the working
directory, and every Tingxie command and tools/demo.sh runs from the root).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAX_MODEL_BYTES = 15 * 1024 * 1024


def package_model(src: str, dst: str, onnx: bool) -> None:
    import torch
    import yaml

    from common.tokens import model_tokens
    from asr.models.frontend import read_am_mvn
    from asr.models.model_dir import write_model_dir

    with open(os.path.join(src, "config.yaml")) as f:
        config = yaml.safe_load(f)
    state = torch.load(os.path.join(src, "model.pt"), map_location="cpu", weights_only=True)
    shift, scale = read_am_mvn(os.path.join(src, "am.mvn"))
    write_model_dir(dst, config, state, model_tokens(src), -shift, scale, half=True)
    if onnx:
        from asr.models.export import export_onnx

        # export from the float32 weights, keep only the quantised files
        work = dst.rstrip("/") + "_export_work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(src, work)
        for path in export_onnx(work, with_quantized=True):
            if path.endswith("_quant.onnx"):
                shutil.copy(path, dst)
        shutil.rmtree(work)
    size = sum(os.path.getsize(os.path.join(dst, f)) for f in os.listdir(dst))
    print(f"{dst}: {size / 1e6:.1f} MB ({', '.join(sorted(os.listdir(dst)))})")
    if size > MAX_MODEL_BYTES:
        sys.exit(f"{dst} is {size} bytes, over the {MAX_MODEL_BYTES}-byte budget")


def package_test(src: str, dst: str) -> None:
    wav_dir = os.path.join(dst, "wav")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(wav_dir)
    with open(os.path.join(src, "text"), encoding="utf-8") as f:
        utterances = [line.rstrip("\n").split(" ", 1) for line in f if line.strip()]
    with open(os.path.join(dst, "wav.scp"), "w") as scp, \
            open(os.path.join(dst, "text"), "w", encoding="utf-8") as text:
        for uttid, sentence in utterances:
            shutil.copy(os.path.join(src, "wav", f"{uttid}.wav"), wav_dir)
            rel = os.path.relpath(os.path.join(wav_dir, f"{uttid}.wav"), ROOT)
            scp.write(f"{uttid} {rel}\n")
            text.write(f"{uttid} {sentence}\n")
    print(f"{dst}: {len(utterances)} utterances")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="exp/demo/train/model")
    parser.add_argument("--test", default="exp/demo/data/test",
                        help="test set to ship ('' keeps the shipped resources/demo/test)")
    parser.add_argument("--out", default="resources/demo")
    parser.add_argument("--onnx", action="store_true", help="also ship int8 ONNX exports")
    args = parser.parse_args()
    package_model(args.model, os.path.join(args.out, "model"), args.onnx)
    if args.test:
        package_test(args.test, os.path.join(args.out, "test"))


if __name__ == "__main__":
    main()
