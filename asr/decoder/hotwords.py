"""Hotwords: per-call biasing of the search towards a list of words and phrases (issue 8).

A hotword list (FunASR's format: `word [weight]` per line, or a Python list / dict) is spelled
into the graph's tokens and compiled into a token-level Aho-Corasick automaton
(csrc/hotwords.h) whose state travels with each search token: every matched token lowers
the path cost by `bonus x weight` (log-posterior units: x the acoustic scale, see
HotwordOptions in options.py), a prefix that fails gives its partial bonus back, a completed hotword keeps
its bonus (at most `cap` per utterance). No graph recompilation.

Spelling: the graph directory's lexicon.txt (the exact spellings the graph was compiled
with), so a phrase is the concatenation of its words' spellings. Out-of-vocabulary hotwords
(words the graph cannot output) are spelled by the graph's own rule (graph.json "spelling":
seg_dict entries first, then characters, + the word-boundary unit if any, or BPE pieces of
the graph directory's bpe.model -- the copies `tingxie graph compile` makes) and put in a
small word graph beside TLG, built per call (csrc/hotwords.h): a search token at a word
boundary of TLG (a state with G's back-off arc) may enter it for `oov_cost`, reads the
word's tokens with the same per-token bonus, and returns to the TLG state it left with the
word as output (its label is len(words.txt) + i for this call). The LM sees the name as
transparent: its context is the one before the name. A phrase with an out-of-vocabulary word
contributes that word alone.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from common.errors import InputError
from common.textio import numbered_lines

from asr.decoder.options import HotwordOptions  # noqa: F401  (its table: options.py)

HotwordSpec = Union[str, os.PathLike, Sequence[str], Dict[str, float], "Hotwords"]


@dataclass
class Hotwords:
    """A compiled hotword list: pass it as `hotwords=` to reuse it across calls of the
    Decoder that compiled it (its tokens, word table and acoustic scale are built in)."""
    automaton: object
    entries: List[Tuple[str, float]]
    problems: List[InputError] = field(default_factory=list)
    oov_words: List[str] = field(default_factory=list)  # labels len(words.txt) + i
    word_table: Optional[List[str]] = None  # words.txt + oov_words (Decoder's cache)
    owner: object = None  # the Decoder that compiled it: its token columns and word labels


# The last field of a line is its weight when it is a plain decimal number (`2`, `1.5`,
# `.5`, `1e-1`); a last field that starts like a number but is not one (`1.5x`, `2,5`, `-`)
# is a malformed weight, reported; anything else (`nan` and `inf` included) is a word of
# the phrase. So `new york` is a two-word phrase with the default weight, `new york 2` has
# weight 2, and a phrase whose last word starts with a digit needs an explicit weight
# (`printer 3d 1`).
_WEIGHT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_LOOKS_NUMERIC = re.compile(r"[+-]?\.?\d|[+-]$")


def read_hotword_file(path) -> Tuple[List[Tuple[str, Optional[float], int]], List[InputError]]:
    """(phrase, weight or None, line) entries and the problems found (file:line each):
    empty lines, malformed weights (not a number, not positive) -- those lines are skipped,
    the others kept. Unspellable words and duplicates are found by compile_hotwords."""
    entries, problems = [], []
    for number, text in numbered_lines(str(path)):
        fields = text.split()
        if not fields:
            problems.append(InputError("empty line", path, number))
            continue
        weight = None
        if len(fields) > 1:
            last = fields[-1]
            if _WEIGHT.fullmatch(last):
                weight = float(last)
                fields = fields[:-1]
                if not (0 < weight < float("inf")):
                    problems.append(InputError(f"weight must be a positive number, got "
                                               f"{last!r}", path, number))
                    continue
            elif _LOOKS_NUMERIC.match(last):
                problems.append(InputError(f"weight {last!r} is not a number (expected "
                                           "`word [weight]`)", path, number))
                continue
        entries.append((" ".join(fields), weight, number))
    return entries, problems


def compile_hotwords(spec: HotwordSpec, spell, num_tokens: int, native,
                     options: Optional[HotwordOptions] = None, spell_oov=None,
                     first_oov_label: int = 0, compact_topology: bool = False,
                     unigram_lm: bool = False, acoustic_scale: float = 1.0) -> Hotwords:
    """spell(word) -> token columns or None when the graph cannot output the word;
    spell_oov(word) -> token columns by the graph's spelling rule, or None.
    acoustic_scale: the search's (the bonus is in log-posterior units, HotwordOptions)."""
    if isinstance(spec, Hotwords):
        return spec
    options = options or HotwordOptions()
    path = None
    if isinstance(spec, (str, os.PathLike)):
        path = str(spec)
        raw, problems = read_hotword_file(path)
    elif isinstance(spec, dict):
        raw, problems = [(k, float(v), None) for k, v in spec.items()], []
    else:
        raw, problems = [(w, None, None) for w in spec], []
    seen: Dict[str, int] = {}
    oov: List[Tuple[str, List[int], float]] = []
    oov_index: Dict[str, int] = {}
    phrases: List[Tuple[List[int], float]] = []
    entries = []
    for phrase, weight, line in raw:
        weight = options.default_weight if weight is None else weight
        if not (weight > 0):
            problems.append(InputError(f"{phrase!r}: weight must be positive", path, line))
            continue
        if weight > options.max_weight:
            problems.append(InputError(f"{phrase!r}: weight {weight:g} lowered to "
                                       f"{options.max_weight:g} (max_weight)", path, line))
            weight = options.max_weight
        if phrase in seen:
            problems.append(InputError(f"{phrase!r} listed twice (first at line {seen[phrase]});"
                                       " the first entry is used", path, line))
            continue
        seen[phrase] = line
        if not phrase:
            problems.append(InputError("empty hotword", path, line))
            continue
        columns: List[int] = []
        oov_here = []
        for word in phrase.split():
            spelled = spell(word)
            if spelled is None:
                spelled_oov = spell_oov(word) if spell_oov else None
                if spelled_oov is None:
                    problems.append(InputError(
                        f"{word!r} is not in the graph's vocabulary and cannot be spelled with "
                        "the model's tokens; skipped", path, line))
                    columns, oov_here = [], []
                    break
                oov_here.append((word, spelled_oov, weight))
                continue
            columns.extend(spelled)
        if oov_here:
            for word, spelled_oov, w in oov_here:
                if word not in oov_index:
                    oov_index[word] = len(oov)
                    oov.append((word, spelled_oov, w))
            entries.append((phrase, weight))
            continue
        if not columns:
            continue
        phrases.append((columns, weight))
        entries.append((phrase, weight))
    token_bonus = options.bonus * acoustic_scale  # cost units from here on
    automaton = _build(phrases, token_bonus, options.cap * acoustic_scale, native)
    if oov:
        _add_oov(automaton, oov, token_bonus, options.oov_cost, first_oov_label,
                 compact_topology, unigram_lm)
    return Hotwords(automaton, entries, problems, [w for w, _, _ in oov])


