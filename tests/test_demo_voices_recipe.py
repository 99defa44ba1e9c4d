"""The multi-voice demo recipe's pure parts: augmentation, the general LM's renormalisation,
number words and the benchmark's text normalisation (tools/demo, tools/bench)."""
import importlib.util
import os
import shutil

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(relative):
    name = os.path.splitext(os.path.basename(relative))[0]
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, relative))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


augment = load("tools/demo/augment.py")
general_lm = load("tools/demo/general_lm.py")
voices_text = load("tools/demo/voices_text.py")
bench = load("tools/bench/real_speech_bench.py")


def tone(freq, seconds=1.0):
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def band_energy(audio, low, high):
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    f = np.fft.rfftfreq(len(audio), 1 / 16000)
    return spectrum[(f >= low) & (f < high)].sum() / spectrum.sum()


def test_speed_perturbation_changes_length_by_the_factor():
    audio = tone(440)
    assert len(augment.speed(audio, 1.1)) == pytest.approx(len(audio) / 1.1, abs=2)
    assert len(augment.speed(audio, 0.9)) == pytest.approx(len(audio) / 0.9, abs=2)
    assert augment.speed(audio, 1.0) is audio


def test_telephone_band_removes_what_a_phone_line_cannot_carry():
    high = augment.telephone(tone(6000))
    low = augment.telephone(tone(1000))
    assert np.sqrt(np.mean(high**2)) < 0.01 * np.sqrt(np.mean(low**2))
    assert band_energy(low, 900, 1100) > 0.95


def test_noise_colours_have_their_spectral_slopes():
    rng = np.random.default_rng(0)
    n = 1 << 16
    share = {c: band_energy(augment.coloured_noise(rng, n, c), 0, 500)
             for c in ("white", "pink", "brown")}
    assert share["white"] < share["pink"] < share["brown"]
    assert share["white"] == pytest.approx(500 / 8000, rel=0.2)


@pytest.mark.skipif(shutil.which("sox") is None,
                    reason="sox (Debian) does the pitch/tempo step; .ci/run installs it")
def test_augment_returns_bounded_finite_audio_and_is_seeded():
    audio = tone(300, 2.0)
    outs = [augment.augment(audio, np.random.default_rng(seed)) for seed in (1, 1, 2)]
    for out in outs:
        assert out.dtype == np.float32 and np.isfinite(out).all() and np.abs(out).max() < 1.0
    assert np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2]) or len(outs[0]) != len(outs[2])


def test_light_treatment_is_the_espeak_demo_data_s():
    """augment.light: gain 0.1-0.9 of full scale, 50-250 ms of silence at each end, light white
    noise at most (what tools/demo/synthesize.py gave the shipped espeak test set)."""
    audio = tone(300, 1.0) / 0.3
    for seed in range(20):
        out = augment.light(audio, np.random.default_rng(seed))
        pad = len(out) - len(audio)
        assert out.dtype == np.float32 and 1600 <= pad < 8000
        assert 0.09 < np.abs(out).max() < 0.95
        lead = np.flatnonzero(np.abs(out) > 0.05)[0]
        assert 800 <= lead <= 4000
        noise = np.abs(out[:lead - 5]).max() if lead > 5 else 0.0
        assert noise < 0.01


def test_espeak_share_of_the_training_draws():
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tools", "demo"))
    try:
        from train_voices import ShardPool
    finally:
        sys.path.pop(0)
    pool = ShardPool("unused")
    samples = np.zeros(10, np.int16)
    for voice in ("espeak", "flite-kal", "pico-en-US", "rhvoice-bdl"):
        pool.by_voice[voice] = [(samples, 0, 10, voice)]
    rng = np.random.default_rng(3)
    drawn = [pool.draw(rng, 0.4)[0] for _ in range(6000)]
    assert drawn.count("espeak") / 6000 == pytest.approx(0.4, abs=0.03)
    for other in ("flite-kal", "pico-en-US", "rhvoice-bdl"):
        assert drawn.count(other) / 6000 == pytest.approx(0.2, abs=0.03)
    uniform = [pool.draw(rng)[0] for _ in range(4000)]
    assert uniform.count("espeak") / 4000 == pytest.approx(0.25, abs=0.03)


def test_general_lm_conditional_distributions_sum_to_one():
    unigrams = {"<s>": (-99.0, -0.3), "</s>": (-1.0, 0.0), "a": (-0.5, -0.2),
                "b": (-0.8, -0.1), "c": (-1.2, 0.0), "X1": (-2.0, 0.0)}
    bigrams = [("<s>", "a", -0.2), ("a", "b", -0.3), ("a", "c", -0.9), ("b", "a", -0.4),
               ("a", "X1", -1.0), ("c", "</s>", -0.1)]
    p_uni, by_context, alphas = general_lm.build(unigrams, bigrams, max_bigrams=3)
    assert "X1" not in p_uni  # not spellable with a-z and the apostrophe
    assert sum(len(s) for s in by_context.values()) == 3
    assert sum(p for w, p in p_uni.items() if w != "<s>") == pytest.approx(1.0)
    for h in by_context:
        explicit = dict(by_context[h])
        total = sum(explicit.get(w, alphas[h] * p_uni[w]) for w in p_uni if w != "<s>")
        assert total == pytest.approx(1.0)


