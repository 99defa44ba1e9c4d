"""Real FunASR model directories, as a user downloads them: paraformer-zh, SeACo-Paraformer,
BiCif-Paraformer and paraformer-en (a BiCif model with FunASR's `@@` BPE and seg_dict), each
as the torch directory and the `*-onnx` directory funasr's own exporter writes. Built once per
session by tools/make_funasr_dirs.py: FunASR's template architectures with layers cut, random
weights, the real vocabulary sizes (8404 / 10020), frontend, tokenizer and file layout.

Parity references are funasr's own `AutoModel.generate` on the torch directory. Dither: the
shipped configs leave WavFrontend's dither at its default 1.0, so funasr's generate adds noise
to every utterance and is not reproducible (two calls on one file differ). Tingxie forces
dither 0; the reference is funasr's AutoModel loaded with frontend_conf={"dither": 0.0}.
"""
import json
import os
import sys

import numpy as np
import pytest

import funasr  # noqa: F401  (the am extra)
import onnxruntime  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_funasr_dirs  # noqa: E402

from asr.models import load_acoustic_model  # noqa: E402
from asr.recognizer import Recognizer  # noqa: E402

TYPES = list(make_funasr_dirs.MODELS)
TIMED = ["seaco", "bicif", "paraformer-en"]  # CifPredictorV3: funasr gives timestamps
WAVS = [os.path.join(ROOT, "resources", "demo", "test", "wav", f"test_0000{k}.wav")
        for k in (0, 1)]


@pytest.fixture(scope="session")
def dirs(tmp_path_factory):
    return make_funasr_dirs.make_funasr_dirs(str(tmp_path_factory.mktemp("funasr")))


@pytest.fixture(scope="session")
def waves():
    from asr.audio import load_audio
    return [load_audio(p, 16000) for p in WAVS]


@pytest.fixture(scope="session")
def torch_models(dirs):
    return {t: load_acoustic_model(dirs[t]["torch"]) for t in TYPES}


@pytest.fixture(scope="session")
def funasr_models(dirs):
    """funasr's own AutoModel on each torch directory, dither 0."""
    from funasr import AutoModel
    return {t: AutoModel(model=dirs[t]["torch"], disable_update=True, device="cpu",
                         log_level="ERROR", frontend_conf={"dither": 0.0}) for t in TYPES}


@pytest.fixture(scope="session")
def generated(funasr_models, waves):
    """funasr's generate: {type: [result per wave]}."""
    return {t: [m.generate(input=w, disable_pbar=True)[0] for w in waves]
            for t, m in funasr_models.items()}


def funasr_token_ids(funasr_model, wave):
    """funasr's greedy token ids (inference without a tokenizer: ids, </s>/<s>/<blank> out)."""
    import torch
    frontend = funasr_model.kwargs["frontend"]
    assert frontend.dither == 0.0
    result, _ = funasr_model.model.inference([torch.from_numpy(wave)], key=["u"],
                                             tokenizer=None, frontend=frontend, device="cpu")
    return result[0]["token_int"]


def our_token_ids(am, output):
    special = {am.tokens.index(t) for t in ("<blank>", "<s>", "</s>")}
    return [int(i) for i in output.logp.argmax(1) if int(i) not in special]


@pytest.mark.parametrize("kind", TYPES)
def test_layout_is_modelscopes(dirs, kind):
    torch_dir, onnx_dir = dirs[kind]["torch"], dirs[kind]["onnx"]
    common = {"am.mvn", "config.yaml", "configuration.json", "seg_dict", "tokens.json"}
    assert set(os.listdir(torch_dir)) == common | {"model.pt"}
    onnx = {"model.onnx", "model_quant.onnx"}
    if kind == "seaco":
        onnx |= {"model_eb.onnx", "model_eb_quant.onnx"}
    assert set(os.listdir(onnx_dir)) == common | onnx
    with open(os.path.join(torch_dir, "tokens.json"), encoding="utf-8") as f:
        assert len(json.load(f)) == (10020 if kind == "paraformer-en" else 8404)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_default_mode_and_backend(dirs, kind, backend):
    """ctc_weight is 0 in every real config: no mode given means paraformer; an `*-onnx`
    directory (no model.pt) loads through onnxruntime with the default backend."""
    am = load_acoustic_model(dirs[kind][backend])
    assert am.mode == "paraformer"
    assert type(am).__name__ == ("TorchAcousticModel" if backend == "torch"
                                 else "OnnxAcousticModel")


