"""Compiling a TLG decoding graph: the pipeline behind `tingxie graph compile`.

Stages (each one an OpenFst operation except the array builders of L, G and T):
  1. read the token list, the lexicon (or spell a word list), the ARPA model;
  2. words.txt = <eps>, the lexicon's words, #0, <s>, </s>; ARPA words outside the lexicon are
     removed from G (n-gram counts reported);
  3. L (with #1.. disambiguation and the #0:#0 loop that passes G's back-off arcs) and G are
     built as arrays and handed to OpenFst;
  4. LG = minimize_encoded(determinize(L∘G)): composition, functional determinisation in the
     tropical semiring, then labels and weights encoded so that acceptor minimisation merges
     states without pushing weights (Kaldi's fstminimizeencoded);
  5. TLG = T∘LG (T eats the disambiguation symbols), arc-sorted on input labels, written as a
     vector or const FST with the tables and graph.json beside it.
Costs are natural-log (−ln P); token column c has input label c + 1.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

import numpy as np
import pywrapfst as fst

from common.errors import InputError
from common.tokens import read_tokens
from lm.arpa import read_arpa
from lm.model import NgramModel

from graph import fstio
from graph.directory import (BPE_MODEL_NAME, FST_NAME, LEXICON_NAME, LG_NAME, LM_NAME,
                             SEG_DICT_NAME,
                             TOKENS_NAME, WORDS_NAME, GraphInfo, sha256,
                             write_graph_directory)
from graph.grammar import build_grammar
from graph.lexicon import Lexicon, Speller, add_disambiguation, read_lexicon, \
    read_seg_dict, read_word_list, spell_words
from graph.symbols import LABEL_OFFSET, blank_index, write_symbol_table, \
    write_tokens
from graph.topology import TOPOLOGIES, build_token_fst

EXACT_CTC_TOKEN_WARNING = 1000  # beyond this many tokens exact CTC's T and TLG grow large
EXACT_CTC_TOKEN_LIMIT = 4000    # beyond this T alone (V² arcs) would take gigabytes


@dataclass
class CompileOptions:
    tokens: str                          # tokens.json / tokens.txt / units.txt
    lm: str                              # ARPA file, .gz allowed
    output_dir: str
    topology: str = "ctc"                # ctc | compact | sync
    lexicon: Optional[str] = None        # `word tok...` file; or spell words automatically:
    words: Optional[str] = None          # word list to spell (default: the ARPA vocabulary)
    spelling: Optional[str] = None       # chars | bpe | seg_dict (FunASR's tokenizer)
    bpe_model: Optional[str] = None      # sentencepiece model for --spelling bpe
    word_boundary: Optional[str] = None  # unit appended to every spelled word, e.g. "|"
    seg_dict: Optional[str] = None       # FunASR seg_dict; overrides spelling for its words
    map_unspellable_to_unk: bool = False # spell unspellable words as the <unk> token
    const: bool = False                  # write TLG.fst as a ConstFst
    write_lg: bool = False               # also write LG.fst (disambiguation symbols kept)
    blank: Optional[str] = None          # blank symbol (default: <blank>/<blk> if present)


@dataclass
class CompiledGraph:
    tlg: fst.Fst
    lg: fst.Fst
    words: List[str]
    tokens: List[str]
    lexicon: Lexicon
    blank: Optional[str]                 # the blank token (None for a sync graph)
    info: Dict = field(default_factory=dict)
    model: Optional[NgramModel] = None   # the LM G was built from


class _Timer:
    def __init__(self):
        self.seconds: Dict[str, float] = {}
        self._last = time.process_time()

    def lap(self, stage: str) -> None:
        now = time.process_time()
        self.seconds[stage] = round(now - self._last, 3)
        self._last = now


def build_lexicon(options: CompileOptions, tokens: List[str], model: NgramModel) -> Lexicon:
    if options.lexicon:
        spelling_options = [name for name, value in (
            ("spelling", options.spelling), ("words", options.words),
            ("bpe_model", options.bpe_model), ("word_boundary", options.word_boundary),
            ("seg_dict", options.seg_dict)) if value]
        if spelling_options:
            raise InputError(f"a lexicon is given: {', '.join(spelling_options)} would be "
                             "ignored (they spell words when there is no lexicon)")
        return read_lexicon(options.lexicon, tokens)
    if not options.spelling:
        raise InputError("give --lexicon, or --spelling chars|bpe|seg_dict to spell the words")
    seg_dict = read_seg_dict(options.seg_dict) if options.seg_dict else None
    speller = Speller(tokens, options.spelling, options.word_boundary, options.bpe_model,
                      seg_dict)
    words = read_word_list(options.words) if options.words else model.vocab
    unk = None
    if options.map_unspellable_to_unk:
        unk = next((t for t in ("<unk>", "<UNK>") if t in tokens), None)
        if unk is None:
            raise InputError("cannot map unspellable words to <unk>: the token list has none",
                             options.tokens)
    return spell_words(words, speller, unk)


def lexicon_arrays(lexicon: Lexicon, token_label: Dict[str, int], word_label: Dict[str, int],
                   disambig_base: int, word_disambig0: int) -> "tuple[fstio.ArcArrays, int]":
    """L: one loop state (0, start and final); each spelling is a path leaving 0 with the word
    on its first arc and returning to 0; the #0:#0 loop passes G's back-off arcs."""
    spellings, max_disambig = add_disambiguation(lexicon.entries)
    lengths = np.fromiter((len(s) for s in spellings), dtype=np.int64, count=len(spellings))
    total = int(lengths.sum())
    labels = np.empty(total, dtype=np.int32)
    at = 0
    for spelling in spellings:
        for t in spelling:
            labels[at] = token_label[t] if t in token_label else disambig_base + int(t[1:])
            at += 1
    first = np.zeros(len(spellings), dtype=np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    last = first + lengths - 1
    # Arc j of the flat list leaves state j's predecessor: the first arc leaves 0, later arcs
    # leave the intermediate state created for the arc before them; the last arc returns to 0.
    position = np.arange(total, dtype=np.int64)
    is_first = np.zeros(total, dtype=bool)
    is_first[first] = True
    is_last = np.zeros(total, dtype=bool)
    is_last[last] = True
    inner_id = np.cumsum(~is_last)  # intermediate state after arc j (when j is not last)
    source = np.where(is_first, 0, inner_id[np.maximum(position - 1, 0)])
    target = np.where(is_last, 0, inner_id)
    olabel = np.zeros(total, dtype=np.int32)
    olabel[first] = [word_label[e.word] for e in lexicon.entries]
    weight = np.zeros(total, dtype=np.float32)
    probs = np.array([e.prob if e.prob is not None else 1.0 for e in lexicon.entries])
    weight[first] = -np.log(probs)
    num_states = int((~is_last).sum()) + 1
    arrays = fstio.ArcArrays(
        num_states=num_states, start=0,
        source=np.append(source, 0).astype(np.int32),
        ilabel=np.append(labels, disambig_base).astype(np.int32),
        olabel=np.append(olabel, word_disambig0).astype(np.int32),
        weight=np.append(weight, 0.0).astype(np.float32),
        target=np.append(target, 0).astype(np.int32),
        final=np.concatenate([[0.0], np.full(num_states - 1, np.inf)]).astype(np.float32))
    return arrays, max_disambig


def token_label_of(tokens: List[str]) -> Dict[str, int]:
    """Input label of each token: its posterior column + LABEL_OFFSET."""
    return {t: i + LABEL_OFFSET for i, t in enumerate(tokens)}


def minimize_encoded(f: fst.MutableFst) -> None:
    """Kaldi's fstminimizeencoded without its weight quantisation: labels and weights encoded
    into one acceptor label, so minimisation merges states without pushing weights."""
    encoder = fst.EncodeMapper(f.arc_type(), encode_labels=True, encode_weights=True)
    f.encode(encoder)
    f.minimize()
    f.decode(encoder)


def compile_graph(options: CompileOptions, model: Optional[NgramModel] = None) -> CompiledGraph:
    """Build T, L, G and TLG in memory (nothing is written)."""
    if options.topology not in TOPOLOGIES:
        raise InputError(f"unknown topology {options.topology!r}; choose from {TOPOLOGIES}")
    timer = _Timer()
    tokens = read_tokens(options.tokens)
    if options.blank is None:
        blank = blank_index(tokens)
    elif options.blank in tokens:
        blank = tokens.index(options.blank)
    else:
        raise InputError(f"blank symbol {options.blank!r} is not in the token list",
                         options.tokens)
    if blank < 0 and options.topology != "sync":
        raise InputError(f"the {options.topology} topology needs a blank token "
                         "(<blank> or <blk>); use --topology sync or --blank", options.tokens)
    if model is None:
        model = read_arpa(options.lm)
    timer.lap("read_arpa")
    lexicon = build_lexicon(options, tokens, model)
    if options.topology != "sync" and blank >= 0:
        for e in lexicon.entries:
            if tokens[blank] in e.tokens:
                raise InputError(f"word {e.word!r} is spelled with the blank token")
    token_label = token_label_of(tokens)
    used = sorted({token_label[t] for e in lexicon.entries for t in e.tokens})
    warnings = []
    if options.topology == "ctc" and len(used) > EXACT_CTC_TOKEN_LIMIT:
        raise InputError(f"exact ctc topology over {len(used)} tokens would need "
                         f"{len(used)}^2 arcs in T; use --topology compact")
    if options.topology == "ctc" and len(used) > EXACT_CTC_TOKEN_WARNING:
        warnings.append(f"exact ctc topology over {len(used)} tokens: T has {len(used)}^2 arcs "
                        "and TLG copies back-off states per last token; --topology compact "
                        "is far smaller")
    timer.lap("lexicon")

    lexicon_words = lexicon.words()
    for special in ("<eps>", "#0", "<s>", "</s>"):
        if special in lexicon_words:
            raise InputError(f"the lexicon may not contain the word {special!r}",
                             options.lexicon)
    words = ["<eps>"] + lexicon_words + ["#0", "<s>", "</s>"]
    word_label = {w: i for i, w in enumerate(words)}
    word_disambig0 = word_label["#0"]
    disambig_base = len(tokens) + LABEL_OFFSET  # label of #0 on L's input side

    lm_to_word = np.array([word_label.get(w, -1) if w not in ("<s>", "</s>") else -1
                           for w in model.vocab], dtype=np.int32)
    lm_words_missing = [w for w in model.vocab
                        if w not in word_label and w not in ("<s>", "</s>")]

    if not (lm_to_word >= 0).any():
        raise InputError("no word of the lexicon is in the language model", options.lm)
    g_arrays, g_report = build_grammar(model, lm_to_word, word_disambig0, path=options.lm)
    if g_report.zero_probability_arcs:
        warnings.append(f"{options.lm}: {g_report.zero_probability_arcs} n-grams have "
                        "probability zero (log10 -inf): G has no arc for them")
    g = fstio.arrays_to_fst(g_arrays)
    g.arcsort("ilabel")  # already sorted; this records it, and compose then matches on G
    timer.lap("G")
    l_arrays, max_disambig = lexicon_arrays(lexicon, token_label, word_label, disambig_base,
                                            word_disambig0)
    lexicon_fst = fstio.arrays_to_fst(l_arrays)
    lexicon_fst.arcsort("olabel")
    timer.lap("L")

    try:
        lg = fst.compose(lexicon_fst, g, connect=False)  # every state of L∘G is useful
        timer.lap("compose_LG")
        lg = fst.determinize(lg)
        timer.lap("determinize_LG")
        minimize_encoded(lg)
        lg.arcsort("ilabel")
        timer.lap("minimize_LG")
    except fst.FstError as err:  # OpenFst refused (e.g. L∘G not functional): say so plainly
        raise InputError(f"OpenFst could not build LG: {err}") from None

    disambig_labels = list(range(disambig_base, disambig_base + max_disambig + 1))
    t_arrays = build_token_fst(options.topology, used,
                               blank + LABEL_OFFSET if blank >= 0 else 0, disambig_labels)
    token_fst = fstio.arrays_to_fst(t_arrays)
    token_fst.arcsort("olabel")
    try:
        tlg = fst.compose(token_fst, lg, connect=False)  # T never blocks a path of LG
    except fst.FstError as err:
        raise InputError(f"OpenFst could not compose T with LG: {err}") from None
    tlg.arcsort("ilabel")
    timer.lap("compose_TLG")

    info = {
        "cost_unit": "natural log (-ln P)",
        "semiring": "tropical",
        "num_tokens": len(tokens),
        "num_words": len(words) - 4,
        "disambiguation": {"max": max_disambig, "word_label_#0": word_disambig0,
                           "token_label_#0": disambig_base},
        "lexicon": {"entries": len(lexicon.entries), "words": len(lexicon.words()),
                    "dropped": lexicon.dropped, "dropped_examples": lexicon.dropped_examples},
        "lm": {"order": model.order, "ngrams": model.counts(),
               "words_not_in_lexicon": len(lm_words_missing),
               "words_not_in_lexicon_examples": lm_words_missing[:10],
               "g_ngrams": g_report.as_dict()},
        "sizes": {"T": fstio.count(token_fst), "L": fstio.count(lexicon_fst),
                  "G": fstio.count(g), "LG": fstio.count(lg), "TLG": fstio.count(tlg)},
        "lg_input_deterministic": bool(lg.properties(fst.I_DETERMINISTIC, True)
                                       == fst.I_DETERMINISTIC),
        "cpu_seconds": timer.seconds,
        "warnings": warnings,
    }
    return CompiledGraph(tlg, lg, words, tokens, lexicon,
                         tokens[blank] if blank >= 0 and options.topology != "sync" else None,
                         info, model=model)


def _versions() -> Dict[str, str]:
    import importlib.metadata as metadata

    found = {}
    for package in ("tingxie", "pynini", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


PATH_OPTIONS = ("tokens", "lm", "output_dir", "lexicon", "words", "bpe_model", "seg_dict")


def _spelling_rule(options: CompileOptions, out: str) -> Dict:
    """graph.json "spelling": the rule, with the sentencepiece model and seg_dict copied into
    the graph directory under fixed names (the directory stays movable)."""
    if not options.spelling:
        return {"rule": "lexicon", "bpe_model": None, "seg_dict": None}
    rule = {"rule": options.spelling, "bpe_model": None, "seg_dict": None}
    for key, name, source in (("bpe_model", BPE_MODEL_NAME, options.bpe_model),
                              ("seg_dict", SEG_DICT_NAME, options.seg_dict)):
        if source:
            shutil.copyfile(source, os.path.join(out, name))
            rule[key] = name
    return rule


def write_graph(graph: CompiledGraph, options: CompileOptions) -> GraphInfo:
    """Write the graph directory (graph/directory.py) whole: TLG.fst, tokens.txt, words.txt,
    lexicon.txt, graph.json, and LG.fst, bpe.model and seg_dict when there are."""
    def fill(out: str) -> GraphInfo:
        fstio.write_fst(graph.tlg, os.path.join(out, FST_NAME), const=options.const)
        if options.write_lg:
            fstio.write_fst(graph.lg, os.path.join(out, LG_NAME))
        write_tokens(graph.tokens, os.path.join(out, TOKENS_NAME))
        write_symbol_table(graph.words, os.path.join(out, WORDS_NAME))
        graph.lexicon.write(os.path.join(out, LEXICON_NAME))
        if graph.model is not None:  # G's own LM, for --big-lm (binary format, lm/binary.py)
            from lm.perplexity import scorer
            scorer(graph.model).write(os.path.join(out, LM_NAME))
        details = dict(graph.info)
        details["fst_type"] = "const" if options.const else "vector"
        details["options"] = {k: v for k, v in asdict(options).items()
                              if k not in PATH_OPTIONS}
        details["sources"] = {  # by name and content only: graph.json holds no outside path
            name: {"name": os.path.basename(path), "sha256": sha256(path)}
            for name, path in (("tokens", options.tokens), ("lm", options.lm),
                               ("lexicon", options.lexicon), ("words", options.words),
                               ("bpe_model", options.bpe_model),
                               ("seg_dict", options.seg_dict)) if path}
        details["versions"] = _versions()
        return GraphInfo(topology=options.topology, blank=graph.blank,
                         word_boundary=options.word_boundary,
                         spelling=_spelling_rule(options, out),
                         lm_order=graph.info["lm"]["order"], details=details)

    return write_graph_directory(options.output_dir, fill)
