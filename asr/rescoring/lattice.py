"""Whole-lattice n-gram rescoring: take the first-pass LM's score off every word and put a new
LM's on, over every path of a word lattice at once.

A word lattice is an acyclic acceptor over words (epsilon = no word) whose arcs carry two costs,
graph and acoustic, as Kaldi lattices do. The graph cost of a path includes
old_lm_scale * -ln P_old(words </s>) from the first pass's G. Rescoring builds the lattice

    states (lattice state, old-LM state, new-LM state), reachable from the start
    word arc w from h_old, h_new:  graph += old_lm_scale * ln P_old(w | h_old)
                                            - new_lm_scale * ln P_new(w | h_new)
    final state:                   graph += old_lm_scale * ln P_old(</s> | h_old)
                                            - new_lm_scale * ln P_new(</s> | h_new)

which is what Kaldi's `lattice-lmrescore --lm-scale=-1` (old G) followed by `--lm-scale=1` (new G)
computes by composing with a deterministic on-demand back-off G, and icefall's whole-lattice
rescoring by intersecting with G: exact for every path, because an n-gram's probability of the
next word depends only on its state. LM states are the models' minimal states (ngram.py), so
histories the LMs cannot tell apart are not split. `old_lm` may be None (then nothing is
removed: use it for lattices whose graph cost holds no LM). Costs stay separate; a path's total
is graph + acoustic_scale * acoustic, lower is better.

The best path is found by dynamic programming in topological order; `nbest` gives the n best
distinct word sequences. The decoder's lattice (`Result.lattice` with keep_lattice=True) is
already determinised on words and pruned by its lattice_beam (asr.decoder.WordLattice): one
path per word sequence, so it is rescored as it comes. State-level lattices (the decoder's with
determinize_lattice=False, or raw Kaldi lattices) hold many alignments per word sequence:
`determinize=True` first determinises them on words with the decoder's own determiniser
(asr/decoder/csrc/determinize.h), which keeps graph and acoustic costs apart.
"""
from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from common.errors import InputError
from common.textio import numbered_lines

EPSILON_SYMBOLS = ("<eps>", "0")


@dataclass
class Arc:
    src: int
    dst: int
    word: Optional[str]  # None = epsilon
    graph: float
    acoustic: float


@dataclass
class ArcLattice:
    """A word lattice as a list of arcs, the form rescoring works on: the decoder's lattices
    (`from_decoder_lattice`, from asr.decoder.WordLattice or Lattice) and Kaldi lattice text
    (`read_kaldi_lattices`) both become one."""
    start: int
    arcs: List[Arc]
    finals: Dict[int, Tuple[float, float]]  # state -> (graph, acoustic) final costs
    key: str = ""

    def num_states(self) -> int:
        states = {self.start, *self.finals}
        for arc in self.arcs:
            states.update((arc.src, arc.dst))
        return len(states)

    def topological_order(self) -> List[int]:
        """States reachable from the start, in topological order; InputError on a cycle."""
        outgoing: Dict[int, List[Arc]] = {}
        for arc in self.arcs:
            outgoing.setdefault(arc.src, []).append(arc)
        reachable, stack = {self.start}, [self.start]
        while stack:
            for arc in outgoing.get(stack.pop(), []):
                if arc.dst not in reachable:
                    reachable.add(arc.dst)
                    stack.append(arc.dst)
        indegree = {s: 0 for s in reachable}
        for arc in self.arcs:
            if arc.src in reachable:
                indegree[arc.dst] += 1
        ready = deque(s for s, d in indegree.items() if d == 0)
        order = []
        while ready:
            state = ready.popleft()
            order.append(state)
            for arc in outgoing.get(state, []):
                indegree[arc.dst] -= 1
                if indegree[arc.dst] == 0:
                    ready.append(arc.dst)
        if len(order) != len(reachable):
            raise InputError(f"lattice {self.key!r} has a cycle; rescoring needs an acyclic "
                             "lattice")
        return order

    def to_kaldi_text(self) -> str:
        """Kaldi's text form of a word lattice (acceptor, `graph,acoustic` weights). The start
        state's arcs come first: readers take the first line's state as the start."""
        lines = [self.key]
        for arc in sorted(self.arcs, key=lambda a: (a.src != self.start, a.src)):
            word = "<eps>" if arc.word is None else arc.word
            lines.append(f"{arc.src} {arc.dst} {word} {arc.graph:.6g},{arc.acoustic:.6g}")
        if not self.arcs and self.start not in self.finals:
            lines.append(f"{self.start} {float('inf')},0")
        finals = sorted(self.finals.items(), key=lambda item: item[0] != self.start)
        for state, (graph, acoustic) in finals:
            lines.append(f"{state} {graph:.6g},{acoustic:.6g}")
        return "\n".join(lines) + "\n\n"


