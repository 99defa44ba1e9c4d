"""G: the back-off n-gram model as a WFST, built from `NgramModel` arrays as Kaldi's arpa2fst
builds it, with numpy instead of one Python call per arc.

States are n-gram histories: the empty history (state 0, where unigram arcs leave), and every
n-gram of order < N that is kept. An n-gram w1..wk leaves the state of w1..w(k-1) with label wk
and cost -ln P (ARPA log10 × ln 10) and enters the state of w1..wk, or, at the highest order,
the state of its longest existing suffix w2..wN. Each history state has a back-off arc to the
state of its suffix, input #0 and output epsilon, cost -ln(back-off). `<s>`'s state is the start
state; `h </s>` becomes the final weight of h's state. A history with no outgoing n-gram and no
final weight is redundant (Kaldi removes it too): arcs into it go straight to its back-off
target with the back-off cost added.

N-grams that contain a word outside the lexicon are removed, at every order, so G stays a
consistent back-off model over the words that remain; the counts are reported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from common.errors import InputError
from lm.model import NgramModel

from graph.fstio import ArcArrays

LN10 = math.log(10.0)


@dataclass
class GrammarReport:
    """What building G kept and dropped, per order (index 0 = unigrams)."""
    kept: List[int] = field(default_factory=list)
    dropped_out_of_lexicon: List[int] = field(default_factory=list)
    dropped_malformed: List[int] = field(default_factory=list)
    redundant_states: int = 0
    zero_probability_arcs: int = 0  # log10 -inf n-grams: an arc of infinite cost is no arc

    def as_dict(self) -> Dict[str, List[int]]:
        return {"kept": self.kept, "dropped_out_of_lexicon": self.dropped_out_of_lexicon,
                "dropped_malformed": self.dropped_malformed,
                "redundant_states_removed": self.redundant_states,
                "zero_probability_arcs_removed": self.zero_probability_arcs}


class _RowIndex:
    """Finds the row of an n-gram from (row of its history, last word): sorted int64 keys."""

    def __init__(self, parent_rows: np.ndarray, last_words: np.ndarray, valid: np.ndarray,
                 vocab_size: int):
        self.vocab_size = vocab_size
        rows = np.flatnonzero(valid)
        keys = parent_rows[rows].astype(np.int64) * vocab_size + last_words[rows]
        order = np.argsort(keys, kind="stable")
        self.keys, self.rows = keys[order], rows[order]

    def find(self, parent_rows: np.ndarray, words: np.ndarray) -> np.ndarray:
        if len(self.keys) == 0:
            return np.full(len(words), -1, dtype=np.int64)
        keys = parent_rows.astype(np.int64) * self.vocab_size + words
        at = np.searchsorted(self.keys, keys)
        at_clipped = np.minimum(at, len(self.keys) - 1)
        found = (at < len(self.keys)) & (self.keys[at_clipped] == keys) & (parent_rows >= 0)
        return np.where(found, self.rows[at_clipped], -1)


def build_grammar(model: NgramModel, word_label: np.ndarray, backoff_label: int,
                  bos: str = "<s>", eos: str = "</s>",
                  path: Optional[str] = None) -> "tuple[ArcArrays, GrammarReport]":
    """G as arc arrays. `word_label[i]` is the output label of LM word i, or -1 for a word that
    is not in the lexicon (its n-grams are removed). `backoff_label` is #0's label."""
    if bos not in model.word_id:
        raise InputError(f"the language model has no {bos} unigram", path)
    if eos not in model.word_id:
        raise InputError(f"the language model has no {eos} unigram", path)
    bos_id, eos_id = model.word_id[bos], model.word_id[eos]
    vocab_size = len(model.vocab)
    word_label = np.asarray(word_label, dtype=np.int32)
    usable = word_label >= 0
    usable[bos_id] = usable[eos_id] = True
    report = GrammarReport()
    max_order = model.order

    # Per order: which rows are kept, their history row and their suffix row (-1 = none).
    kept: List[np.ndarray] = []
    history_row: List[np.ndarray] = []
    index: List[_RowIndex] = []
    for k, table in enumerate(model.orders, start=1):
        ids = table.ids
        in_lexicon = usable[ids].all(axis=1)
        well_formed = np.ones(len(table), dtype=bool)
        if k > 1:
            well_formed &= (ids[:, 1:] != bos_id).all(axis=1)
            well_formed &= (ids[:, :-1] != eos_id).all(axis=1)
        if k == 1:
            history = np.full(len(table), -1, dtype=np.int64)
        else:
            history = _find_rows(index, ids[:, :-1])
            well_formed &= history >= 0
            well_formed &= kept[k - 2][np.maximum(history, 0)]
        keep = in_lexicon & well_formed
        report.kept.append(int(keep.sum()))
        report.dropped_out_of_lexicon.append(int((~in_lexicon).sum()))
        report.dropped_malformed.append(int((in_lexicon & ~well_formed).sum()))
        kept.append(keep)
        history_row.append(history)
        index.append(_RowIndex(np.maximum(history, 0) if k > 1 else np.zeros(len(table), np.int64),
                               ids[:, -1], keep, vocab_size))

    # Candidate states: kept rows of orders < N not ending in </s>; a candidate with neither an
    # outgoing n-gram nor a final weight is redundant.
    is_state: List[np.ndarray] = []
    for k in range(1, max_order):
        table = model.orders[k - 1]
        candidate = kept[k - 1] & (table.ids[:, -1] != eos_id)
        has_child = np.zeros(len(table), dtype=bool)
        children = kept[k] & True
        has_child[history_row[k][children]] = True
        bos_row = (table.ids[:, 0] == bos_id) if k == 1 else np.zeros(len(table), dtype=bool)
        report.redundant_states += int((candidate & ~has_child & ~bos_row).sum())
        is_state.append(candidate & (has_child | bos_row))

    # State ids: 0 = empty history, then the states of each order.
    state_id: List[np.ndarray] = []
    next_id = 1
    for k in range(1, max_order):
        ids_k = np.full(len(model.orders[k - 1]), -1, dtype=np.int64)
        count = int(is_state[k - 1].sum())
        ids_k[is_state[k - 1]] = np.arange(next_id, next_id + count)
        next_id += count
        state_id.append(ids_k)
    num_states = next_id

    # Where an arc "into the history of row r at order k" really goes, and the extra cost:
    # the row's own state, or (redundant) its back-off target plus the back-off cost.
    resolved_state: List[np.ndarray] = []
    resolved_cost: List[np.ndarray] = []
    for k in range(1, max_order):
        table = model.orders[k - 1]
        target, cost = _suffix_state(k, table.ids, index, resolved_state, resolved_cost)
        backoff_cost = (-LN10 * table.backoff.astype(np.float64))
        own = state_id[k - 1]
        resolved_state.append(np.where(own >= 0, own, target))
        resolved_cost.append(np.where(own >= 0, 0.0, backoff_cost + cost))

    sources, ilabels, olabels, weights, targets = [], [], [], [], []
    final = np.full(num_states, np.inf, dtype=np.float64)
    for k in range(1, max_order + 1):
        table = model.orders[k - 1]
        rows = np.flatnonzero(kept[k - 1])
        ids = table.ids[rows]
        cost = -LN10 * table.logprob[rows].astype(np.float64)
        if k == 1:
            source = np.zeros(len(rows), dtype=np.int64)
        else:
            source = state_id[k - 2][history_row[k - 1][rows]]
        last = ids[:, -1]
        ends = last == eos_id
        final[source[ends]] = cost[ends]
        arcs = ~ends & (last != bos_id)
        if k < max_order:
            target = resolved_state[k - 1][rows]
            extra = resolved_cost[k - 1][rows]
        else:
            target, extra = _suffix_state(k, ids, index, resolved_state, resolved_cost)
        sources.append(source[arcs])
        labels = word_label[last[arcs]]
        ilabels.append(labels)
        olabels.append(labels)
        weights.append(cost[arcs] + extra[arcs])
        targets.append(target[arcs])
        if k < max_order:  # back-off arcs of this order's states
            states = np.flatnonzero(is_state[k - 1])
            target, extra = _suffix_state(k, table.ids[states], index, resolved_state,
                                          resolved_cost)
            sources.append(state_id[k - 1][states])
            ilabels.append(np.full(len(states), backoff_label, dtype=np.int32))
            olabels.append(np.zeros(len(states), dtype=np.int32))
            weights.append(-LN10 * table.backoff[states].astype(np.float64) + extra)
            targets.append(target)

    source = np.concatenate(sources)
    ilabel = np.concatenate(ilabels).astype(np.int32)
    # A zero probability (KenLM reads log10 -inf) is an arc of infinite cost: in the tropical
    # semiring that is no arc at all, and OpenFst's determinisation cannot represent it.
    finite = np.isfinite(np.concatenate(weights))
    report.zero_probability_arcs = int((~finite).sum())
    order = np.lexsort((ilabel, source))
    order = order[finite[order]]
    start = int(state_id[0][model.orders[0].ids[:, 0] == bos_id][0]) if max_order > 1 else 0
    arrays = ArcArrays(
        num_states=num_states, start=start, source=source[order].astype(np.int32),
        ilabel=ilabel[order], olabel=np.concatenate(olabels).astype(np.int32)[order],
        weight=np.concatenate(weights).astype(np.float32)[order],
        target=np.concatenate(targets).astype(np.int32)[order],
        final=final.astype(np.float32))
    if not np.isfinite(arrays.final).any():
        raise InputError(f"no n-gram ending in {eos} survives: G would accept nothing", path)
    return arrays, report


def _find_rows(index: Sequence[_RowIndex], words: np.ndarray) -> np.ndarray:
    """Rows (in the table of order words.shape[1]) of the given word sequences; -1 if absent."""
    rows = index[0].find(np.zeros(len(words), dtype=np.int64), words[:, 0])
    for j in range(1, words.shape[1]):
        rows = index[j].find(rows, words[:, j])
    return rows


def _suffix_state(k: int, ids: np.ndarray, index: Sequence[_RowIndex],
                  resolved_state: Sequence[np.ndarray], resolved_cost: Sequence[np.ndarray]):
    """For k-grams `ids`, the state of the longest existing proper suffix of w1..wk (dropping
    w1 first), resolved through redundant states: (state, extra cost)."""
    n = len(ids)
    state = np.zeros(n, dtype=np.int64)  # the empty history when no suffix exists
    cost = np.zeros(n, dtype=np.float64)
    done = np.zeros(n, dtype=bool)
    for start in range(1, k):
        length = k - start
        rows = _find_rows(index, ids[:, start:])
        hit = (rows >= 0) & ~done
        state[hit] = resolved_state[length - 1][rows[hit]]
        cost[hit] = resolved_cost[length - 1][rows[hit]]
        done |= hit
    return state, cost