def test_general_lm_reads_only_complete_lines_of_a_cut_dump(tmp_path):
    path = tmp_path / "cut.arpa"
    path.write_text("\\data\\\nngram 1=2\nngram 2=2\n\n\\1-grams:\n-1.0\ta\t-0.5\n-1.0\tb\n\n"
                    "\\2-grams:\n-0.3\ta b\n-0.", encoding="utf-8")
    unigrams, bigrams = general_lm.read_partial_arpa(str(path))
    assert unigrams == {"a": (-1.0, -0.5), "b": (-1.0, 0.0)}
    assert bigrams == [("a", "b", -0.3)]


def test_number_words():
    assert voices_text.number_words(0) == "zero"
    assert voices_text.number_words(40) == "forty"
    assert voices_text.number_words(2000017) == "two million seventeen"
    assert voices_text.year_words(1984) == "nineteen eighty four"
    assert voices_text.year_words(1905) == "nineteen oh five"


def test_benchmark_normalises_hypotheses_like_the_references():
    assert bench.normalise("Mr. John Dashwood, 10 of Clubs!") == \
        "mister john dashwood ten of clubs"
    assert bench.normalise("2934 0") == "two nine three four zero"
    assert bench.normalise("Go forward 10 m.") == "go forward ten meters"
    assert bench.normalise("cold-hearted") == "cold hearted"


def test_training_text_keeps_test_sentences_out():
    held = voices_text.held_out_sentences()
    assert "front left" in held and "he was not an ill disposed young man" in held


def test_grown_decoder_computes_what_the_old_one_did():
    """New decoder blocks start as the identity; Adam's moments move over by parameter name."""
    import sys

    import torch
    import yaml

    sys.path.insert(0, os.path.join(ROOT, "tools", "demo"))
    try:
        from train import TOKENS
        from train_voices import grow_decoder
    finally:
        sys.path.pop(0)
    from asr.models.model_dir import build_model

    with open(os.path.join(ROOT, "resources", "demo", "model", "config.yaml")) as f:
        config = yaml.safe_load(f)
    torch.manual_seed(0)
    model = build_model(config, len(TOKENS))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    speech, lengths = torch.randn(2, 60, 560), torch.tensor([60, 41])
    text = torch.tensor([[3, 4, 5, 28, 6], [7, 8, 28, -1, -1]])
    loss, _, _ = model(speech, lengths, text, torch.tensor([5, 3]))
    loss.backward()
    optimizer.step()
    schedule = lambda step: 1.0
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    blocks = config["decoder_conf"]["num_blocks"] + 2
    grown_config, grown, grown_optimizer, _ = grow_decoder(config, model, optimizer, scheduler,
                                                           blocks, schedule)
    assert grown_config["decoder_conf"]["num_blocks"] == blocks
    assert config["decoder_conf"]["num_blocks"] == blocks - 2  # the caller's dict is untouched
    assert len(grown.decoder.decoders) == blocks
    model.eval()
    grown.eval()
    with torch.no_grad():
        enc, enc_lens = model.encode(speech, lengths)
        for m in (model, grown):
            embeds, token_num, _, _ = m.calc_predictor(enc, enc_lens)
            m.out = m.cal_decoder_with_predictor(enc, enc_lens, embeds,
                                                 token_num.round().long().clamp(min=1))[0]
    assert torch.allclose(model.out, grown.out, atol=1e-5)
    old = dict(model.named_parameters())
    moved = 0
    for name, param in grown.named_parameters():
        if name in old:
            assert torch.equal(grown_optimizer.state[param]["exp_avg"],
                               optimizer.state[old[name]]["exp_avg"])
            moved += 1
        else:
            assert param not in grown_optimizer.state
    assert moved == len(old)


def test_interpolation_mixes_encoder_and_ctc_only():
    import sys

    import torch

    sys.path.insert(0, os.path.join(ROOT, "tools", "demo"))
    try:
        from interpolate import interpolate
    finally:
        sys.path.pop(0)
    base = {"encoder.w": torch.zeros(3), "ctc.b": torch.ones(2), "decoder.w": torch.zeros(2),
            "predictor.n": torch.tensor([4], dtype=torch.long)}
    tuned = {"encoder.w": torch.full((3,), 10.0), "ctc.b": torch.full((2,), 3.0),
             "decoder.w": torch.full((2,), 7.0), "predictor.n": torch.tensor([9])}
    mixed = interpolate(base, tuned, 0.7)
    assert torch.allclose(mixed["encoder.w"], torch.full((3,), 7.0))
    assert torch.allclose(mixed["ctc.b"], torch.full((2,), 2.4))
    assert torch.equal(mixed["decoder.w"], base["decoder.w"])  # retrained afterwards
    assert torch.equal(mixed["predictor.n"], base["predictor.n"])
    assert torch.equal(interpolate(base, tuned, 0.0)["encoder.w"], base["encoder.w"])
    with pytest.raises(SystemExit):
        interpolate(base, {**tuned, "encoder.w": torch.zeros(4)}, 0.5)
