"""`tingxie decode`: Kaldi text and JSON lines from an .npz of posteriors."""
import json

import numpy as np

from asr.cli import main as tingxie
from decoder_fixtures import graphs, load_posteriors  # noqa: F401


def test_decode_npz(graphs, tmp_path, capsys):
    utts = dict(list(load_posteriors().items())[:5])
    npz = tmp_path / "post.npz"
    arrays = {k: v[0] for k, v in utts.items()}
    arrays.update({k + "__wstart": v[1] for k, v in utts.items()})
    arrays["__meta__"] = np.array("{}")
    np.savez(npz, **arrays)
    hyp, js = tmp_path / "hyp.txt", tmp_path / "hyp.jsonl"
    assert tingxie(["decode", "--graph", graphs["ctc"], "--posteriors", str(npz), "--nbest",
                    "3", "-o", str(hyp)]) == 0
    assert tingxie(["decode", "--graph", graphs["ctc"], "--posteriors", str(npz), "--nbest",
                    "3", "-o", str(js), "--json", "--acoustic-scale", "2.5"]) == 0
    lines = hyp.read_text().splitlines()
    assert [l.split()[0] for l in lines] == list(utts)
    records = [json.loads(l) for l in js.read_text().splitlines()]
    assert [r["key"] for r in records] == list(utts)
    for line, rec in zip(lines, records):
        assert " ".join(line.split()[1:]) == rec["text"]
        assert rec["hyps"][0]["words"] == rec["words"] == rec["text"].split()
        assert rec["acoustic_scale"] == 2.5  # what its acoustic costs carry
        assert all(h["acoustic_scale"] == 2.5 for h in rec["hyps"])
        assert len(rec["word_frames"]) == len(rec["words"])
    assert "5/5 utterances" in capsys.readouterr().err


def test_decode_reports_bad_utterances_and_keeps_the_rest(graphs, tmp_path, capsys):
    utts = dict(list(load_posteriors().items())[:3])
    arrays = {k: v[0] for k, v in utts.items()}
    arrays["broken"] = np.zeros((4, 5), dtype=np.float32)  # V = 5, graph has 29 tokens
    npz = tmp_path / "post.npz"
    np.savez(npz, **arrays)
    hyp = tmp_path / "hyp.txt"
    assert tingxie(["decode", "--graph", graphs["ctc"], "--posteriors", str(npz),
                    "-o", str(hyp)]) == 1  # some items failed
    assert [l.split()[0] for l in hyp.read_text().splitlines()] == list(utts)
    err = capsys.readouterr().err
    assert "utterance broken" in err and "V = 5" in err


def test_decode_bad_files(graphs, tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    assert tingxie(["decode", "--graph", graphs["ctc"], "--posteriors", str(bad),
                    "-o", str(tmp_path / "h.txt")]) == 2
    assert "tingxie: error:" in capsys.readouterr().err
    assert tingxie(["decode", "--graph", str(tmp_path / "nograph"), "--posteriors", str(bad),
                    "-o", str(tmp_path / "h.txt")]) == 2
    assert tingxie(["decode", "--graph", graphs["ctc"], "--posteriors", str(bad), "--mode",
                    "paraformer", "-o", str(tmp_path / "h.txt")]) == 2
