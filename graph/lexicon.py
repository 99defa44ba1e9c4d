"""Lexicons: reading `word tok1 tok2 ...` files, spelling words automatically, and adding the
disambiguation symbols that make L∘G determinisable.

A lexicon line is `WORD TOKEN...` or, as in Kaldi's lexiconp.txt, `WORD PROB TOKEN...` (a file
is read as the second form when every line's second field is a number in (0, 1]). Spelling
turns a word list into a lexicon: `chars` spells a word as its characters (Chinese words ->
characters; English words -> letters, optionally followed by a word-boundary unit such as `|`),
`bpe` as its sentencepiece pieces; a FunASR `seg_dict` (`WORD PIECE...`) overrides both for the
words it lists. A word whose spelling needs a token the model does not have is reported and
dropped, or spelled as the model's `<unk>` token when asked.

Disambiguation follows Kaldi's add_lex_disambig.pl: a pronunciation that equals another one or
is a proper prefix of another gets `#1`, `#2`, ... appended (numbered per pronunciation); `#0` is
reserved for G's back-off arcs.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from common.errors import InputError
from common.textio import numbered_lines

from graph.symbols import UNK_SYMBOLS

NOT_WORDS = ("<s>", "</s>", "<eps>", "<sos/eos>")


@dataclass
class Entry:
    word: str
    tokens: Tuple[str, ...]
    prob: Optional[float] = None


@dataclass
class Lexicon:
    entries: List[Entry]
    dropped: Dict[str, int] = field(default_factory=dict)  # reason -> number of words
    dropped_examples: Dict[str, List[str]] = field(default_factory=dict)

    def words(self) -> List[str]:
        """Distinct words in order of first appearance."""
        return list(dict.fromkeys(e.word for e in self.entries))

    def drop(self, reason: str, word: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        examples = self.dropped_examples.setdefault(reason, [])
        if len(examples) < 10:
            examples.append(word)

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            for e in self.entries:
                prob = "" if e.prob is None else f"{e.prob:g} "
                handle.write(f"{e.word} {prob}{' '.join(e.tokens)}\n")


def _probability(text: str) -> Optional[float]:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 < value <= 1.0 else None


def read_lexicon(path: str, tokens: Sequence[str]) -> Lexicon:
    rows: List[Tuple[int, List[str]]] = []
    for number, text in numbered_lines(path):
        fields = text.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise InputError(f"word {fields[0]!r} has no pronunciation", path, number)
        rows.append((number, fields))
    if not rows:
        raise InputError("empty lexicon", path)
    with_probs = all(len(f) >= 3 and _probability(f[1]) is not None for _, f in rows)
    known = set(tokens)
    seen: Dict[Tuple[str, Tuple[str, ...]], int] = {}
    entries = []
    for number, fields in rows:
        prob = float(fields[1]) if with_probs else None
        spelling = tuple(fields[2:] if with_probs else fields[1:])
        for token in spelling:
            if token not in known:
                raise InputError(f"token {token!r} (word {fields[0]!r}) is not in the token list",
                                 path, number)
        key = (fields[0], spelling)
        if key in seen:
            raise InputError(f"duplicate entry {fields[0]!r} {' '.join(spelling)!r} "
                             f"(first at line {seen[key]})", path, number)
        seen[key] = number
        entries.append(Entry(fields[0], spelling, prob))
    return Lexicon(entries)


def read_word_list(path: str) -> List[str]:
    """Words from a word-per-line file or a Kaldi words.txt (the first field of each line)."""
    words = []
    for _, text in numbered_lines(path):
        fields = text.split()
        if fields and not fields[0].startswith("#"):
            words.append(fields[0])
    if not words:
        raise InputError("empty word list", path)
    return list(dict.fromkeys(words))


def read_seg_dict(path: str) -> Dict[str, Tuple[str, ...]]:
    """FunASR seg_dict: `WORD PIECE...` per line."""
    table: Dict[str, Tuple[str, ...]] = {}
    for number, text in numbered_lines(path):
        fields = text.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise InputError(f"seg_dict word {fields[0]!r} has no pieces", path, number)
        table.setdefault(fields[0], tuple(fields[1:]))
    return table


SPELLINGS = ("chars", "bpe", "seg_dict")
# FunASR's CharTokenizer spells a word missing from seg_dict character by character when it
# starts with one of these (funasr.tokenizer.char_tokenizer.seg_tokenize), else as <unk>
FUNASR_CHAR_SPELLED = re.compile(r"[\u4E00-\u9FA5A-Za-z0-9]")
FUNASR_UNK = "<unk>"


class Speller:
    """Spells a word with the model's tokens.

    chars / bpe: seg_dict first (when given), then characters or sentencepiece pieces.
    seg_dict: FunASR's own tokenizer (CharTokenizer with a seg_dict, what FunASR's models are
      trained on): the word lower-cased, its seg_dict entry; else, when it starts with a
      Chinese character, letter or digit, each character's entry, or <unk> for a character
      without one; else <unk>. So an English word missing from paraformer-en's seg_dict is
      <unk> (per letter without entry), not its letters.
    """

    def __init__(self, tokens: Sequence[str], spelling: str = "chars",
                 word_boundary: Optional[str] = None, bpe_model: Optional[str] = None,
                 seg_dict: Optional[Dict[str, Tuple[str, ...]]] = None):
        if spelling not in SPELLINGS:
            raise ValueError(f"unknown spelling {spelling!r}")
        if spelling == "seg_dict" and not seg_dict:
            raise InputError("--spelling seg_dict needs --seg-dict (FunASR's seg_dict file)")
        self.known = set(tokens)
        self.spelling = spelling
        self.word_boundary = word_boundary
        self.seg_dict = seg_dict or {}
        if word_boundary is not None and word_boundary not in self.known:
            raise InputError(f"word-boundary unit {word_boundary!r} is not in the token list")
        self.processor = None
        if spelling == "bpe":
            if bpe_model is None:
                raise InputError("--spelling bpe needs --bpe-model")
            import sentencepiece

            self.processor = sentencepiece.SentencePieceProcessor()
            try:
                self.processor.Load(str(bpe_model))
            except (OSError, RuntimeError) as err:
                raise InputError(f"cannot load sentencepiece model: {err}", bpe_model) from None

    def spell(self, word: str) -> Tuple[str, ...]:
        if self.spelling == "seg_dict":
            return self._spell_as_funasr(word)
        if word in self.seg_dict:
            return self.seg_dict[word]
        if self.processor is not None:
            pieces = tuple(self.processor.EncodeAsPieces(word))
        else:
            pieces = tuple(word)
        if self.word_boundary is not None:
            pieces += (self.word_boundary,)
        return pieces


    def _spell_as_funasr(self, word: str) -> Tuple[str, ...]:
        key = word.lower()
        if key in self.seg_dict:
            return self.seg_dict[key]
        if not FUNASR_CHAR_SPELLED.match(key):
            return (FUNASR_UNK,)
        pieces: List[str] = []
        for char in key:
            pieces.extend(self.seg_dict.get(char, (FUNASR_UNK,)))
        return tuple(pieces)


def spell_words(words: Iterable[str], speller: Speller, unk_token: Optional[str] = None) -> Lexicon:
    """Lexicon for `words`. Unspellable words are dropped and counted, or spelled as
    `unk_token` when one is given."""
    lexicon = Lexicon([])
    for word in words:
        if word in NOT_WORDS:
            continue
        if word in UNK_SYMBOLS:
            if word in speller.known:
                lexicon.entries.append(Entry(word, (word,)))
            else:
                lexicon.drop("unk word without an <unk> token", word)
            continue
        spelling = speller.spell(word)
        if spelling and all(t in speller.known for t in spelling):
            lexicon.entries.append(Entry(word, spelling))
        elif unk_token is not None:
            lexicon.entries.append(Entry(word, (unk_token,)))
            lexicon.drop("unspellable, spelled as " + unk_token, word)
        else:
            lexicon.drop("unspellable with the model's tokens", word)
    if not lexicon.entries:
        raise InputError("no word could be spelled with the model's tokens")
    return lexicon


def add_disambiguation(entries: Sequence[Entry]) -> Tuple[List[Tuple[str, ...]], int]:
    """Spellings with `#k` appended where needed (Kaldi's add_lex_disambig.pl rule), and the
    highest k used (0 when only #0 is needed)."""
    counts = Counter(e.tokens for e in entries)
    prefixes = set()
    for spelling in counts:
        for end in range(1, len(spelling)):
            prefixes.add(spelling[:end])
    last_used: Dict[Tuple[str, ...], int] = defaultdict(int)
    result = []
    for e in entries:
        if counts[e.tokens] > 1 or e.tokens in prefixes:
            last_used[e.tokens] += 1
            result.append(e.tokens + (f"#{last_used[e.tokens]}",))
        else:
            result.append(e.tokens)
    return result, max(last_used.values(), default=0)
