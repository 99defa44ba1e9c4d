"""The shipped demo model and test set (resources/demo): held-out by construction, within the
size budget, our posteriors reproduce funasr's own `generate`, ONNX reproduces torch, and the
model meets the issue's accuracy bar. Skipped until resources/demo/model ships."""
import gzip
import os
import shutil

import numpy as np
import pytest
import soundfile

from common.kaldi import read_kaldi_text, read_wav_scp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "resources", "demo")
MODEL = os.path.join(DEMO, "model")
TEST = os.path.join(DEMO, "test")



@pytest.fixture(scope="module")
def test_set():
    text = read_kaldi_text(os.path.join(TEST, "text"))
    scp = {entry.key: entry.path for entry in read_wav_scp(os.path.join(TEST, "wav.scp"))}
    return text, scp


@pytest.fixture(scope="module")
def waves(test_set):
    from asr.audio import load_audio

    text, scp = test_set
    return [load_audio(os.path.join(ROOT, scp[k])) for k in sorted(text)]


def cer(references, hypotheses):
    import kaldialign

    errors = sum(kaldialign.edit_distance(list(r), list(h))["total"]
                 for r, h in zip(references, hypotheses))
    return 100.0 * errors / sum(len(r) for r in references)


def test_test_set_is_held_out_and_well_formed(test_set):
    text, scp = test_set
    assert len(text) == 50 and set(text) == set(scp)
    with gzip.open(os.path.join(ROOT, "tools", "demo", "data", "train.txt.gz"), "rt") as f:
        training = {line.rstrip("\n").split(" ", 1)[1] for line in f}
    assert not set(text.values()) & training  # neither AM nor LM training saw them
    for key, rel in scp.items():
        assert not os.path.isabs(rel)  # relative to the repository root
        info = soundfile.info(os.path.join(ROOT, rel))
        assert info.samplerate == 16000 and info.channels == 1 and info.duration > 0.5


def test_model_directory_within_budget():
    names = set(os.listdir(MODEL))
    assert {"config.yaml", "model.pt", "tokens.json", "am.mvn", "configuration.json"} <= names
    assert sum(os.path.getsize(os.path.join(MODEL, n)) for n in names) <= 15 * 1024 * 1024


class Models:
    """Each (mode, backend) of the shipped model loaded once, with its test-set posteriors."""

    def __init__(self, waves):
        self.waves = waves
        self.cache = {}

    def get(self, mode, backend):
        if (mode, backend) not in self.cache:
            from asr.models import load_acoustic_model

            am = load_acoustic_model(MODEL, mode=mode, backend=backend)
            self.cache[mode, backend] = (am, am.posteriors(self.waves))
        return self.cache[mode, backend]


@pytest.fixture(scope="module")
def models(waves):
    return Models(waves)


def test_greedy_text_equals_funasr_generate(models, waves):
    am, outputs = models.get("paraformer", "torch")
    for wave, text in zip(waves, am.greedy_text(outputs)):
        generated = am.auto_model.generate(input=wave, disable_pbar=True)
        # funasr's sentence_postprocess spaces out non-letter tokens (`god ' s`); its words
        # are the `|`-delimited runs of tokens, as ours are
        theirs = " ".join(generated[0]["text"].lower().replace(" ", "").replace("|", " ").split())
        assert text == theirs


@pytest.fixture(scope="module")
def fp32_onnx_dir(tmp_path_factory):
    from asr.models.export import export_onnx

    directory = str(tmp_path_factory.mktemp("demo_onnx") / "model")
    shutil.copytree(MODEL, directory)
    for name in os.listdir(directory):
        if name.endswith(".onnx"):
            os.remove(os.path.join(directory, name))
    export_onnx(directory)
    return directory


@pytest.mark.parametrize("mode", ["ctc", "paraformer"])
def test_onnx_posteriors_match_torch(models, fp32_onnx_dir, waves, mode):
    """The float32 export of the shipped weights against torch on the same weights."""
    from asr.models.onnx_model import OnnxAcousticModel

    _, reference = models.get(mode, "torch")
    onnx_am = OnnxAcousticModel(fp32_onnx_dir, mode, quantized=False)
    for ref, out in zip(reference[:10], onnx_am.posteriors(waves[:10])):
        assert out.logp.shape == ref.logp.shape
        assert np.abs(out.logp - ref.logp).max() <= 1e-3
        assert np.array_equal(out.logp.argmax(1), ref.logp.argmax(1))


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_ctc_greedy_cer_meets_the_bar(models, test_set, backend):
    """Held-out greedy CER of the CTC head < 12% (the issue's bar), for torch and for the
    shipped int8 ONNX export."""
    text, _ = test_set
    am, outputs = models.get("ctc", backend)
    references = [text[k] for k in sorted(text)]
    assert cer(references, am.greedy_text(outputs)) < 12.0
