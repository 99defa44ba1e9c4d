"""N-best JSONL, score combination, `tune` and `tingxie rescore` end to end."""
import json
import math
import os

import pytest

from asr.cli import main
from asr.rescoring import load
from asr.rescoring.combine import Rescorer, Weights, rerank
from asr.hypothesis import Hypothesis
from asr.rescoring.nbest import NBest, read_nbest
from asr.rescoring.tune import TuningData, grid_search, parse_grid, tune
from common.errors import InputError

REF = os.path.join(os.path.dirname(__file__), "data", "kenlm")
TINY = os.path.join(REF, "tiny_o4_fallback.arpa")


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_read_both_formats_and_keep_extra_fields(tmp_path):
    ours = {"key": "u1", "dur": 2.0, "hyps": [{"words": ["a", "b"], "am": 1.5, "lm": 2.0,
                                               "id": 7}, {"words": "a c", "am": 1, "lm": 3}]}
    # a `tingxie transcribe --nbest` line: the best hypothesis's fields beside its N-best
    transcribe = {"key": "u2", "text": "x", "words": ["x"], "am": 0.5, "lm": 1.5,
                  "times": [[0.0, 0.3]], "duration": 1.0, "hyps": [
                      {"words": ["x", "y"], "am": 1.0, "lm": 2.0, "acoustic_scale": 2.0,
                       "tokens": ["x", "y"], "times": [[0.0, 0.3], [0.4, 0.9]]}]}
    path = write_jsonl(tmp_path / "n.jsonl", [ours, transcribe])
    first, second = read_nbest(path)
    assert first.hyps[1].words == ["a", "c"] and first.hyps[0].extra == {"id": 7}
    assert first.to_json()["dur"] == 2.0 and first.to_json()["hyps"][0]["id"] == 7
    assert second.hyps[0].words == ["x", "y"] and second.extra["duration"] == 1.0
    assert (second.hyps[0].acoustic_cost, second.hyps[0].graph_cost) == (1.0, 2.0)
    assert second.hyps[0].acoustic_scale == 2.0 and second.hyps[0].times[1] == (0.4, 0.9)


@pytest.mark.parametrize("line, message", [
    ("{not json", r"n.jsonl:2: not valid JSON"),
    ('{"key": "u9", "hyps": [{"words": ["a"], "am": 1}]}', r"n.jsonl:2: hyps\[0\] has no 'lm'"),
    ('{"key": "u9", "hyps": [{"words": ["a"], "am": "x", "lm": 1}]}', "must be a number"),
    ('{"key": "u9", "hyps": [{"words": ["a"], "am": NaN, "lm": 1}]}', "not finite"),
    ('{"key": "u1", "hyps": []}', "appears twice"),
    ('{"hyps": []}', "'key' must be"),
    ('{"key": "u9", "hyps": [{"words": ["a b"], "am": 1, "lm": 1}]}', "without spaces"),
])
def test_bad_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "n.jsonl"
    path.write_text('{"key": "u1", "hyps": []}\n' + line + "\n")
    with pytest.raises(InputError, match=message):
        list(read_nbest(str(path)))


def test_total_follows_the_formula():
    hyp = Hypothesis(["a", "b", "c"], acoustic_cost=10.0, graph_cost=4.0,
                     scores={"ngram": -7.0, "nnlm": -6.0})
    weights = Weights(am_weight=0.5, first_pass_weight=0.25, word_bonus=0.75,
                      lm_weights={"ngram": 0.5, "nnlm": 2.0})
    assert weights.total(hyp) == pytest.approx(-5.0 - 1.0 + 0.5 * -7.0 + 2.0 * -6.0 + 2.25)


class TableScorer:
    """Test double: ln P from a fixed table."""
    name = "table"

    def __init__(self, table):
        self.table = table

    def score(self, hyps, audio=None):
        return [self.table[" ".join(h)] for h in hyps]


def synthetic_dev():
    """Utterances whose right answer ranks second in the first pass; the LM knows better."""
    nbests, refs, table = [], {}, {}
    for i in range(6):
        right, wrong = [f"w{i}", "good"], [f"w{i}", "bad", "x"]
        nbests.append(NBest(f"u{i}", [Hypothesis(wrong, 5.0, 5.0), Hypothesis(right, 5.5, 5.0)]))
        refs[f"u{i}"] = right
        table[" ".join(right)], table[" ".join(wrong)] = -2.0, -4.0
    return nbests, refs, table


