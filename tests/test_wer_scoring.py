"""tingxie wer: S/D/I splits against sclite (the binary) and Kaldi compute-wer (kaldialign),
text reading, normalisation, modes, CLI output."""
import json
import os
import random
import re
import subprocess
import sys

import kaldialign
import pytest

from asr.cli import main
from asr.scoring import align, align_many, count_edits, score_texts, tokenize
from common.errors import InputError
from common.kaldi import read_kaldi_text

SCLITE = "/usr/lib/sctk/bin/sclite"


def random_pairs(count, seed, vocab="a b c d e f", max_len=12):
    """Short sequences over a tiny vocabulary: equal-cost alignments tie all the time."""
    rng = random.Random(seed)
    words = vocab.split()
    pairs = []
    for _ in range(count):
        ref = [rng.choice(words) for _ in range(rng.randint(0, max_len))]
        if rng.random() < 0.5:  # a noisy copy, like a real hypothesis
            hyp = [w if rng.random() < 0.7 else rng.choice(words) for w in ref]
            hyp = [w for w in hyp if rng.random() < 0.9]
            for _ in range(rng.randint(0, 2)):
                hyp.insert(rng.randint(0, len(hyp)), rng.choice(words))
        else:
            hyp = [rng.choice(words) for _ in range(rng.randint(0, max_len))]
        pairs.append((ref, hyp))
    return pairs


def run_sclite(pairs, tmp_path):
    """Per utterance: (C, S, D, I) and the alignment ('CSDI' per column) from sclite's
    pralign report (case-sensitive, so its REF/HYP rows show the tokens as they are)."""
    with open(tmp_path / "ref.trn", "w") as ref, open(tmp_path / "hyp.trn", "w") as hyp:
        for n, (r, h) in enumerate(pairs):
            ref.write(" ".join(r) + f" (spk_{n:05d})\n")
            hyp.write(" ".join(h) + f" (spk_{n:05d})\n")
    out = subprocess.run([SCLITE, "-r", str(tmp_path / "ref.trn"), "trn",
                          "-h", str(tmp_path / "hyp.trn"), "trn", "-i", "spu_id", "-s",
                          "-o", "pralign", "stdout"], capture_output=True, text=True,
                         check=True).stdout
    # (no REF/HYP rows when both sides are empty)
    found = re.findall(r"id: \(spk_(\d+)\)\nScores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)\n"
                       r"(?:Attributes:.*\n)?(?:REF:(.*)\nHYP:(.*)\n)?", out)
    assert len(found) == len(pairs)
    result = {}
    for n, c, s, d, i, ref_row, hyp_row in found:
        ops = ""
        for r, h in zip(ref_row.split(), hyp_row.split()):
            ops += ("I" if set(r) == {"*"} else "D" if set(h) == {"*"} else
                    "C" if r == h else "S")
        result[int(n)] = (int(c), int(s), int(d), int(i)), ops
    return result


