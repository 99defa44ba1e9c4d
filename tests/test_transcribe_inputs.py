"""tingxie transcribe without a model: inputs, the resumable journal, SRT, token grouping."""
import json

import pytest

from asr.transcribe import ResultJournal, collect_inputs, to_srt
from common.errors import InputError
from common.token_words import TokenWords


def touch(path, data=b"RIFF"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def test_directory_is_searched_recursively_by_extension(tmp_path):
    touch(tmp_path / "a" / "x.wav")
    touch(tmp_path / "a" / "b" / "y.FLAC")
    touch(tmp_path / "notes.txt")
    pairs = collect_inputs([str(tmp_path)])
    # keyed by stem (Kaldi's convention) when the stem is unique in the directory
    assert pairs == [("y", str(tmp_path / "a" / "b" / "y.FLAC"), None),
                     ("x", str(tmp_path / "a" / "x.wav"), None)]
    assert collect_inputs([str(tmp_path)], ["wav"]) == [("x", str(tmp_path / "a" / "x.wav"),
                                                         None)]
    touch(tmp_path / "c" / "x.wav")  # two files share the stem x: keyed by their paths
    assert [u.key for u in collect_inputs([str(tmp_path)])] == ["y", "a-x", "c-x"]


def test_wav_scp_and_list_files(tmp_path):
    wav = touch(tmp_path / "one.wav")
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt1 {wav}\n\nutt2 {wav}\n")
    listing = tmp_path / "files.lst"
    listing.write_text(f"{wav}\n")
    assert collect_inputs([str(scp)]) == [("utt1", wav, None), ("utt2", wav, None)]
    assert collect_inputs([str(listing)]) == [("one", wav, None)]


def test_bad_entries_are_per_entry_problems_naming_file_and_line(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_bytes(b"utt1 a.wav\nutt2 sox a.flac -t wav - |\nutt3 caf\xe9.wav\n"
                    b"utt4 feats.ark:123\n")
    utts = collect_inputs([str(scp)])
    assert [u.key for u in utts] == ["utt1", "utt2", "utt3", "utt4"]
    assert utts[0].problem is None
    assert utts[1].problem.startswith(f"{scp}:2: pipe entries")
    assert utts[2].problem == f"{scp}:3: not valid UTF-8 (byte 9 of the line)"
    assert utts[3].problem.startswith(f"{scp}:4: ark entries")


def test_repeated_key_and_missing_input(tmp_path):
    wav = touch(tmp_path / "d1" / "same.wav")
    touch(tmp_path / "d2" / "same.wav")
    with pytest.raises(InputError, match="key 'same'"):
        collect_inputs([wav, str(tmp_path / "d2" / "same.wav")])
    with pytest.raises(InputError, match="no such file"):
        collect_inputs([str(tmp_path / "nope.wav")])
    scp = tmp_path / "bad.scp"
    scp.write_text("only-a-key\n")
    with pytest.raises(InputError, match="expected '<key> <path>'"):
        collect_inputs([str(scp)])


def test_journal_drops_only_a_torn_last_line(tmp_path):
    path = tmp_path / "results.jsonl"
    journal = ResultJournal(str(path))
    journal.append({"key": "a", "text": "x"})
    journal.append({"key": "b", "text": "y"})
    journal.close()
    with open(path, "ab") as handle:
        handle.write(b'{"key": "c", "te')  # killed in the middle of a write
    reopened = ResultJournal(str(path))
    assert reopened.dropped_torn_line and set(reopened.done) == {"a", "b"}
    reopened.append({"key": "c", "text": "z"})
    reopened.close()
    keys = [json.loads(line)["key"] for line in path.read_text().splitlines()]
    assert keys == ["a", "b", "c"]


def test_journal_refuses_a_damaged_middle(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(InputError) as err:
        ResultJournal(str(path))
    assert err.value.line == 2


def test_srt_cues_split_on_pauses():
    words = ["hello", "world", "untimed", "again"]
    times = [[0.0, 0.5], [0.6, 1.0], [None, None], [3.0, 3.25]]
    assert to_srt(words, times) == ("1\n00:00:00,000 --> 00:00:01,000\nhello world\n\n"
                             "2\n00:00:03,000 --> 00:00:03,250\nagain\n")


def test_tokens_group_into_words():
    def group(tokens, **kwargs):
        return TokenWords(tokens, **kwargs).group(tokens)

    assert group(list("ab|c|")) == [("ab", 0, 1), ("c", 3, 3)]
    assert group(list("ab#c#"), word_boundary="#") == [("ab", 0, 1), ("c", 3, 3)]
    assert group(list("abc")) == [("a", 0, 0), ("b", 1, 1), ("c", 2, 2)]  # whole-word units
    assert group(["\u2581he", "llo", "\u2581w", "or"]) == [("hello", 0, 1), ("wor", 2, 3)]
    assert group(["今", "天", "good@@", "ness"]) == [("今", 0, 0), ("天", 1, 1),
                                                    ("goodness", 2, 3)]


def test_one_run_at_a_time_per_output_directory(tmp_path):
    from asr.transcribe import lock_outdir

    held = lock_outdir(str(tmp_path))
    with pytest.raises(InputError, match="another tingxie transcribe"):
        lock_outdir(str(tmp_path))
    held.close()  # released (as when the process ends, however it ends)
    lock_outdir(str(tmp_path)).close()
