"""tingxie transcribe and Recognizer end to end with a real (tiny, randomly initialised) FunASR
model that the test makes: bad files, resampling, resume after SIGKILL, the Python API."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import soundfile
import funasr  # noqa: F401

from asr import Recognizer  # noqa: E402
from asr.models.base import SPECIAL_TOKENS  # noqa: E402
from asr.cli import main  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_factory():
    spec = importlib.util.spec_from_file_location(
        "make_test_model", os.path.join(ROOT, "tools", "make_test_model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_test_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return _load_factory()(str(tmp_path_factory.mktemp("am") / "model"))


@pytest.fixture(scope="module")
def recognizer(model_dir):
    return Recognizer(model_dir, mode="ctc")


def noise(seconds, rate=16000, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    shape = (int(seconds * rate),) if channels == 1 else (int(seconds * rate), channels)
    return (0.1 * rng.standard_normal(shape)).astype(np.float32)


def children_of(pid):
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    return children


def read_jsonl(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_bad_files_are_reported_and_the_rest_transcribed(model_dir, tmp_path, capsys):
    audio = tmp_path / "audio"
    audio.mkdir()
    soundfile.write(audio / "good.wav", noise(1.0), 16000)
    soundfile.write(audio / "narrow.wav", noise(1.0, rate=8000, seed=1), 8000, subtype="PCM_16")
    soundfile.write(audio / "stereo.flac", noise(1.0, channels=2, seed=2), 16000)
    (audio / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 4)
    soundfile.write(audio / "empty.wav", np.zeros(0, np.float32), 16000)
    scp = tmp_path / "more.scp"
    scp.write_bytes(f"piped sox {audio}/good.wav -t wav - |\n".encode()
                    + b"latin1 " + str(audio).encode() + b"/caf\xe9.wav\n")
    out = tmp_path / "out"
    argv = ["transcribe", str(audio), str(scp), "--model", model_dir, "--no-lm", "-o", str(out),
            "--srt", "--no-progress"]
    assert main(argv) == 1
    records = {r["key"]: r for r in read_jsonl(out / "results.jsonl")}
    assert sorted(records) == ["good", "narrow", "stereo"]
    assert records["narrow"]["duration"] == pytest.approx(1.0)  # resampled, not rejected
    assert records["stereo"]["duration"] == pytest.approx(1.0)  # mixed down, not rejected
    for record in records.values():
        assert set(record) >= {"key", "text", "words", "times", "tokens", "am", "lm",
                               "acoustic_scale", "path"}
        assert record["text"] == " ".join(record["words"])
        assert len(record["times"]) == len(record["words"])
        for start, end in record["times"]:
            assert 0.0 <= start < end <= record["duration"] + 1e-6
    with open(out / "errors.tsv", encoding="utf-8") as handle:
        errors = {line.split("\t")[0]: line.rstrip("\n").split("\t") for line in handle}
    assert set(errors) == {"key", "corrupt", "empty", "piped", "latin1"}
    assert "cannot read audio" in errors["corrupt"][2]
    assert "empty" in errors["empty"][2]
    assert errors["piped"][2].startswith(f"{scp}:1: pipe entries")
    assert errors["latin1"][2].startswith(f"{scp}:2: not valid UTF-8")
    text = (out / "text").read_text(encoding="utf-8").splitlines()
    assert [line.split()[0] for line in text] == ["good", "narrow", "stereo"]
    assert (out / "srt" / "good.srt").read_text().startswith("1\n00:00:")
    summary = capsys.readouterr().err
    assert "3 of 7 utterances transcribed, 4 failed" in summary

    # A rerun skips what is done, retries what failed, and duplicates nothing.
    assert main(argv) == 1
    assert sorted(r["key"] for r in read_jsonl(out / "results.jsonl")) == sorted(records)
    assert "resuming: 3 of 7" in capsys.readouterr().err
    # ... but not with another setup: two systems' results never share a journal.
    assert main(argv + ["--mode", "paraformer"]) == 2
    assert "different mode" in capsys.readouterr().err

    # Scoring the output: a reference with bytes that are not UTF-8 is a file:line error.
    ref = tmp_path / "ref"
    ref.write_bytes(b"good a b\nnarrow \xff\n")
    proc = subprocess.run([sys.executable, "-m", "asr.cli", "wer", str(ref), str(out / "text")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and f"{ref}:2: not valid UTF-8" in proc.stderr


def test_sigkill_then_resume_loses_and_duplicates_nothing(model_dir, tmp_path, capsys):
    audio = tmp_path / "audio"
    audio.mkdir()
    count = 60
    for n in range(count):
        soundfile.write(audio / f"utt{n:03d}.wav", noise(8.0, seed=n), 16000)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "asr.cli", "transcribe", str(audio), "--model", model_dir,
               "--no-lm", "-o", str(out), "--no-progress", "--jobs", "2"]
    results = out / "results.jsonl"
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    lines = 0
    while time.time() < deadline and proc.poll() is None:
        if results.exists():
            lines = results.read_bytes().count(b"\n")
            if lines >= 3:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed: " + \
        proc.stderr.read().decode(errors="replace")[-2000:]
    workers = children_of(proc.pid)
    assert workers, "expected worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    deadline = time.time() + 10  # orphaned workers notice and exit
    while time.time() < deadline and any(os.path.exists(f"/proc/{w}") for w in workers):
        time.sleep(0.1)
    assert not [w for w in workers if os.path.exists(f"/proc/{w}")], "workers outlived the kill"
    done_before = [json.loads(line)["key"] for line in results.read_bytes().splitlines()
                   if line.endswith(b"}")]
    assert 3 <= len(done_before) < count

    # The rerun (in this process, with one worker: what matters is the journal it finds).
    assert main(command[3:-2]) == 0
    stderr = capsys.readouterr().err
    assert f"resuming: {len(done_before)} of {count}" in stderr
    keys = [record["key"] for record in read_jsonl(results)]
    assert sorted(keys) == [f"utt{n:03d}" for n in range(count)]  # none lost, none twice
    assert keys[:len(done_before)] == done_before  # finished results were kept, not redone
    assert len((out / "text").read_text().splitlines()) == count


def test_recognizer_api(recognizer, tmp_path):
    wave = noise(1.5, seed=5)
    path = tmp_path / "a.wav"
    soundfile.write(path, wave, 16000, subtype="FLOAT")
    from_path = recognizer.transcribe(str(path))
    from_array = recognizer.transcribe(wave)
    assert from_path.text == from_array.text and from_path.duration == pytest.approx(1.5)
    batch = recognizer.transcribe([wave, str(path)])
    assert [t.text for t in batch] == [from_array.text, from_path.text]
    output = recognizer.posteriors(wave)
    assert output.logp.shape[1] == len(recognizer.tokens)
    decoded = recognizer.decode(output)
    assert decoded.text == from_array.text and decoded.tokens == from_array.tokens
    # Greedy CTC by hand: best unit per frame, repeats merged, blank and markers dropped.
    best = output.logp.argmax(axis=1)
    units = [recognizer.tokens[u] for k, u in enumerate(best)
             if u != recognizer.blank and (k == 0 or u != best[k - 1])]
    units = [u for u in units if u not in SPECIAL_TOKENS]
    assert decoded.tokens == units
    assert "".join(decoded.text.split()) == "".join(u for u in units if u != "|")
    with pytest.raises(ValueError, match="need a graph"):
        Recognizer(recognizer.model, beam=10.0)
    with pytest.raises(ValueError, match="mono"):
        recognizer.transcribe(np.zeros((100, 2), np.float32))


def test_recognizer_paraformer_mode_uses_token_times(model_dir):
    rec = Recognizer(model_dir, mode="paraformer")
    output = rec.posteriors(noise(2.0, seed=9))
    transcript = rec.decode(output)
    assert len(transcript.tokens) <= len(output.logp)
    assert len(transcript.times) == len(transcript.words)
    for start, end in transcript.times:
        assert start is not None and start <= end


SMALL_ARPA = """\\data\\
ngram 1=7

