"""Opening text files the way every Tingxie reader does: `.gz` transparently, UTF-8, and a
clear InputError (file and line) instead of a UnicodeDecodeError traceback."""
from __future__ import annotations

import gzip
import io
import os
from typing import Iterator, TextIO, Tuple

from lm.errors import InputError


def open_text(path: str, mode: str = "r") -> TextIO:
    path = os.fspath(path)
    if "r" in mode and not os.path.exists(path):
        raise InputError("no such file", path=path)
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, mode.replace("t", "") + "b"), encoding="utf-8",
                                newline="\n")
    return open(path, mode, encoding="utf-8", newline="\n")


def numbered_lines(path: str) -> Iterator[Tuple[int, str]]:
    """Yield (1-based line number, line without its newline); undecodable bytes -> InputError."""
    with open_text(path) as handle:
        number = 0
        try:
            for number, line in enumerate(handle, 1):
                yield number, line.rstrip("\n").rstrip("\r")
        except UnicodeDecodeError as err:
            raise InputError(f"not valid UTF-8 ({err.reason})", path=path, line=number + 1)
        except (OSError, EOFError) as err:  # truncated or corrupt .gz
            raise InputError(f"cannot read: {err}", path=path, line=number + 1)
