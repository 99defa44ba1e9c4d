"""The decoding API: beam search of log-posteriors over a compiled TLG graph directory.

    from asr.decoder import Decoder, DecoderOptions
    dec = Decoder("graph_dir", DecoderOptions(beam=13, acoustic_scale=3), mode="ctc")
    r = dec.decode(logp)                       # float32 [T, V] log-posteriors
    r.words, r.word_frames, r.total_cost, r.nbest, r.lattice
    s = dec.stream(); s.accept(chunk); s.partial(); s.finalize()   # chunk by chunk, same result

The search itself is C++ (asr/decoder/csrc/decoder.h explains the algorithm). A graph
directory is what `tingxie graph compile` writes; graph/directory.py defines it (TLG.fst,
tokens.txt, words.txt, graph.json with the topology, blank, word boundary and checksums). For the fastest load, `convert_graph(src, dst)` rewrites TLG.fst as
an aligned OpenFst const FST that is memory-mapped in place.

Hotwords (asr/decoder/hotwords.py): `decode(logp, hotwords=["name", ...])` biases the search
per call through a token-level Aho-Corasick automaton whose state travels in the search
token; out-of-vocabulary hotwords (spelled by the graph's own rule: characters, BPE pieces with
the graph directory's bpe.model, seg_dict) become decodable through a small per-call word
graph beside TLG, entered at word boundaries.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union

import numpy as np

from asr.hypothesis import Hypothesis
from common.errors import InputError
from common.textio import numbered_lines

from asr.decoder.options import MODES, DecoderOptions, HotwordOptions, make_options

@dataclass
class Result(Hypothesis):
    """The decoder's answer for one utterance: its best hypothesis, and what came with it."""
    reached_final: bool = True              # False: best non-final path used as the fallback
    token_frames: np.ndarray = None         # [n_tokens, 2] int32: first/last frame per token
    nbest: List[Hypothesis] = field(default_factory=list)
    lattice: Optional[Union["WordLattice", "Lattice"]] = None  # with keep_lattice


class WordLattice:
    """The determinised word lattice (Kaldi's CompactLattice; asr/decoder/csrc/determinize.h):
    an epsilon-free, deterministic acceptor over word ids whose arcs carry a graph cost, an
    acoustic cost and the string of token input labels (column + 1, one per input frame,
    skipped blank frames included) that the word sequence's best path reads there; final
    states carry the same triple. It holds every word sequence within `lattice_beam` of the
    best, each once, at the cost of its best path in the search; the strings along a path,
    final string included, are that best path's alignment, so every path has its token and
    word timing (`nbest`). Built by pruned determinisation of the state-level lattice, as
    Kaldi's DeterminizeLatticePruned; `beam` is the beam actually used (less than
    lattice_beam only when the lattice_max_states/arcs guard made it retry: then `nbest`
    may be shorter than Result.nbest, which always uses lattice_beam)."""

    def __init__(self, native, words: Sequence[str], nbest: List["Hypothesis"]):
        self._native = native
        self._words = words
        self.start = native.start            # -1: empty (no path reached the end)
        self.num_states = native.num_states
        self.num_arcs = native.num_arcs
        self.beam = native.beam
        self.attempts = native.attempts
        self.nbest = nbest                   # its `DecoderOptions.nbest` best paths

    def arrays(self) -> dict:
        """Per arc: src, dst, olabel (the word; ilabel is the same), graph_cost,
        acoustic_cost, start_frame/end_frame (input frames read before the arc / after it:
        the arc's string covers [start_frame, end_frame)), and the strings as
        strings[string_offsets[i]:string_offsets[i+1]]. Per state: final_graph_cost,
        final_acoustic_cost, final_cost (their sum; inf: not final), final strings likewise
        (final_strings, final_string_offsets), state_frame (input frames read before it)."""
        return self._native.arrays()

    def write_fst(self, path: str, kaldi_lattice: bool = False) -> None:
        """OpenFst binary, vector FST. Default: a tropical acceptor, arcs word:word, weight =
        graph + acoustic. kaldi_lattice=True: Kaldi's Lattice form (arc type "lattice4",
        LatticeWeight = (graph, acoustic); token labels on the input side, the word on the
        first arc of its chain), as Kaldi's ConvertLattice makes of a CompactLattice: what
        kaldifst.Lattice.read and Kaldi's lattice tools read."""
        self._native.write_fst(str(path), kaldi_lattice)

    def write_text(self, path: str, key: Optional[str] = None, symbols: bool = True) -> None:
        """Kaldi CompactLattice text (see `kaldi_text`) written to path."""
        with open(path, "w", encoding="utf-8") as out:
            out.write(self.kaldi_text(key, symbols))

    def kaldi_text(self, key: Optional[str] = None, symbols: bool = True) -> str:
        """Kaldi CompactLattice text: `src dst word graph,acoustic,l1_l2_...` per arc and
        `state graph,acoustic,l1_l2_...` per final state (labels: token input labels), then
        a blank line; preceded by the key line when a key is given (an archive entry).
        symbols=True writes words from words.txt (what `tingxie rescore --lattice` reads as
        is); False writes integer word ids, as Kaldi's `lattice-copy ... ark,t:` does."""
        a = self.arrays()
        strings, offsets = a["strings"], a["string_offsets"]
        fstrings, foffsets = a["final_strings"], a["final_string_offsets"]

        def label_string(values):
            return "_".join(map(str, values.tolist()))

        lines = [key] if key is not None else []
        for i in range(len(a["src"])):
            word = int(a["olabel"][i])
            lines.append(f"{a['src'][i]}\t{a['dst'][i]}\t{self._words[word] if symbols else word}"
                         f"\t{a['graph_cost'][i]:.7g},{a['acoustic_cost'][i]:.7g},"
                         f"{label_string(strings[offsets[i]:offsets[i + 1]])}")
        for s in np.flatnonzero(np.isfinite(a["final_cost"])):
            lines.append(f"{s}\t{a['final_graph_cost'][s]:.7g},{a['final_acoustic_cost'][s]:.7g},"
                         f"{label_string(fstrings[foffsets[s]:foffsets[s + 1]])}")
        if not lines:
            return ""
        return "\n".join(lines) + ("\n\n" if key is not None else "\n")


