"""sherpa-onnx offline Paraformer directories (model.int8.onnx + tokens.txt, features from the
ONNX metadata): Tingxie reads one as it reads the FunASR directory it was made from, and
sherpa-onnx itself reads what Tingxie writes. The directory is built here from the shipped demo
model (asr.models.sherpa.write_sherpa_paraformer)."""
import glob
import os
import shutil

import numpy as np
import pytest

from asr.audio import load_audio
from asr.cli import main
from asr.models import load_acoustic_model, model_directory_kind
from asr.models.sherpa import write_sherpa_paraformer
from asr.recognizer import Recognizer
from common.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "resources", "demo")
MODEL = os.path.join(DEMO, "model")
WAVS = [os.path.join(DEMO, "test", "wav", f"test_{k:05d}.wav") for k in range(4)]


@pytest.fixture(scope="module")
def sherpa_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sherpa") / "demo")
    write_sherpa_paraformer(MODEL, out)
    return out


def test_the_written_directory_is_sherpa_shaped(sherpa_dir):
    assert sorted(os.listdir(sherpa_dir)) == ["model.int8.onnx", "tokens.txt"]
    assert model_directory_kind(sherpa_dir) == "sherpa-onnx"
    assert model_directory_kind(MODEL) == "funasr"
    with open(os.path.join(sherpa_dir, "tokens.txt"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0] == "<blank> 0" and lines[-1].endswith(f" {len(lines) - 1}")


def test_same_posteriors_and_words_as_the_funasr_directory(sherpa_dir):
    sherpa = load_acoustic_model(sherpa_dir)
    funasr = load_acoustic_model(MODEL, mode="paraformer", backend="onnx")
    assert sherpa.mode == "paraformer" and sherpa.tokens == funasr.tokens
    waves = [load_audio(p) for p in WAVS]
    ours, theirs = sherpa.posteriors(waves), funasr.posteriors(waves)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.logp, b.logp, atol=1e-5)
        assert a.token_times == b.token_times
    texts = sherpa.greedy_text(ours)
    assert texts == funasr.greedy_text(theirs) and all(texts)


def test_recognizer_with_the_sync_graph_matches(sherpa_dir):
    graph = os.path.join(DEMO, "graph_sync")
    ours = Recognizer(sherpa_dir, graph=graph).transcribe(WAVS)
    theirs = Recognizer(MODEL, graph=graph, backend="onnx").transcribe(WAVS)
    assert [r.words for r in ours] == [r.words for r in theirs]
    assert [r.times for r in ours] == [r.times for r in theirs]
    assert any(r.words for r in ours)


def test_transcribe_command_reads_it(sherpa_dir, tmp_path):
    for name, model in (("sherpa", sherpa_dir), ("funasr", MODEL)):
        argv = ["transcribe", *WAVS[:2], "--model", model, "--no-lm", "--no-progress",
                "-o", str(tmp_path / name)]
        if name == "funasr":
            argv += ["--mode", "paraformer", "--backend", "onnx"]
        assert main(argv) == 0
    ours = (tmp_path / "sherpa" / "text").read_text(encoding="utf-8")
    assert ours == (tmp_path / "funasr" / "text").read_text(encoding="utf-8")
    assert len(ours.splitlines()) == 2


def test_sherpa_onnx_reads_what_we_write(sherpa_dir):
    """sherpa-onnx's own recogniser on the directory: features from our metadata (its fbank
    differs from ours by rounding, so outputs agree closely rather than exactly: a CIF count
    that flips in one utterance changes several letters, so the whole test set is compared)."""
    import kaldialign
    import sherpa_onnx

    recognizer = sherpa_onnx.OfflineRecognizer.from_paraformer(
        paraformer=os.path.join(sherpa_dir, "model.int8.onnx"),
        tokens=os.path.join(sherpa_dir, "tokens.txt"), num_threads=1)
    wavs = sorted(glob.glob(os.path.join(DEMO, "test", "wav", "*.wav")))
    assert len(wavs) == 50
    theirs = []
    for path in wavs:
        stream = recognizer.create_stream()
        stream.accept_waveform(16000, load_audio(path))
        recognizer.decode_stream(stream)
        theirs.append(" ".join(stream.result.text.replace(" ", "").replace("|", " ").split()))
    model = load_acoustic_model(sherpa_dir)
    ours = model.greedy_text(model.posteriors([load_audio(p) for p in wavs]))
    errors = sum(kaldialign.edit_distance(list(a), list(b))["total"]
                 for a, b in zip(ours, theirs))
    assert all(theirs)
    assert errors <= 0.03 * sum(len(a) for a in ours), (ours, theirs)


# --- bad directories ---------------------------------------------------------------------------
def _copy(sherpa_dir, tmp_path, name, drop=()):
    out = tmp_path / name
    shutil.copytree(sherpa_dir, out)
    for file in drop:
        os.remove(out / file)
    return out


def _error(path, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        load_acoustic_model(str(path), **kwargs)
    return caught.value


def test_bad_directories_are_input_errors(sherpa_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "neither FunASR's" in _error(empty).message

    no_tokens = _copy(sherpa_dir, tmp_path, "no_tokens", drop=["tokens.txt"])
    err = _error(no_tokens)
    assert err.path == str(no_tokens) and "tokens.txt" in err.message

    garbage = _copy(sherpa_dir, tmp_path, "garbage")
    (garbage / "model.int8.onnx").write_bytes(b"not an onnx model" * 10)
    err = _error(garbage)
    assert err.path == str(garbage / "model.int8.onnx") and "cannot load" in err.message

    plain = _copy(sherpa_dir, tmp_path, "plain", drop=["model.int8.onnx"])
    shutil.copy(os.path.join(MODEL, "model_quant.onnx"), plain / "model.onnx")  # no metadata
    err = _error(plain)
    assert err.path == str(plain / "model.onnx") and "lfr_window_size" in err.message

    short = _copy(sherpa_dir, tmp_path, "short_tokens")
    lines = (short / "tokens.txt").read_text(encoding="utf-8").splitlines()
    (short / "tokens.txt").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    err = _error(short)
    assert err.path == str(short / "tokens.txt") and "vocab_size" in err.message

    assert "paraformer mode" in _error(sherpa_dir, mode="ctc").message
    assert "ONNX backend" in _error(sherpa_dir, backend="torch").message
