"""The graph directory: what `tingxie graph compile` writes and the decoder, the hotword
speller and the recogniser read. This module is the only reader and writer of graph.json.

A graph directory holds
    TLG.fst      OpenFst (vector or const), tropical, costs -ln P; input label = token
                 column + 1 (0 is epsilon), output label = word id
    tokens.txt   the model's tokens, `SYMBOL COLUMN`
    words.txt    the word symbol table, `WORD ID`
    lexicon.txt  the spelling of every word (`WORD TOKEN...`)
    LG.fst       optional (--write-lg)
    lm.bin       the n-gram model G was built from (binary, lm/binary.py), for --big-lm
    bpe.model, seg_dict   the spelling rule's files, when the words were spelled with them
    graph.json   this contract:

    format_version  2
    topology        ctc | compact | sync
    blank           the blank token (null for sync graphs)
    word_boundary   the token that closes every word (null: none; common/token_words.py)
    spelling        {"rule": "chars" | "bpe" | "seg_dict" | "lexicon", "bpe_model": NAME | null,
                     "seg_dict": NAME | null}: how words were spelled (new hotwords are
                     spelled the same way)
    lm_order        order of the n-gram model G was built from
    files           {NAME: sha256} of every other file in the directory
    details         what the compiler reports (sizes, drops, sources by name and checksum,
                    options, timings, versions); informative only

Every path in graph.json is a file name inside the directory, so a directory can be moved or
shipped. Directories are written whole (into a temporary directory, then renamed), and on
reading the checksums must match: files from different compilations are not mixed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from common.errors import InputError
from common.tokens import read_tokens
from common.token_words import TokenWords

FORMAT_VERSION = 2
INFO_NAME = "graph.json"
FST_NAME = "TLG.fst"
TOKENS_NAME = "tokens.txt"
WORDS_NAME = "words.txt"
LEXICON_NAME = "lexicon.txt"
LG_NAME = "LG.fst"
LM_NAME = "lm.bin"  # the LM G was built from, binary (lm/binary.py): what --big-lm subtracts
BPE_MODEL_NAME = "bpe.model"
SEG_DICT_NAME = "seg_dict"
TOPOLOGIES = ("ctc", "compact", "sync")
SPELLING_RULES = ("chars", "bpe", "seg_dict", "lexicon")


@dataclass
class GraphInfo:
    """The contents of graph.json."""
    topology: str
    blank: Optional[str]
    word_boundary: Optional[str]
    spelling: Dict[str, Optional[str]]
    lm_order: int
    files: Dict[str, str] = field(default_factory=dict)
    details: Dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> Dict:
        return {"format_version": self.format_version, "topology": self.topology,
                "blank": self.blank, "word_boundary": self.word_boundary,
                "spelling": self.spelling, "lm_order": self.lm_order, "files": self.files,
                "details": self.details}

    @classmethod
    def from_json(cls, record, path: str) -> "GraphInfo":
        if not isinstance(record, dict):
            raise InputError("graph.json must hold a JSON object", path)
        version = record.get("format_version")
        if version != FORMAT_VERSION:
            raise InputError(f"graph format version {version!r}; this Tingxie reads version "
                             f"{FORMAT_VERSION}: compile the graph again", path)
        topology = record.get("topology")
        if topology not in TOPOLOGIES:
            raise InputError(f"unknown topology {topology!r} ({', '.join(TOPOLOGIES)})", path)
        for name in ("blank", "word_boundary"):
            if record.get(name) is not None and not isinstance(record[name], str):
                raise InputError(f'"{name}" must be a token or null', path)
        if topology != "sync" and not record.get("blank"):
            raise InputError(f"a {topology} graph needs a \"blank\" token", path)
        spelling = record.get("spelling")
        if not (isinstance(spelling, dict) and spelling.get("rule") in SPELLING_RULES
                and all(spelling.get(k) is None or _is_file_name(spelling[k])
                        for k in ("bpe_model", "seg_dict"))):
            raise InputError('"spelling" must be {"rule": chars|bpe|lexicon, "bpe_model": '
                             'NAME|null, "seg_dict": NAME|null}', path)
        order = record.get("lm_order")
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise InputError('"lm_order" must be a positive integer', path)
        files = record.get("files")
        if not (isinstance(files, dict) and all(_is_file_name(k) and isinstance(v, str)
                                                for k, v in files.items())):
            raise InputError('"files" must map file names in the directory to sha256 sums',
                             path)
        for name in (FST_NAME, TOKENS_NAME, WORDS_NAME):
            if name not in files:
                raise InputError(f'"files" does not list {name}', path)
        details = record.get("details", {})
        return cls(topology, record.get("blank"), record.get("word_boundary"),
                   {k: spelling.get(k) for k in ("rule", "bpe_model", "seg_dict")}, order,
                   dict(files), details if isinstance(details, dict) else {}, version)


def _is_file_name(name) -> bool:
    return (isinstance(name, str) and name not in ("", ".", "..") and os.sep not in name
            and "/" not in name)


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class GraphDirectory:
    """A checked graph directory: its GraphInfo, its tokens, and the rules they imply."""

    def __init__(self, path: str, verify: bool = True):
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            raise InputError("graph directory not found", self.path)
        info_path = self.file(INFO_NAME)
        try:
            with open(info_path, encoding="utf-8") as handle:
                record = json.load(handle)
        except FileNotFoundError:
            raise InputError("missing graph.json (is this a `tingxie graph compile` output?)",
                             info_path) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"not valid JSON: {err}", info_path) from None
        self.info = GraphInfo.from_json(record, info_path)
        for name, digest in self.info.files.items():
            if not os.path.isfile(self.file(name)):
                raise InputError("missing: graph.json lists it", self.file(name))
            if verify and sha256(self.file(name)) != digest:
                raise InputError("this file is not the one graph.json was written with (its "
                                 "checksum differs): the directory mixes files of different "
                                 "compilations; compile it again", self.file(name))
        for key in ("bpe_model", "seg_dict"):
            name = self.info.spelling.get(key)
            if name and name not in self.info.files:
                raise InputError(f'"spelling" names {name}, which "files" does not list',
                                 info_path)
        self.tokens: List[str] = read_tokens(self.file(TOKENS_NAME))
        for name in ("blank", "word_boundary"):
            symbol = getattr(self.info, name)
            if symbol is not None and symbol not in self.tokens:
                raise InputError(f"the {name.replace('_', ' ')} {symbol!r} is not a token of "
                                 f"{TOKENS_NAME}", info_path)

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def optional_file(self, name: Optional[str]) -> Optional[str]:
        return self.file(name) if name and name in self.info.files else None

    @property
    def topology(self) -> str:
        return self.info.topology

    @property
    def blank_column(self) -> int:
        """The blank's column, -1 for a graph without one (sync)."""
        return self.tokens.index(self.info.blank) if self.info.blank is not None else -1

    def token_words(self) -> TokenWords:
        return TokenWords(self.tokens, self.info.word_boundary)


