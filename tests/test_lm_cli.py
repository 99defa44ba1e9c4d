"""`tingxie lm ...` end to end: outputs, exit statuses, and errors without tracebacks."""
import gzip
import subprocess
import sys

import pytest

from asr.cli import main
from lm.arpa import read_arpa
from tests.lm_reference import KENLM, assert_same_model, query_summaries


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_train_then_ppl_then_info(tmp_path, capsys):
    out = tmp_path / "o3.arpa.gz"
    code, _, err = run_cli(["lm", "train", str(KENLM / "train.txt"), "-o", str(out),
                            "--order", "3"], capsys)
    assert code == 0
    assert "D1=" in err and "order 3: 89287 n-grams" in err
    assert_same_model(read_arpa(str(out)), read_arpa(str(KENLM / "o3.arpa.gz")), tolerance=0)

    code, stdout, _ = run_cli(["lm", "ppl", str(out), str(KENLM / "test.txt")], capsys)
    assert code == 0
    fields = dict(line.split(":\t") for line in stdout.strip().splitlines())
    expected = query_summaries()["o3"]
    assert float(fields["Perplexity including OOVs"]) == pytest.approx(
        expected["Perplexity including OOVs"], rel=1e-9)
    assert int(fields["OOVs"]) == expected["OOVs"] and int(fields["Tokens"]) == expected["Tokens"]

    code, stdout, _ = run_cli(["lm", "info", str(out)], capsys)
    assert code == 0 and "ngram 2\t55121" in stdout and "vocabulary\t9505" in stdout


def test_train_with_lmplz_options(tmp_path, capsys):
    out = tmp_path / "tiny.arpa"
    code, _, err = run_cli(["lm", "train", str(KENLM / "tiny.txt"), "-o", str(out), "--order",
                            "4", "--discount-fallback"], capsys)
    assert code == 0
    assert out.read_bytes() == (KENLM / "tiny_o4_fallback.arpa").read_bytes()
    out2 = tmp_path / "pruned.arpa"
    code, _, _ = run_cli(["lm", "train", str(KENLM / "train.txt"), "-o", str(out2), "--order",
                          "3", "--prune", "0", "1", "1", "-S", "200M"], capsys)
    assert code == 0
    assert out2.read_bytes() == (KENLM / "o3_prune011.arpa").read_bytes()


def test_discount_error_suggests_fallback(tmp_path, capsys):
    code, _, err = run_cli(["lm", "train", str(KENLM / "tiny.txt"), "-o",
                            str(tmp_path / "x.arpa"), "--order", "4"], capsys)
    assert code == 2
    assert "tingxie: error:" in err and "--discount-fallback" in err
    assert "Traceback" not in err