@pytest.mark.parametrize("kind", TYPES)
def test_torch_greedy_equals_funasr_generate(torch_models, funasr_models, generated, waves,
                                             kind):
    am = torch_models[kind]
    rec = Recognizer(am)
    for wave, reference in zip(waves, generated[kind]):
        output = am.posteriors([wave])[0]
        assert our_token_ids(am, output) == funasr_token_ids(funasr_models[kind], wave)
        transcript = rec.decode(output)
        assert comparable_text(transcript) == comparable_text(reference["text"], kind)


def comparable_text(transcript, kind=None):
    """Chinese without spaces: funasr's timestamp models (BiCif, SeACo) print Chinese
    characters space-separated (sentence_postprocess), plain Paraformer runs them together,
    Tingxie writes them together for every model. English: a last word left unfinished by a
    final `x@@` piece is dropped, as funasr's sentence_postprocess does (Tingxie keeps what
    the model said)."""
    if isinstance(transcript, str):
        return transcript if kind == "paraformer-en" else transcript.replace(" ", "")
    words = comparable_words(transcript)
    return " ".join(words) if " " in transcript.text else "".join(words)


def comparable_words(transcript):
    words = list(transcript.words)
    if transcript.tokens and transcript.tokens[-1].endswith("@@"):
        words = words[:-1]
    return words


@pytest.mark.parametrize("kind", TYPES)
def test_float_onnx_greedy_equals_funasr_generate(dirs, funasr_models, waves, kind):
    """funasr's float export gives funasr's tokens exactly. int8 (model_quant.onnx, the
    default when both are there) is not held to it: dynamic quantisation moves the
    log-posteriors by ~1e-2, and on these untrained models, whose top two tokens are often
    closer than that, some positions flip; the agreement is printed."""
    from asr.models.onnx_model import OnnxAcousticModel

    onnx = OnnxAcousticModel(dirs[kind]["onnx"], "paraformer", quantized=False)
    quantised = OnnxAcousticModel(dirs[kind]["onnx"], "paraformer", quantized=True)
    same = total = 0
    for wave in waves:
        reference = funasr_token_ids(funasr_models[kind], wave)
        assert our_token_ids(onnx, onnx.posteriors([wave])[0]) == reference
        int8 = our_token_ids(quantised, quantised.posteriors([wave])[0])
        same += sum(a == b for a, b in zip(int8, reference))
        total += max(len(int8), len(reference))
    print(f"{kind}: int8 ONNX agrees with funasr on {same}/{total} tokens")
    assert same >= total // 2


def generated_word_times(reference):
    """funasr's timestamps ([[start_ms, end_ms], ...]) in seconds."""
    return [(s / 1000.0, e / 1000.0) for s, e in reference["timestamp"]]


@pytest.mark.parametrize("kind", TIMED)
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_word_times_within_10ms_of_funasr(dirs, torch_models, generated, waves, kind, backend):
    """BiCif / SeACo times come from the 3x upsampled CIF weights (calc_predictor_timestamp
    in torch, us_alphas / us_cif_peak in funasr's ONNX export) by FunASR's rule."""
    from asr.models.onnx_model import OnnxAcousticModel

    am = torch_models[kind] if backend == "torch" else \
        OnnxAcousticModel(dirs[kind]["onnx"], "paraformer", quantized=False)
    assert am.has_token_times
    rec = Recognizer(am)
    for wave, reference in zip(waves, generated[kind]):
        transcript = rec.decode(am.posteriors([wave])[0])
        theirs = generated_word_times(reference)
        ours = [tuple(t) for t in transcript.times][:len(comparable_words(transcript))]
        assert len(ours) == len(theirs) > 0
        # FunASR reports a fire in the first frames as a negative time; Tingxie clamps to 0
        error = np.abs(np.array(ours) - np.maximum(np.array(theirs), 0.0))
        assert error.max() <= 0.010, (kind, backend, error.max())


