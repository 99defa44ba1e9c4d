"""FunASR model directories as ModelScope ships them, with random weights: paraformer-zh,
SeACo-Paraformer, BiCif-Paraformer (the timestamp model), paraformer-en, and their `*-onnx`
exports made by funasr's own exporter (AutoModel.export).

No weights can be downloaded, but the configurations are public: the architectures below are
FunASR's `funasr/models/{paraformer,seaco_paraformer,bicif_paraformer}/template.yaml` (the
configs ModelScope ships), with only the layer counts and widths cut for a CPU test. The real
classes, frontend (WavFrontend: fbank 80, LFR 7/6, am.mvn), tokenizer (CharTokenizer with a
seg_dict) and vocabulary sizes (8404 zh, 10020 en) are kept, so a directory here loads, runs and
exports exactly as a downloaded one does, and only its outputs are noise.

    <name>/          am.mvn config.yaml configuration.json model.pt seg_dict tokens.json
    <name>-onnx/     am.mvn config.yaml configuration.json seg_dict tokens.json
                     model.onnx model_quant.onnx (+ model_eb.onnx model_eb_quant.onnx: SeACo)

The zh vocabulary is generated (CJK code points plus a few English `@@` pieces, as the real
vocab8404 has); the en vocabulary is generated letter strings in FunASR's `@@` BPE. Nothing is
taken from any corpus.

    python tools/make_funasr_dirs.py OUT_DIR [--types paraformer-zh,seaco,bicif,paraformer-en]
"""
from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import shutil
import string
from typing import Dict, List, Tuple

import numpy as np

ZH_VOCAB = 8404
EN_VOCAB = 10020
SEACO_NO_BIAS = 8377  # template.yaml's NO_BIAS (a token id of the real vocab8404)

# --- the templates' architecture (FunASR template.yaml), layers cut --------------------------
FRONTEND_CONF = {"fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25,
                 "frame_shift": 10, "lfr_m": 7, "lfr_n": 6}
MODEL_CONF = {"ctc_weight": 0.0, "lsm_weight": 0.1, "length_normalized_loss": True,
              "predictor_weight": 1.0, "predictor_bias": 1, "sampling_ratio": 0.75}
PREDICTOR_V3 = {"threshold": 1.0, "l_order": 1, "r_order": 1, "tail_threshold": 0.45,
                "smooth_factor2": 0.25, "noise_threshold2": 0.01, "upsample_times": 3,
                "use_cif1_cnn": False, "upsample_type": "cnn_blstm"}


def template_config(kind: str, width: int) -> dict:
    """config.yaml of `kind` (paraformer | bicif | seaco), FunASR's template with `width`-wide
    layers (template: 512), 2 encoder blocks (template: 50) and 1 decoder block (16)."""
    config = {
        "model": {"paraformer": "Paraformer", "bicif": "BiCifParaformer",
                  "seaco": "SeacoParaformer"}[kind],
        "model_conf": dict(MODEL_CONF),
        "encoder": "SANMEncoder",
        "encoder_conf": {"output_size": width, "attention_heads": 4, "linear_units": 2 * width,
                         "num_blocks": 2, "dropout_rate": 0.1, "positional_dropout_rate": 0.1,
                         "attention_dropout_rate": 0.1, "input_layer": "pe",
                         "pos_enc_class": "SinusoidalPositionEncoder", "normalize_before": True,
                         "kernel_size": 11, "sanm_shfit": 0, "selfattention_layer_type": "sanm"},
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": {"attention_heads": 4, "linear_units": 2 * width, "num_blocks": 1,
                         "dropout_rate": 0.1, "positional_dropout_rate": 0.1,
                         "self_attention_dropout_rate": 0.1, "src_attention_dropout_rate": 0.1,
                         "att_layer_num": 1, "kernel_size": 11, "sanm_shfit": 0},
        "predictor": "CifPredictorV2",
        "predictor_conf": {"idim": width, "threshold": 1.0, "l_order": 1, "r_order": 1,
                           "tail_threshold": 0.45},
        "frontend": "WavFrontend",
        "frontend_conf": dict(FRONTEND_CONF),
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
        "ctc_conf": {"dropout_rate": 0.0, "ctc_type": "builtin", "reduce": True,
                     "ignore_nan_grad": True},
        "normalize": None,
    }
    if kind == "paraformer":
        config["input_size"] = 560
    if kind in ("bicif", "seaco"):
        config["predictor"] = "CifPredictorV3"
        config["predictor_conf"] = dict(PREDICTOR_V3, idim=width)
    if kind == "seaco":
        config["model_conf"].update(inner_dim=width, bias_encoder_type="lstm",
                                    bias_encoder_bid=False, seaco_lsm_weight=0.1,
                                    seaco_length_normal=True, train_decoder=False,
                                    NO_BIAS=SEACO_NO_BIAS)
        config["seaco_decoder"] = "ParaformerSANMDecoder"
        config["seaco_decoder_conf"] = {
            "attention_heads": 4, "linear_units": width, "num_blocks": 1, "dropout_rate": 0.1,
            "positional_dropout_rate": 0.1, "self_attention_dropout_rate": 0.1,
            "src_attention_dropout_rate": 0.1, "kernel_size": 21, "sanm_shfit": 0,
            "use_output_layer": False, "wo_input_layer": True}
    return config


