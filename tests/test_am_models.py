"""asr.models on a tiny randomly initialised Paraformer + CTC model that this test builds and
saves as a FunASR model directory (the demo model's config, shrunk), so the real loading code
(funasr.AutoModel from disk, ONNX export, onnxruntime) is exercised without shipped weights.

References: funasr's own calls (AutoModel frontend + model.encode / ctc / inference) for the
torch backend, the torch backend for the ONNX backend (max |delta| <= 1e-3, same argmax).
"""
import copy
import json
import os
import socket

import numpy as np
import pytest
import soundfile
import yaml

import funasr  # noqa: F401
import torch
import onnxruntime  # noqa: F401

from asr.models import load_acoustic_model  # noqa: E402
from asr.models.base import cif_token_times, fire_frames  # noqa: E402
from common.token_words import TokenWords  # noqa: E402
from asr.models.model_dir import build_model, write_model_dir  # noqa: E402
from common.errors import InputError  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENS = ["<blank>", "'"] + [chr(c) for c in range(97, 123)] + ["|", "<s>", "</s>", "<unk>"]


def tiny_config():
    with open(os.path.join(ROOT, "tools", "demo", "conf", "config.yaml")) as f:
        config = yaml.safe_load(f)
    config["encoder_conf"].update(output_size=32, attention_heads=2, linear_units=64,
                                  num_blocks=2)
    config["decoder_conf"].update(attention_heads=2, linear_units=64, num_blocks=1,
                                  att_layer_num=1)
    config["predictor_conf"]["idim"] = 32
    return config


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("am") / "tiny")
    config = tiny_config()
    torch.manual_seed(0)
    model = build_model(config, len(TOKENS))
    with torch.no_grad():  # make the CIF fire about once per 3 frames, like a trained model
        model.predictor.cif_output.bias.fill_(-0.7)
    rng = np.random.default_rng(0)
    dim = 80 * config["frontend_conf"]["lfr_m"]
    write_model_dir(directory, config, model.state_dict(), TOKENS,
                    rng.normal(8.0, 2.0, dim), rng.uniform(0.2, 0.5, dim))
    return directory


@pytest.fixture(scope="module")
def onnx_dir(model_dir, tmp_path_factory):
    from asr.models.export import export_onnx

    directory = str(tmp_path_factory.mktemp("onnx") / "tiny")
    os.makedirs(directory)
    for name in os.listdir(model_dir):
        with open(os.path.join(model_dir, name), "rb") as src, \
                open(os.path.join(directory, name), "wb") as dst:
            dst.write(src.read())
    export_onnx(directory)
    return directory


