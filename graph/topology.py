"""T: the token transducer that turns frame-level model outputs into token sequences.

Input labels are posterior columns + 1 (blank included); output labels are the same token
labels, or epsilon where a frame repeats or is blank. `eps:#k` loops consume L's
disambiguation symbols, so none is left on TLG's input side (the way WeNet's token FSTs do
it): on every state for `ctc` (the state remembers the last token across G's back-off), on
state 0 only for `compact` (every token state returns there by epsilon, so one place suffices
and no duplicate paths arise).

- `ctc`: exact CTC. State 0 = after a blank (and the start); state of token k = k was the last
  output. k repeats in place (k:eps loop); a different token j moves to j's state; blank goes
  back to 0. So `a a` collapses to one `a`, and two `a`s need a blank between them. Needs a
  transition between every pair of used tokens (V² arcs: fine for letters and BPE, heavy for
  thousands of characters).
- `compact`: WeNet's ctc_token_fst_compact layout: blank loops on state 0; token k enters its
  own state (k:k), loops there (k:eps), returns to 0 by epsilon. 3V+1 arcs, not exact
  (`a a` may also read as two `a`s).
- `sync`: label-synchronous (Paraformer): one token per position, no blank, no self-loops.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from graph.fstio import ArcArrays

TOPOLOGIES = ("ctc", "compact", "sync")


def build_token_fst(topology: str, token_labels: Sequence[int], blank_label: int,
                    disambig_labels: Sequence[int]) -> ArcArrays:
    """`token_labels`: the non-blank token labels L uses; `blank_label`: the blank's label
    (ignored for sync)."""
    tokens = np.asarray(sorted(token_labels), dtype=np.int32)
    disambig = np.asarray(disambig_labels, dtype=np.int32)
    v = len(tokens)
    token_state = np.arange(1, v + 1, dtype=np.int32)
    arcs = []  # (source, ilabel, olabel, target) arrays

    def add(source, ilabel, olabel, target):
        n = max(np.size(source), np.size(ilabel), np.size(olabel), np.size(target))
        arcs.append([np.broadcast_to(np.asarray(x, dtype=np.int32), (n,))
                     for x in (source, ilabel, olabel, target)])

    if topology == "sync":
        num_states = 1
        add(0, tokens, tokens, 0)
        finals = [0]
    elif topology == "compact":
        num_states = v + 1
        add(0, blank_label, 0, 0)
        add(0, tokens, tokens, token_state)
        add(token_state, tokens, 0, token_state)
        add(token_state, 0, 0, 0)
        finals = [0]
    elif topology == "ctc":
        num_states = v + 1
        add(0, blank_label, 0, 0)
        add(0, tokens, tokens, token_state)
        add(token_state, tokens, 0, token_state)
        add(token_state, blank_label, 0, 0)
        src, dst = np.meshgrid(np.arange(v), np.arange(v), indexing="ij")
        other = src != dst
        add(token_state[src[other]], tokens[dst[other]], tokens[dst[other]],
            token_state[dst[other]])
        finals = list(range(num_states))
    else:
        raise ValueError(f"unknown topology {topology!r}; choose from {TOPOLOGIES}")
    if len(disambig):
        loop_states = 1 if topology == "compact" else num_states
        states = np.repeat(np.arange(loop_states, dtype=np.int32), len(disambig))
        add(states, 0, np.tile(disambig, loop_states), states)
    source, ilabel, olabel, target = (np.concatenate(column) for column in zip(*arcs))
    final = np.full(num_states, np.inf, dtype=np.float32)
    final[finals] = 0.0
    return ArcArrays(num_states, 0, source, ilabel, olabel,
                     np.zeros(len(source), dtype=np.float32), target, final)
