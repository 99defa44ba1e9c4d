"""The one error type for bad input anywhere in Tingxie (lm, graph, asr).

Raise `InputError(message, path=..., line=...)` when a file or argument is wrong; the `tingxie`
command prints it as `tingxie: error: PATH:LINE: message` and exits with status 2, never with a
traceback. Native code reports the same way: the bindings translate C++ exceptions into it.
"""
from __future__ import annotations

from typing import Optional


class InputError(ValueError):
    def __init__(self, message: str, path: Optional[str] = None, line: Optional[int] = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        return where + self.message