class Lattice:
    """The pruned state-level lattice: arcs carry the token input label (column + 1, 0 for
    epsilon), the word output label, and graph and acoustic costs separately (Kaldi's
    LatticeWeight split). It is not determinised; Result.nbest is its distinct word
    sequences. `arrays()` gives numpy columns for whole-lattice rescoring. Returned with
    `DecoderOptions(keep_lattice=True, determinize_lattice=False)`; its acoustic costs leave
    out frames skipped by blank skipping (WordLattice puts them back)."""

    def __init__(self, native, words: Sequence[str]):
        self._native = native
        self._words = words
        self.start = native.start
        self.num_states = native.num_states
        self.num_arcs = native.num_arcs

    def arrays(self) -> dict:
        """src, dst, ilabel, olabel, graph_cost, acoustic_cost (per arc); final_cost and
        state_frame (input frames consumed on reaching the state) per state."""
        return self._native.arrays()

    def write_fst(self, path: str) -> None:
        """OpenFst binary (vector FST, tropical arcs, weight = graph + acoustic cost)."""
        self._native.write_fst(str(path))

    def write_text(self, path: str, key: Optional[str] = None) -> None:
        """Kaldi lattice text: `src dst ilabel word graph,acoustic` and `state graph,acoustic`
        for final states (word symbols from words.txt), preceded by the key if given."""
        a = self.arrays()
        with open(path, "w", encoding="utf-8") as out:
            if key is not None:
                out.write(f"{key}\n")
            order = np.argsort(a["src"], kind="stable")
            # Kaldi reads the first arc's source as the start state.
            order = np.concatenate([order[a["src"][order] == self.start],
                                    order[a["src"][order] != self.start]])
            for i in order:
                word = self._words[a["olabel"][i]] if a["olabel"][i] else "<eps>"
                out.write(f"{a['src'][i]}\t{a['dst'][i]}\t{a['ilabel'][i]}\t{word}\t"
                          f"{a['graph_cost'][i]:.6g},{a['acoustic_cost'][i]:.6g}\n")
            for s, cost in enumerate(a["final_cost"]):
                if np.isfinite(cost):
                    out.write(f"{s}\t{cost:.6g},0\n")
            if key is not None:
                out.write("\n")


