"""The command-line contract, checked on a corpus of bad inputs for every subcommand.

For each case: the documented exit status (0 ok, 1 some items failed, 2 bad input or usage),
exactly one `tingxie: error: PATH[:LINE]: problem` line on stderr for an error (PATH and LINE
as expected), no Python traceback, no hang. Most cases call `asr.cli.main(argv)` in this
process with stdout/stderr captured at the file-descriptor level (native code's output
counts too) under an alarm; closed pipes and inputs that once hung run as real processes
with a timeout. Every input is built here, small, in a temporary directory.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import pytest

from asr.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
TOKENS_JSON = DEMO / "model" / "tokens.json"
WAV = DEMO / "test" / "wav" / "test_00000.wav"
WAV2 = DEMO / "test" / "wav" / "test_00001.wav"
CASE_SECONDS = 60
BOM = "\ufeff"

WORDS = ("the lord is my shepherd i shall not want he maketh me to lie down in green pastures "
         "leadeth beside still waters restoreth soul").split()


@dataclass
class Case:
    name: str
    argv: List[str]                       # "{d}" stands for the fixture directory
    status: int
    where: Optional[str] = None           # expected start of the error: "PATH" or "PATH:LINE"
    stderr_has: Optional[str] = None      # a substring stderr must hold (e.g. a warning)
    process: bool = False                 # run as a real process (hangs, native crashes)
    shell: Optional[str] = None           # a shell pipeline run as a process instead of argv
    check: Optional[Callable] = None      # check(d: Path, stdout: str) -> None, extra asserts
    setup: Optional[Callable] = None      # setup(d: Path) -> None, run before the command


# --- the fixture directory -------------------------------------------------------------------
def _write(path: Path, text: str, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def _log_softmax(x):
    return x - np.logaddexp.reduce(x, axis=1, keepdims=True)


def _write_wav(path: Path, samples: np.ndarray, rate: int, declared_frames: Optional[int] = None):
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm)
    if declared_frames is not None:  # a header promising more data than the file holds
        data = bytearray(path.read_bytes())
        at = data.find(b"data")
        data[at + 4:at + 8] = (declared_frames * 2).to_bytes(4, "little")
        data[4:8] = (len(data) - 8 + declared_frames * 2).to_bytes(4, "little")
        path.write_bytes(bytes(data))


def _run_quiet(argv):
    import contextlib
    import io
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0, argv


def _run_status(argv, status):
    import contextlib
    import io
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == status, argv


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("contract")
    rng = np.random.default_rng(7)
    lines = [" ".join(rng.choice(WORDS, rng.integers(3, 9))) for _ in range(200)]
    corpus = _write(d / "corpus.txt", "\n".join(lines) + "\n")
    _run_quiet(["lm", "train", str(corpus), "-o", str(d / "lm.arpa"), "--order", "3",
                "--discount-fallback"])
    _run_quiet(["graph", "compile", "--tokens", str(TOKENS_JSON), "--lm", str(d / "lm.arpa"),
                "--spelling", "chars", "--word-boundary", "|", "-o", str(d / "graph")])
    arpa = (d / "lm.arpa").read_text(encoding="utf-8").splitlines()
    _make_arpas(d, arpa)
    _make_texts(d, lines)
    _make_posteriors(d, rng)
    _run_quiet(["decode", "--graph", str(d / "graph"), "--posteriors", str(d / "post.npz"),
                "-o", str(d / "hyp.txt"), "--lattice", str(d / "lat.txt"), "--nbest", "3"])
    _make_nbest(d)
    _make_lattices(d)
    _make_graph_variants(d)
    _make_audio(d)
    _make_model_dirs(d)
    return d


def _make_arpas(d: Path, arpa: List[str]) -> None:
    text = "\n".join(arpa) + "\n"
    first_unigram = arpa.index("\\1-grams:") + 1          # <unk>
    word_line = first_unigram + 3                          # a real word, 0-based
    first_bigram = arpa.index("\\2-grams:") + 1

    def edit(index, column, value):
        lines = list(arpa)
        fields = lines[index].split("\t")
        fields[column] = value
        lines[index] = "\t".join(fields)
        return "\n".join(lines) + "\n"

    _write(d / "bom.arpa", BOM + text)
    _write(d / "huge_count.arpa", text.replace(arpa[1], "ngram 1=999999999999999", 1))
    _write(d / "inf_prob.arpa", edit(word_line, 0, "-inf"))
    # after an OOV the context is <unk>, seen in no bigram: the word backs off to its unigram
    _write(d / "inf_text.txt", f"qqq {arpa[word_line].split(chr(9))[1]}\n")
    _write(d / "inf_backoff.arpa", edit(word_line, 2, "-inf"))
    _write(d / "nan_prob.arpa", edit(word_line, 0, "nan"))
    _write(d / "pos_prob.arpa", edit(word_line, 0, "0.5"))
    _write(d / "word_prob.arpa", edit(word_line, 0, "abc"))
    _write(d / "no_data.arpa", "just some text\n")
    _write(d / "no_end.arpa", "\n".join(arpa[:-2]) + "\n")
    _write(d / "more_ngrams.arpa", text.replace(arpa[1], "ngram 1=3", 1))
    lines = list(arpa)
    lines[first_bigram] += "\textra\tfield"
    _write(d / "fields.arpa", "\n".join(lines) + "\n")
    lines = list(arpa)
    lines[first_bigram] = "-1.0\tnowhere\tthe\t0"
    _write(d / "unknown_word.arpa", "\n".join(lines) + "\n")
    lines = list(arpa)
    lines.insert(word_line + 1, lines[word_line])
    _write(d / "dup_unigram.arpa", "\n".join(lines).replace(arpa[1], arpa[1].split("=")[0]
                                   + "=" + str(int(arpa[1].split("=")[1]) + 1), 1) + "\n")
    (d / "latin1.arpa").write_bytes(text.replace(arpa[word_line].split("\t")[1], "caf\xe9", 1)
                                    .encode("latin-1"))
    _write(d / "empty.arpa", "")
    (d / "garbage.arpa").write_bytes(np.random.default_rng(1).bytes(4000))
    (d / "garbage.arpa.gz").write_bytes(b"\x1f\x8b" + np.random.default_rng(2).bytes(300))
    with gzip.open(d / "lm.arpa.gz", "wt", encoding="utf-8") as handle:
        handle.write(text)
    top = arpa.index("\\3-grams:") + 1
    _write(d / "top_backoff.arpa", edit(top, 0, arpa[top].split("\t")[0]).replace(
        arpa[top], arpa[top] + "\t-0.5", 1))
    _write(d / "no_counts.arpa", "\\data\\\n\n\\1-grams:\n-1\ta\n\n\\end\\\n")
    _write(d / "order_gap.arpa", "\\data\\\nngram 1=1\nngram 3=1\n\n")


def _make_texts(d: Path, lines: List[str]) -> None:
    _write(d / "bom_corpus.txt", BOM + "\n".join(lines) + "\n")
    (d / "garbage.bin").write_bytes(np.random.default_rng(3).bytes(3000))
    _write(d / "empty.txt", "")
    _write(d / "blank.txt", "\n\n  \n")
    refs = [f"utt{i} {line}" for i, line in enumerate(lines[:20])]
    _write(d / "ref.txt", "\n".join(refs) + "\n")
    _write(d / "ref_bom.txt", BOM + "\n".join(refs) + "\n")
    _write(d / "ref_dup.txt", "\n".join(refs + [refs[0]]) + "\n")
    (d / "ref_latin1.txt").write_bytes(("\n".join(refs) + "\nutt99 caf\xe9\n").encode("latin-1"))
    many = [f"u{i:05d} " + lines[i % len(lines)] for i in range(3000)]
    _write(d / "many.txt", "\n".join(many) + "\n")
    _write(d / "hot.txt", "shepherd 2\ngreen pastures\n")
    _write(d / "hot_bom.txt", BOM + "shepherd 2\n")
    _write(d / "hot_huge.txt", "shepherd 1e30\n")
    _write(d / "hot_bad.txt", "shepherd 2x\n\nlord -1\n")


def _make_posteriors(d: Path, rng) -> None:
    v = len(json.loads(TOKENS_JSON.read_text(encoding="utf-8")))
    good = {f"utt{i}": _log_softmax(rng.normal(size=(40, v)) * 3).astype(np.float32)
            for i in range(3)}
    np.savez(d / "post.npz", **good)
    np.save(d / "one.npy", good["utt0"])
    shutil.copy(d / "one.npy", d / "renamed.npz")
    bad = dict(good)
    frame = good["utt1"].copy()
    frame[7, :] = -np.inf
    bad["utt1"] = frame
    np.savez(d / "post_inf_frame.npz", **bad)
    nan = dict(good)
    nan["utt2"] = np.full_like(good["utt2"], np.nan)
    np.savez(d / "post_nan.npz", **nan)
    np.savez(d / "post_width.npz", utt0=good["utt0"][:, :5], utt1=good["utt1"])
    np.savez(d / "post_1d.npz", utt0=good["utt0"][0])
    np.savez(d / "post_empty.npz", utt0=np.zeros((0, v), np.float32), utt1=good["utt1"])
    np.savez(d / "post_meta_only.npz", utt0__wstart=np.zeros(3))
    np.savez(d / "post_ints.npz", utt0=np.zeros((10, v), np.int64))
    (d / "garbage.npz").write_bytes(np.random.default_rng(4).bytes(500))


def _make_nbest(d: Path) -> None:
    good = []
    for i in range(3):
        hyps = [{"words": f"the lord is my shepherd{' i' * k}", "am": 10.0 + k, "lm": 5.0 + k}
                for k in range(3)]
        good.append(json.dumps({"key": f"utt{i}", "hyps": hyps}))
    _write(d / "nbest.jsonl", "\n".join(good) + "\n")
    _write(d / "nbest_bom.jsonl", BOM + "\n".join(good) + "\n")
    _write(d / "nbest_ref.txt", "".join(f"utt{i} the lord is my shepherd\n" for i in range(3)))
    _write(d / "nbest_ref_partial.txt", "utt0 the lord is my shepherd\n")
    _write(d / "nbest_empty_list.jsonl", good[0] + "\n" + json.dumps({"key": "utt1", "hyps": []})
           + "\n")
    _write(d / "nbest_badjson.jsonl", good[0] + "\n{not json\n")
    _write(d / "nbest_nan.jsonl", good[0] + "\n" + good[1].replace("10.0", "NaN", 1) + "\n")
    _write(d / "nbest_no_am.jsonl", good[0] + "\n" + good[1].replace('"am": 10.0, ', "", 1) + "\n")
    _write(d / "nbest_dup.jsonl", good[0] + "\n" + good[0] + "\n")
    _write(d / "nbest_nokey.jsonl", json.dumps({"hyps": []}) + "\n")
    _write(d / "nbest_list.jsonl", "[1, 2]\n")


def _make_lattices(d: Path) -> None:
    text = (d / "lat.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    _write(d / "lat_bom.txt", BOM + text)
    # cut inside the first lattice: its final states are gone
    first_blank = lines.index("")
    _write(d / "lat_truncated.txt", "\n".join(lines[:max(2, first_blank // 2)]) + "\n")
    arcs = [i for i, line in enumerate(lines) if len(line.split()) >= 4]
    missing = list(lines)
    fields = missing[arcs[0]].split()
    fields[1] = "9999"
    missing[arcs[0]] = " ".join(fields)
    _write(d / "lat_missing_state.txt", "\n".join(missing) + "\n")
    bad_weight = list(lines)
    fields = bad_weight[arcs[0]].split()
    fields[-1] = "abc"
    bad_weight[arcs[0]] = " ".join(fields)
    _write(d / "lat_bad_weight.txt", "\n".join(bad_weight) + "\n")
    _write(d / "lat_no_key.txt", "0 1 the 1,1\n")
    _write(d / "lat_fields.txt", "utt0\n0 1 2 3 4 5 6\n\n")
    _write(d / "lat_nan.txt", "utt0\n0 1 the nan,1\n1\n\n")


def _make_graph_variants(d: Path) -> None:
    words = (d / "graph" / "words.txt").read_text(encoding="utf-8").splitlines()
    for name, edited in {
        "graph_dup_word": words[:5] + [words[3].split()[0] + f" {len(words)}"] + words[5:],
        "graph_dup_id": words[:5] + [f"zzz {words[3].split()[1]}"] + words[5:],
        "graph_bom_words": [BOM + words[0]] + words[1:],
    }.items():
        shutil.copytree(d / "graph", d / name)
        _write(d / name / "words.txt", "\n".join(edited) + "\n")
        # as if compiled so: graph.json's checksum matches the edited file
        info = json.loads((d / name / "graph.json").read_text(encoding="utf-8"))
        info["files"]["words.txt"] = hashlib.sha256(
            (d / name / "words.txt").read_bytes()).hexdigest()
        _write(d / name / "graph.json", json.dumps(info, indent=1))
    _write(d / "words_dup.txt", "\n".join(words[:5] + [words[3]]) + "\n")
    _write(d / "words_list_bom.txt", BOM + "the\nlord\nshepherd\n")
    _write(d / "tokens_dup.txt", "<blank> 0\na 1\na 2\n")
    _write(d / "tokens_bad.json", "[1, 2")
    _write(d / "lexicon_bad.txt", "the t h e |\npsalm p s a l m @\n")


def _make_audio(d: Path) -> None:
    rng = np.random.default_rng(5)
    _write_wav(d / "short8k.wav", rng.normal(size=8000) * 0.1, 8000)
    _write_wav(d / "truncated.wav", rng.normal(size=8000) * 0.1, 16000, declared_frames=32000)
    (d / "garbage.wav").write_bytes(rng.bytes(2000))
    _write(d / "wav_bom.scp", f"{BOM}a {WAV}\nb {WAV2}\n")
    _write(d / "wav_missing.scp", f"a {WAV}\nb {d / 'nowhere.wav'}\n")
    _write(d / "wav_one.scp", f"a {WAV}\n")
    _write(d / "wav_two.scp", f"a {WAV}\nb {WAV2}\n")
    _write(d / "wav_garbage.scp", f"a {WAV}\ng1 {d / 'garbage.wav'}\ng2 {d / 'garbage.wav'}\n")


def _make_model_dirs(d: Path) -> None:
    """Directories that look like sherpa-onnx's (model.onnx / model.int8.onnx, tokens.txt)
    but are not readable ones, and one that is no model directory at all."""
    (d / "model_empty").mkdir()
    tokens = json.loads(TOKENS_JSON.read_text(encoding="utf-8"))
    tokens_txt = "".join(f"{t} {i}\n" for i, t in enumerate(tokens))
    plain = d / "sherpa_plain"  # funasr's export without sherpa-onnx's metadata
    plain.mkdir()
    shutil.copy(DEMO / "model" / "model_quant.onnx", plain / "model.onnx")
    _write(plain / "tokens.txt", tokens_txt)
    no_tokens = d / "sherpa_no_tokens"
    no_tokens.mkdir()
    shutil.copy(DEMO / "model" / "model_quant.onnx", no_tokens / "model.int8.onnx")
    _write(d / "sherpa_garbage" / "tokens.txt", tokens_txt)
    (d / "sherpa_garbage" / "model.int8.onnx").write_bytes(b"\x00garbage" * 50)


# --- the cases ---------------------------------------------------------------------------------
GRAPH = ["--graph", "{d}/graph"]
POST = ["--posteriors", "{d}/post.npz"]
NOT_DIR = "{d}/corpus.txt/sub"   # a file used as a directory
NO_DIR = "{d}/missing_dir/out"   # a path in a directory that does not exist
IS_DIR = "{d}/graph"             # a directory where a file is wanted


def _output_cases() -> List[Case]:
    """Every subcommand's every output: in a missing directory, a directory, under a file."""
    cases = []
    commands = {
        "lm-train": ["lm", "train", "{d}/corpus.txt", "--order", "2", "--discount-fallback",
                     "-o", "{OUT}"],
        "lm-prune": ["lm", "prune", "{d}/lm.arpa", "--threshold", "1e-6", "-o", "{OUT}"],
        "decode-o": ["decode", *GRAPH, *POST, "-o", "{OUT}"],
        "decode-json": ["decode", *GRAPH, *POST, "--json", "-o", "{OUT}"],
        "decode-lattice": ["decode", *GRAPH, *POST, "-o", "{d}/x_hyp.txt", "--lattice", "{OUT}"],
        "tune-out": ["tune", "--nbest-file", "{d}/nbest.jsonl", "--ref", "{d}/nbest_ref.txt",
                     "--rescorer", "ngram={d}/lm.arpa", "-o", "{OUT}"],
        "rescore-out": ["rescore", "--nbest-file", "{d}/nbest.jsonl", "--rescorer",
                        "ngram={d}/lm.arpa", "-o", "{OUT}"],
        "rescore-text": ["rescore", "--nbest-file", "{d}/nbest.jsonl", "--rescorer",
                         "ngram={d}/lm.arpa", "--text", "{OUT}"],
        "rescore-out-lattice": ["rescore", "--lattice", "{d}/lat.txt", "--new-lm", "{d}/lm.arpa",
                                "-o", "{OUT}"],
        "wer-per-utt": ["wer", "{d}/ref.txt", "{d}/ref.txt", "--per-utt", "{OUT}"],
    }
    for name, argv in commands.items():
        for kind, out in (("missing-dir", NO_DIR), ("is-dir", IS_DIR), ("file-as-dir", NOT_DIR)):
            cases.append(Case(f"{name}-{kind}", [a.replace("{OUT}", out) for a in argv], 2,
                              where=out))
    transcribe = ["transcribe", str(WAV), "--model", str(DEMO / "model"), "--no-lm",
                  "--no-progress", "-o"]
    cases += [
        Case("transcribe-o-file", transcribe + ["{d}/corpus.txt"], 2, where="{d}/corpus.txt"),
        Case("transcribe-o-file-as-dir", transcribe + [NOT_DIR], 2, where=NOT_DIR),
        Case("graph-compile-o-file", ["graph", "compile", "--tokens", str(TOKENS_JSON), "--lm",
                                      "{d}/lm.arpa", "--spelling", "chars", "--word-boundary",
                                      "|", "-o", "{d}/corpus.txt"], 2, where="{d}/corpus.txt"),
        Case("graph-compile-o-file-as-dir", ["graph", "compile", "--tokens", str(TOKENS_JSON),
                                             "--lm", "{d}/lm.arpa", "--spelling", "chars",
                                             "-o", NOT_DIR], 2, where=NOT_DIR),
    ]
    return cases