def write_graph_directory(out: str, fill: Callable[[str], GraphInfo]) -> GraphInfo:
    """Write a graph directory whole: `fill(tmp)` writes the files into an empty temporary
    directory beside `out` and returns their GraphInfo; the checksums are added, graph.json
    written, and the directory renamed to `out`, replacing an older graph directory there.
    An interrupted compile leaves `out` as it was."""
    out = os.path.abspath(os.fspath(out))
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError("exists and is not a directory", out)
    if os.path.isdir(out) and os.listdir(out) and not os.path.isfile(
            os.path.join(out, INFO_NAME)):
        raise InputError("not empty and not a graph directory: choose another output "
                         "directory (a graph directory is replaced whole)", out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.", dir=parent)
    try:
        info = fill(tmp)
        seal(tmp, info)
        if os.path.isdir(out):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.old.", dir=parent)
            os.rename(out, os.path.join(old, "graph"))
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def seal(directory: str, info: GraphInfo) -> None:
    """Record the checksum of every file of `directory` in `info` and write graph.json."""
    info.files = {name: sha256(os.path.join(directory, name))
                  for name in sorted(os.listdir(directory))
                  if name != INFO_NAME and os.path.isfile(os.path.join(directory, name))}
    with open(os.path.join(directory, INFO_NAME), "w", encoding="utf-8") as handle:
        json.dump(info.to_json(), handle, indent=2, ensure_ascii=False)
        handle.write("\n")
