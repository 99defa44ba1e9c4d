"""Checking a compiled graph against its language model, for the tests: the cost of a word
sequence through G, LG and TLG (OpenFst's path searches, and a back-off walk over G), and
frame sequences a CTC model could emit for a token sequence."""
from __future__ import annotations

import collections
import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import pywrapfst as fst


def linear_acceptor(labels: Sequence[int]) -> fst.VectorFst:
    f = fst.VectorFst()
    state = f.add_state()
    f.set_start(state)
    one = fst.Weight.one(f.weight_type())
    for label in labels:
        nxt = f.add_state()
        f.add_arc(state, fst.Arc(int(label), int(label), one, nxt))
        state = nxt
    f.set_final(state)
    return f.arcsort("ilabel")


def best_cost(graph: fst.Fst, inputs: Optional[Sequence[int]] = None,
              outputs: Optional[Sequence[int]] = None) -> float:
    """Cost of the best path of `graph` whose input labels (epsilons aside) are `inputs` and
    whose output labels are `outputs` (either may be None = unconstrained); +inf if none."""
    restricted = graph
    if inputs is not None:
        restricted = fst.compose(linear_acceptor(inputs), restricted)
    if outputs is not None:
        restricted = fst.compose(restricted, linear_acceptor(outputs))
    if restricted.start() == fst.NO_STATE_ID:
        return math.inf
    distance = fst.shortestdistance(restricted, reverse=True)
    if len(distance) <= restricted.start():
        return math.inf
    return float(distance[restricted.start()].to_string())


def best_output(graph: fst.Fst, inputs: Sequence[int]) -> List[int]:
    """Output labels (epsilons removed) of the best path with the given input labels."""
    path = fst.shortestpath(fst.compose(linear_acceptor(inputs), graph))
    labels, state = [], path.start()
    while state != fst.NO_STATE_ID:
        arcs = list(path.arcs(state))
        if not arcs:
            break
        if arcs[0].olabel:
            labels.append(arcs[0].olabel)
        state = arcs[0].nextstate
    return labels


def ctc_frames(token_labels: Sequence[int], blank_label: int, rng: np.random.Generator,
               max_repeat: int = 3, blank_probability: float = 0.5) -> List[int]:
    """A frame-level label sequence that CTC collapses to `token_labels`: each token repeated
    1..max_repeat times, blanks inserted at random, and always between equal neighbours."""
    frames: List[int] = []
    for i, label in enumerate(token_labels):
        if rng.random() < blank_probability or (i and token_labels[i - 1] == label):
            frames.extend([blank_label] * int(rng.integers(1, max_repeat + 1)))
        frames.extend([label] * int(rng.integers(1, max_repeat + 1)))
    if rng.random() < blank_probability:
        frames.append(blank_label)
    return frames


def sample_sentences(model, allowed, n: int, seed: int) -> List[List[str]]:
    """Sentences over `allowed` words: mostly following the model's own n-grams (so that
    higher-order arcs are exercised), sometimes jumping to a random word (back-off)."""
    rng = np.random.default_rng(seed)
    allowed_ids = sorted(model.word_id[w] for w in allowed if w in model.word_id)
    allowed_set = set(allowed_ids)
    continuations = collections.defaultdict(list)
    for table in model.orders[1:]:
        for row in table.ids:
            if row[-1] in allowed_set:
                continuations[tuple(int(x) for x in row[:-1])].append(int(row[-1]))
    bos = model.word_id["<s>"]
    sentences = []
    for _ in range(n):
        history, words = [bos], []
        for _ in range(int(rng.integers(1, 13))):
            options = []
            for length in range(min(len(history), model.order - 1), 0, -1):
                options = continuations.get(tuple(history[-length:]), [])
                if options:
                    break
            if options and rng.random() < 0.8:
                word = options[int(rng.integers(len(options)))]
            else:
                word = allowed_ids[int(rng.integers(len(allowed_ids)))]
            words.append(model.vocab[word])
            history.append(word)
        sentences.append(words)
    return sentences


class BackoffWalker:
    """Scores word-label sequences on G the way a back-off model does: take the word's arc if
    the state has one, else the back-off arc and try again; end with the final weight (backing
    off until a final state). Arc tables are cached per state."""

    def __init__(self, g, backoff_label: int):
        self.g, self.backoff_label = g, backoff_label
        self._arcs: Dict[int, Dict[int, tuple]] = {}

    def _out(self, state: int) -> Dict[int, tuple]:
        table = self._arcs.get(state)
        if table is None:
            table = {a.ilabel: (float(a.weight.to_string()), a.nextstate)
                     for a in self.g.arcs(state)}
            self._arcs[state] = table
        return table

    def cost(self, labels: Sequence[int]) -> float:
        """-ln P of the sequence (with </s>), +inf if G cannot accept it."""
        state, total = self.g.start(), 0.0
        for label in list(labels) + [None]:
            while True:
                out = self._out(state)
                if label is None:
                    final = float(self.g.final(state).to_string())
                    if math.isfinite(final):
                        return total + final
                elif label in out:
                    weight, state = out[label]
                    total += weight
                    break
                if self.backoff_label not in out:
                    return math.inf
                weight, state = out[self.backoff_label]
                total += weight
        return total