def _arpa_cases() -> List[Case]:
    bad = {  # file -> expected error start (":" = a line number must follow)
        "huge_count.arpa": "{d}/huge_count.arpa:", "inf_backoff.arpa": "{d}/inf_backoff.arpa:",
        "nan_prob.arpa": "{d}/nan_prob.arpa:", "pos_prob.arpa": "{d}/pos_prob.arpa:",
        "word_prob.arpa": "{d}/word_prob.arpa:", "no_data.arpa": "{d}/no_data.arpa",
        "no_end.arpa": "{d}/no_end.arpa", "more_ngrams.arpa": "{d}/more_ngrams.arpa:",
        "fields.arpa": "{d}/fields.arpa:", "unknown_word.arpa": "{d}/unknown_word.arpa:",
        "dup_unigram.arpa": "{d}/dup_unigram.arpa:", "latin1.arpa": "{d}/latin1.arpa:",
        "empty.arpa": "{d}/empty.arpa", "garbage.arpa": "{d}/garbage.arpa",
        "garbage.arpa.gz": "{d}/garbage.arpa.gz", "top_backoff.arpa": "{d}/top_backoff.arpa:",
        "no_counts.arpa": "{d}/no_counts.arpa", "order_gap.arpa": "{d}/order_gap.arpa:",
        "missing.arpa": "{d}/missing.arpa",
    }
    cases = [Case(f"lm-info-{name}", ["lm", "info", f"{{d}}/{name}"], 2, where=where)
             for name, where in bad.items()]
    cases += [Case(f"lm-ppl-{name}", ["lm", "ppl", f"{{d}}/{name}", "{d}/corpus.txt"], 2,
                   where=bad[name])
              for name in ("huge_count.arpa", "inf_backoff.arpa", "garbage.arpa", "empty.arpa")]
    cases += [
        Case("lm-info-dir", ["lm", "info", "{d}/graph"], 2, where="{d}/graph"),
        Case("lm-info-bom", ["lm", "info", "{d}/bom.arpa"], 0,
             check=lambda d, out: _assert_in("vocabulary\t", out)),
        Case("lm-info-gz", ["lm", "info", "{d}/lm.arpa.gz"], 0),
        Case("lm-info-inf-prob", ["lm", "info", "{d}/inf_prob.arpa"], 0),
        # KenLM reads a -inf log-probability (a zero probability): a sentence using it is
        # impossible, its perplexity infinite
        Case("lm-ppl-inf-prob", ["lm", "ppl", "{d}/inf_prob.arpa", "{d}/inf_text.txt"], 0,
             check=lambda d, out: _assert_in("Perplexity including OOVs:\tinf", out)),
        Case("graph-compile-inf-prob", ["graph", "compile", "--tokens", str(TOKENS_JSON), "--lm",
                                        "{d}/inf_prob.arpa", "--spelling", "chars",
                                        "--word-boundary", "|", "-o", "{d}/g_inf"], 0,
             process=True),
        Case("graph-compile-inf-backoff", ["graph", "compile", "--tokens", str(TOKENS_JSON),
                                           "--lm", "{d}/inf_backoff.arpa", "--spelling",
                                           "chars", "-o", "{d}/g_inf_bo"], 2,
             where="{d}/inf_backoff.arpa:", process=True),
        Case("graph-compile-bom-arpa", ["graph", "compile", "--tokens", str(TOKENS_JSON), "--lm",
                                        "{d}/bom.arpa", "--spelling", "chars", "--word-boundary",
                                        "|", "-o", "{d}/g_bom"], 0,
             check=lambda d, out: _assert_no_bom(d / "g_bom" / "words.txt")),
        Case("rescore-new-lm-garbage", ["rescore", "--lattice", "{d}/lat.txt", "--new-lm",
                                        "{d}/garbage.arpa", "--text", "{d}/x.txt"], 2,
             where="{d}/garbage.arpa"),
        Case("tune-rescorer-no-end", ["tune", "--nbest-file", "{d}/nbest.jsonl", "--ref",
                                      "{d}/nbest_ref.txt", "--rescorer", "ngram={d}/no_end.arpa",
                                      "-o", "{d}/x.json"], 2, where="{d}/no_end.arpa"),
    ]
    return cases


