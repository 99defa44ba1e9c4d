"""Speech-LLM and causal-LM rescorers on tiny random models saved to and loaded back from a
directory, through the code path that loads a real Qwen2-Audio directory. The shared-prefix KV
cache must give the same scores as running every hypothesis from scratch."""
import json
import os

import numpy as np
import pytest

import torch
import transformers

from asr.rescoring.llm import CausalLmRescorer, SpeechLlmRescorer
from common.errors import InputError
from tests.tiny_qwen2_audio import tiny_qwen2_audio

HYPS = [["the", "lord"], ["he", "maketh", "me", "to", "lie", "down"], ["shepherd"], [],
        ["green", "pastures", "i", "shall", "not", "want"], ["the", "lord", "is", "my"]]


@pytest.fixture(scope="module")
def qwen2_audio_dir(tmp_path_factory):
    return tiny_qwen2_audio(str(tmp_path_factory.mktemp("qwen2audio")))


@pytest.fixture(scope="module")
def audio():
    rng = np.random.RandomState(0)
    return (0.1 * rng.randn(16000 * 3)).astype(np.float32), \
        (0.1 * rng.randn(16000 * 5)).astype(np.float32)


def test_directory_is_laid_out_like_a_real_qwen2_audio(qwen2_audio_dir):
    config = json.load(open(os.path.join(qwen2_audio_dir, "config.json")))
    assert config["model_type"] == "qwen2_audio"
    assert "Qwen2AudioForConditionalGeneration" in config["architectures"]
    processor = transformers.AutoProcessor.from_pretrained(qwen2_audio_dir)
    assert type(processor).__name__ == "Qwen2AudioProcessor"
    features = processor(text="<|audio_bos|><|AUDIO|><|audio_eos|>", audio=np.zeros(16000,
                         dtype=np.float32), sampling_rate=16000, return_tensors="pt")
    assert features["input_features"].shape[-1] == 3000  # Whisper's fixed 30 s window


def test_shared_kv_cache_gives_the_same_scores(qwen2_audio_dir, audio):
    shared = SpeechLlmRescorer(qwen2_audio_dir, batch_size=4)  # two batches: cache copied twice
    alone = SpeechLlmRescorer(qwen2_audio_dir, share_prefix=False)
    with_cache, without = shared.score(HYPS, audio[0]), alone.score(HYPS, audio[0])
    assert np.max(np.abs(np.array(with_cache) - np.array(without))) <= 1e-4
    assert len({round(s, 2) for s in with_cache}) == len(HYPS)


def test_scores_depend_on_the_audio_and_are_log_probabilities(qwen2_audio_dir, audio):
    rescorer = SpeechLlmRescorer(qwen2_audio_dir)
    first, second = rescorer.score(HYPS, audio[0]), rescorer.score(HYPS, audio[1])
    assert max(abs(a - b) for a, b in zip(first, second)) > 0.1
    assert all(s < 0 for s in first)


def test_text_only_causal_lm_shares_its_prompt(tmp_path):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    directory = tiny_qwen2_audio(str(tmp_path / "qa"))
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    torch.manual_seed(1)
    model = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, initializer_range=0.5,
        eos_token_id=tokenizer.eos_token_id))
    model.save_pretrained(str(tmp_path / "lm"))
    tokenizer.save_pretrained(str(tmp_path / "lm"))
    for prompt in ("", "a transcript:"):
        shared = CausalLmRescorer(str(tmp_path / "lm"), prompt=prompt, batch_size=4)
        alone = CausalLmRescorer(str(tmp_path / "lm"), prompt=prompt, share_prefix=False)
        a, b = shared.score(HYPS), alone.score(HYPS)
        assert np.max(np.abs(np.array(a) - np.array(b))) <= 1e-4
    # by hand: one hypothesis, full forward, sum of next-token log-probs
    ids = tokenizer("the lord", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    prefix = tokenizer("a transcript:", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([prefix + ids])).logits[0]
    logprobs = torch.log_softmax(logits, dim=-1)
    expected = sum(float(logprobs[len(prefix) - 1 + i, t]) for i, t in enumerate(ids))
    assert a[0] == pytest.approx(expected, abs=1e-4)


def test_errors(qwen2_audio_dir, tmp_path):
    with pytest.raises(InputError, match="no config.json"):
        SpeechLlmRescorer(str(tmp_path))
    rescorer = SpeechLlmRescorer(qwen2_audio_dir)
    with pytest.raises(ValueError, match="needs the utterance's audio"):
        rescorer.score(HYPS)
    with pytest.raises(ValueError, match="mono waveform"):
        rescorer.score(HYPS, np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(ValueError, match="must contain <|AUDIO|>"):
        SpeechLlmRescorer(qwen2_audio_dir, prompt="no audio here")


def test_cli_speech_llm_reads_audio_from_wav_scp(qwen2_audio_dir, audio, tmp_path):
    import soundfile

    from asr.cli import main

    soundfile.write(str(tmp_path / "u1.wav"), audio[0], 16000, subtype="FLOAT")
    (tmp_path / "wav.scp").write_text(f"u1 {tmp_path / 'u1.wav'}\n")
    (tmp_path / "n.jsonl").write_text(json.dumps({"key": "u1", "hyps": [
        {"words": HYPS[0], "am": 1.0, "lm": 1.0}, {"words": HYPS[2], "am": 1.0, "lm": 1.0}]})
        + "\n")
    config = tmp_path / "rescore.json"
    config.write_text(json.dumps({"first_pass_weight": 0.0, "rescorers": [
        {"type": "speech_llm", "path": qwen2_audio_dir, "weight": 1.0}]}))
    out = tmp_path / "out.jsonl"
    args = ["rescore", "--nbest-file", str(tmp_path / "n.jsonl"), "--config", str(config),
            "-o", str(out)]
    assert main(args) == 2  # no audio given
    assert main(args + ["--wav-scp", str(tmp_path / "wav.scp")]) == 0
    record = json.loads(out.read_text())
    expected = SpeechLlmRescorer(qwen2_audio_dir).score([HYPS[0], HYPS[2]], audio[0])
    got = {tuple(h["words"]): h["scores"]["speech_llm"] for h in record["hyps"]}
    assert got[tuple(HYPS[0])] == pytest.approx(expected[0], abs=1e-3)
    assert got[tuple(HYPS[2])] == pytest.approx(expected[1], abs=1e-3)
