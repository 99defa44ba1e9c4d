"""sherpa-onnx offline Paraformer directories: read them, and write one from a FunASR directory.

sherpa-onnx (k2-fsa) ships a Paraformer as a directory of

    model.onnx and/or model.int8.onnx   funasr's ONNX export (inputs speech, speech_lengths;
                                        outputs logits, token_num, ...), with metadata
    tokens.txt                          `SYMBOL ID` lines, ID = output column

and no config.yaml: the features come from the ONNX metadata — `lfr_window_size` and
`lfr_window_shift` (LFR stacking), `neg_mean` and `inv_stddev` (the global CMVN, comma-separated
floats: features become (x + neg_mean) * inv_stddev), `vocab_size` — on top of the fbank that
sherpa-onnx's Paraformer recogniser fixes: 16 kHz, 80 mel bins, 25 ms Hamming windows every
10 ms, samples at 16-bit scale, no dither. Tingxie runs it with its ONNX backend, in
Paraformer mode (such a directory has no CTC head), preferring model.int8.onnx as
sherpa-onnx's own examples do.

    python -m asr.models.sherpa resources/demo/model exp/demo/sherpa   # write one
"""
from __future__ import annotations

import json
import os
import sys
from typing import Optional

import numpy as np

from common.errors import InputError

MODEL_FILES = ("model.int8.onnx", "model.onnx")
TOKENS_FILE = "tokens.txt"
# sherpa-onnx's Paraformer feature extractor (offline-recognizer-paraformer-impl.h)
FBANK = {"fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25,
         "frame_shift": 10, "snip_edges": True}
PARAFORMER_METADATA = ("vocab_size", "lfr_window_size", "lfr_window_shift", "neg_mean",
                       "inv_stddev")


def model_file(model_dir: str) -> Optional[str]:
    """The ONNX file a sherpa-onnx directory runs: model.int8.onnx, else model.onnx."""
    for name in MODEL_FILES:
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            return path
    return None


def load_sherpa_paraformer(model_dir: str, num_threads: int = 1):
    """An asr.models AcousticModel (ONNX backend, Paraformer mode) over a sherpa-onnx
    offline Paraformer directory."""
    from asr.models.base import frame_shift_seconds
    from asr.models.onnx_model import OnnxAcousticModel, open_session
    from common.tokens import read_tokens

    onnx_path = model_file(model_dir)
    tokens_path = os.path.join(model_dir, TOKENS_FILE)
    if onnx_path is None or not os.path.exists(tokens_path):
        raise InputError("a sherpa-onnx directory needs model.onnx or model.int8.onnx and "
                         "tokens.txt", path=model_dir)
    tokens = read_tokens(tokens_path)
    session = open_session(onnx_path, num_threads)
    metadata = session.get_modelmeta().custom_metadata_map
    missing = [key for key in PARAFORMER_METADATA if key not in metadata]
    names = {i.name for i in session.get_inputs()} | {o.name for o in session.get_outputs()}
    if missing or not {"speech", "speech_lengths", "logits", "token_num"} <= names:
        what = f"no {', '.join(missing)} in its metadata" if missing else \
            "inputs speech, speech_lengths and outputs logits, token_num"
        raise InputError(f"not a sherpa-onnx offline Paraformer ({what}); Tingxie reads "
                         f"Paraformer models of sherpa-onnx directories only", path=onnx_path)
    lfr_m = _whole_number(metadata, "lfr_window_size", onnx_path)
    lfr_n = _whole_number(metadata, "lfr_window_shift", onnx_path)
    vocab_size = _whole_number(metadata, "vocab_size", onnx_path)
    if vocab_size != len(tokens):
        raise InputError(f"tokens.txt has {len(tokens)} tokens but the model's vocab_size is "
                         f"{vocab_size}", path=tokens_path)
    dim = lfr_m * FBANK["n_mels"]
    cmvn = np.stack([_floats(metadata, "neg_mean", dim, onnx_path),
                     _floats(metadata, "inv_stddev", dim, onnx_path)])
    frontend_conf = dict(FBANK, lfr_m=lfr_m, lfr_n=lfr_n)
    return OnnxAcousticModel.from_session(session, onnx_path, "paraformer", tokens,
                                          frontend_conf, cmvn,
                                          frame_shift_seconds({"frontend_conf": frontend_conf}))