def _assert_in(needle, haystack):
    assert needle in haystack, haystack[-2000:]


def _assert_no_bom(path: Path):
    text = Path(path).read_text(encoding="utf-8")
    assert BOM not in text


def _arpa_words(path: Path) -> List[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    start = lines.index("\\1-grams:") + 1
    end = lines.index("", start)
    return [line.split("\t")[1] for line in lines[start:end]]


def _lm_cases() -> List[Case]:
    train = ["lm", "train", "--discount-fallback", "--order", "2"]
    return [
        Case("lm-train-bom-corpus", ["lm", "train", "{d}/bom_corpus.txt", "--order", "2",
                                     "--discount-fallback", "-o", "{d}/bom_lm.arpa"], 0,
             check=lambda d, out: _assert_no_bom(d / "bom_lm.arpa")),
        Case("lm-train-discount-nan", ["lm", "train", "{d}/corpus.txt", "--order", "2", "-o",
                                       "{d}/x.arpa", "--discount-fallback", "nan", "nan", "nan"],
             2),
        Case("lm-train-discount-count", ["lm", "train", "{d}/corpus.txt", "--order", "2", "-o",
                                         "{d}/x.arpa", "--discount-fallback", "0.5", "1"], 2),
        Case("lm-train-garbage", train + ["{d}/garbage.bin", "-o", "{d}/x.arpa"], 2,
             where="{d}/garbage.bin:"),
        Case("lm-train-missing", train + ["{d}/nowhere.txt", "-o", "{d}/x.arpa"], 2,
             where="{d}/nowhere.txt"),
        Case("lm-train-empty", train + ["{d}/empty.txt", "-o", "{d}/x.arpa"], 2,
             where="{d}/empty.txt"),
        Case("lm-train-order-0", ["lm", "train", "{d}/corpus.txt", "--order", "0", "-o",
                                  "{d}/x.arpa"], 2),
        Case("lm-train-k-nan", ["lm", "train", "{d}/corpus.txt", "--order", "2", "--smoothing",
                                "add-k", "--k", "nan", "-o", "{d}/x.arpa"], 2),
        Case("lm-train-memory", train + ["{d}/corpus.txt", "-o", "{d}/x.arpa", "-S", "lots"], 2),
        Case("lm-train-no-args", ["lm", "train"], 2),
        Case("lm-ppl-garbage-text", ["lm", "ppl", "{d}/lm.arpa", "{d}/garbage.bin"], 2,
             where="{d}/garbage.bin:"),
        Case("lm-ppl-empty-text", ["lm", "ppl", "{d}/lm.arpa", "{d}/empty.txt"], 2,
             where="{d}/empty.txt"),
        Case("lm-ppl-blank-text", ["lm", "ppl", "{d}/lm.arpa", "{d}/blank.txt"], 0,
             check=lambda d, out: _assert_in("Tokens:\t3", out)),  # KenLM: 3 sentences "</s>"
        Case("lm-ppl-bom-text", ["lm", "ppl", "{d}/lm.arpa", "{d}/bom_corpus.txt"], 0,
             check=lambda d, out: _assert_in("OOVs:\t0", out)),
        Case("lm-prune-threshold-nan", ["lm", "prune", "{d}/lm.arpa", "-o", "{d}/x.arpa",
                                        "--threshold", "nan"], 2),
        Case("lm-prune-threshold-negative", ["lm", "prune", "{d}/lm.arpa", "-o", "{d}/x.arpa",
                                             "--threshold", "-1"], 2),
        Case("lm-generate-n-negative", ["lm", "generate", "{d}/lm.arpa", "-n", "-1"], 2),
        Case("lm-generate-temperature-0", ["lm", "generate", "{d}/lm.arpa", "--temperature",
                                           "0"], 2),
        Case("lm-generate-beam-0", ["lm", "generate", "{d}/lm.arpa", "--method", "beam",
                                    "--beam", "0"], 2),
        Case("lm-generate-unknown-prefix", ["lm", "generate", "{d}/lm.arpa", "--prefix",
                                            "zebra"], 2),
        Case("lm-unknown-action", ["lm", "frobnicate"], 2),
    ]


def _graph_cases() -> List[Case]:
    compile_ = ["graph", "compile", "--spelling", "chars", "--word-boundary", "|"]
    return [
        Case("graph-tokens-bad-json", compile_ + ["--tokens", "{d}/tokens_bad.json", "--lm",
                                                  "{d}/lm.arpa", "-o", "{d}/g_x"], 2,
             where="{d}/tokens_bad.json:"),
        Case("graph-tokens-dup", compile_ + ["--tokens", "{d}/tokens_dup.txt", "--lm",
                                             "{d}/lm.arpa", "-o", "{d}/g_x"], 2,
             where="{d}/tokens_dup.txt:3"),
        Case("graph-tokens-missing", compile_ + ["--tokens", "{d}/nowhere.txt", "--lm",
                                                 "{d}/lm.arpa", "-o", "{d}/g_x"], 2,
             where="{d}/nowhere.txt"),
        Case("graph-boundary-not-a-token", ["graph", "compile", "--tokens", str(TOKENS_JSON),
                                            "--lm", "{d}/lm.arpa", "--spelling", "chars",
                                            "--word-boundary", "@", "-o", "{d}/g_x"], 2),
        Case("graph-lexicon-bad-token", ["graph", "compile", "--tokens", str(TOKENS_JSON),
                                         "--lm", "{d}/lm.arpa", "--lexicon",
                                         "{d}/lexicon_bad.txt", "-o", "{d}/g_x"], 2,
             where="{d}/lexicon_bad.txt:2"),
        Case("graph-words-bom", compile_ + ["--tokens", str(TOKENS_JSON), "--lm", "{d}/lm.arpa",
                                            "--words", "{d}/words_list_bom.txt", "-o",
                                            "{d}/g_words_bom"], 0,
             check=lambda d, out: _assert_no_bom(d / "g_words_bom" / "words.txt")),
        Case("graph-topology-bad", compile_ + ["--tokens", str(TOKENS_JSON), "--lm",
                                               "{d}/lm.arpa", "--topology", "hmm", "-o",
                                               "{d}/g_x"], 2),
        Case("graph-no-action", ["graph"], 2),
    ]


def _decode_cases() -> List[Case]:
    dec = ["decode", *GRAPH, "-o", "{d}/x_hyp.txt"]
    return [
        Case("decode-npy-renamed", dec + ["--posteriors", "{d}/renamed.npz"], 2,
             where="{d}/renamed.npz"),
        Case("decode-garbage-npz", dec + ["--posteriors", "{d}/garbage.npz"], 2,
             where="{d}/garbage.npz"),
        Case("decode-missing-npz", dec + ["--posteriors", "{d}/nowhere.npz"], 2,
             where="{d}/nowhere.npz"),
        Case("decode-meta-only", dec + ["--posteriors", "{d}/post_meta_only.npz"], 2,
             where="{d}/post_meta_only.npz"),
        Case("decode-hotword-bonus-negative", dec + [*POST, "--hotword-bonus", "-1"], 2),
        Case("decode-hotword-bonus-nan", dec + [*POST, "--hotword-bonus", "nan"], 2),
        Case("decode-beam-negative", dec + [*POST, "--beam", "-1"], 2),
        Case("decode-beam-nan", dec + [*POST, "--beam", "nan"], 2),
        Case("decode-nbest-0", dec + [*POST, "--nbest", "0"], 2),
        Case("decode-mode-mismatch", dec + [*POST, "--mode", "sync"], 2),
        Case("decode-graph-missing", ["decode", "--graph", "{d}/nowhere", *POST, "-o",
                                      "{d}/x_hyp.txt"], 2, where="{d}/nowhere"),
        Case("decode-graph-not-a-graph", ["decode", "--graph", "{d}/missing_dir", *POST, "-o",
                                          "{d}/x_hyp.txt"], 2, where="{d}/missing_dir"),
        Case("decode-words-dup-word", ["decode", "--graph", "{d}/graph_dup_word", *POST, "-o",
                                       "{d}/x_hyp.txt"], 2, where="{d}/graph_dup_word/words.txt:"),
        Case("decode-words-dup-id", ["decode", "--graph", "{d}/graph_dup_id", *POST, "-o",
                                     "{d}/x_hyp.txt"], 2, where="{d}/graph_dup_id/words.txt:"),
        Case("decode-words-bom", ["decode", "--graph", "{d}/graph_bom_words", *POST, "-o",
                                  "{d}/x_hyp_bom.txt"], 0,
             check=lambda d, out: _assert_no_bom(d / "x_hyp_bom.txt")),
        # per utterance: the others are decoded, the bad one reported, status 1
        Case("decode-inf-frame", dec + ["--posteriors", "{d}/post_inf_frame.npz"], 1,
             where="{d}/post_inf_frame.npz: utterance utt1"),
        Case("decode-nan-utterance", dec + ["--posteriors", "{d}/post_nan.npz"], 1,
             where="{d}/post_nan.npz: utterance utt2"),
        Case("decode-wrong-width", dec + ["--posteriors", "{d}/post_width.npz"], 1,
             where="{d}/post_width.npz: utterance utt0"),
        Case("decode-1d-array", dec + ["--posteriors", "{d}/post_1d.npz"], 1,
             where="{d}/post_1d.npz: utterance utt0"),
        Case("decode-no-frames", dec + ["--posteriors", "{d}/post_empty.npz"], 1,
             where="{d}/post_empty.npz: utterance utt0"),
        Case("decode-int-array", dec + ["--posteriors", "{d}/post_ints.npz"], 1,
             where="{d}/post_ints.npz: utterance utt0"),
        Case("decode-hotwords-bom", dec + [*POST, "--hotwords", "{d}/hot_bom.txt"], 0,
             check=lambda d, out: _assert_no_bom(d / "x_hyp.txt")),
        Case("decode-hotwords-huge-weight", dec + [*POST, "--hotwords", "{d}/hot_huge.txt"], 0,
             stderr_has="tingxie: warning: {d}/hot_huge.txt:1:",
             check=lambda d, out: _assert_all_decoded(d / "x_hyp.txt")),
        Case("decode-hotwords-bad-lines", dec + [*POST, "--hotwords", "{d}/hot_bad.txt"], 0,
             stderr_has="tingxie: warning: {d}/hot_bad.txt:1:"),
        Case("decode-hotwords-missing", dec + [*POST, "--hotwords", "{d}/nowhere.txt"], 2,
             where="{d}/nowhere.txt"),
    ]


def _assert_all_decoded(path: Path):
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and all(len(line.split()) > 1 for line in lines), lines


def _rescore_cases() -> List[Case]:
    nb = ["rescore", "--rescorer", "ngram={d}/lm.arpa", "-o", "{d}/x_out.jsonl"]
    lat = ["rescore", "--new-lm", "{d}/lm.arpa", "--text", "{d}/x_text.txt"]
    tune = ["tune", "--nbest-file", "{d}/nbest.jsonl", "--ref", "{d}/nbest_ref.txt", "--rescorer",
            "ngram={d}/lm.arpa", "-o", "{d}/x_tune.json"]
    return [
        Case("rescore-no-output", ["rescore", "--nbest-file", "{d}/nbest.jsonl", "--rescorer",
                                   "ngram={d}/lm.arpa"], 2),
        Case("rescore-lattice-no-output", ["rescore", "--lattice", "{d}/lat.txt", "--new-lm",
                                           "{d}/lm.arpa"], 2),
        Case("rescore-lm-weight-nan", nb + ["--nbest-file", "{d}/nbest.jsonl", "--lm-weight", "nan"],
             2),
        Case("rescore-nbest-bom", nb + ["--nbest-file", "{d}/nbest_bom.jsonl"], 0),
        Case("rescore-nbest-empty-list", nb + ["--nbest-file", "{d}/nbest_empty_list.jsonl"], 0,
             stderr_has="tingxie: warning: {d}/nbest_empty_list.jsonl:2:"),
        Case("rescore-nbest-bad-json", nb + ["--nbest-file", "{d}/nbest_badjson.jsonl"], 2,
             where="{d}/nbest_badjson.jsonl:2"),
        Case("rescore-nbest-nan", nb + ["--nbest-file", "{d}/nbest_nan.jsonl"], 2,
             where="{d}/nbest_nan.jsonl:2"),
        Case("rescore-nbest-no-am", nb + ["--nbest-file", "{d}/nbest_no_am.jsonl"], 2,
             where="{d}/nbest_no_am.jsonl:2"),
        Case("rescore-nbest-dup-key", nb + ["--nbest-file", "{d}/nbest_dup.jsonl"], 2,
             where="{d}/nbest_dup.jsonl:2"),
        Case("rescore-nbest-no-key", nb + ["--nbest-file", "{d}/nbest_nokey.jsonl"], 2,
             where="{d}/nbest_nokey.jsonl:1"),
        Case("rescore-nbest-not-object", nb + ["--nbest-file", "{d}/nbest_list.jsonl"], 2,
             where="{d}/nbest_list.jsonl:1"),
        Case("rescore-nbest-garbage", nb + ["--nbest-file", "{d}/garbage.bin"], 2,
             where="{d}/garbage.bin:"),
        Case("rescore-rescorer-syntax", ["rescore", "--nbest-file", "{d}/nbest.jsonl", "--rescorer",
                                         "lm.arpa", "--text", "{d}/x.txt"], 2),
        Case("rescore-rescorer-unknown-type", ["rescore", "--nbest-file", "{d}/nbest.jsonl",
                                               "--rescorer", "magic={d}/lm.arpa", "--text",
                                               "{d}/x.txt"], 2),
        Case("rescore-lattice-truncated", lat + ["--lattice", "{d}/lat_truncated.txt"], 2,
             where="{d}/lat_truncated.txt:"),
        Case("rescore-lattice-missing-state", lat + ["--lattice", "{d}/lat_missing_state.txt"], 2,
             where="{d}/lat_missing_state.txt:"),
        Case("rescore-lattice-bad-weight", lat + ["--lattice", "{d}/lat_bad_weight.txt"], 2,
             where="{d}/lat_bad_weight.txt:"),
        Case("rescore-lattice-no-key", lat + ["--lattice", "{d}/lat_no_key.txt"], 2,
             where="{d}/lat_no_key.txt:1"),
        Case("rescore-lattice-fields", lat + ["--lattice", "{d}/lat_fields.txt"], 2,
             where="{d}/lat_fields.txt:2"),
        Case("rescore-lattice-nan", lat + ["--lattice", "{d}/lat_nan.txt"], 2,
             where="{d}/lat_nan.txt:2"),
        Case("rescore-lattice-bom", lat + ["--lattice", "{d}/lat_bom.txt"], 0,
             check=lambda d, out: _assert_no_bom(d / "x_text.txt")),
        Case("rescore-lattice-words-dup", lat + ["--lattice", "{d}/lat.txt", "--words",
                                                 "{d}/words_dup.txt"], 2,
             where="{d}/words_dup.txt:6"),
        Case("tune-lm-weights-empty", tune + ["--lm-weights", ""], 2),
        Case("tune-lm-weights-nan", tune + ["--lm-weights", "nan"], 2),
        Case("tune-lm-weights-range-nan", tune + ["--lm-weights", "0:nan:0.1"], 2),
        Case("tune-lm-weights-backwards", tune + ["--lm-weights", "1:0:0.1"], 2),
        Case("tune-word-bonus-text", tune + ["--word-bonus", "a,b"], 2),
        Case("tune-ref-missing-keys", ["tune", "--nbest-file", "{d}/nbest.jsonl", "--ref",
                                       "{d}/nbest_ref_partial.txt", "--rescorer",
                                       "ngram={d}/lm.arpa", "-o", "{d}/x_tune.json"], 2,
             where="{d}/nbest_ref_partial.txt"),
        Case("tune-nbest-empty-list", ["tune", "--nbest-file", "{d}/nbest_empty_list.jsonl", "--ref",
                                       "{d}/nbest_ref.txt", "--rescorer", "ngram={d}/lm.arpa",
                                       "-o", "{d}/x_tune.json"], 0,
             stderr_has="tingxie: warning: {d}/nbest_empty_list.jsonl:2:"),
        Case("tune-acoustic-scale-nan", tune + ["--acoustic-scale", "nan"], 2),
        Case("tune-ok", tune, 0, check=lambda d, out: _assert_json_finite(d / "x_tune.json")),
    ]


def _assert_json_finite(path: Path):
    text = Path(path).read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)


