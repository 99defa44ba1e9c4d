"""asr.audio.load_audio: formats, mono mix-down, resampling, and clear errors for bad audio."""
import numpy as np
import pytest
import soundfile

from asr.audio import load_audio
from common.errors import InputError


def tone(seconds, rate, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_wav_int16_round_trip(tmp_path):
    samples = tone(0.5, 16000)
    path = tmp_path / "a.wav"
    soundfile.write(path, samples, 16000, subtype="PCM_16")
    loaded = load_audio(path)
    assert loaded.dtype == np.float32 and loaded.shape == samples.shape
    assert np.abs(loaded - samples).max() < 1.0 / 32768 + 1e-6


def test_flac_and_stereo_mix_down(tmp_path):
    left, right = tone(0.3, 16000, 300), tone(0.3, 16000, 700)
    path = tmp_path / "s.flac"
    soundfile.write(path, np.stack([left, right], axis=1), 16000, subtype="PCM_24")
    loaded = load_audio(path)
    assert loaded.ndim == 1
    np.testing.assert_allclose(loaded, (left + right) / 2, atol=1e-5)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_keeps_duration_and_pitch(tmp_path, rate):
    path = tmp_path / "r.wav"
    soundfile.write(path, tone(1.0, rate, 1000.0), rate, subtype="FLOAT")
    loaded = load_audio(path, sample_rate=16000)
    assert abs(len(loaded) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(loaded * np.hanning(len(loaded))))
    peak_hz = np.argmax(spectrum) * 16000 / len(loaded)
    assert abs(peak_hz - 1000.0) < 2.0


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as err:
        load_audio(tmp_path / "nope.wav")
    assert "nope.wav" in str(err.value) and "no such" in str(err.value)


def test_not_audio(tmp_path):
    path = tmp_path / "text.wav"
    path.write_text("this is not a wav file\n")
    with pytest.raises(InputError) as err:
        load_audio(path)
    assert str(path) in str(err.value) and "cannot read audio" in str(err.value)


def test_empty_audio(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(InputError, match="empty"):
        load_audio(path)


def test_too_short_audio(tmp_path):
    path = tmp_path / "short.wav"
    soundfile.write(path, tone(0.01, 16000), 16000)
    with pytest.raises(InputError, match="too short"):
        load_audio(path)


def test_non_finite_samples(tmp_path):
    samples = tone(0.2, 16000)
    samples[100] = np.nan
    path = tmp_path / "nan.wav"
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    with pytest.raises(InputError, match="NaN"):
        load_audio(path)