@pytest.mark.skipif(not os.path.exists(SCLITE), reason="sctk (sclite) is not installed")
def test_splits_equal_sclite_on_2000_random_pairs(tmp_path, capsys):
    pairs = random_pairs(2000, seed=7)
    sclite = run_sclite(pairs, tmp_path)
    expected = {n: counts for n, (counts, _) in sclite.items()}
    counts = count_edits([r for r, _ in pairs], [h for _, h in pairs], "sclite")
    mismatched = [n for n in range(len(pairs)) if tuple(counts[n]) != expected[n]]
    assert mismatched == []
    # Not only the split: the very alignment sclite prints, column by column.
    alignments = align_many([r for r, _ in pairs], [h for _, h in pairs], "sclite")
    assert [a.ops for a in alignments] == [sclite[n][1] for n in range(len(pairs))]
    # The test has teeth: with unit costs (Kaldi's tie-breaking) many splits differ.
    kaldi = count_edits([r for r, _ in pairs], [h for _, h in pairs], "kaldi")
    assert sum(tuple(kaldi[n]) != expected[n] for n in range(len(pairs))) > 50
    # ... and kaldialign's sclite_mode (sclite's costs, Kaldi's tie-breaking) is no substitute.
    differ = 0
    for n, (ref, hyp) in enumerate(pairs):
        k = kaldialign.edit_distance(ref, hyp, sclite_mode=True)
        differ += (k["sub"], k["del"], k["ins"]) != expected[n][1:]
    assert differ > 0
    # The command, from Kaldi text files, reports the same totals and per-utterance ops.
    with open(tmp_path / "ref", "w") as ref, open(tmp_path / "hyp", "w") as hyp:
        for n, (r, h) in enumerate(pairs):
            ref.write(" ".join([f"spk_{n:05d}"] + r) + "\n")
            hyp.write(" ".join([f"spk_{n:05d}"] + h) + "\n")
    assert main(["wer", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    totals = [sum(c[k] for c in expected.values()) for k in range(4)]
    assert [report[k] for k in ("correct", "substitutions", "deletions", "insertions")] == totals
    for n, utterance in enumerate(report["utterances"]):
        ops = utterance["ops"]
        assert tuple(ops.count(op) for op in "CSDI") == expected[n]


@pytest.mark.skipif(not os.path.exists(SCLITE), reason="sctk (sclite) is not installed")
def test_cjk_and_long_pairs_equal_sclite(tmp_path):
    pairs = random_pairs(300, seed=11, vocab="今 天 气 很 好 的", max_len=60)
    sclite = run_sclite(pairs, tmp_path)
    alignments = align_many([r for r, _ in pairs], [h for _, h in pairs], "sclite")
    assert [(a.correct, a.substitutions, a.deletions, a.insertions) for a in alignments] == [
        sclite[n][0] for n in range(len(pairs))]
    assert [a.ops for a in alignments] == [sclite[n][1] for n in range(len(pairs))]


def test_kaldi_costs_equal_kaldialign_edit_distance():
    pairs = random_pairs(2000, seed=3)
    counts = count_edits([r for r, _ in pairs], [h for _, h in pairs], "kaldi")
    for (ref, hyp), (c, s, d, i) in zip(pairs, counts):
        k = kaldialign.edit_distance(ref, hyp)
        assert (s, d, i) == (k["sub"], k["del"], k["ins"])
        assert c + s + d == len(ref) and c + s + i == len(hyp)


def test_sclite_split_of_known_ties():
    # Verified with sclite 2.4: on ties sclite prefers the diagonal, then insertion.
    assert align("x y".split(), "y z".split()).ops == "DCI"
    assert align("a b c d".split(), "a x c".split()).ops == "CSCD"
    # sub 4 > ins 3: sclite may pick more errors than the plain edit distance would.
    weighted = align("a b".split(), "b c".split())
    assert (weighted.substitutions, weighted.deletions, weighted.insertions) == (0, 1, 1)


def test_alignment_columns_and_empty_sides():
    a = align([], "p q".split())
    assert a.ops == "II" and a.columns() == [("***", "p", "I"), ("***", "q", "I")]
    assert align("p q".split(), []).ops == "DD"
    assert align([], []).ops == ""


def test_bad_token_types_are_type_errors():
    with pytest.raises(TypeError):
        count_edits([["a", 3]], [["a"]])
    with pytest.raises(ValueError):
        count_edits([["a"]], [])
    with pytest.raises(ValueError):
        count_edits([["a"]], [["a"]], costs="nist")


def test_read_kaldi_text(tmp_path):
    path = tmp_path / "text"
    path.write_bytes("\ufeffu1 hello  world\n\nu2\nu3 你好\r\n".encode())
    assert read_kaldi_text(str(path)) == {"u1": "hello world", "u2": "", "u3": "你好"}


def test_non_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "hyp"
    path.write_bytes(b"u1 fine\nu2 also fine\nu3 caf\xe9\n" + b"u4 x\n" * 5000)
    with pytest.raises(InputError) as err:
        read_kaldi_text(str(path))
    assert err.value.line == 3 and err.value.path == str(path) and "UTF-8" in err.value.message


def test_repeated_key(tmp_path):
    path = tmp_path / "ref"
    path.write_text("u1 a\nu2 b\nu1 c\n")
    with pytest.raises(InputError, match="repeats line 1") as err:
        read_kaldi_text(str(path))
    assert err.value.line == 3


def test_char_tokens_and_aishell_normalisation():
    assert tokenize("今天 天气", unit="char") == ["今", "天", "天", "气"]
    assert tokenize("Ｈｅｌｌｏ，世界！OK.", normalize="aishell") == ["hello", "世界", "ok"]
    assert tokenize("你好，ＡＢ。", unit="char", normalize="aishell") == ["你", "好", "a", "b"]


def test_modes_and_keys():
    refs = {"u1": "a b", "u2": "c d", "u3": "e"}
    hyps = {"u1": "a b", "u3": "f", "u9": "z"}
    with pytest.raises(InputError, match="u2"):
        score_texts(refs, hyps, key_rule="strict")
    present = score_texts(refs, hyps, key_rule="present")
    assert (present.totals.ref_tokens, present.totals.errors, present.totals.sentences) == (3, 1, 2)
    assert present.missing_keys == ["u2"] and present.extra_keys == ["u9"]
    every = score_texts(refs, hyps, key_rule="all")
    assert (every.totals.ref_tokens, every.totals.deletions, every.totals.sentence_errors) == (
        5, 2, 2)
    assert every.totals.error_rate == pytest.approx(3 / 5)


def test_cli_text_json_and_per_utt(tmp_path, capsys):
    ref, hyp = tmp_path / "ref", tmp_path / "hyp"
    ref.write_text("u1 the cat sat\nu2 on the mat\n")
    hyp.write_text("u1 the cat sat\nu2 on a mat here\n")
    assert main(["wer", str(ref), str(hyp), "--confusions", "5", "--per-utt", "-"]) == 0
    out = capsys.readouterr().out
    assert "%WER 33.33 [ 2 / 6, 1 ins, 0 del, 1 sub ]" in out
    assert "%SER 50.00 [ 1 / 2 ]" in out
    assert "1  the -> a" in out
    assert "u2 ref on the mat ***" in out and "u2 op  C  S   C   I" in out
    assert "u2 #csid 2 1 1 0" in out
    assert main(["wer", str(ref), str(hyp), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 2 and report["confusions"] == [{"ref": "the", "hyp": "a",
                                                              "count": 1}]
    assert report["utterances"][1]["ops"] == "CSCI"


def test_cli_cer(tmp_path, capsys):
    ref, hyp = tmp_path / "ref", tmp_path / "hyp"
    ref.write_text("u1 今天 天气 很好\n")
    hyp.write_text("u1 今天天汽很好啊\n")
    assert main(["wer", str(ref), str(hyp), "--cer"]) == 0
    assert "%CER 33.33 [ 2 / 6, 1 ins, 0 del, 1 sub ]" in capsys.readouterr().out


def test_cli_bad_input_is_file_line_error(tmp_path):
    ref, hyp = tmp_path / "ref", tmp_path / "hyp"
    ref.write_text("u1 a\n")
    hyp.write_bytes(b"u1 \xff\n")
    proc = subprocess.run([sys.executable, "-m", "asr.cli", "wer", str(ref), str(hyp)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"tingxie: error: {hyp}:1: not valid UTF-8 (byte 4 of the line)"
    assert "Traceback" not in proc.stderr


def test_absurdly_long_pair_is_an_input_error_naming_the_key():
    with pytest.raises(InputError, match="utterance 'long': pair 1 is too long"):
        score_texts({"ok": "a b", "long": "x " * 17000}, {"ok": "a b", "long": "y " * 17000})