def test_reserved_symbol_error_names_file_and_line(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b\nb </s> a\n")
    code, _, err = run_cli(["lm", "train", str(corpus), "-o", str(tmp_path / "x.arpa"),
                            "--order", "2"], capsys)
    assert code == 2 and f"{corpus}:2:" in err and "--skip-symbols" in err
    code, _, _ = run_cli(["lm", "train", str(corpus), "-o", str(tmp_path / "x.arpa"),
                          "--order", "2", "--skip-symbols", "--discount-fallback"], capsys)
    assert code == 0


def test_empty_corpus_and_malformed_model(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, _, err = run_cli(["lm", "train", str(empty), "-o", str(tmp_path / "x.arpa"),
                            "--order", "3"], capsys)
    assert code == 2 and "empty" in err and str(empty) in err
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-x\t</s>\n\n\\end\\\n")
    text = tmp_path / "t.txt"
    text.write_text("a\n")
    code, _, err = run_cli(["lm", "ppl", str(bad), str(text)], capsys)
    assert code == 2 and f"{bad}:6:" in err and "not a number" in err


def test_classic_smoothing_through_the_cli(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("yes no no no no yes\nno no no yes yes yes no\n")
    out = tmp_path / "addk.arpa"
    code, _, err = run_cli(["lm", "train", str(corpus), "-o", str(out), "--order", "2",
                            "--smoothing", "add-k", "--k", "0.5"], capsys)
    assert code == 0, err
    model = read_arpa(str(out))
    assert model.counts()[0] >= 4


def test_console_script_runs_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "asr.cli", "lm", "ppl",
                             str(tmp_path / "missing.arpa"), str(tmp_path / "t.txt")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_prune_and_generate_subcommands(tmp_path, capsys):
    out = tmp_path / "pruned.arpa"
    code, _, err = run_cli(["lm", "prune", str(KENLM / "o3_prune011.arpa"), "-o", str(out),
                            "--threshold", "1e-5"], capsys)
    assert code == 0, err
    pruned, full = read_arpa(str(out)), read_arpa(str(KENLM / "o3_prune011.arpa"))
    assert sum(pruned.counts()) < sum(full.counts())
    code, stdout, err = run_cli(["lm", "generate", str(KENLM / "o3_prune011.arpa"), "--method",
                                 "sample", "--seed", "7", "-n", "3", "--max-words", "8"], capsys)
    assert code == 0, err
    lines = stdout.strip().splitlines()
    assert len(lines) == 3 and all(len(line.split()) <= 8 for line in lines)
    code, again, _ = run_cli(["lm", "generate", str(KENLM / "o3_prune011.arpa"), "--method",
                              "sample", "--seed", "7", "-n", "3", "--max-words", "8"], capsys)
    assert again == stdout  # the seed makes it reproducible


def test_chars_and_vocab_options(tmp_path, capsys):
    corpus = tmp_path / "zh.txt"
    corpus.write_text("我们 喜欢 北京\n北京 欢迎 我们\n我们 爱 北京\n", encoding="utf-8")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("我\n们\n北\n京\n", encoding="utf-8")
    out = tmp_path / "zh.arpa"
    code, _, err = run_cli(["lm", "train", str(corpus), "-o", str(out), "--order", "2",
                            "--chars", "--vocab", str(vocab), "--discount-fallback"], capsys)
    assert code == 0, err
    model = read_arpa(str(out))
    assert set(model.vocab) == {"<unk>", "<s>", "</s>", "我", "们", "北", "京"}


def test_ppl_per_sentence_and_small_memory_training(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the lord is my shepherd\nqqqzzz\n")
    code, stdout, _ = run_cli(["lm", "ppl", str(KENLM / "o3_prune011.arpa"), str(text),
                               "--sentences"], capsys)
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0].startswith("sentence 1\t") and lines[1].startswith("sentence 2\t")
    assert "Tokens:\t8" in stdout and "OOVs:\t1" in stdout
    out = tmp_path / "small.arpa"
    code, _, err = run_cli(["lm", "train", str(KENLM / "train.txt"), "-o", str(out), "--order",
                            "3", "-S", "1M"], capsys)
    assert code == 0 and "spilled" in err and "0 run(s)" not in err
    assert out.read_bytes() == gzip.decompress((KENLM / "o3.arpa.gz").read_bytes())


def test_train_writes_to_stdout_devices_and_reports_a_full_disk(tmp_path, capfd):
    code = main(["lm", "train", str(KENLM / "tiny.txt"), "-o", "-", "--order", "4",
                 "--discount-fallback"])
    out, _ = capfd.readouterr()
    assert code == 0 and out == (KENLM / "tiny_o4_fallback.arpa").read_text()
    # A device is written through, never replaced by a file of the same name.
    code = main(["lm", "train", str(KENLM / "tiny.txt"), "-o", "/dev/full", "--order", "2",
                 "--discount-fallback"])
    _, err = capfd.readouterr()
    assert code == 2 and "tingxie: error: /dev/full: cannot write: No space left" in err
    import stat
    assert stat.S_ISCHR(__import__("os").stat("/dev/full").st_mode)


def test_failed_training_leaves_no_file(tmp_path, capsys):
    out = tmp_path / "x.arpa"
    code, _, err = run_cli(["lm", "train", str(KENLM / "tiny.txt"), "-o", str(out),
                            "--order", "4"], capsys)
    assert code == 2 and "--discount-fallback" in err
    assert list(tmp_path.iterdir()) == []
