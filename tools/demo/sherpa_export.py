"""A sherpa-onnx offline Paraformer directory from a Tingxie/FunASR demo model directory.

sherpa-onnx's OfflineParaformerModel reads from the ONNX model's metadata: vocab_size,
lfr_window_size, lfr_window_shift, neg_mean and inv_stddev (comma-separated floats); and
a tokens.txt of `SYMBOL ID` lines. This copies the int8 Paraformer export (model_quant.onnx,
funasr's export: inputs speech/speech_lengths, outputs logits/token_num) with that metadata
added, and writes tokens.txt:

    python tools/demo/sherpa_export.py resources/demo/model exp/demo/sherpa
    # -> exp/demo/sherpa/model.int8.onnx, tokens.txt
"""
from __future__ import annotations

import argparse
import json
import os

import yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("out_dir")
    args = parser.parse_args()
    import onnx

    from asr.models.frontend import read_am_mvn

    with open(os.path.join(args.model_dir, "config.yaml")) as f:
        config = yaml.safe_load(f)
    with open(os.path.join(args.model_dir, "tokens.json")) as f:
        tokens = json.load(f)
    shift, scale = read_am_mvn(os.path.join(args.model_dir, "am.mvn"))
    model = onnx.load(os.path.join(args.model_dir, "model_quant.onnx"))
    metadata = {"vocab_size": str(len(tokens)),
                "lfr_window_size": str(config["frontend_conf"]["lfr_m"]),
                "lfr_window_shift": str(config["frontend_conf"]["lfr_n"]),
                "neg_mean": ",".join(f"{float(x):.8g}" for x in shift),
                "inv_stddev": ",".join(f"{float(x):.8g}" for x in scale),
                "model_type": "paraformer", "comment": "Tingxie demo model (tools/demo)"}
    kept = [p for p in model.metadata_props if p.key not in metadata]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    os.makedirs(args.out_dir, exist_ok=True)
    onnx.save(model, os.path.join(args.out_dir, "model.int8.onnx"))
    with open(os.path.join(args.out_dir, "tokens.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{t} {i}\n" for i, t in enumerate(tokens))
    print(f"{args.out_dir}: model.int8.onnx, tokens.txt")


if __name__ == "__main__":
    main()
