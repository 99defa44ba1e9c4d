"""Kaldi tables: `wav.scp` (utterance key -> audio file) and `text` (key -> transcript).

Both have one entry per line: the key, whitespace, then the rest. Blank lines are skipped and a
key given twice is an InputError naming the file and both lines.
"""
from __future__ import annotations

from typing import Dict, Iterator, NamedTuple, Optional

from common.errors import InputError
from common.textio import lines_with_problems, numbered_lines


class ScpEntry(NamedTuple):
    line: int
    key: str
    path: str
    problem: Optional[str] = None  # why this entry's audio cannot be read; None when it can


def read_wav_scp(path: str) -> Iterator[ScpEntry]:
    """The entries of a wav.scp in file order. Only plain file paths are audio Tingxie reads:
    a pipe (`cmd |`), an archive offset (`file.ark:123`) or a line that is not UTF-8 comes as
    an entry with a `problem`, so a batch can report it and go on with the others."""
    first_line: Dict[str, int] = {}
    for number, line, problem in lines_with_problems(path):
        fields = line.split(maxsplit=1)
        if len(fields) < 2:
            raise InputError("expected '<key> <path>'", path=path, line=number)
        key, target = fields[0], fields[1].strip()
        if key in first_line:
            raise InputError(f"key '{key}' repeats line {first_line[key]}", path=path,
                             line=number)
        first_line[key] = number
        if problem is None and (target.endswith("|") or target.startswith("|")):
            problem = ("pipe entries ('command |') are not supported: write the audio to "
                       "files and list their paths")
        elif problem is None and ".ark:" in target:
            problem = "ark entries (file.ark:offset) are not supported: list audio file paths"
        yield ScpEntry(number, key, target, problem)


def read_kaldi_text(path: str) -> Dict[str, str]:
    """Key -> transcript (its words joined by single spaces, "" for none), in file order."""
    transcripts: Dict[str, str] = {}
    first_line: Dict[str, int] = {}
    for number, line in numbered_lines(path):
        fields = line.split()
        if not fields:
            continue
        key = fields[0]
        if key in transcripts:
            raise InputError(f"key '{key}' repeats line {first_line[key]}", path=path,
                             line=number)
        transcripts[key] = " ".join(fields[1:])
        first_line[key] = number
    return transcripts