def from_decoder_lattice(lattice, key: str = "", words: Optional[Sequence[str]] = None
                         ) -> ArcLattice:
    """An ArcLattice from `asr.decoder` (`Result.lattice`, kept with `keep_lattice=True`):
    its arcs' words (0 = epsilon; the token strings are not needed) and their graph and
    acoustic costs (acoustic scale already applied) are kept. The decoder's word lattice
    (the default) has (graph, acoustic) final weights; a state-level lattice's final costs
    count as graph cost. An empty lattice (start -1) gives one with no final state."""
    arrays = lattice.arrays()
    symbols = words if words is not None else lattice._words
    arcs = [Arc(int(src), int(dst), symbols[int(label)] if label else None, float(graph),
                float(acoustic))
            for src, dst, label, graph, acoustic in zip(
                arrays["src"], arrays["dst"], arrays["olabel"], arrays["graph_cost"],
                arrays["acoustic_cost"])]
    if "final_graph_cost" in arrays:
        final_graph, final_acoustic = arrays["final_graph_cost"], arrays["final_acoustic_cost"]
    else:
        final_graph = arrays["final_cost"]
        final_acoustic = [0.0] * len(final_graph)
    finals = {state: (float(graph), float(acoustic))
              for state, (graph, acoustic) in enumerate(zip(final_graph, final_acoustic))
              if math.isfinite(graph)}
    return ArcLattice(max(0, int(lattice.start)), arcs, finals, key)


def _weight(text: str, path: str, line: int) -> Tuple[float, float]:
    parts = text.split(",")
    try:
        graph, acoustic = float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        raise InputError(f"expected a 'graph,acoustic' weight, got {text!r}", path, line) \
            from None
    if math.isnan(graph) or math.isnan(acoustic) or graph == -math.inf or acoustic == -math.inf:
        raise InputError(f"weight {text!r} is not a cost (NaN or -inf)", path, line)
    return graph, acoustic


def _state(text: str, path: str, line: int) -> int:
    if not text.isdigit():
        raise InputError(f"expected a state number, got {text!r}", path, line)
    return int(text)


def read_kaldi_lattices(path: str, symbols: Optional[Sequence[str]] = None
                        ) -> Iterator[ArcLattice]:
    """Read a Kaldi text lattice archive (`lattice-copy ark:- ark,t:-`): per lattice a key line,
    then `src dst word graph,acoustic[,transition-ids]` (compact) or
    `src dst ilabel word graph,acoustic` arcs, `state [graph,acoustic]` finals, a blank line.
    Words are integers looked up in `symbols` (words.txt order) when given, else symbols."""

    def word_of(token: str, line: int) -> Optional[str]:
        if symbols is not None:
            if not token.isdigit() or int(token) >= len(symbols):
                raise InputError(f"word id {token!r} is not in the symbol table", path, line)
            token = symbols[int(token)]
        return None if token in EPSILON_SYMBOLS else token

    key, arcs, finals, start, arc_lines, key_line = None, [], {}, None, [], 0

    def finished() -> "ArcLattice":
        _check_states(key, arcs, arc_lines, finals, path, key_line)
        return ArcLattice(start if start is not None else 0, arcs, finals, key)

    for number, text in numbered_lines(path):
        fields = text.split()
        if not fields:
            if key is not None:
                yield finished()
            key, arcs, finals, start, arc_lines = None, [], {}, None, []
            continue
        if key is None:
            if len(fields) != 1:
                raise InputError("expected a lattice key line", path, number)
            key, key_line = fields[0], number
            continue
        if len(fields) in (1, 2):
            state = _state(fields[0], path, number)
            finals[state] = _weight(fields[1], path, number) if len(fields) == 2 else (0.0, 0.0)
            start = state if start is None else start
            continue
        if len(fields) not in (4, 5):
            raise InputError(f"expected an arc or a final state, got {len(fields)} fields",
                             path, number)
        src, dst = _state(fields[0], path, number), _state(fields[1], path, number)
        graph, acoustic = _weight(fields[-1], path, number)
        arcs.append(Arc(src, dst, word_of(fields[-2], number), graph, acoustic))
        arc_lines.append(number)
        start = src if start is None else start
    if key is not None:
        yield finished()


