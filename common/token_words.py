"""How a model's tokens make words: the one definition of the rule, used by the decoder's word
timing (asr/decoder/csrc/words.cc receives `TokenWords.kinds()`), the greedy transcripts of
the acoustic models and the recogniser.

  - the word-boundary token (letter models: `|`) closes the word before it;
  - sentencepiece's `▁x` opens a new word (`▁` alone opens one and spells nothing);
  - FunASR's BPE `x@@` continues into the next token;
  - a CJK character is a word by itself;
  - `<...>` symbols (`<unk>`, `<blank>`) spell nothing;
  - any other token continues the current word when the token set marks words (a boundary
    token or `▁` pieces), and is a word by itself when it does not (whole-word units).

The boundary token is a graph's choice (`tingxie graph compile --word-boundary`, recorded in
graph.json); without one, `|` is the boundary when the token list has it.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

DEFAULT_WORD_BOUNDARY = "|"
PIECE_START = "\u2581"  # sentencepiece: '▁' opens a word
PIECE_CONTINUES = "@@"   # FunASR seg_dict BPE: 'ab@@' continues into the next token

# Token kinds, as asr/decoder/csrc/words.h numbers them.
LETTERS, WORD_END, NO_LETTERS = 0, 1, 2


class TokenWords:
    """The rule for one token list (and the word-boundary token, if any)."""

    def __init__(self, tokens: Sequence[str], word_boundary: Optional[str] = None):
        if word_boundary is None and DEFAULT_WORD_BOUNDARY in tokens:
            word_boundary = DEFAULT_WORD_BOUNDARY
        self.word_boundary = word_boundary
        self.marks_words = word_boundary is not None or any(
            t.startswith(PIECE_START) for t in tokens)

    def piece(self, token: str) -> Tuple[str, int, bool, bool]:
        """(letters the token spells, kind, opens a word, continues into the next token)."""
        if token == self.word_boundary:
            return "", WORD_END, False, False
        if len(token) >= 2 and token[0] == "<" and token[-1] == ">":
            return "", NO_LETTERS, False, False
        opens = token.startswith(PIECE_START)
        text = token[len(PIECE_START):] if opens else token
        continues = text.endswith(PIECE_CONTINUES)
        if continues:
            text = text[:-len(PIECE_CONTINUES)]
        return text, (LETTERS if text else NO_LETTERS), opens, continues

    def kinds(self, tokens: Sequence[str]) -> Tuple[List[str], List[int]]:
        """Per token: the letters it spells and its kind (LETTERS, WORD_END, NO_LETTERS)."""
        pieces = [self.piece(t) for t in tokens]
        return [p[0] for p in pieces], [p[1] for p in pieces]

    def group(self, tokens: Sequence[str]) -> List[Tuple[str, int, int]]:
        """Words of a token sequence: (word, first token index, last token index)."""
        words: List[Tuple[str, int, int]] = []
        letters: List[str] = []
        first = 0

        def close(last: int) -> None:
            if letters:
                words.append(("".join(letters), first, last))
            letters.clear()

        for index, token in enumerate(tokens):
            text, kind, opens, continues = self.piece(token)
            if kind == WORD_END or opens:
                close(index - 1)
            if kind != LETTERS:
                continue
            if not letters:
                first = index
            letters.append(text)
            if continues:
                continue
            if not self.marks_words or _is_cjk(text):
                close(index)
        close(len(tokens) - 1)
        return words

    def text(self, tokens: Sequence[str]) -> str:
        """The words of a token sequence as a line (join_words)."""
        return join_words([word for word, _, _ in self.group(tokens)])


def join_words(words: Sequence[str]) -> str:
    """A transcript line in the convention of the words' script, as FunASR prints it:
    Chinese (Japanese, Korean) words run together, other words are separated by single
    spaces, and a space separates a CJK word from a non-CJK neighbour ("你好 hello 世界")."""
    pieces: List[str] = []
    previous_cjk = False
    for word in words:
        cjk = bool(word) and all(_is_cjk(char) for char in word)
        if pieces and not (cjk and previous_cjk):
            pieces.append(" ")
        pieces.append(word)
        previous_cjk = cjk
    return "".join(pieces)


def _is_cjk(text: str) -> bool:
    return len(text) == 1 and (
        "\u4e00" <= text <= "\u9fff" or "\u3400" <= text <= "\u4dbf"
        or "\uf900" <= text <= "\ufaff" or "\u3040" <= text <= "\u30ff"
        or "\uac00" <= text <= "\ud7af")