\\1-grams:
-0.8\t</s>
-99\t<s>
-0.9\tthe
-1.0\tlord
-1.0\tis
-1.1\tmy
-1.2\tshepherd

\\end\\
"""


@pytest.fixture(scope="module")
def ctc_graph(model_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("graph")
    (work / "lm.arpa").write_text(SMALL_ARPA)
    assert main(["graph", "compile", "--tokens", os.path.join(model_dir, "tokens.json"),
                 "--lm", str(work / "lm.arpa"), "--spelling", "chars", "--word-boundary", "|",
                 "--topology", "ctc", "-o", str(work / "graph")]) == 0
    return str(work / "graph")


def test_graph_decoding_with_worker_processes_equals_the_api(model_dir, ctc_graph, tmp_path):
    from asr.decoder import Decoder, DecoderOptions

    audio = tmp_path / "audio"
    audio.mkdir()
    waves = {f"u{n}": noise(1.0 + 0.25 * n, seed=20 + n) for n in range(4)}
    for key, wave in waves.items():
        soundfile.write(audio / f"{key}.wav", wave, 16000, subtype="FLOAT")
    out = tmp_path / "out"
    assert main(["transcribe", str(audio), "--model", model_dir, "--graph", ctc_graph,
                 "--beam", "20", "--nbest", "3", "--jobs", "2", "-o", str(out),
                 "--no-progress"]) == 0
    records = {r["key"]: r for r in read_jsonl(out / "results.jsonl")}
    assert sorted(records) == sorted(waves)

    recognizer = Recognizer(model_dir, ctc_graph, beam=20.0, nbest=3)
    decoder = Decoder(ctc_graph, DecoderOptions(beam=20.0, nbest=3), mode="ctc")
    vocabulary = {"the", "lord", "is", "my", "shepherd"}
    for key, wave in waves.items():
        record = records[key]
        output = recognizer.posteriors(wave)
        direct = decoder.decode(output.logp)
        assert record["text"].split() == direct.words  # what the decoder itself finds
        assert set(direct.words) <= vocabulary
        assert record["am"] + record["lm"] == pytest.approx(direct.total_cost, rel=1e-4)
        assert record["acoustic_scale"] == direct.acoustic_scale == 2.0  # ctc's default
        assert all(h["acoustic_scale"] == 2.0 for h in record["hyps"])
        assert record["reached_final"] is True
        assert 1 <= len(record["hyps"]) <= 3
        assert record["hyps"][0]["words"] == record["words"]
        for (start, end), (first, last) in zip(record["times"], direct.word_frames):
            assert start == pytest.approx(first * recognizer.frame_shift, abs=1e-3)
            assert end == pytest.approx((last + 1) * recognizer.frame_shift, abs=1e-3)
    setup = json.loads((out / "setup.json").read_text())
    assert setup["decoder_options"] == {"beam": 20.0}  # as given
    effective = setup["effective_options"]  # what the search ran with
    assert effective["mode"] == "ctc" and effective["decoder"]["beam"] == 20.0
    assert effective["decoder"]["acoustic_scale"] == 2.0
    assert effective["decoder"]["nbest"] == 3 and effective["hotwords"]["bonus"] == 0.6
    with pytest.raises(ValueError, match="unknown decoder options"):
        Recognizer(recognizer.model, ctc_graph, bean=3.0)


def test_graph_topology_picks_the_mode_and_tokens_must_match(model_dir, ctc_graph, tmp_path):
    from common.errors import InputError

    model = Recognizer(model_dir).model  # ctc
    assert Recognizer(model, ctc_graph).mode == "ctc"
    tokens = json.load(open(os.path.join(model_dir, "tokens.json")))
    tokens[1] = "`"  # the apostrophe column renamed: same size, different units
    (tmp_path / "tokens.json").write_text(json.dumps(tokens))
    (tmp_path / "lm.arpa").write_text(SMALL_ARPA)
    for topology in ("sync", "ctc"):
        assert main(["graph", "compile", "--tokens", str(tmp_path / "tokens.json"),
                     "--lm", str(tmp_path / "lm.arpa"), "--spelling", "chars",
                     "--word-boundary", "|", "--topology", topology,
                     "-o", str(tmp_path / topology)]) == 0
    with pytest.raises(InputError, match="token 1 is '`' but the model's is \"'\""):
        Recognizer(model, str(tmp_path / "ctc"))
    with pytest.raises(InputError, match="token 1"):
        Recognizer(model_dir, str(tmp_path / "sync"))  # sync topology: loads a paraformer


def test_paraformer_with_a_sync_graph(model_dir, tmp_path):
    from asr.decoder import Decoder

    (tmp_path / "lm.arpa").write_text(SMALL_ARPA)
    assert main(["graph", "compile", "--tokens", os.path.join(model_dir, "tokens.json"),
                 "--lm", str(tmp_path / "lm.arpa"), "--spelling", "chars", "--word-boundary",
                 "|", "--topology", "sync", "-o", str(tmp_path / "sync")]) == 0
    rec = Recognizer(model_dir, str(tmp_path / "sync"))  # the sync topology picks paraformer
    assert rec.mode == "paraformer"
    output = rec.posteriors(noise(2.0, seed=9))
    transcript = rec.decode(output)
    direct = Decoder(str(tmp_path / "sync")).decode(output.logp)
    assert direct.words and transcript.text.split() == direct.words
    for (start, end), (first, last) in zip(transcript.times, direct.word_frames):
        # a word spans token positions first..last: from the CIF time of the first to the end
        # of the last
        assert (start, end) == (output.token_times[first][0], output.token_times[last][1])


def test_hotwords_pass_through_to_the_search(model_dir, ctc_graph, tmp_path):
    from asr.decoder import Decoder, DecoderOptions

    audio = tmp_path / "audio"
    audio.mkdir()
    waves = {f"h{n}": noise(1.5, seed=40 + n) for n in range(3)}
    for key, wave in waves.items():
        soundfile.write(audio / f"{key}.wav", wave, 16000, subtype="FLOAT")
    hotword_file = tmp_path / "hotwords.txt"
    hotword_file.write_text("shepherd 30\nlord not-a-number\n")
    out = tmp_path / "out"
    assert main(["transcribe", str(audio), "--model", model_dir, "--graph", ctc_graph,
                 "--hotwords", str(hotword_file), "-o", str(out), "--no-progress"]) == 0
    records = {r["key"]: r for r in read_jsonl(out / "results.jsonl")}
    assert sorted(records) == sorted(waves)

    recognizer = Recognizer(model_dir, ctc_graph)
    decoder = Decoder(ctc_graph, DecoderOptions(), mode="ctc")
    compiled = decoder.compile_hotwords(str(hotword_file))
    assert any(str(problem).endswith("skipped") and ":2:" in str(problem)
               for problem in compiled.problems)
    biased_count = plain_count = 0
    for key, wave in waves.items():
        logp = recognizer.posteriors(wave).logp
        biased = decoder.decode(logp, hotwords=compiled)
        assert records[key]["text"].split() == biased.words
        biased_count += biased.words.count("shepherd")
        plain_count += decoder.decode(logp).words.count("shepherd")
    assert biased_count > plain_count


def test_hotwords_need_a_graph(model_dir, tmp_path, capsys):
    hotword_file = tmp_path / "hotwords.txt"
    hotword_file.write_text("shepherd\n")
    assert main(["transcribe", str(tmp_path), "--model", model_dir, "--no-lm",
                 "--hotwords", str(hotword_file), "-o", str(tmp_path / "out")]) == 2
    assert "--hotwords needs --graph" in capsys.readouterr().err


# A rescoring LM that prefers "my" to every other word (the test model's N-best lists are
# "is" plus one more word; a unigram LM can only charge for words, so the config's word bonus
# lets longer hypotheses compete and the new LM decides between them).
MY_ARPA = SMALL_ARPA.replace("-1.1\tmy", "-0.01\tmy")


def test_rescore_reranks_the_nbest_with_a_tuned_config(model_dir, ctc_graph, tmp_path, capsys):
    import asr.rescoring
    from asr.decoder import Decoder, DecoderOptions

    assert MY_ARPA != SMALL_ARPA
    (tmp_path / "new.arpa").write_text(MY_ARPA)
    config = tmp_path / "rescore.json"
    config.write_text('{"rescorers": [{"type": "ngram", "path": "new.arpa", "weight": 5.0}],'
                      ' "am_weight": 1.0, "first_pass_weight": 0.0, "word_bonus": 10.0,'
                      ' "decoder_acoustic_scale": 2.0}')
    audio = tmp_path / "audio"
    audio.mkdir()
    waves = {f"r{n}": noise(1.5, seed=60 + n) for n in range(3)}
    for key, wave in waves.items():
        soundfile.write(audio / f"{key}.wav", wave, 16000, subtype="FLOAT")
    out = tmp_path / "out"
    assert main(["transcribe", str(audio), "--model", model_dir, "--graph", ctc_graph,
                 "--beam", "20", "--lattice-beam", "20", "--rescore", str(config),
                 "--rescore-nbest", "8",
                 "-o", str(out), "--no-progress"]) == 0
    records = {r["key"]: r for r in read_jsonl(out / "results.jsonl")}
    assert sorted(records) == sorted(waves)
    # the config's weights were tuned on lists decoded at acoustic scale 2: not at 3
    assert main(["transcribe", str(audio), "--model", model_dir, "--graph", ctc_graph,
                 "--acoustic-scale", "3", "--rescore", str(config),
                 "-o", str(tmp_path / "out3"), "--no-progress"]) == 2
    assert "the decoder searches at acoustic scale 3" in capsys.readouterr().err

    recognizer = Recognizer(model_dir, ctc_graph)
    decoder = Decoder(ctc_graph, DecoderOptions(beam=20.0, lattice_beam=20.0, nbest=8),
                      mode="ctc")
    rescorer = asr.rescoring.load(str(config))
    changed = 0
    for key, wave in waves.items():
        result = decoder.decode(recognizer.posteriors(wave).logp)
        expected = rescorer.rescore(result.nbest)[0]
        record = records[key]
        assert record["text"].split() == expected.words
        assert record["total"] == pytest.approx(expected.total, abs=1e-3)
        rank = record["first_pass_rank"]
        assert list(result.nbest[rank].words) == expected.words
        assert len(record["times"]) == len(expected.words)  # the winner keeps its word times
        changed += rank != 0
        if rank != 0:
            assert "my" in expected.words  # of the longer hypotheses, the new LM's favourite
    assert changed > 0  # rescoring overturned the first pass somewhere


def test_rescore_needs_a_graph(model_dir, tmp_path, capsys):
    config = tmp_path / "rescore.json"
    config.write_text('{"rescorers": []}')
    assert main(["transcribe", str(tmp_path), "--model", model_dir, "--no-lm",
                 "--rescore", str(config), "-o", str(tmp_path / "out")]) == 2
    assert "--rescore needs --graph" in capsys.readouterr().err