def _check_states(key, arcs, arc_lines, finals, path, key_line) -> None:
    """Every arc must lead somewhere: to a final state or one with arcs of its own. An arc into
    a state the archive never mentions again is a cut-off or corrupt lattice (whose best path
    would silently be empty). A lattice with no path at all (no arc, no finite final weight:
    what a decoder writes when it found nothing) is warned about."""
    sources = {arc.src for arc in arcs}
    for arc, line in zip(arcs, arc_lines):
        if arc.dst not in sources and arc.dst not in finals:
            raise InputError(f"lattice {key!r}: arc to state {arc.dst}, which has no arcs and "
                             "is not final (a truncated or corrupt archive?)", path, line)
    if not any(math.isfinite(graph + acoustic) for graph, acoustic in finals.values()):
        if arcs:
            raise InputError(f"lattice {key!r} has arcs but no final state (a truncated "
                             "archive?)", path, key_line)
        import warnings
        warnings.warn(f"{path}:{key_line}: lattice {key!r} is empty (no path): its best "
                      "hypothesis is empty", stacklevel=3)


@dataclass
class LatticeRescoreOptions:
    old_lm_scale: float = 1.0  # the first pass's LM weight inside the graph costs
    new_lm_scale: float = 1.0  # weight of the new LM's -ln P in the rescored graph costs
    max_states: int = 1_000_000  # refuse to expand a lattice beyond this many states
    # Determinise first (`determinize_words`): for state-level lattices (the decoder's with
    # determinize_lattice=False, raw Kaldi lattices), whose many alignments of one word
    # sequence would otherwise each be expanded; the decoder's default lattice is already
    # determinised and needs none of it. Each word sequence keeps its best path's graph and
    # acoustic costs (best at `acoustic_scale`); best paths and costs are unchanged.
    determinize: bool = False
    acoustic_scale: float = 1.0


def determinize_words(lattice: ArcLattice, acoustic_scale: float = 1.0,
                      max_states: int = 1_000_000) -> ArcLattice:
    """An epsilon-free word lattice with one path per word sequence, that sequence's best path
    in `lattice` (lowest graph + acoustic_scale * acoustic), its graph and acoustic costs kept
    apart: the decoder's own determiniser (asr/decoder/csrc/determinize.h, Kaldi's
    DeterminizeLatticePruned), unpruned."""
    from asr.decoder import _native

    order = lattice.topological_order()  # the reachable states; InputError on a cycle
    state_of = {state: i for i, state in enumerate(order)}
    label: Dict[str, int] = {}
    words_of: List[str] = ["<eps>"]
    columns = {name: [] for name in ("src", "dst", "word", "graph", "acoustic")}
    for arc in lattice.arcs:
        if arc.src not in state_of:
            continue
        word = 0
        if arc.word is not None:
            word = label.setdefault(arc.word, len(words_of))
            if word == len(words_of):
                words_of.append(arc.word)
        for name, value in (("src", state_of[arc.src]), ("dst", state_of[arc.dst]),
                            ("word", word), ("graph", arc.graph),
                            ("acoustic", acoustic_scale * arc.acoustic)):
            columns[name].append(value)
    final_graph = [math.inf] * len(order)
    final_acoustic = [0.0] * len(order)
    for state, (graph, acoustic) in lattice.finals.items():
        if state in state_of:
            final_graph[state_of[state]] = graph
            final_acoustic[state_of[state]] = acoustic_scale * acoustic
    try:
        out = _native.determinize_lattice(
            len(order), 0, columns["src"], columns["dst"], columns["word"], columns["graph"],
            columns["acoustic"], [0] * (len(columns["src"]) + 1), [], final_graph,
            final_acoustic, beam=math.inf, max_states=max_states, max_arcs=8 * max_states,
            max_retries=0)
    except ValueError as err:
        raise InputError(f"lattice {lattice.key!r}: {err}") from None
    unscale = 1.0 / acoustic_scale if acoustic_scale else 0.0
    determinised = from_decoder_lattice(out, lattice.key, words_of)
    for arc in determinised.arcs:
        arc.acoustic *= unscale
    determinised.finals = {state: (graph, acoustic * unscale)
                           for state, (graph, acoustic) in determinised.finals.items()}
    if out.start < 0:  # no path reaches a final state
        determinised.finals = {}
    return determinised