@pytest.fixture(scope="module")
def waves():
    rng = np.random.default_rng(1)
    out = []
    for seconds in (1.3, 0.7, 2.1):
        t = np.arange(int(seconds * 16000)) / 16000
        voiced = np.sin(2 * np.pi * (150 + 100 * t) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
        out.append((0.3 * voiced + 0.02 * rng.normal(size=t.shape)).astype(np.float32))
    return out


@pytest.fixture(scope="module")
def torch_ctc(model_dir):
    return load_acoustic_model(model_dir, mode="ctc", backend="torch")


@pytest.fixture(scope="module")
def torch_paraformer(model_dir):
    return load_acoustic_model(model_dir, mode="paraformer", backend="torch")


def test_interface(torch_ctc, torch_paraformer):
    for am in (torch_ctc, torch_paraformer):
        assert am.tokens == TOKENS and am.sample_rate == 16000
        assert am.frame_shift == pytest.approx(0.04)  # LFR stride 4 of 10 ms frames


def test_ctc_posteriors_match_funasr_single_utterance(torch_ctc, waves):
    """Batched, padded posteriors equal funasr's own frontend + encode + CTC head, one by one."""
    outputs = torch_ctc.posteriors(waves)
    model = torch_ctc.auto_model.model
    frontend = torch_ctc.auto_model.kwargs["frontend"]
    for wave, out in zip(waves, outputs):
        with torch.no_grad():
            feats, lens = frontend(torch.from_numpy(wave)[None], torch.tensor([len(wave)]))
            enc, enc_lens = model.encode(feats, lens)
            expected = model.ctc.log_softmax(enc)[0, : int(enc_lens[0])].numpy()
        assert out.logp.dtype == np.float32 and out.token_times is None
        fbank_frames = (len(wave) - 400) // 160 + 1  # 25 ms windows every 10 ms
        lfr_frames = -(-fbank_frames // 4)
        assert out.logp.shape == expected.shape == (lfr_frames, len(TOKENS))
        np.testing.assert_allclose(out.logp, expected, atol=1e-4)
        np.testing.assert_allclose(np.exp(out.logp).sum(1), 1.0, atol=1e-4)


def test_paraformer_tokens_match_funasr_inference(torch_paraformer, waves):
    """Our greedy tokens are funasr inference's tokens with the final (</s>) slot removed."""
    outputs = torch_paraformer.posteriors(waves)
    model = torch_paraformer.auto_model.model
    frontend = torch_paraformer.auto_model.kwargs["frontend"]
    special = {TOKENS.index(t) for t in ("<blank>", "<s>", "</s>")}
    for k, (wave, out) in enumerate(zip(waves, outputs)):
        result, _ = model.inference([torch.from_numpy(wave)], key=[f"u{k}"], tokenizer=None,
                                    frontend=frontend, device="cpu")
        theirs = result[0]["token_int"]
        ours = [int(i) for i in out.logp.argmax(1) if int(i) not in special]
        assert len(out.logp) >= 1 and out.logp.shape[1] == len(TOKENS)
        assert theirs[: len(ours)] == ours and len(theirs) - len(ours) in (0, 1)
        assert len(out.token_times) == len(out.logp)
        starts = [s for s, _ in out.token_times]
        assert starts == sorted(starts)
        assert all(0 <= s <= e <= len(wave) / 16000 + 0.1 for s, e in out.token_times)


def test_paraformer_batch_equals_single(torch_paraformer, waves):
    batched = torch_paraformer.posteriors(waves)
    for wave, out in zip(waves, batched):
        single = torch_paraformer.posteriors([wave])[0]
        assert single.logp.shape == out.logp.shape
        np.testing.assert_allclose(single.logp, out.logp, atol=1e-4)
        assert single.token_times == out.token_times


def test_greedy_text_matches_funasr_generate_text(torch_paraformer, waves):
    """funasr's generate text, mapped to words ('|' -> space), against ours plus the final slot
    funasr keeps when its argmax is not </s> (the tiny model is untrained)."""
    for wave, out in zip(waves, torch_paraformer.posteriors(waves)):
        generated = torch_paraformer.auto_model.generate(input=wave, disable_pbar=True)[0]["text"]
        theirs = " ".join(generated.lower().replace("|", " ").split())
        ours = torch_paraformer.greedy_text([out])[0]
        assert theirs.startswith(ours) and len(theirs) - len(ours) <= 2


@pytest.mark.parametrize("mode", ["ctc", "paraformer"])
def test_onnx_matches_torch(onnx_dir, waves, mode):
    from asr.models.onnx_model import OnnxAcousticModel

    reference = load_acoustic_model(onnx_dir, mode=mode, backend="torch").posteriors(waves)
    onnx = OnnxAcousticModel(onnx_dir, mode, quantized=False)
    assert os.path.basename(onnx.onnx_path) == ("model_ctc.onnx" if mode == "ctc" else "model.onnx")
    for ref, out in zip(reference, onnx.posteriors(waves)):
        assert out.logp.shape == ref.logp.shape
        assert np.abs(out.logp - ref.logp).max() <= 1e-3
        assert np.array_equal(out.logp.argmax(1), ref.logp.argmax(1))
        if mode == "paraformer":
            np.testing.assert_allclose(out.token_times, ref.token_times, atol=1e-6)


def test_onnx_output_names_follow_funasr(onnx_dir):
    import onnxruntime

    session = onnxruntime.InferenceSession(os.path.join(onnx_dir, "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["speech", "speech_lengths"]
    assert [o.name for o in session.get_outputs()][:2] == ["logits", "token_num"]


def test_auto_backend_prefers_onnx_export(onnx_dir, model_dir):
    assert type(load_acoustic_model(onnx_dir, mode="ctc")).__name__ == "OnnxAcousticModel"
    with pytest.raises(InputError, match="no ONNX export"):
        load_acoustic_model(model_dir, mode="ctc", backend="onnx")


def test_loading_opens_no_socket(model_dir, onnx_dir, waves, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for backend in ("torch", "onnx"):
        am = load_acoustic_model(onnx_dir if backend == "onnx" else model_dir, mode="paraformer",
                                 backend=backend)
        assert len(am.posteriors(waves[:1])) == 1


def test_bad_model_directories(tmp_path, model_dir):
    with pytest.raises(InputError, match="no such model directory"):
        load_acoustic_model(tmp_path / "missing")
    with pytest.raises(InputError, match="config.yaml"):
        load_acoustic_model(tmp_path, backend="torch")
    with pytest.raises(ValueError, match="mode"):
        load_acoustic_model(model_dir, mode="attention")
    with pytest.raises(ValueError, match="backend"):
        load_acoustic_model(model_dir, backend="tensorflow")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in os.listdir(model_dir):
        (broken / name).write_bytes(open(os.path.join(model_dir, name), "rb").read())
    (broken / "tokens.json").write_text(json.dumps(TOKENS[:-1]))
    with pytest.raises(InputError, match="token list has 31 entries"):
        load_acoustic_model(broken, backend="torch")
    (broken / "tokens.json").write_text("[not json")
    with pytest.raises(InputError, match="tokens.json"):
        load_acoustic_model(broken, backend="torch")


def test_posteriors_rejects_bad_waves(torch_ctc):
    with pytest.raises(ValueError, match="wave 0"):
        torch_ctc.posteriors([np.zeros(10, np.float32)])
    with pytest.raises(ValueError, match="wave 1"):
        torch_ctc.posteriors([np.zeros(8000, np.float32), np.zeros((2, 8000), np.float32)])
    assert torch_ctc.posteriors([]) == []


def test_numpy_frontend_matches_funasr(torch_ctc, waves, model_dir):
    from asr.models.base import read_config
    from asr.models.frontend import WavFrontend, read_am_mvn

    ours = WavFrontend(read_config(model_dir)["frontend_conf"],
                       read_am_mvn(os.path.join(model_dir, "am.mvn")))
    theirs = torch_ctc.auto_model.kwargs["frontend"]
    for wave in waves:
        feats, lens = theirs(torch.from_numpy(wave)[None], torch.tensor([len(wave)]))
        np.testing.assert_allclose(ours(wave), feats[0, : int(lens[0])].numpy(), atol=1e-3)


def test_apply_lfr_matches_funasr():
    from funasr.frontends.wav_frontend import apply_lfr as funasr_lfr

    from asr.models.frontend import apply_lfr

    rng = np.random.default_rng(2)
    for frames in range(1, 30):
        feats = rng.normal(size=(frames, 3)).astype(np.float32)
        for m, n in ((7, 6), (7, 4), (5, 3), (1, 1)):
            assert np.array_equal(apply_lfr(feats, m, n),
                                  funasr_lfr(torch.from_numpy(feats), m, n).numpy()), (frames, m, n)


def test_am_mvn_errors(tmp_path):
    from asr.models.frontend import read_am_mvn

    path = tmp_path / "am.mvn"
    path.write_text("<Nnet>\n<AddShift> 2 2\n<LearnRateCoef> 0 [ 1 x ]\n</Nnet>\n")
    with pytest.raises(InputError) as err:
        read_am_mvn(path)
    assert err.value.line == 3 and "non-numeric" in err.value.message
    path.write_text("<Nnet>\n</Nnet>\n")
    with pytest.raises(InputError, match="AddShift"):
        read_am_mvn(path)


def test_cif_token_times_follow_funasr_rule():
    # fires at frames 2, 5, 9 (+ the </s> fire at 12): 3 tokens; FunASR shifts fires 1.5 frames
    alphas = np.zeros(14, np.float32)
    peaks = np.zeros(14, np.float32)
    for frame in (2, 5, 9, 12):
        peaks[frame] = 1.0
    times = cif_token_times(alphas, peaks, 3, 0.04)
    # the last token runs on to the end of the audio (14 frames), <= 5 frames after </s>'s fire
    expected = [(0.5 * 0.04, 3.5 * 0.04), (3.5 * 0.04, 7.5 * 0.04), (7.5 * 0.04, 14 * 0.04)]
    np.testing.assert_allclose(times, expected)
    # ... or halfway there when more remain
    long_peaks = np.concatenate([peaks, np.zeros(10, np.float32)])
    assert cif_token_times(np.zeros(24), long_peaks, 3, 0.04)[-1][1] == \
        pytest.approx((24 + 10.5) / 2 * 0.04)
    # a long gap is capped at 12 frames
    peaks = np.zeros(31, np.float32)
    peaks[[2, 30]] = 1.0
    (start, end), = cif_token_times(np.zeros(31), peaks, 1, 0.06)
    assert end - start == pytest.approx(12 * 0.06)
    # wrong number of peaks: alphas are rescaled to num_tokens + 1 and integrated again
    alphas = np.full(20, 0.25, np.float32)
    assert fire_frames(alphas * (4 / 5.0)).tolist() == [4, 9, 14, 19]
    assert len(cif_token_times(alphas, np.zeros(20), 3, 0.04)) == 3


def test_greedy_text_follows_the_token_word_rule():
    letters = list("abdehlortw|")
    assert TokenWords(letters).text(list("the|lord|")) == "the lord"
    assert TokenWords(letters, word_boundary="w").text(list("thewlordw")) == "the lord"
    assert TokenWords(["▁he", "llo", "▁world"]).text(["▁he", "llo", "▁world"]) == "hello world"
    bpe = ["he@@", "llo", "wor@@", "ld"]
    assert TokenWords(bpe).text(bpe) == "hello world"
    assert TokenWords(list("你好")).text(list("你好")) == "你好"


def test_cif_token_times_equal_funasrs_timestamps():
    """Against funasr's own ts_prediction_lfr6_standard (3x upsampled, as BiCif / SeACo),
    on random CIF weights with the right and the wrong number of peaks."""
    from funasr.utils.timestamp_tools import ts_prediction_lfr6_standard

    rng = np.random.default_rng(3)
    for trial in range(20):
        frames = int(rng.integers(40, 200))
        alphas = rng.uniform(0.0, 0.7, frames).astype(np.float32)
        fires = np.flatnonzero(rng.uniform(size=frames) < 0.15)
        fires = fires[fires >= 2]
        peaks = np.zeros(frames, np.float32)
        peaks[fires] = 1.0
        n = max(len(fires) - 1, 1) if trial % 2 else max(len(fires) + 1, 1)
        _, theirs = ts_prediction_lfr6_standard(torch.from_numpy(alphas.copy()),
                                                torch.from_numpy(peaks), ["x"] * n)
        ours = cif_token_times(alphas, peaks, n, 0.02)
        assert len(theirs) == len(ours)
        np.testing.assert_allclose(np.array(ours) * 1000, np.maximum(theirs, 0), atol=1.0)
