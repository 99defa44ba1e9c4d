"""Long input: voice-activity segmentation (asr.segment, Silero VAD through onnxruntime) and
`tingxie transcribe --vad`: segments on the file's timeline, one record per file, SRT cues per
segment, no speech, resume at segment granularity. Audio: the shipped demo test utterances
joined with pauses and quiet noise; the demo model and graph."""
import json
import os

import numpy as np
import pytest
import soundfile

from asr import Recognizer
from asr.cli import main
from asr.segment import CHUNK_SECONDS, SegmentOptions, SileroVad, batches, speech_segments

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "resources", "demo")
MODEL, GRAPH = os.path.join(DEMO, "model"), os.path.join(DEMO, "graph")


def probs_of(pattern):
    """Chunk probabilities from (seconds, probability) runs."""
    return np.concatenate([np.full(int(round(s / CHUNK_SECONDS)), p, np.float32)
                           for s, p in pattern])


def test_speech_segments_from_probabilities():
    opts = SegmentOptions(min_silence=0.5, speech_pad=0.0, min_speech=0.25)
    probs = probs_of([(1.0, 0.1), (2.0, 0.9), (0.3, 0.1), (1.0, 0.8), (1.0, 0.05),
                      (0.1, 0.9), (1.0, 0.0), (2.0, 0.7)])
    total = len(probs) * CHUNK_SECONDS
    segs = speech_segments(probs, opts, total)
    # a 0.3 s dip does not end speech; the 0.1 s blip is too short; speech runs to the end
    assert len(segs) == 2
    assert segs[0][0] == pytest.approx(1.0, abs=0.1) and segs[0][1] == pytest.approx(4.3, abs=0.1)
    assert segs[1][0] == pytest.approx(total - 2.0, abs=0.1) and segs[1][1] == pytest.approx(total)
    padded = speech_segments(probs, SegmentOptions(min_silence=0.5, speech_pad=0.2), total)
    assert padded[0][0] == pytest.approx(0.8, abs=0.1) and padded[0][1] == pytest.approx(4.5, abs=0.1)
    assert speech_segments(probs_of([(10.0, 0.2)]), opts, 10.0) == []


def test_long_speech_is_cut_at_its_quietest_point():
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.7, 1.0, int(50 / CHUNK_SECONDS)).astype(np.float32)
    dip = int(14.0 / CHUNK_SECONDS)
    probs[dip] = 0.36  # not silence (above threshold - 0.15), but the least speech-like
    segs = speech_segments(probs, SegmentOptions(max_segment=20.0, speech_pad=0.0), 50.0)
    assert all(end - start <= 20.0 + 1e-6 for start, end in segs)
    assert segs[0] == (0.0, pytest.approx(dip * CHUNK_SECONDS, abs=1e-3))
    assert segs[-1][1] == pytest.approx(50.0, abs=0.1)
    assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))  # nothing lost between cuts


def test_batches_by_total_duration():
    segs = [(0, 5), (6, 16), (17, 19), (20, 45), (46, 47)]
    assert list(batches(segs, 12.0)) == [[0], [1, 2], [3], [4]]


def demo_recording(path, keys, seed=0, noise=0.001):
    """Demo test utterances joined with 1-2.5 s pauses and quiet noise; their start times."""
    rng = np.random.default_rng(seed)
    parts, starts, now = [], [], 0.0
    for key in keys:
        wave, rate = soundfile.read(os.path.join(DEMO, "test", "wav", key + ".wav"),
                                    dtype="float32")
        gap = rng.uniform(1.0, 2.5)
        parts.append(np.zeros(int(gap * rate), np.float32))
        now += gap
        starts.append(now)
        parts.append(wave)
        now += len(wave) / rate
    audio = np.concatenate(parts + [np.zeros(rate, np.float32)])
    audio += rng.normal(0, noise, len(audio)).astype(np.float32)
    soundfile.write(path, audio, rate)
    return starts


KEYS = [f"test_{i:05d}" for i in range(6)]


def test_vad_finds_the_utterances(tmp_path):
    starts = demo_recording(str(tmp_path / "long.wav"), KEYS)
    from asr.segment import find_segments
    segs, total = find_segments(str(tmp_path / "long.wav"), 16000, SegmentOptions(vad="on"))
    assert len(segs) == len(KEYS)
    for (begin, _), start in zip(segs, starts):
        assert abs(begin - start) < 0.5
    vad = SileroVad()
    assert vad.file_probabilities(iter([np.zeros(16000 * 3, np.float32)])).max() < 0.5


def refs():
    with open(os.path.join(DEMO, "test", "text"), encoding="utf-8") as f:
        return {line.split()[0]: line.split()[1:] for line in f if line.strip()}


