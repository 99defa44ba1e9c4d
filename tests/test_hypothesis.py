"""One hypothesis type (asr/hypothesis.py) and one JSON form, through every file that holds
hypotheses: N-best files, `tingxie transcribe` JSONL, `tingxie decode` JSONL."""
import json

import pytest

from asr.decoder import Result
from asr.decoder.cli import _record
from asr.hypothesis import Hypothesis
from asr.recognizer import Transcript
from asr.rescoring.nbest import NBest, read_nbest, write_nbest
from common.errors import InputError

FILE_FIELDS = ("words", "acoustic_cost", "graph_cost", "acoustic_scale", "tokens", "times",
               "scores", "total", "extra")


def full(words, am, lm):
    return Hypothesis(words.split(), am, lm, acoustic_scale=2.5,
                      tokens=[c for w in words.split() for c in w + "|"],
                      times=[(0.1 * i, 0.1 * i + 0.08) for i in range(len(words.split()))],
                      scores={"ngram": -12.25}, total=-40.5, extra={"first_pass_rank": 1})


def same(a, b, fields=FILE_FIELDS):
    for name in fields:
        assert getattr(a, name) == getattr(b, name), name


def test_json_round_trip_and_total_cost():
    h = full("the lord is", 41.125, 12.75)
    back = Hypothesis.from_json(json.loads(json.dumps(h.to_json())))
    same(h, back)
    assert back.total_cost == 41.125 + 12.75 and back.text == "the lord is"
    bare = Hypothesis.from_json({"words": "a b", "am": 1, "lm": 2})
    assert bare.words == ["a", "b"] and bare.acoustic_scale is None and bare.times == []


def write_lines(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_every_file_reads_back_as_the_same_hypotheses(tmp_path):
    hyps = [full("the lord is", 41.0, 12.5), full("the lord", 43.0, 11.0)]
    # an N-best file
    with open(tmp_path / "n.jsonl", "w") as handle:
        write_nbest(handle, NBest("u1", hyps, {"dur": 1.5}))
    (nbest,) = read_nbest(str(tmp_path / "n.jsonl"))
    assert nbest.key == "u1" and nbest.extra == {"dur": 1.5}
    for a, b in zip(hyps, nbest.hyps):
        same(a, b)
    # `tingxie transcribe --nbest 2` JSONL: the transcript is the best hypothesis
    best = hyps[0]
    transcript = Transcript(**{name: getattr(best, name) for name in FILE_FIELDS},
                            nbest=hyps, duration=1.5, reached_final=True)
    record = transcript.to_json("u2")
    assert record["text"] == "the lord is" and record["words"] == best.words
    line_itself = Hypothesis.from_json(record)  # the line itself is the best hypothesis
    same(line_itself, best, FILE_FIELDS[:-1])
    assert {"key", "text", "duration", "reached_final", "hyps"} <= set(line_itself.extra)
    # `tingxie decode --nbest 2` JSONL
    result = Result(**{name: getattr(best, name) for name in FILE_FIELDS},
                    word_frames=[(0, 3), (4, 7), (8, 9)], nbest=hyps)
    decoded = _record("u3", result)
    assert decoded["word_frames"] == [[0, 3], [4, 7], [8, 9]]
    (from_transcribe, from_decode) = read_nbest(write_lines(tmp_path / "t.jsonl",
                                                            [record, decoded]))
    for nb in (from_transcribe, from_decode):
        assert len(nb.hyps) == 2
        for a, b in zip(hyps, nb.hyps):
            same(a, b)
    assert from_transcribe.extra["duration"] == 1.5


@pytest.mark.parametrize("record, message", [
    ({"words": ["a"], "am": 1}, r"hyps\[0\] has no 'lm'"),
    ({"words": ["a"], "am": 1, "lm": 1, "acoustic_scale": "2"}, r"\.acoustic_scale must be"),
    ({"words": ["a", "b"], "am": 1, "lm": 1, "times": [[0, 1]]}, r"\.times must hold one"),
    ({"words": ["a"], "am": 1, "lm": 1, "tokens": "a"}, r"\.tokens must be a list"),
    ({"words": ["a"], "am": 1, "lm": 1, "total": float("inf")}, r"\.total is not finite"),
])
def test_bad_hypotheses_name_the_field_file_and_line(tmp_path, record, message):
    path = write_lines(tmp_path / "n.jsonl", [{"key": "u1", "hyps": []},
                                              {"key": "u2", "hyps": [record]}])
    with pytest.raises(InputError, match=message) as err:
        list(read_nbest(path))
    assert err.value.line == 2 and err.value.path == path
