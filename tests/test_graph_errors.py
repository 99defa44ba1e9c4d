"""Bad input to `tingxie graph compile`: a clear `PATH:LINE: problem` and exit status 2, or
drops reported in graph.json, never a traceback."""
import gzip
import json
import os

import pytest

from asr.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KENLM_DIR = os.path.join(ROOT, "tests", "data", "kenlm")
TINY = os.path.join(KENLM_DIR, "tiny_o4_fallback.arpa")
UNITS = os.path.join(ROOT, "tests", "data", "decoder_bench", "units.txt")


def compile_args(out, *extra, lm=TINY, tokens=UNITS):
    return ["graph", "compile", "--tokens", str(tokens), "--lm", str(lm), "-o", str(out),
            *map(str, extra)]


def run_error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tingxie: error: ") and "Traceback" not in err
    return err.strip()


def tiny_words():
    words = set()
    with open(os.path.join(KENLM_DIR, "tiny.txt"), encoding="utf-8") as handle:
        for line in handle:
            words.update(line.split())
    return sorted(words)


def write_lexicon(path, words, extra_lines=()):
    lines = [f"{w} {' '.join(w)} |" for w in words if set(w) <= set("abcdefghijklmnopqrstuvwxyz'")]
    path.write_text("\n".join(list(lines) + list(extra_lines)) + "\n", encoding="utf-8")
    return len(lines)


def test_lexicon_token_not_in_token_list(tmp_path, capsys):
    lexicon = tmp_path / "lexicon.txt"
    n = write_lexicon(lexicon, tiny_words()[:5], ["psalm p s a l m @"])
    err = run_error(capsys, compile_args(tmp_path / "g", "--lexicon", lexicon))
    assert f"{lexicon}:{n + 1}: token '@' (word 'psalm') is not in the token list" in err


def test_duplicate_lexicon_entry(tmp_path, capsys):
    lexicon = tmp_path / "lexicon.txt"
    n = write_lexicon(lexicon, tiny_words()[:5], ["psalm p s a l m |", "psalm p s a l m |"])
    err = run_error(capsys, compile_args(tmp_path / "g", "--lexicon", lexicon))
    assert f"{lexicon}:{n + 2}: duplicate entry 'psalm'" in err and f"line {n + 1}" in err


def test_empty_lexicon(tmp_path, capsys):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("\n\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--lexicon", lexicon))
    assert f"{lexicon}: empty lexicon" in err


def test_word_without_pronunciation(tmp_path, capsys):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("psalm p s a l m |\nblessed\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--lexicon", lexicon))
    assert f"{lexicon}:2: word 'blessed' has no pronunciation" in err


@pytest.mark.parametrize("keep_lines", [30, 200, 500])
def test_truncated_arpa(tmp_path, capsys, keep_lines):
    lines = open(TINY, encoding="utf-8").read().splitlines()
    truncated = tmp_path / "truncated.arpa.gz"
    with gzip.open(truncated, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines[:keep_lines]) + "\n")
    err = run_error(capsys, compile_args(tmp_path / "g", "--spelling", "chars",
                                         "--word-boundary", "|", lm=truncated))
    assert str(truncated) in err


