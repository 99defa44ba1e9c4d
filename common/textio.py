"""Opening text files the way every Tingxie reader does: `.gz` transparently, UTF-8 with a
leading byte-order mark dropped, and a clear InputError (file and line) instead of a
UnicodeDecodeError traceback."""
from __future__ import annotations

import gzip
import io
import os
from typing import Iterator, Optional, TextIO, Tuple

from common.errors import InputError

BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark, which some editors put first


def open_text(path: str, mode: str = "r") -> TextIO:
    """A text handle on `path`; reading drops a UTF-8 byte-order mark, writing writes none."""
    path = os.fspath(path)
    if "r" in mode and not os.path.exists(path):
        raise InputError("no such file", path=path)
    encoding = "utf-8-sig" if "r" in mode else "utf-8"
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, mode.replace("t", "") + "b"), encoding=encoding,
                                newline="\n")
    return open(path, mode, encoding=encoding, newline="\n")


def numbered_lines(path: str) -> Iterator[Tuple[int, str]]:
    """Yield (1-based line number, line without its newline); a line that is not UTF-8 is an
    InputError naming that line (lines are decoded one by one, so the number is exact)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError("no such file", path=path)
    number = 0
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as handle:
            for number, raw in enumerate(handle, 1):
                if number == 1 and raw.startswith(BOM):
                    raw = raw[len(BOM):]
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise InputError(f"not valid UTF-8 (byte {err.start + 1} of the line)",
                                     path=path, line=number) from None
                yield number, line.rstrip("\n").rstrip("\r")
    except (OSError, EOFError) as err:  # truncated or corrupt .gz
        raise InputError(f"cannot read: {err}", path=path, line=number + 1) from None


def lines_with_problems(path: str) -> Iterator[Tuple[int, str, Optional[str]]]:
    """(line number, stripped line, problem) for the non-blank lines of a list a batch job
    reads: a line that is not UTF-8 does not stop the reading; it comes with \\xNN escapes and
    a problem saying so, for the job to report against that entry alone."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError("no such file", path=path)
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM):]
            problem = None
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as err:
                line = raw.decode("utf-8", errors="backslashreplace").strip()
                problem = f"not valid UTF-8 (byte {err.start + 1} of the line)"
            if line:
                yield number, line, problem


def check_output_file(path: str) -> None:
    """Fail before any work when `path` cannot be created as a file: it is a directory, or
    its directory is missing or is a file. `-` (stdout) is always fine."""
    path = os.fspath(path)
    if path == "-":
        return
    if os.path.isdir(path):
        raise InputError("is a directory; expected a file name", path=path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        _missing_directory(parent, path)
    if os.path.exists(path) and not os.access(path, os.W_OK) or not os.access(parent, os.W_OK):
        raise InputError("not writable", path=path)


def check_output_dir(path: str) -> None:
    """Fail before any work when `path` cannot be (or become) a directory: it is a file, or
    one of its parents is. Missing parents are fine: they are created."""
    path = os.fspath(path)
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise InputError("exists and is not a directory", path=path)
        return
    ancestor = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise InputError(f"{ancestor} is a file, not a directory", path=path)


def _missing_directory(parent: str, path: str) -> None:
    ancestor = parent
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise InputError(f"{ancestor} is a file, not a directory", path=path)
    raise InputError(f"directory {parent} does not exist", path=path)