class DecodeStream:
    """Decoder.stream(): the decoder's lifecycle (init, advance, partial, finalize; Kaldi's
    InitDecoding / AdvanceDecoding / GetBestPath / FinalizeDecoding). Not thread-safe."""

    def __init__(self, decoder: "Decoder", native, words: Sequence[str]):
        self._decoder = decoder
        self._native = native
        self._words = words
        self.result: Optional[Result] = None  # set by finalize()

    @property
    def frames(self) -> int:
        """Input frames accepted so far."""
        return self._native.frames

    def accept(self, logp: np.ndarray) -> None:
        """Searches the next frames: float32 [T, V] log-posteriors (T may be 0)."""
        self._native.accept(logp)

    def partial(self) -> Optional[Hypothesis]:
        """The best path so far, without final weights (None before any path survives)."""
        h = self._native.partial()
        return None if h is None else self._decoder._hypothesis(h, words=self._words)

    def finalize(self) -> Result:
        """Ends the utterance: final weights, N-best and lattice, as decode() returns."""
        self.result = self._decoder._result(self._native.finalize(), self._words)
        return self.result


def read_symbol_table(path: str) -> List[str]:
    """A Kaldi symbol table (`symbol id` per line) as a list indexed by id ('' for gaps)."""
    by_id, line_of = {}, {}
    for number, text in numbered_lines(path):
        fields = text.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].isdigit():
            raise InputError(f"expected 'SYMBOL ID', got {text!r}", path, number)
        symbol, index = fields[0], int(fields[1])
        if index in by_id:
            raise InputError(f"id {index} is given twice ({by_id[index]!r}, {symbol!r})",
                             path, number)
        if symbol in line_of:
            raise InputError(f"{symbol!r} is listed twice (first at line {line_of[symbol]})",
                             path, number)
        by_id[index], line_of[symbol] = symbol, number
    if not by_id:
        raise InputError("empty symbol table", path)
    table = [""] * (max(by_id) + 1)
    for i, symbol in by_id.items():
        table[i] = symbol
    return table


def convert_graph(src_dir: str, dst_dir: str) -> None:
    """Copies a graph directory, rewriting TLG.fst as a 16-byte-aligned OpenFst const FST
    (still a standard OpenFst file) that the decoder memory-maps in place instead of reading
    it into memory (loading still reads every file once to check graph.json's checksums).
    `dst_dir` is the user's choice; the decoder never writes caches on its own."""
    import shutil
    from asr.decoder import _native
    from graph.directory import FST_NAME, GraphDirectory, write_graph_directory

    source = GraphDirectory(src_dir)

    def fill(out: str):
        for name in source.info.files:
            if name != FST_NAME:
                shutil.copyfile(source.file(name), os.path.join(out, name))
        _native.convert_to_aligned_const(source.file(FST_NAME), os.path.join(out, FST_NAME))
        info = source.info
        info.details = dict(info.details, fst_type="const")
        return info

    write_graph_directory(dst_dir, fill)