def _whole_number(metadata: dict, key: str, path: str) -> int:
    value = metadata[key].strip()
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"metadata {key} must be a whole number of at least 1, not {value!r}",
                         path=path)
    return int(value)


def _floats(metadata: dict, key: str, dim: int, path: str) -> np.ndarray:
    try:
        values = np.array([float(x) for x in metadata[key].split(",")], dtype=np.float32)
    except ValueError:
        raise InputError(f"metadata {key} must be comma-separated numbers", path=path) from None
    if len(values) != dim or not np.isfinite(values).all():
        raise InputError(f"metadata {key} must hold {dim} finite numbers (lfr_window_size x "
                         f"{FBANK['n_mels']} mel bins), not {len(values)}", path=path)
    return values


def write_sherpa_paraformer(funasr_dir: str, out_dir: str, quantized: bool = True) -> str:
    """A sherpa-onnx offline Paraformer directory from a FunASR directory with an ONNX
    Paraformer export (model_quant.onnx, or model.onnx when quantized=False): the export
    copied with the metadata above added as model.int8.onnx (or model.onnx), and tokens.txt.
    Returns the ONNX path written. Needs the `onnx` package."""
    import onnx

    from asr.models.base import read_config
    from asr.models.frontend import read_am_mvn
    from common.tokens import model_tokens

    config = read_config(funasr_dir)
    tokens = model_tokens(funasr_dir)
    frontend = config.get("frontend_conf") or {}
    differing = {k: frontend[k] for k, v in FBANK.items() if k in frontend and frontend[k] != v}
    if differing:
        raise InputError(f"sherpa-onnx's Paraformer fbank is fixed ({FBANK}); this model's "
                         f"frontend differs: {differing}", path=funasr_dir)
    source = os.path.join(funasr_dir, "model_quant.onnx" if quantized else "model.onnx")
    if not os.path.exists(source):
        raise InputError(f"no ONNX Paraformer export ({os.path.basename(source)}: "
                         "python -m asr.models.export)", path=funasr_dir)
    shift, scale = read_am_mvn(os.path.join(funasr_dir, "am.mvn"))
    model = onnx.load(source)
    metadata = {"vocab_size": str(len(tokens)),
                "lfr_window_size": str(frontend.get("lfr_m", 1)),
                "lfr_window_shift": str(frontend.get("lfr_n", 1)),
                "neg_mean": ",".join(f"{float(x):.8g}" for x in shift),
                "inv_stddev": ",".join(f"{float(x):.8g}" for x in scale),
                "model_type": "paraformer",
                "comment": json.dumps({"converted_from": os.path.basename(
                    os.path.abspath(funasr_dir)), "by": "tingxie asr.models.sherpa"})}
    kept = [p for p in model.metadata_props if p.key not in metadata]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, MODEL_FILES[0] if quantized else MODEL_FILES[1])
    onnx.save(model, target)
    with open(os.path.join(out_dir, TOKENS_FILE), "w", encoding="utf-8") as f:
        f.writelines(f"{t} {i}\n" for i, t in enumerate(tokens))
    return target


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m asr.models.sherpa",
        description="Write a sherpa-onnx offline Paraformer directory (model.int8.onnx or "
                    "model.onnx with sherpa-onnx's metadata, tokens.txt) from a FunASR model "
                    "directory with an ONNX export.")
    parser.add_argument("funasr_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--float", action="store_true",
                        help="copy model.onnx (float) instead of model_quant.onnx (int8)")
    args = parser.parse_args(argv)
    try:
        print(write_sherpa_paraformer(args.funasr_dir, args.out_dir, quantized=not args.float))
    except InputError as err:
        print(f"python -m asr.models.sherpa: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