def _build(phrases, token_bonus: float, cap: float, native):
    """Trie + failure links (breadth first) as flat arrays for the native automaton."""
    children: List[Dict[int, int]] = [{}]
    depth_weight: List[float] = [0.0]   # max weight of the hotwords through the node
    depth: List[int] = [0]
    is_end = [0]
    for columns, weight in phrases:
        node = 0
        for c in columns:
            if c not in children[node]:
                children[node][c] = len(children)
                children.append({})
                depth_weight.append(0.0)
                depth.append(depth[node] + 1)
                is_end.append(0)
            node = children[node][c]
            depth_weight[node] = max(depth_weight[node], weight)
        is_end[node] = 1
    n = len(children)
    # bonus along a prefix: per token, weighted by the best hotword sharing the prefix
    acc = [0.0] * n
    fail = [0] * n
    order = [0]
    for v in order:
        for c, child in sorted(children[v].items()):
            acc[child] = acc[v] + token_bonus * depth_weight[child]
            order.append(child)
            if v == 0:
                fail[child] = 0
                continue
            f = fail[v]
            while f and c not in children[f]:
                f = fail[f]
            fail[child] = children[f].get(c, 0) if children[f].get(c, 0) != child else 0
    edge_begin, edge_token, edge_next = [0], [], []
    for v in range(n):
        for c, child in sorted(children[v].items()):
            edge_token.append(c)
            edge_next.append(child)
        edge_begin.append(len(edge_token))
    return native.HotwordAutomaton(edge_begin, edge_token, edge_next, fail, acc, is_end,
                                   float(cap))


def _add_oov(automaton, oov, token_bonus: float, entry_cost: float, first_label: int,
             compact_topology: bool, unigram_lm: bool):
    """The side graph of out-of-vocabulary hotwords: a trie of their spellings."""
    children: List[Dict[int, int]] = [{}]
    word = [-1]
    for i, (_, columns, _) in enumerate(oov):
        node = 0
        for c in columns:
            if c not in children[node]:
                children[node][c] = len(children)
                children.append({})
                word.append(-1)
            node = children[node][c]
        if node:
            word[node] = first_label + i
    edge_begin, edge_token, edge_next = [0], [], []
    for v in range(len(children)):
        for c, child in sorted(children[v].items()):
            edge_token.append(c)
            edge_next.append(child)
        edge_begin.append(len(edge_token))
    weight = max(w for _, _, w in oov)
    automaton.set_oov(edge_begin, edge_token, edge_next, word, [w for w, _, _ in oov],
                      float(entry_cost), float(token_bonus * weight), compact_topology,
                      unigram_lm)