def _wer_cases() -> List[Case]:
    return [
        Case("wer-ref-bom", ["wer", "{d}/ref_bom.txt", "{d}/ref.txt"], 0,
             check=lambda d, out: _assert_in("%WER 0.00", out)),
        Case("wer-ref-dup", ["wer", "{d}/ref_dup.txt", "{d}/ref.txt"], 2,
             where="{d}/ref_dup.txt:21"),
        Case("wer-ref-latin1", ["wer", "{d}/ref_latin1.txt", "{d}/ref.txt"], 2,
             where="{d}/ref_latin1.txt:21"),
        Case("wer-hyp-missing", ["wer", "{d}/ref.txt", "{d}/nowhere.txt"], 2,
             where="{d}/nowhere.txt"),
        Case("wer-hyp-garbage", ["wer", "{d}/ref.txt", "{d}/garbage.bin"], 2,
             where="{d}/garbage.bin:"),
        Case("wer-bad-mode", ["wer", "{d}/ref.txt", "{d}/ref.txt", "--mode", "lenient"], 2),
        Case("wer-confusions-negative", ["wer", "{d}/ref.txt", "{d}/ref.txt", "--confusions",
                                         "-1"], 2),
    ]


def _pipe_cases() -> List[Case]:
    cli = f"{sys.executable} -m asr.cli"
    return [
        Case("pipe-wer-per-utt", [], 0, shell=f"{cli} wer {{d}}/many.txt {{d}}/many.txt "
                                              "--per-utt - | head -1"),
        Case("pipe-lm-info", [], 0, shell=f"{cli} lm info {{d}}/lm.arpa | head -1"),
        Case("pipe-lm-ppl-sentences", [], 0, shell=f"{cli} lm ppl --sentences {{d}}/lm.arpa "
                                                   "{d}/many.txt | head -2"),
        Case("pipe-lm-generate", [], 0, shell=f"{cli} lm generate {{d}}/lm.arpa -n 5000 | head -1"),
    ]