def test_plain_paraformer_onnx_says_it_has_no_times(dirs, waves):
    """funasr's plain Paraformer export has only logits and token_num: words come without
    times and the model says so (has_token_times), rather than inventing any."""
    am = load_acoustic_model(dirs["paraformer-zh"]["onnx"])
    assert not am.has_token_times
    transcript = Recognizer(am).decode(am.posteriors([waves[0]])[0])
    assert transcript.words and all(tuple(t) == (None, None) for t in transcript.times)


def test_chinese_text_has_no_spaces(torch_models, waves):
    am = torch_models["bicif"]
    transcript = Recognizer(am).decode(am.posteriors([waves[0]])[0])
    assert len(transcript.tokens) > 3 and " " not in transcript.text
    assert transcript.text == "".join(transcript.words)


@pytest.mark.parametrize("kind", TYPES)
def test_tingxie_exporter_handles_every_type(dirs, torch_models, waves, tmp_path, kind):
    """asr.models.export on each torch directory: the ONNX files load and give the torch
    backend's tokens and token times."""
    from asr.models.export import export_onnx
    from asr.models.onnx_model import OnnxAcousticModel

    written = [os.path.basename(p) for p in export_onnx(dirs[kind]["torch"], str(tmp_path))]
    assert "model.onnx" in written and ("model_eb.onnx" in written) == (kind == "seaco")
    for name in ("am.mvn", "config.yaml", "tokens.json"):
        with open(os.path.join(dirs[kind]["torch"], name), "rb") as src:
            (tmp_path / name).write_bytes(src.read())
    onnx = OnnxAcousticModel(str(tmp_path), "paraformer", quantized=False)
    reference = torch_models[kind].posteriors([waves[1]])[0]
    output = onnx.posteriors([waves[1]])[0]
    assert np.array_equal(output.logp.argmax(1), reference.logp.argmax(1))
    np.testing.assert_allclose(output.token_times, reference.token_times, atol=1e-6)


# --- the command line and graphs, as a user meets these directories ----------------------------
ZH_WORDS = ["一丁", "丁七", "万", "hello", "world", "zebra", "Hello", "丁x"]  # zebra: not listed
EN_WORDS = ["aa", "ab", "gkqaa", "gkrab", "zebra", "hello", "Aa"]          # zebra, hello: not


def write_unigram_arpa(path, words):
    lines = ["\\data\\", f"ngram 1={len(words) + 3}", "", "\\1-grams:"]
    prob = -np.log10(len(words) + 2)
    for word in ["<unk>", "</s>"] + list(words):
        lines.append(f"{prob:.4f}\t{word}")
    lines += ["-99\t<s>", "", "\\end\\", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="session")
def graphs(dirs, tmp_path_factory):
    """Sync-topology graphs for paraformer-zh (seg_dict: characters and English BPE words) and
    paraformer-en (`@@` BPE), words spelled by `tingxie graph compile --seg-dict` alone."""
    from asr.cli import main

    out = {}
    root = tmp_path_factory.mktemp("graphs")
    for kind, words in (("paraformer-zh", ZH_WORDS), ("paraformer-en", EN_WORDS)):
        model = dirs[kind]["torch"]
        arpa = root / f"{kind}.arpa"
        write_unigram_arpa(arpa, words)
        graph = root / kind
        assert main(["graph", "compile", "--tokens", os.path.join(model, "tokens.json"),
                     "--lm", str(arpa), "--seg-dict", os.path.join(model, "seg_dict"),
                     "--topology", "sync", "-o", str(graph)]) == 0
        out[kind] = str(graph)
    return out