def test_tune_finds_weights_that_fix_the_errors():
    nbests, refs, table = synthetic_dev()
    weights, summary = tune(nbests, refs, {"table": TableScorer(table)},
                            first_pass_weights=[1.0], lm_weights=parse_grid("0:1:0.1", "x"),
                            word_bonuses=[0.0])
    assert summary["first_pass_wer"] == pytest.approx(100.0 * 12 / 12)  # 1 sub + 1 ins each
    assert summary["tuned_wer"] == 0.0 and summary["oracle_wer"] == 0.0
    # right wins iff 0.5 < lambda * 2: the smallest such grid point is chosen
    assert weights.lm_weights["table"] == pytest.approx(0.3)
    for nb in nbests:
        assert rerank(nb, weights).hyps[0].words == refs[nb.key]


def test_grid_search_counts_match_a_direct_evaluation():
    nbests, refs, table = synthetic_dev()
    nbests[0].hyps.append(Hypothesis(["w0", "good", "y"], 1.0, 9.0,
                                              scores={"table": -3.0}))
    for nb in nbests:
        for h in nb.hyps:
            h.scores.setdefault("table", table.get(" ".join(h.words), -3.0))
    data = TuningData(nbests, refs, ["table"])
    _, best_errors, top = grid_search(data, 1.0, [0.0, 0.5, 1.0], [[0.0, 0.4, 2.0]],
                                      [-1.0, 0.0, 1.0])
    import kaldialign
    for row in top:
        weights = Weights(1.0, row["first_pass_weight"], row["word_bonus"],
                          {"table": row["lm_weights"][0]})
        direct = sum(kaldialign.edit_distance(refs[nb.key], max(
            nb.hyps, key=lambda h: (weights.total(h), -nb.hyps.index(h))).words)["total"]
                     for nb in nbests)
        assert direct == row["errors"]
    assert best_errors == top[0]["errors"]


def test_rescorer_accepts_decoder_results():
    rescorer = Rescorer({"table": TableScorer({"a": -1.0, "b": -9.0})},
                        Weights(1.0, 0.0, 0.0, {"table": 1.0}))
    first_pass = [Hypothesis(["b"], 1.0, 1.0, acoustic_scale=2.0, word_ids=[4]),
                  Hypothesis(["a"], 2.0, 5.0, acoustic_scale=2.0, word_ids=[3])]
    ranked = rescorer.rescore(first_pass)
    assert [h.words for h in ranked] == [["a"], ["b"]]
    assert ranked[0].total == pytest.approx(-3.0)
    assert ranked[0].scores == {"table": -1.0} and ranked[0].word_ids == [3]
    assert first_pass[1].scores == {} and first_pass[1].total is None  # copies, not edits
    assert rescorer.rescore(NBest("k", first_pass))[0].words == ["a"]