def _transcribe_cases() -> List[Case]:
    tr = ["transcribe", "--model", str(DEMO / "model"), "--no-lm", "--no-progress"]
    return [
        Case("transcribe-wav-scp-bom", tr + ["{d}/wav_bom.scp", "-o", "{d}/t_bom"], 0,
             check=lambda d, out: _assert_keys(d / "t_bom" / "text", ["a", "b"])),
        Case("transcribe-missing-entry", tr + ["{d}/wav_missing.scp", "-o", "{d}/t_missing"], 1,
             where="{d}/nowhere.wav"),
        Case("transcribe-garbage-audio", tr + ["{d}/wav_garbage.scp", "-o", "{d}/t_garbage"], 1,
             where="{d}/garbage.wav"),
        Case("transcribe-truncated-wav", tr + ["{d}/truncated.wav", "-o", "{d}/t_trunc"], 0,
             stderr_has="tingxie: warning: {d}/truncated.wav:"),
        Case("transcribe-8k", tr + ["{d}/short8k.wav", "-o", "{d}/t_8k"], 0,
             stderr_has="tingxie: warning: {d}/short8k.wav:"),
        Case("transcribe-rerun-smaller-list", tr + ["{d}/wav_one.scp", "-o", "{d}/t_rerun"], 0,
             setup=lambda d: _run_quiet([a.replace("{d}", str(d)) for a in tr]
                                        + [str(d / "wav_two.scp"), "-o", str(d / "t_rerun")]),
             check=lambda d, out: _assert_text_matches_journal(d / "t_rerun")),
        Case("transcribe-jobs-0", tr + [str(WAV), "-o", "{d}/t_x", "--jobs", "0"], 2),
        Case("transcribe-model-missing", ["transcribe", "--model", "{d}/nowhere", "--no-lm",
                                          str(WAV), "-o", "{d}/t_x"], 2, where="{d}/nowhere"),
        Case("transcribe-model-not-a-model", ["transcribe", "--model", "{d}/model_empty",
                                              "--no-lm", str(WAV), "-o", "{d}/t_x"], 2,
             where="{d}/model_empty"),
        Case("transcribe-sherpa-no-metadata", ["transcribe", "--model", "{d}/sherpa_plain",
                                               "--no-lm", str(WAV), "-o", "{d}/t_x"], 2,
             where="{d}/sherpa_plain/model.onnx"),
        Case("transcribe-sherpa-no-tokens", ["transcribe", "--model", "{d}/sherpa_no_tokens",
                                             "--no-lm", str(WAV), "-o", "{d}/t_x"], 2,
             where="{d}/sherpa_no_tokens"),
        Case("transcribe-sherpa-garbage", ["transcribe", "--model", "{d}/sherpa_garbage",
                                           "--no-lm", str(WAV), "-o", "{d}/t_x"], 2,
             where="{d}/sherpa_garbage/model.int8.onnx"),
        Case("transcribe-after-a-bad-model", tr + [str(WAV), "-o", "{d}/t_retry"], 0,
             setup=lambda d: _run_status(["transcribe", "--model", str(d / "sherpa_plain"),
                                          "--no-lm", "--no-progress", str(WAV), "-o",
                                          str(d / "t_retry")], 2),
             check=lambda d, out: _assert_keys(d / "t_retry" / "text", ["test_00000"])),
        Case("transcribe-input-missing", tr + ["{d}/nowhere.wav", "-o", "{d}/t_x"], 2,
             where="{d}/nowhere.wav"),
        Case("transcribe-hotwords-no-graph", tr + [str(WAV), "-o", "{d}/t_x", "--hotwords",
                                                   "{d}/hot.txt"], 2),
    ]


