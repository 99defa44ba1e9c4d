"""Weight-space interpolation of two demo models' encoder and CTC head (WiSE-FT).

The multi-voice fine-tuning (train_voices.py) starts from the espeak-only model, so the two lie
in one basin of the loss, and the straight line between their weights trades the espeak-ng test
set for other voices smoothly: `--alpha` of the multi-voice model's encoder and CTC head plus
(1 - alpha) of the espeak-only model's (Wortsman et al., "Robust fine-tuning of zero-shot
models", 2022). The decoder and predictor are taken from `--base` unchanged (they were trained on
another encoder: retrain them with train_decoder.py afterwards). Writes a FunASR model directory.

    python tools/demo/interpolate.py --base exp/demo/train/model \
        --tuned exp/demo/voices/train/models/step_012395 --alpha 0.7 --out exp/demo/interpolated
"""
from __future__ import annotations

import argparse
import json
import os

import torch
import yaml

from train import TOKENS

SHARED = ("encoder.", "ctc.")


def interpolate(base: dict, tuned: dict, alpha: float) -> dict:
    """alpha * tuned + (1 - alpha) * base for the encoder and CTC head, base elsewhere."""
    missing = [k for k in base if k.startswith(SHARED) and
               (k not in tuned or tuned[k].shape != base[k].shape)]
    if missing:
        raise SystemExit(f"the two models' encoders differ (e.g. {missing[0]})")
    return {k: (alpha * tuned[k].float() + (1 - alpha) * v.float()) if k.startswith(SHARED)
            and v.is_floating_point() else v.float() if v.is_floating_point() else v
            for k, v in base.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the espeak-only model directory")
    parser.add_argument("--tuned", required=True, help="a multi-voice checkpoint directory")
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    from asr.models.frontend import read_am_mvn
    from asr.models.model_dir import write_model_dir

    if not 0.0 <= args.alpha <= 1.0:
        raise SystemExit("--alpha must be in [0, 1]")
    for directory in (args.base, args.tuned):
        for name in ("config.yaml", "tokens.json", "am.mvn", "model.pt"):
            if not os.path.isfile(os.path.join(directory, name)):
                raise SystemExit(f"{directory}: not a FunASR model directory (no {name})")
    with open(os.path.join(args.base, "config.yaml")) as f:
        config = yaml.safe_load(f)
    with open(os.path.join(args.base, "tokens.json")) as f:
        assert json.load(f) == TOKENS, "the token list differs from tools/demo/train.py's"
    load = lambda d: torch.load(os.path.join(d, "model.pt"), map_location="cpu",
                                weights_only=True)
    state = interpolate(load(args.base), load(args.tuned), args.alpha)
    shift, scale = read_am_mvn(os.path.join(args.base, "am.mvn"))
    write_model_dir(args.out, config, state, TOKENS, -shift, scale)
    print(f"{args.out}: encoder and CTC head {args.alpha:g} x {args.tuned} + "
          f"{1 - args.alpha:g} x {args.base}")


if __name__ == "__main__":
    main()