def test_cli_rescore_tune_and_load(tmp_path, capsys):
    records = [{"key": "u1", "hyps": [
        {"words": "psalm is the", "am": 3.0, "lm": 1.0},
        {"words": "this psalm may be regarded", "am": 4.0, "lm": 2.0}]},
        {"key": "u2", "hyps": [{"words": "the lord", "am": 1.0, "lm": 1.0},
                               {"words": "lord the lord", "am": 1.0, "lm": 0.5}]}]
    nbest = write_jsonl(tmp_path / "dev.jsonl", records)
    (tmp_path / "ref").write_text("u1 this psalm may be regarded\nu2 the lord\n")
    config = tmp_path / "rescore.json"
    assert main(["tune", "--nbest-file", nbest, "--ref", str(tmp_path / "ref"),
                 "--rescorer", f"ngram={TINY}", "-o", str(config),
                 "--word-bonus", "0", "--first-pass-weights", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tuned_wer"] == 0.0 < summary["first_pass_wer"]
    saved = json.loads(config.read_text())
    assert saved["rescorers"][0]["type"] == "ngram" and saved["rescorers"][0]["weight"] > 0

    out, text = tmp_path / "out.jsonl", tmp_path / "best.txt"
    assert main(["rescore", "--nbest-file", nbest, "--config", str(config), "-o", str(out),
                 "--text", str(text)]) == 0
    assert text.read_text() == "u1 this psalm may be regarded\nu2 the lord\n"
    rescored = [json.loads(line) for line in out.read_text().splitlines()]
    rescorer = load(str(config))
    for record in rescored:
        totals = [h["total"] for h in record["hyps"]]
        assert totals == sorted(totals, reverse=True)
        for h in record["hyps"]:
            expected = rescorer.weights.total(Hypothesis.from_json(h))
            assert h["total"] == pytest.approx(expected)
            assert math.isfinite(h["scores"]["ngram"])

    # an interrupted run (torn last line) resumes without losing or repeating results
    out.write_text(out.read_text().splitlines()[0] + "\n" + '{"key": "u2", "hy')
    assert main(["rescore", "--nbest-file", nbest, "--config", str(config), "-o", str(out),
                 "--resume"]) == 0
    assert [json.loads(x)["key"] for x in out.read_text().splitlines()] == ["u1", "u2"]


def test_cli_errors_exit_2_with_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "u1", "hyps": [{"words": "a", "am": 1, "lm": 1}]}\n{oops\n')
    text = str(tmp_path / "best.txt")
    assert main(["rescore", "--nbest-file", str(bad), "--rescorer", f"ngram={TINY}", "--text", text]) == 2
    assert f"{bad}:2: not valid JSON" in capsys.readouterr().err
    assert main(["rescore", "--nbest-file", str(bad), "--text", text]) == 2
    assert "needs --config or at least one --rescorer" in capsys.readouterr().err
    cfg = tmp_path / "c.json"
    cfg.write_text('{"rescorers": [{"type": "bigram", "path": "x"}]}')
    assert main(["rescore", "--nbest-file", str(bad), "--config", str(cfg), "--text", text]) == 2
    assert "unknown type 'bigram'" in capsys.readouterr().err


def test_lists_decoded_at_another_acoustic_scale_are_refused(tmp_path, capsys):
    """The N-best `am` costs carry the decoder's acoustic scale: tune records it in the config,
    rescoring refuses lists at another scale, and tune refuses lists that mix scales."""
    def lists(scale, name):
        return write_jsonl(tmp_path / name, [
            {"key": "u1", "hyps": [
                {"words": "psalm is the", "am": 3.0, "lm": 1.0, "acoustic_scale": scale},
                {"words": "this psalm may be regarded", "am": 4.0, "lm": 2.0,
                 "acoustic_scale": scale}]}])
    (tmp_path / "ref").write_text("u1 this psalm may be regarded\n")
    config = tmp_path / "rescore.json"
    tune = ["tune", "--ref", str(tmp_path / "ref"), "--rescorer", f"ngram={TINY}", "-o",
            str(config), "--word-bonus", "0", "--first-pass-weights", "1"]
    assert main(tune + ["--nbest-file", lists(2.0, "at2.jsonl")]) == 0
    assert "decoder acoustic scale 2" in capsys.readouterr().out
    saved = json.loads(config.read_text())
    assert saved["decoder_acoustic_scale"] == 2.0 and "acoustic_scale" not in saved
    rescore = ["rescore", "--config", str(config), "--text", str(tmp_path / "best")]
    assert main(rescore + ["--nbest-file", lists(2.0, "again.jsonl")]) == 0
    assert main(rescore + ["--nbest-file", lists(3.0, "at3.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "at3.jsonl: utterance 'u1' was decoded at acoustic scale 3" in err
    assert "tuned on N-best lists decoded at 2" in err
    with pytest.raises(InputError, match="decoded at acoustic scale 3"):
        load(str(config)).rescore(next(read_nbest(lists(3.0, "api.jsonl"))))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(open(lists(2.0, "a.jsonl")).read()
                     + open(lists(3.0, "b.jsonl")).read().replace('"u1"', '"u2"'))
    assert main(tune + ["--nbest-file", str(mixed)]) == 2
    assert "different acoustic scales (2, 3)" in capsys.readouterr().err
    # a config written before the rename says what became of its key
    config.write_text(json.dumps({"acoustic_scale": 1.0, "rescorers": []}))
    assert main(rescore + ["--nbest-file", lists(2.0, "c.jsonl")]) == 2
    assert "'acoustic_scale' is now 'am_weight'" in capsys.readouterr().err