# --- vocabularies ------------------------------------------------------------------------------
def zh_vocabulary() -> Tuple[List[str], Dict[str, Tuple[str, ...]]]:
    """8404 tokens: <blank> <s> </s>, CJK characters, a few English `@@` pieces, <unk> last
    (the layout of vocab8404); seg_dict: every character as itself and a few English words
    split into the pieces."""
    english = ["he@@", "llo", "wor@@", "ld", "a", "b", "c", "ok"]
    count = ZH_VOCAB - 4 - len(english)
    chars = [chr(0x4E00 + k) for k in range(count)]
    tokens = ["<blank>", "<s>", "</s>"] + chars + english + ["<unk>"]
    seg = {c: (c,) for c in chars}
    seg.update({"hello": ("he@@", "llo"), "world": ("wor@@", "ld"), "ok": ("ok",),
                "a": ("a",), "b": ("b",), "c": ("c",)})
    return tokens, seg


def en_vocabulary() -> Tuple[List[str], Dict[str, Tuple[str, ...]]]:
    """10020 tokens in FunASR's English BPE: whole words and `x@@` pieces that continue into
    the next one; seg_dict: the words' splits (words of one piece map to themselves)."""
    letters = string.ascii_lowercase
    strings = ["".join(c) for size in (2, 3) for c in itertools.product(letters, repeat=size)]
    count = EN_VOCAB - 4
    words = strings[: count // 2]
    prefixes = [p + "@@" for p in strings[count // 2: count]]
    tokens = ["<blank>", "<s>", "</s>"] + words + prefixes + ["<unk>"]
    seg: Dict[str, Tuple[str, ...]] = {w: (w,) for w in words[:2000]}
    for k in range(2000):  # two-piece words: "xyz@@" + "ab" -> "xyzab"
        prefix, tail = prefixes[k], words[k]
        seg.setdefault(prefix[:-2] + tail, (prefix, tail))
    return tokens, seg


# --- writing -----------------------------------------------------------------------------------
def configuration_json(onnx: bool) -> dict:
    return {
        "framework": "onnx" if onnx else "pytorch",
        "task": "auto-speech-recognition",
        "model": {"type": "funasr"},
        "pipeline": {"type": "funasr-pipeline"},
        "file_path_metas": {"init_param": "model.pt", "config": "config.yaml",
                            "tokenizer_conf": {"token_list": "tokens.json",
                                               "seg_dict_file": "seg_dict"},
                            "frontend_conf": {"cmvn_file": "am.mvn"}},
    }


def write_am_mvn(path: str, mean: np.ndarray, inv_std: np.ndarray) -> None:
    """Kaldi nnet1 text, as ModelScope's am.mvn."""
    def fmt(values):
        return " ".join(f"{float(x):.8g}" for x in values)
    dim = len(mean)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"<Nnet>\n<Splice> {dim} {dim}\n[ 0 ]\n")
        f.write(f"<AddShift> {dim} {dim}\n<LearnRateCoef> 0 [ {fmt(-mean)} ]\n")
        f.write(f"<Rescale> {dim} {dim}\n<LearnRateCoef> 0 [ {fmt(inv_std)} ]\n</Nnet>\n")


def write_seg_dict(path: str, seg: Dict[str, Tuple[str, ...]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for word, pieces in seg.items():
            f.write(f"{word} {' '.join(pieces)}\n")


def build_model(config: dict, vocab_size: int, seed: int):
    """funasr's model object from config.yaml, as AutoModel builds it; the CIF bias set so the
    predictor fires about every 3 encoder frames (a trained model's rate: ~5 tokens/s), and
    SeACo's hotword layer made to say NO_BIAS when no hotword fits, as a trained one does."""
    import torch
    import funasr.models.seaco_paraformer.model  # noqa: F401  (registers the classes)
    from funasr.register import tables

    kwargs = copy.deepcopy(config)
    kwargs.update(kwargs.pop("model_conf"))
    for key in ("model", "frontend", "frontend_conf", "tokenizer", "tokenizer_conf"):
        kwargs.pop(key, None)
    kwargs.update(vocab_size=vocab_size, input_size=560)
    torch.manual_seed(seed)
    model = tables.model_classes.get(config["model"])(**kwargs).eval()
    with torch.no_grad():
        model.predictor.cif_output.bias.fill_(-0.7)
        if hasattr(model, "hotword_output_layer"):
            model.hotword_output_layer.bias[SEACO_NO_BIAS] += 30.0
    return model


def write_model_dir(out: str, kind: str, language: str, width: int, seed: int) -> str:
    import torch
    import yaml

    tokens, seg = zh_vocabulary() if language == "zh" else en_vocabulary()
    config = template_config(kind, width)
    model = build_model(config, len(tokens), seed)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False, allow_unicode=True)
    torch.save(model.state_dict(), os.path.join(out, "model.pt"))
    with open(os.path.join(out, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False, indent=0)
    write_seg_dict(os.path.join(out, "seg_dict"), seg)
    rng = np.random.default_rng(seed)
    dim = FRONTEND_CONF["n_mels"] * FRONTEND_CONF["lfr_m"]
    write_am_mvn(os.path.join(out, "am.mvn"), rng.normal(8.0, 2.0, dim),
                 rng.uniform(0.2, 0.5, dim))
    with open(os.path.join(out, "configuration.json"), "w", encoding="utf-8") as f:
        json.dump(configuration_json(False), f, indent=2)
    return out


def export_with_funasr(model_dir: str, out: str) -> str:
    """`<name>-onnx`: funasr's own AutoModel.export (quantised too) and the files ModelScope
    puts beside the ONNX files; no model.pt."""
    import torch
    from funasr import AutoModel

    os.makedirs(out, exist_ok=True)
    model = AutoModel(model=model_dir, disable_update=True, device="cpu", log_level="ERROR")
    # torch 2.13's default exporter (dynamo) cannot trace funasr's export modules; funasr's
    # export_utils calls torch.onnx.export without saying which, so the TorchScript one is
    # chosen here around the call. The exported graph is funasr's, unchanged.
    original = torch.onnx.export

    def torchscript_export(*args, **kwargs):
        kwargs.setdefault("dynamo", False)
        return original(*args, **kwargs)

    # funasr's SeACo export traces with a dummy hotword embedding 512 wide (the template's
    # inner_dim); a cut model gets one of its own width. Only the tracing input changes.
    from funasr.models.seaco_paraformer import export_meta as seaco_export
    seaco_dummy = seaco_export.export_backbone_dummy_inputs

    def seaco_dummy_of_model_width(self):
        speech, speech_lengths, bias_embed = seaco_dummy(self)
        return speech, speech_lengths, torch.randn(2, 1, self.inner_dim)

    torch.onnx.export = torchscript_export
    seaco_export.export_backbone_dummy_inputs = seaco_dummy_of_model_width
    try:
        model.export(type="onnx", quantize=True, output_dir=out)
    finally:
        torch.onnx.export = original
        seaco_export.export_backbone_dummy_inputs = seaco_dummy
    for leftover in os.listdir(out):  # onnxruntime's quantiser leaves its shape-inferred copy
        if leftover.endswith("-inferred.onnx"):
            os.remove(os.path.join(out, leftover))
    for name in ("am.mvn", "config.yaml", "tokens.json", "seg_dict"):
        shutil.copyfile(os.path.join(model_dir, name), os.path.join(out, name))
    with open(os.path.join(out, "configuration.json"), "w", encoding="utf-8") as f:
        json.dump(configuration_json(True), f, indent=2)
    return out


# name -> (kind, language, width); names are ModelScope's directory names
MODELS = {
    "paraformer-zh": ("speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
                      "paraformer", "zh", 64),
    "seaco": ("speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
              "seaco", "zh", 64),
    "bicif": ("speech_paraformer-large-vad-punc_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
              "bicif", "zh", 64),
    # paraformer-en gives timestamps: its model class is BiCifParaformer
    "paraformer-en": ("speech_paraformer-large_asr_nat-en-16k-common-vocab10020",
                      "bicif", "en", 64),
}


def onnx_name(name: str) -> str:
    stem = name[: -len("-pytorch")] if name.endswith("-pytorch") else name
    return stem + "-onnx"


def make_funasr_dirs(out_dir: str, types=tuple(MODELS), onnx: bool = True,
                     seed: int = 0) -> Dict[str, Dict[str, str]]:
    """{type: {"torch": dir, "onnx": dir}} under out_dir."""
    made = {}
    for k, key in enumerate(types):
        name, kind, language, width = MODELS[key]
        torch_dir = write_model_dir(os.path.join(out_dir, name), kind, language, width, seed + k)
        made[key] = {"torch": torch_dir}
        if onnx:
            made[key]["onnx"] = export_with_funasr(torch_dir, os.path.join(out_dir,
                                                                            onnx_name(name)))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--types", default=",".join(MODELS),
                        help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--no-onnx", action="store_true", help="torch directories only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    made = make_funasr_dirs(args.out_dir, [t for t in args.types.split(",") if t],
                            not args.no_onnx, args.seed)
    for key, dirs in made.items():
        for backend, path in dirs.items():
            print(f"{key}\t{backend}\t{path}")


if __name__ == "__main__":
    main()
