"""Writing a FunASR model directory (the shape funasr.AutoModel loads from disk):

    config.yaml         the model/frontend/tokenizer configuration
    model.pt            the state dict (float32, or float16 to halve the size: funasr's loader
                        copies it into the float32 model)
    tokens.json         the token list, in output-column order
    am.mvn              global CMVN of the LFR features, Kaldi nnet1 text (<AddShift> = -mean,
                        <Rescale> = 1 / std), as funasr's WavFrontend reads it
    configuration.json  the file map funasr's hub loader follows
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np

CONFIGURATION = {
    "framework": "pytorch", "task": "auto-speech-recognition", "model": {"type": "funasr"},
    "pipeline": {"type": "funasr-pipeline"},
    "file_path_metas": {"init_param": "model.pt", "config": "config.yaml",
                        "tokenizer_conf": {"token_list": "tokens.json"},
                        "frontend_conf": {"cmvn_file": "am.mvn"}},
}


def write_am_mvn(path: str, mean: np.ndarray, inv_std: np.ndarray) -> None:
    dim = len(mean)
    fmt = lambda values: " ".join(f"{float(x):.8g}" for x in values)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"<Nnet>\n<Splice> {dim} {dim}\n[ 0 ]\n")
        f.write(f"<AddShift> {dim} {dim}\n<LearnRateCoef> 0 [ {fmt(-np.asarray(mean))} ]\n")
        f.write(f"<Rescale> {dim} {dim}\n<LearnRateCoef> 0 [ {fmt(inv_std)} ]\n</Nnet>\n")


def write_model_dir(out_dir: str, config: dict, state_dict: dict, tokens: list,
                    mean: np.ndarray, inv_std: np.ndarray, half: bool = False) -> None:
    """Write the directory atomically (a .tmp sibling renamed into place)."""
    import torch
    import yaml

    tmp = out_dir.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    with open(os.path.join(tmp, "config.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    if half:
        state_dict = {k: v.half() if v.is_floating_point() else v for k, v in state_dict.items()}
    torch.save(state_dict, os.path.join(tmp, "model.pt"))
    with open(os.path.join(tmp, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump(list(tokens), f, ensure_ascii=False)
    write_am_mvn(os.path.join(tmp, "am.mvn"), mean, inv_std)
    with open(os.path.join(tmp, "configuration.json"), "w", encoding="utf-8") as f:
        json.dump(CONFIGURATION, f, indent=2)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)


def build_model(config: dict, vocab_size: int):
    """A funasr model object (random weights) from a config.yaml dict, as AutoModel builds it."""
    import funasr.models.paraformer.model  # noqa: F401  (registers the Paraformer classes)
    from funasr.register import tables

    kwargs = dict(config)
    kwargs.update(config.get("model_conf") or {})
    for key in ("model", "model_conf", "frontend", "frontend_conf", "tokenizer",
                "tokenizer_conf"):
        kwargs.pop(key, None)
    kwargs["vocab_size"] = vocab_size
    return tables.model_classes.get(config["model"])(**kwargs)