class Decoder:
    """Decodes [T, V] float32 log-posteriors against one graph directory.

    mode "ctc": frames with a blank column (CTC, exact or compact T); "paraformer": one
    position per token, no blank (label-synchronous, the graph's "sync" topology; the model's
    final </s> position already removed). The default is the graph's own topology.
    `options` and `hotword_options`: the dataclasses or {name: value} dicts
    (asr/decoder/options.py); `.options` holds the effective ones (mode defaults filled in). decode_batch releases the GIL and spreads
    utterances over threads; one Decoder is safe to use from several threads.
    """

    def __init__(self, graph_dir: str, options=None, mode: Optional[str] = None,
                 hotword_options=None):
        from asr.decoder import _native
        from graph.directory import FST_NAME, WORDS_NAME, GraphDirectory

        self.graph = GraphDirectory(graph_dir)
        self.graph_dir = self.graph.path
        self._identity = object()  # what a compiled hotword list names as its owner
        options = make_options(DecoderOptions, options)
        self.hotword_options = make_options(HotwordOptions, hotword_options).check()
        self._spellings = None
        self._oov_speller = None
        topology = self.graph.topology
        if mode is None:
            mode = "paraformer" if topology == "sync" else "ctc"
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if (mode == "paraformer") != (topology == "sync"):
            raise InputError(f"mode {mode!r} does not match the graph's {topology!r} topology "
                             f"(paraformer mode needs a sync graph, ctc mode a ctc or compact "
                             f"one)", self.graph.file("graph.json"))
        self.mode = mode
        self.options = options.effective(mode)
        self.tokens = self.graph.tokens
        self._token_column = {t: i for i, t in enumerate(self.tokens)}
        self.words = read_symbol_table(self.graph.file(WORDS_NAME))
        self.blank_column = self.graph.blank_column
        token_text, token_kind = self.graph.token_words().kinds(self.tokens)
        self._native = _native.NativeDecoder(self.graph.file(FST_NAME), self.words, token_text,
                                             token_kind,
                                             self.options.native(mode, self.blank_column))
        self.big_lm = self.small_lm = None
        if self.options.big_lm is not None:
            self._use_big_lm()

    def _use_big_lm(self):
        """On-the-fly rescoring (csrc/big_lm.h): both models stay loaded (a binary one
        mapped) as long as this Decoder. The small LM: small_lm, else the graph directory's
        lm.bin (checksummed in graph.json)."""
        import lm
        small = self.options.small_lm or self._graph_lm()
        self.big_lm = lm.load(self.options.big_lm)
        self.small_lm = lm.load(small)
        self._native.set_big_lm(self.big_lm.native._capsule(), self.small_lm.native._capsule())

    def _graph_lm(self) -> str:
        from graph.directory import LM_NAME
        bundled = self.graph.optional_file(LM_NAME)
        if bundled is None:
            raise InputError("--big-lm needs the LM the graph was compiled from: give it as "
                             "--small-lm (small_lm); graphs compiled by `tingxie graph compile` "
                             f"hold it as {LM_NAME}", self.graph_dir)
        return bundled

    @property
    def num_tokens(self) -> int:
        return len(self.tokens)

    def decode(self, logp: np.ndarray, hotwords=None) -> Result:
        """hotwords: a file (`word [weight]` lines), a list of words/phrases, a dict
        {phrase: weight}, or a Hotwords from compile_hotwords (reusable)."""
        compiled = self.compile_hotwords(hotwords) if hotwords else None
        automaton = compiled.automaton if compiled else None
        return self._result(self._native.decode(logp, automaton), self._words_for(compiled))

    def stream(self, hotwords=None) -> "DecodeStream":
        """One utterance decoded chunk by chunk, as a streaming acoustic model produces its
        posteriors: `s.accept(logp_chunk)` any number of times, `s.partial()` for the best
        path so far, `s.finalize()` for the Result, exactly what decode() of the chunks
        joined gives (paths, costs, N-best, lattice). hotwords as in decode()."""
        compiled = self.compile_hotwords(hotwords) if hotwords else None
        automaton = compiled.automaton if compiled else None
        return DecodeStream(self, self._native.stream(automaton), self._words_for(compiled))

    def decode_batch(self, batch: Sequence[np.ndarray], hotwords=None,
                     num_threads: Optional[int] = None) -> List[Result]:
        """hotwords: one spec for the whole batch, or a list of Hotwords (or None), one per
        utterance."""
        from asr.decoder.hotwords import Hotwords

        if isinstance(hotwords, list) and hotwords and all(
                h is None or isinstance(h, Hotwords) for h in hotwords):
            for h in hotwords:
                self._check_owner(h)
            automata = [h.automaton if h is not None else None for h in hotwords]
            tables = [self._words_for(h) for h in hotwords]
        elif hotwords:
            compiled = self.compile_hotwords(hotwords)
            automata = compiled.automaton
            tables = [self._words_for(compiled)] * len(batch)
        else:
            automata = None
            tables = [self.words] * len(batch)
        natives = self._native.decode_batch(list(batch), int(num_threads or 0), automata)
        return [self._result(n, words) for n, words in zip(natives, tables)]

    def _words_for(self, compiled):
        """The word table of a call: words.txt plus that call's out-of-vocabulary hotwords
        (built once per compiled list)."""
        if compiled is None or not compiled.oov_words:
            return self.words
        if compiled.word_table is None or len(compiled.word_table) != len(self.words) + len(
                compiled.oov_words):
            compiled.word_table = self.words + list(compiled.oov_words)
        return compiled.word_table

    def compile_hotwords(self, spec):
        """Spells and compiles a hotword list once; problems (file:line) are warned about
        and kept in `.problems`, the usable entries are used."""
        import warnings
        from asr.decoder import _native
        from asr.decoder.hotwords import compile_hotwords

        from asr.decoder.hotwords import Hotwords

        if isinstance(spec, Hotwords):
            self._check_owner(spec)
            return spec
        compiled = compile_hotwords(spec, self._spell, len(self.tokens), _native,
                                    self.hotword_options, spell_oov=self._spell_oov,
                                    first_oov_label=len(self.words),
                                    compact_topology=self.graph.topology == "compact",
                                    unigram_lm=self.graph.info.lm_order == 1,
                                    acoustic_scale=self.acoustic_scale)
        compiled.owner = self._identity
        for problem in compiled.problems:
            warnings.warn(f"hotwords: {problem}", stacklevel=3)
        return compiled

    def _check_owner(self, compiled) -> None:
        """A compiled list holds this decoder's token columns and word labels (its OOV
        words are numbered after this words.txt): another decoder would read them wrong."""
        if compiled is not None and compiled.owner is not self._identity:
            raise InputError("this hotword list was compiled by another Decoder (its token "
                             "columns and word labels belong to that graph and options); "
                             "compile it with this decoder's compile_hotwords()")

    @property
    def acoustic_scale(self) -> float:
        """The search's acoustic scale (the option, or the mode's default): every acoustic
        cost this decoder returns is multiplied by it."""
        return self.options.acoustic_scale

    def _spell_oov(self, word: str):
        """Token columns of a word the graph cannot output, spelled by the rule the graph was
        compiled with (graph.json "spelling": seg_dict first, then characters or the BPE
        model, both copied into the graph directory), or None."""
        if self._oov_speller is None:
            self._oov_speller = self._make_oov_speller()
        speller = self._oov_speller
        if speller is False:
            return None
        pieces = speller.spell(word)
        column = self._token_column
        if not pieces or any(p not in column for p in pieces):
            return None
        return [column[p] for p in pieces]

    def _make_oov_speller(self):
        """The graph's Speller, or False when its rule cannot be applied here."""
        from graph.lexicon import Speller, read_seg_dict

        rule = self.graph.info.spelling
        if rule["rule"] == "lexicon":
            return False  # a lexicon-only graph: no rule for new words
        seg_dict = read_seg_dict(self.graph.file(rule["seg_dict"])) if rule["seg_dict"] else None
        bpe_model = self.graph.file(rule["bpe_model"]) if rule["bpe_model"] else None
        return Speller(self.tokens, rule["rule"], self.graph.info.word_boundary, bpe_model,
                       seg_dict)

    def _spell(self, word: str):
        """Token columns of a word as the graph spells it (lexicon.txt), None if absent."""
        if self._spellings is None:
            column = self._token_column
            self._spellings = {}
            path = os.path.join(self.graph_dir, "lexicon.txt")
            if os.path.exists(path):
                for number, text in numbered_lines(path):
                    fields = text.split()
                    pieces = [f for f in fields[1:] if f in column]
                    if fields and fields[0] not in self._spellings and len(pieces) == len(fields) - 1:
                        self._spellings[fields[0]] = [column[p] for p in pieces]
        return self._spellings.get(word)

    def _hypothesis(self, h, cls=Hypothesis, words=None, **extra):
        words = self.words if words is None else words
        word_ids, columns = h.word_ids, h.tokens  # each access converts a C++ vector
        return cls(words=[words[i] for i in word_ids], acoustic_cost=h.acoustic_cost,
                   graph_cost=h.graph_cost, acoustic_scale=self.acoustic_scale,
                   tokens=[self.tokens[c] for c in columns], word_ids=word_ids,
                   token_columns=columns, word_frames=h.word_frames, **extra)

    def _result(self, native, words=None) -> Result:
        words = self.words if words is None else words
        best = native.best
        nbest = [self._hypothesis(h, words=words) for h in native.nbest]
        lattice = None
        if self.options.keep_lattice and self.options.determinize_lattice:
            paths = [self._hypothesis(h, words=words) for h in native.lattice_nbest]
            lattice = WordLattice(native.word_lattice, words, paths)
        elif self.options.keep_lattice:
            lattice = Lattice(native.lattice, words)
        return self._hypothesis(best, Result, words=words, reached_final=native.reached_final,
                                token_frames=best.token_frames_array, nbest=nbest,
                                lattice=lattice)


__all__ = ["Decoder", "DecodeStream", "DecoderOptions", "HotwordOptions", "MODES", "Result", "Hypothesis",
           "Lattice", "WordLattice", "convert_graph", "read_symbol_table"]