def rescore_lattice(lattice: ArcLattice, new_lm, old_lm=None,
                    options: LatticeRescoreOptions = LatticeRescoreOptions()) -> ArcLattice:
    """The lattice with the old LM's score replaced by the new LM's (see the module doc).
    `new_lm`/`old_lm` are ngram.NgramQuery or KenlmQuery objects (`begin/advance/end`)."""
    lattice.topological_order()  # cycle check
    if options.determinize:
        lattice = determinize_words(lattice, options.acoustic_scale)
    outgoing: Dict[int, List[Arc]] = {}
    for arc in lattice.arcs:
        outgoing.setdefault(arc.src, []).append(arc)
    old_begin = old_lm.begin() if old_lm is not None else None
    start = (lattice.start, old_begin, new_lm.begin())
    index = {start: 0}
    queue = deque([start])
    arcs: List[Arc] = []
    finals: Dict[int, Tuple[float, float]] = {}
    while queue:
        triple = queue.popleft()
        state, old_state, new_state = triple
        here = index[triple]
        if state in lattice.finals:
            graph, acoustic = lattice.finals[state]
            if old_lm is not None:
                graph += options.old_lm_scale * old_lm.end(old_state)
            graph -= options.new_lm_scale * new_lm.end(new_state)
            finals[here] = (graph, acoustic)
        for arc in outgoing.get(state, []):
            graph, old_next, new_next = arc.graph, old_state, new_state
            if arc.word is not None:
                if old_lm is not None:
                    logprob, old_next = old_lm.advance(old_state, arc.word)
                    graph += options.old_lm_scale * logprob
                logprob, new_next = new_lm.advance(new_state, arc.word)
                graph -= options.new_lm_scale * logprob
            target = (arc.dst, old_next, new_next)
            if target not in index:
                if len(index) >= options.max_states:
                    raise InputError(f"lattice {lattice.key!r} expands beyond "
                                     f"{options.max_states} states; prune it first")
                index[target] = len(index)
                queue.append(target)
            arcs.append(Arc(here, index[target], arc.word, graph, arc.acoustic))
    return ArcLattice(0, arcs, finals, lattice.key)


@dataclass(order=True)
class LatticePath:
    cost: float
    words: List[str] = field(compare=False)
    graph: float = field(compare=False)
    acoustic: float = field(compare=False)


def nbest(lattice: ArcLattice, n: int = 1, acoustic_scale: float = 1.0,
          determinize: bool = True) -> List[LatticePath]:
    """The n lowest-cost distinct word sequences (cost = graph + acoustic_scale * acoustic),
    each with its best path's graph/acoustic split. With `determinize` (needed for n > 1 on a
    lattice that may hold a word sequence twice) the lattice is first determinised on words
    (`determinize_words`), where the k best paths are k distinct sequences."""
    if determinize and n > 1:
        lattice = determinize_words(lattice, acoustic_scale)
    return _kbest_nbest(lattice, n, acoustic_scale)


def _kbest_nbest(lattice: ArcLattice, n: int, acoustic_scale: float) -> List[LatticePath]:
    """The n best paths (n best per state, backwards), their distinct word sequences: exact
    for n = 1 and for lattices with one path per word sequence."""
    order = lattice.topological_order()
    outgoing: Dict[int, List[Arc]] = {}
    for arc in lattice.arcs:
        outgoing.setdefault(arc.src, []).append(arc)
    keep = max(1, n)
    # best[s] = up to `keep` (cost to a final state, arc or None for "stop here", rank in dst)
    best: Dict[int, List[Tuple[float, Optional[Arc], int]]] = {}
    for state in reversed(order):
        candidates = []
        if state in lattice.finals:
            graph, acoustic = lattice.finals[state]
            candidates.append((graph + acoustic_scale * acoustic, None, 0))
        for arc in outgoing.get(state, []):
            cost = arc.graph + acoustic_scale * arc.acoustic
            for rank, (rest, _, _) in enumerate(best.get(arc.dst, [])):
                candidates.append((cost + rest, arc, rank))
        best[state] = heapq.nsmallest(keep, candidates, key=lambda c: c[0])
    paths, seen = [], set()
    for rank in range(len(best.get(lattice.start, []))):
        words, graph, acoustic = [], 0.0, 0.0
        state, position = lattice.start, rank
        total = best[state][position][0]
        while True:
            _, arc, next_rank = best[state][position]
            if arc is None:
                final_graph, final_acoustic = lattice.finals[state]
                graph, acoustic = graph + final_graph, acoustic + final_acoustic
                break
            if arc.word is not None:
                words.append(arc.word)
            graph, acoustic = graph + arc.graph, acoustic + arc.acoustic
            state, position = arc.dst, next_rank
        if tuple(words) not in seen:
            seen.add(tuple(words))
            paths.append(LatticePath(total, words, graph, acoustic))
            if len(paths) == n:
                break
    return paths