def test_transcribe_long_file(tmp_path):
    audio = tmp_path / "meeting.wav"
    starts = demo_recording(str(audio), KEYS)
    out = tmp_path / "out"
    argv = ["transcribe", str(audio), "--model", MODEL, "--graph", GRAPH, "-o", str(out),
            "--vad", "on", "--srt", "--no-progress", "--batch-seconds", "12"]
    assert main(argv) == 0
    records = [json.loads(line) for line in open(out / "results.jsonl", encoding="utf-8")]
    assert len(records) == 1 and records[0]["key"] == "meeting"
    record = records[0]
    segments = record["segments"]
    assert len(segments) == len(KEYS)
    assert record["words"] == [w for s in segments for w in s["words"]]
    assert record["text"] == " ".join(record["words"])
    assert record["duration"] == pytest.approx(soundfile.info(str(audio)).duration, abs=1e-3)
    times = record["times"]
    assert len(times) == len(record["words"])
    assert [t[0] for t in times] == sorted(t[0] for t in times)
    expected = refs()
    for segment, key, start in zip(segments, KEYS, starts):
        assert segment["start"] <= segment["times"][0][0] < segment["end"]
        assert abs(segment["times"][0][0] - start) < 1.0
        hyp = segment["words"]
        assert len(set(hyp) & set(expected[key])) >= 0.7 * len(expected[key])
    text = open(out / "text", encoding="utf-8").read().splitlines()
    assert text == [f"meeting {record['text']}"]
    cues = open(out / "srt" / "meeting.srt", encoding="utf-8").read().strip().split("\n\n")
    assert len(cues) == len(KEYS)
    assert not os.path.exists(out / "segments" / "meeting.jsonl")  # done: removed


def test_resume_keeps_finished_segments(tmp_path):
    audio = tmp_path / "talk.wav"
    demo_recording(str(audio), KEYS[:3], seed=1)
    out = tmp_path / "out"
    argv = ["transcribe", str(audio), "--model", MODEL, "--graph", GRAPH, "-o", str(out),
            "--vad", "on", "--no-progress"]
    assert main(argv) == 0
    record = json.loads(open(out / "results.jsonl", encoding="utf-8").readline())
    # as if killed after the first segment, mid-way through writing the second
    os.remove(out / "results.jsonl")
    first = dict(record["segments"][0], text="resumed segment", words=["resumed", "segment"],
                 times=[[1.0, 1.5], [1.5, 2.0]])
    os.makedirs(out / "segments", exist_ok=True)
    with open(out / "segments" / "talk.jsonl", "w", encoding="utf-8") as f:
        f.write(json.dumps(first) + "\n" + json.dumps(record["segments"][1])[:30])
    assert main(argv) == 0
    again = json.loads(open(out / "results.jsonl", encoding="utf-8").readline())
    assert again["segments"][0]["words"] == ["resumed", "segment"]  # not decoded again
    assert again["segments"][1:] == record["segments"][1:]  # the others decoded again
    assert again["text"].startswith("resumed segment ")


def test_no_speech_gives_an_empty_transcript(tmp_path):
    audio = tmp_path / "silence.wav"
    rng = np.random.default_rng(3)
    soundfile.write(str(audio), rng.normal(0, 0.0005, 16000 * 35).astype(np.float32), 16000)
    out = tmp_path / "out"
    assert main(["transcribe", str(audio), "--model", MODEL, "--graph", GRAPH, "-o", str(out),
                 "--no-progress"]) == 0  # auto: 35 s > 30 s, so the VAD runs
    record = json.loads(open(out / "results.jsonl", encoding="utf-8").readline())
    assert record["text"] == "" and record["segments"] == [] and record["words"] == []
    assert record["am"] == 0 and record["lm"] == 0
    assert open(out / "text", encoding="utf-8").read() == "silence\n"


def test_recognizer_transcribe_long_array():
    wave, rate = soundfile.read(os.path.join(DEMO, "test", "wav", "test_00001.wav"),
                                dtype="float32")
    rec = Recognizer(MODEL, graph=GRAPH)
    pause = np.zeros(rate * 2, np.float32)
    joined = np.concatenate([pause, wave, pause, wave, pause])
    result = rec.transcribe_long(joined, SegmentOptions(vad="on"))
    assert len(result.segments) == 2
    import kaldialign
    single = rec.transcribe(wave).text.split()
    for segment in result.segments:  # cut a little differently: at most one word differs
        assert kaldialign.edit_distance(single, segment["words"])["total"] <= 1
    offset = result.segments[1]["start"]
    assert result.segments[1]["times"][0][0] >= offset >= 2 + len(wave) / rate
    assert result.words == result.segments[0]["words"] + result.segments[1]["words"]


def test_bad_vad_options(tmp_path, capsys):
    audio = tmp_path / "a.wav"
    soundfile.write(str(audio), np.zeros(16000, np.float32), 16000)
    assert main(["transcribe", str(audio), "--model", MODEL, "--graph", GRAPH,
                 "-o", str(tmp_path / "o"), "--max-segment", "0.1"]) == 2
    assert "--max-segment" in capsys.readouterr().err