def _assert_keys(path: Path, keys):
    got = [line.split()[0] for line in Path(path).read_text(encoding="utf-8").splitlines()]
    assert got == keys, got


def _assert_text_matches_journal(outdir: Path):
    journal = [json.loads(line) for line in (outdir / "results.jsonl").read_text(
        encoding="utf-8").splitlines()]
    text = [line.split()[0] for line in (outdir / "text").read_text(
        encoding="utf-8").splitlines()]
    assert sorted(text) == sorted(r["key"] for r in journal), (text, journal)


def _usage_cases() -> List[Case]:
    return [
        Case("no-command", [], 2),
        Case("unknown-command", ["frobnicate"], 2),
        Case("unknown-option", ["wer", "{d}/ref.txt", "{d}/ref.txt", "--frobnicate"], 2),
        Case("int-option-text", ["lm", "generate", "{d}/lm.arpa", "-n", "many"], 2),
    ]


CASES = (_output_cases() + _arpa_cases() + _lm_cases() + _graph_cases() + _decode_cases()
         + _rescore_cases() + _wer_cases() + _pipe_cases() + _transcribe_cases()
         + _usage_cases())


def test_the_corpus_is_large_and_names_are_unique():
    assert len(CASES) >= 100
    assert len({c.name for c in CASES}) == len(CASES)


