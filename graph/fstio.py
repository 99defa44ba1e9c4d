"""Handing array-built FSTs to OpenFst, and writing graphs the way Kaldi tools read them.

G and L are built as numpy arrays (one row per arc) because adding millions of arcs one Python
call at a time is the slow part of a Python graph builder. `arrays_to_fst` lays the arrays out
in OpenFst's binary VectorFst format (header, then per state: final weight, arc count, arcs as
ilabel/olabel/weight/nextstate) and lets OpenFst read it; every algorithm then runs in OpenFst.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pywrapfst as fst

_MAGIC = 2125659606  # OpenFst's binary FST magic number
_VECTOR_VERSION = 2
_PROPERTIES_EXPANDED_MUTABLE = 0x3  # kExpanded | kMutable; OpenFst computes the rest on demand


@dataclass
class ArcArrays:
    """An FST as arrays: arcs (source, ilabel, olabel, weight, target), final weights per state
    (+inf = not final), the start state. Weights are tropical costs (float32)."""
    num_states: int
    start: int
    source: np.ndarray
    ilabel: np.ndarray
    olabel: np.ndarray
    weight: np.ndarray
    target: np.ndarray
    final: np.ndarray

    @property
    def num_arcs(self) -> int:
        return int(self.source.shape[0])


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<i", len(data)) + data


def arrays_to_fst(arrays: ArcArrays) -> fst.VectorFst:
    """Build a StdVectorFst from arc arrays; arcs keep their order within each state after a
    stable sort by source state, so pre-sorted labels stay sorted."""
    num_states, num_arcs = arrays.num_states, arrays.num_arcs
    order = np.argsort(arrays.source, kind="stable")
    source = arrays.source[order].astype(np.int64)
    arcs_per_state = np.bincount(source, minlength=num_states).astype(np.int64)
    first_arc = np.zeros(num_states, dtype=np.int64)
    np.cumsum(arcs_per_state[:-1], out=first_arc[1:])

    # The body as 32-bit words: per state 3 words (final, int64 arc count), per arc 4 words.
    words = np.empty(3 * num_states + 4 * num_arcs, dtype=np.int32)
    state_at = 3 * np.arange(num_states, dtype=np.int64) + 4 * first_arc
    words[state_at] = arrays.final.astype(np.float32).view(np.int32)
    words[state_at + 1] = (arcs_per_state & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    words[state_at + 2] = (arcs_per_state >> 32).astype(np.int32)
    arc_at = 3 * (source + 1) + 4 * np.arange(num_arcs, dtype=np.int64)
    words[arc_at] = arrays.ilabel[order]
    words[arc_at + 1] = arrays.olabel[order]
    words[arc_at + 2] = arrays.weight[order].astype(np.float32).view(np.int32)
    words[arc_at + 3] = arrays.target[order]

    header = (struct.pack("<i", _MAGIC) + _string("vector") + _string("standard")
              + struct.pack("<iiQqqq", _VECTOR_VERSION, 0, _PROPERTIES_EXPANDED_MUTABLE,
                            arrays.start, num_states, num_arcs))
    return fst.VectorFst.read_from_string(header + words.tobytes())


def count(f: fst.Fst) -> dict:
    """States and arcs of an FST, as graph.json records them."""
    states = f.num_states() if f.fst_type() == "vector" else sum(1 for _ in f.states())
    return {"states": states, "arcs": sum(map(f.num_arcs, range(states)))}


def write_fst(f: fst.Fst, path: str, const: bool = False) -> None:
    (fst.convert(f, "const") if const else f).write(path)