@pytest.mark.parametrize("kind", ["paraformer-zh", "paraformer-en"])
def test_graph_spells_words_as_funasrs_tokenizer(dirs, graphs, kind):
    """Every word, listed in seg_dict or not (`zebra`: <unk> per letter without an entry, not
    five one-letter words), has the spelling funasr's CharTokenizer gives it."""
    from funasr.tokenizer.char_tokenizer import CharTokenizer

    tokenizer = CharTokenizer(seg_dict=os.path.join(dirs[kind]["torch"], "seg_dict"),
                              split_with_space=True)
    lexicon = {}
    with open(os.path.join(graphs[kind], "lexicon.txt"), encoding="utf-8") as f:
        for line in f:
            word, *spelling = line.split()
            lexicon[word] = spelling
    words = ZH_WORDS if kind == "paraformer-zh" else EN_WORDS
    assert set(lexicon) - {"<unk>"} == set(words)
    for word in words:
        assert lexicon[word] == tokenizer.text2tokens(word), word
    assert lexicon["zebra"] == tokenizer.text2tokens("zebra") and "<unk>" in lexicon["zebra"]


def test_oov_hotwords_are_spelled_as_funasrs_tokenizer(dirs, graphs):
    from asr.decoder import Decoder
    from funasr.tokenizer.char_tokenizer import CharTokenizer

    decoder = Decoder(graphs["paraformer-en"])
    tokenizer = CharTokenizer(seg_dict=os.path.join(dirs["paraformer-en"]["torch"],
                                                    "seg_dict"), split_with_space=True)
    speller = decoder._make_oov_speller()
    for word in ("gksac", "quux", "ab"):
        assert list(speller.spell(word)) == tokenizer.text2tokens(word)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_tingxie_transcribe_no_lm_without_mode(dirs, tmp_path, kind, backend):
    from asr.cli import main

    out = tmp_path / "out"
    assert main(["transcribe", WAVS[0], "--model", dirs[kind][backend], "--no-lm",
                 "-o", str(out), "--no-progress"]) == 0
    with open(out / "results.jsonl", encoding="utf-8") as f:
        (record,) = [json.loads(line) for line in f]
    assert record["words"] and record["tokens"]
    if kind != "paraformer-en":
        assert " " not in record["text"]


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_tingxie_transcribe_with_a_sync_graph(dirs, graphs, tmp_path, kind, backend):
    """No --mode: the graph's sync topology picks paraformer; every word is a graph word.
    SeACo and BiCif share paraformer-zh's vocabulary (tokens.json, seg_dict), so its graph."""
    from asr.cli import main

    graph = graphs["paraformer-en" if kind == "paraformer-en" else "paraformer-zh"]
    for name in ("tokens.json", "seg_dict"):
        with open(os.path.join(dirs[kind][backend], name), "rb") as a, \
                open(os.path.join(dirs["paraformer-zh" if kind != "paraformer-en" else kind]
                                  ["torch"], name), "rb") as b:
            assert a.read() == b.read(), (kind, name)
    out = tmp_path / "out"
    assert main(["transcribe", *WAVS, "--model", dirs[kind][backend], "--graph", graph,
                 "-o", str(out), "--no-progress"]) == 0
    with open(out / "results.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    words = set(EN_WORDS if kind == "paraformer-en" else ZH_WORDS) | {"<unk>"}
    assert len(records) == 2 and any(r["words"] for r in records)
    assert all(set(r["words"]) <= words for r in records)


def test_graph_compile_accepts_one_token_per_line(dirs, tmp_path):
    """The older tokens.txt (one token a line, column = line) compiles like tokens.json."""
    from asr.cli import main

    model = dirs["paraformer-en"]["torch"]
    with open(os.path.join(model, "tokens.json"), encoding="utf-8") as f:
        tokens = json.load(f)
    (tmp_path / "tokens.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    arpa = tmp_path / "lm.arpa"
    write_unigram_arpa(arpa, EN_WORDS)
    assert main(["graph", "compile", "--tokens", str(tmp_path / "tokens.txt"), "--lm", str(arpa),
                 "--seg-dict", os.path.join(model, "seg_dict"), "--topology", "sync",
                 "-o", str(tmp_path / "g")]) == 0
    with open(tmp_path / "g" / "tokens.txt", encoding="utf-8") as f:
        assert [line.split()[0] for line in f] == tokens