# --- running a case ----------------------------------------------------------------------------
class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout()


def _run_in_process(argv, capfd):
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(CASE_SECONDS)
    try:
        status = main(argv)
    except _Timeout:
        pytest.fail(f"no answer within {CASE_SECONDS} s")
    except SystemExit as exit_:  # argparse's --help; anything else is a contract breach
        status = exit_.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    out, err = capfd.readouterr()
    return status, out, err


def _run_process(case: Case, argv, d: Path):
    command = case.shell.replace("{d}", str(d)) if case.shell else \
        [sys.executable, "-m", "asr.cli", *argv]
    try:
        proc = subprocess.run(command, shell=bool(case.shell), cwd=ROOT, capture_output=True,
                              text=True, timeout=CASE_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no answer within {CASE_SECONDS} s (a hang)")
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_contract(case: Case, d: Path, capfd):
    argv = [a.replace("{d}", str(d)) for a in case.argv]
    if case.setup:
        case.setup(d)
        capfd.readouterr()
    if case.process or case.shell:
        status, out, err = _run_process(case, argv, d)
    else:
        status, out, err = _run_in_process(argv, capfd)
    assert "Traceback" not in err, err
    assert status == case.status, f"exit status {status}, expected {case.status}\n{err}"
    errors = [line for line in err.splitlines() if line.startswith("tingxie: error:")]
    if case.status == 2:
        assert len(errors) == 1, err
        assert len([line for line in err.splitlines() if "error" in line.lower()]) == 1, err
    elif case.status == 1:
        assert errors, err
    else:
        assert not errors, err
    if case.shell:
        assert err == "", err
    if case.where is not None:
        where = case.where.replace("{d}", str(d))
        assert any(line.startswith(f"tingxie: error: {where}") for line in errors), err
        if where.endswith(":"):  # a line number must follow
            assert any(re.match(re.escape(f"tingxie: error: {where}") + r"\d+: \S", line)
                       for line in errors), err
    elif case.status == 2:
        assert re.match(r"tingxie: error: \S", errors[0]), err
    if case.stderr_has is not None:
        assert case.stderr_has.replace("{d}", str(d)) in err, err
    for line in err.splitlines():
        if "warning" in line.lower():
            assert line.startswith("tingxie: warning: "), err
    if case.argv[:1] == ["transcribe"]:  # funasr's console talk stays out of the way
        assert "ffmpeg" not in out + err and "model hub" not in out + err, out + err
    if case.check:
        case.check(d, out)
