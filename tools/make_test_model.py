"""A tiny randomly initialised FunASR model directory: the demo's architecture (Paraformer with
a CTC head, tools/demo/conf/config.yaml, the demo's token list) shrunk to ~40k parameters,
built and written by asr.models.model_dir as the demo recipe writes its trained model.

Its outputs are noise, but it is a real model that asr.models loads through funasr, so tests
of the machinery around the acoustic model (batch transcription, resume, bad files) and
tools/demo.sh (until the trained demo model ships) run without training anything.

    python tools/make_test_model.py OUT_DIR [--seed 0]
"""
from __future__ import annotations

import argparse
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO_CONFIG = os.path.join(HERE, "demo", "conf", "config.yaml")
SIZE = 16  # encoder width (the demo model uses 144)


def _demo_recipe():
    spec = importlib.util.spec_from_file_location("tingxie_demo_train",
                                                  os.path.join(HERE, "demo", "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_test_model(out_dir: str, seed: int = 0, full_size: bool = False) -> str:
    """full_size: keep the demo's dimensions (for benchmarks: the demo model's compute)."""
    import numpy as np
    import torch
    import yaml

    from asr.models.model_dir import build_model, write_model_dir

    tokens = _demo_recipe().TOKENS
    with open(DEMO_CONFIG) as handle:
        config = yaml.safe_load(handle)
    if not full_size:
        _shrink(config)
    torch.manual_seed(seed)
    model = build_model(config, len(tokens))
    dim = int(config["input_size"])
    write_model_dir(out_dir, config, model.state_dict(), tokens, np.zeros(dim, np.float32),
                    np.ones(dim, np.float32))
    return out_dir


def _shrink(config: dict) -> None:
    config["encoder_conf"].update(output_size=SIZE, attention_heads=2, linear_units=2 * SIZE,
                                  num_blocks=1, kernel_size=3)
    config["decoder_conf"].update(attention_heads=2, linear_units=2 * SIZE, num_blocks=1,
                                  att_layer_num=1, kernel_size=3)
    config["predictor_conf"]["idim"] = SIZE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full-size", action="store_true",
                        help="the demo model's dimensions (for benchmarks), not the tiny ones")
    args = parser.parse_args()
    print(make_test_model(args.out_dir, args.seed, args.full_size))


if __name__ == "__main__":
    main()