def test_corrupt_gzip_arpa(tmp_path, capsys):
    data = gzip.compress(open(TINY, "rb").read())
    broken = tmp_path / "broken.arpa.gz"
    broken.write_bytes(data[: len(data) // 2])
    err = run_error(capsys, compile_args(tmp_path / "g", "--spelling", "chars", lm=broken))
    assert str(broken) in err


def test_arpa_words_missing_from_lexicon_are_reported(tmp_path, capsys):
    lexicon = tmp_path / "lexicon.txt"
    words = tiny_words()
    n = write_lexicon(lexicon, words[: len(words) // 2])
    out = tmp_path / "g"
    assert main(compile_args(out, "--lexicon", lexicon, "--json")) == 0
    info = json.load(open(out / "graph.json"))["details"]
    lm_words = 124 - 3  # <unk>, <s>, </s> are not lexicon words
    assert info["lm"]["words_not_in_lexicon"] == lm_words - n + 1  # + <unk>
    assert sum(info["lm"]["g_ngrams"]["dropped_out_of_lexicon"]) > 0
    summary = json.loads(capsys.readouterr().out)  # --json: the summary on stdout
    assert summary["lm_words_not_in_lexicon"] == info["lm"]["words_not_in_lexicon"]
    assert main(compile_args(tmp_path / "g2", "--lexicon", lexicon)) == 0
    assert f"LM words not in the lexicon: {lm_words - n + 1}" in capsys.readouterr().err


def test_unspellable_words_dropped_or_mapped_to_unk(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("psalm\nblessed\nnaïve\nx-ray\n", encoding="utf-8")
    out = tmp_path / "g"
    assert main(compile_args(out, "--words", words, "--spelling", "chars",
                             "--word-boundary", "|")) == 0
    info = json.load(open(out / "graph.json"))["details"]
    assert info["lexicon"]["dropped"] == {"unspellable with the model's tokens": 2}
    assert sorted(info["lexicon"]["dropped_examples"]["unspellable with the model's tokens"]) \
        == ["naïve", "x-ray"]
    tokens = tmp_path / "tokens.json"
    units = [line.split()[0] for line in open(UNITS, encoding="utf-8")]
    tokens.write_text(json.dumps(units + ["<unk>"]), encoding="utf-8")
    out2 = tmp_path / "g2"
    assert main(compile_args(out2, "--words", words, "--spelling", "chars",
                             "--word-boundary", "|", "--map-unspellable-to-unk",
                             tokens=tokens)) == 0
    lexicon = open(out2 / "lexicon.txt", encoding="utf-8").read().splitlines()
    assert "naïve <unk>" in lexicon and "x-ray <unk>" in lexicon


def test_bad_token_lists(tmp_path, capsys):
    tokens = tmp_path / "units.txt"
    tokens.write_text("<blank> 0\na 1\nb x\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--spelling", "chars", tokens=tokens))
    assert f"{tokens}:3: expected 'SYMBOL ID'" in err
    tokens.write_text("<blank> 0\na 1\nb 3\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--spelling", "chars", tokens=tokens))
    assert "without gaps" in err
    tokens.write_text("<blank> 0\na 1\na 2\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--spelling", "chars", tokens=tokens))
    assert f"{tokens}:3: token 'a' listed twice" in err
    as_json = tmp_path / "tokens.json"
    as_json.write_text('["<blank>", "a",\n', encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--spelling", "chars", tokens=as_json))
    assert f"{as_json}:" in err and "not valid JSON" in err


def test_ctc_needs_a_blank(tmp_path, capsys):
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps(list("abcdefghijklmnopqrstuvwxyz'|")), encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--spelling", "chars",
                                         "--word-boundary", "|", tokens=tokens))
    assert "needs a blank token" in err
    assert main(compile_args(tmp_path / "g", "--spelling", "chars", "--word-boundary", "|",
                             "--topology", "sync", tokens=tokens)) == 0


def test_no_lexicon_word_in_the_lm(tmp_path, capsys):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("zzz z z z |\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--lexicon", lexicon))
    assert "no word of the lexicon is in the language model" in err


def test_needs_lexicon_or_spelling(tmp_path, capsys):
    err = run_error(capsys, compile_args(tmp_path / "g"))
    assert "--lexicon" in err and "--spelling" in err


@pytest.mark.parametrize("word", ["<eps>", "#0", "<s>"])
def test_reserved_words_in_lexicon(tmp_path, capsys, word):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text(f"psalm p s a l m |\n{word} a |\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--lexicon", lexicon))
    assert f"{lexicon}: the lexicon may not contain the word {word!r}" in err


def test_lexicon_excludes_spelling_options(tmp_path, capsys):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("psalm p s a l m |\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--lexicon", lexicon, "--words", lexicon))
    assert "a lexicon is given: words would be ignored" in err


def test_arpa_without_sentence_start(tmp_path, capsys):
    arpa = tmp_path / "no_bos.arpa"
    arpa.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n-1.0\t</s>\n-0.5\tpsalm\n-0.5\tthe\n\n"
                    "\\end\\\n", encoding="utf-8")
    err = run_error(capsys, compile_args(tmp_path / "g", "--spelling", "chars",
                                         "--word-boundary", "|", lm=arpa))
    assert f"{arpa}: the language model has no <s> unigram" in err


def test_compilation_is_deterministic(tmp_path):
    import pywrapfst as fst
    for name in ("a", "b"):
        assert main(compile_args(tmp_path / name, "--spelling", "chars", "--word-boundary", "|",
                                 "--write-lg")) == 0
    for graph_file in ("TLG.fst", "LG.fst", "words.txt", "lexicon.txt"):
        assert (tmp_path / "a" / graph_file).read_bytes() == \
            (tmp_path / "b" / graph_file).read_bytes(), graph_file
    assert fst.Fst.read(str(tmp_path / "a" / "TLG.fst")).num_states() > 0


def test_exact_ctc_over_many_tokens(tmp_path, capsys, monkeypatch):
    """Exact CTC needs V² arcs in T: a warning past one size, a clear error past another."""
    import graph.compile
    monkeypatch.setattr(graph.compile, "EXACT_CTC_TOKEN_WARNING", 5)
    out = tmp_path / "g"
    assert main(compile_args(out, "--spelling", "chars", "--word-boundary", "|")) == 0
    assert "tingxie: warning: exact ctc topology over" in capsys.readouterr().err
    assert "compact" in json.load(open(out / "graph.json"))["details"]["warnings"][0]
    monkeypatch.setattr(graph.compile, "EXACT_CTC_TOKEN_LIMIT", 10)
    err = run_error(capsys, compile_args(tmp_path / "g2", "--spelling", "chars",
                                         "--word-boundary", "|"))
    assert "use --topology compact" in err
    assert main(compile_args(tmp_path / "g3", "--spelling", "chars", "--word-boundary", "|",
                             "--topology", "compact")) == 0
