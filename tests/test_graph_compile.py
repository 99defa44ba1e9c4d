"""TLG compilation against its language model: every path cost is checked against KenLM's
-ln P(sentence), through G (walked the back-off way), LG and TLG in the three topologies."""
import collections
import math
import os

import numpy as np
import pytest

from graph.compile import CompileOptions, compile_graph, write_graph
from graph.symbols import LABEL_OFFSET
from tests.graph_reference import (BackoffWalker, best_cost, best_output, ctc_frames,
                                   sample_sentences)

import kenlm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
KENLM_DIR = os.path.join(DATA, "kenlm")
O3 = os.path.join(KENLM_DIR, "o3.arpa.gz")
UNITS = os.path.join(DATA, "decoder_bench", "units.txt")
LN10 = math.log(10.0)
NUM_SENTENCES = 200


def frequent_words(n):
    counts = collections.Counter()
    with open(os.path.join(KENLM_DIR, "train.txt"), encoding="utf-8") as handle:
        for line in handle:
            counts.update(line.split())
    return [w for w, _ in counts.most_common(n)]


def kenlm_cost(model, words):
    return -model.score(" ".join(words), bos=True, eos=True) * LN10


@pytest.fixture(scope="module")
def small_graph(tmp_path_factory):
    """o3 (lmplz) restricted to 1,500 frequent words spelled as letters + '|'."""
    out = tmp_path_factory.mktemp("graph_o3")
    words_file = out / "words_in.txt"
    words = frequent_words(1500) + ["déjà", "x1"]  # two unspellable words
    words_file.write_text("\n".join(words) + "\n", encoding="utf-8")
    options = CompileOptions(tokens=UNITS, lm=O3, output_dir=str(out / "ctc"), topology="ctc",
                             words=str(words_file), spelling="chars", word_boundary="|",
                             write_lg=True)
    graph = compile_graph(options)
    write_graph(graph, options)
    return graph, options


def tokens_of(graph, words):
    label = {t: i + LABEL_OFFSET for i, t in enumerate(graph.tokens)}
    return [label[c] for w in words for c in list(w) + ["|"]]


def word_labels(graph, words):
    index = {w: i for i, w in enumerate(graph.words)}
    return [index[w] for w in words]


def test_graph_directory_contract(small_graph):
    graph, options = small_graph
    out = options.output_dir
    for name in ("TLG.fst", "LG.fst", "tokens.txt", "words.txt", "lexicon.txt", "graph.json"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    with open(os.path.join(out, "tokens.txt"), encoding="utf-8") as handle:
        assert handle.read() == open(UNITS, encoding="utf-8").read()
    words_txt = [line.split() for line in open(os.path.join(out, "words.txt"), encoding="utf-8")]
    assert words_txt[0] == ["<eps>", "0"]
    assert [int(i) for _, i in words_txt] == list(range(len(words_txt)))
    import json
    record = json.load(open(os.path.join(out, "graph.json")))
    assert record["format_version"] == 2 and record["topology"] == "ctc"
    assert record["blank"] == "<blank>" and record["word_boundary"] == "|"
    assert record["spelling"] == {"rule": "chars", "bpe_model": None, "seg_dict": None}
    assert record["lm_order"] == 3
    assert sorted(record["files"]) == ["LG.fst", "TLG.fst", "lexicon.txt", "lm.bin",
                                       "tokens.txt", "words.txt"]
    info = record["details"]
    letters = set(graph.tokens)
    spellable = [w for w in frequent_words(1500) if set(w) <= letters]
    assert info["lexicon"]["dropped"] == {
        "unspellable with the model's tokens": 1500 + 2 - len(spellable)}
    assert info["lexicon"]["words"] == len(spellable)
    assert info["lm"]["words_not_in_lexicon"] == 9505 - 2 - len(spellable)  # <s>, </s> aside
    assert info["lm"]["g_ngrams"]["dropped_out_of_lexicon"][0] == 9505 - 2 - len(spellable)
    for fst_name in ("L", "G", "LG", "TLG"):
        assert info["sizes"][fst_name]["states"] > 0 and info["sizes"][fst_name]["arcs"] > 0
    assert info["lg_input_deterministic"] is True
    assert set(info["sources"]) == {"tokens", "lm", "words"}
    import pywrapfst as fst
    tlg = fst.Fst.read(os.path.join(out, "TLG.fst"))
    assert tlg.properties(fst.I_LABEL_SORTED, True) == fst.I_LABEL_SORTED
    max_input = max(a.ilabel for s in tlg.states() for a in tlg.arcs(s))
    assert max_input <= len(graph.tokens)  # no disambiguation symbol left on the input side
    assert info["sizes"]["TLG"] == {"states": tlg.num_states(),
                                    "arcs": sum(tlg.num_arcs(s) for s in tlg.states())}


def test_lg_is_input_deterministic(small_graph):
    import pywrapfst as fst
    graph, _ = small_graph
    assert graph.lg.properties(fst.I_DETERMINISTIC, True) == fst.I_DETERMINISTIC


def test_score_identity_g_lg_tlg(small_graph):
    """G walked the back-off way = -ln P exactly. LG's and TLG's best paths for the sentence
    equal G's best path (every route, back-off ones included), which is -ln P or below it: in
    the tropical semiring a back-off route can be cheaper than the explicit n-gram. That
    allowance is the LM's own (kaldilm's arpa2fst G gives the same numbers, see
    test_graph_grammar); we require it within 0.05 for 99% of sentences and 0.1 for all."""
    from lm.arpa import read_arpa
    graph, _ = small_graph
    model = read_arpa(O3)
    reference = kenlm.Model(O3)
    kept = set(graph.lexicon.words())
    sentences = sample_sentences(model, kept, NUM_SENTENCES, seed=1)
    g = _grammar_fst(graph, model)
    walker = BackoffWalker(g, graph.words.index("#0"))
    rng = np.random.default_rng(2)
    blank = graph.tokens.index("<blank>") + LABEL_OFFSET
    g_err, g_gap, lg_gap, tlg_gap = [], [], [], []
    for words in sentences:
        expected = kenlm_cost(reference, words)
        assert abs(model.score_sentence(words) * -LN10 - expected) < 1e-4
        labels = word_labels(graph, words)
        g_err.append(walker.cost(labels) - expected)
        g_gap.append(best_cost(g, outputs=labels) - expected)
        lg_gap.append(best_cost(graph.lg, outputs=labels) - expected)
        frames = ctc_frames(tokens_of(graph, words), blank, rng)
        tlg_gap.append(best_cost(graph.tlg, inputs=frames, outputs=labels) - expected)
    g_err, g_gap, lg_gap, tlg_gap = map(np.array, (g_err, g_gap, lg_gap, tlg_gap))
    print(f"\nG walk |err| max {np.abs(g_err).max():.2e}; TLG - (-ln P): min {tlg_gap.min():.4f}"
          f" p1 {np.percentile(tlg_gap, 1):.4f} p50 {np.median(tlg_gap):.2e} "
          f"max {tlg_gap.max():.2e}; {int((tlg_gap < -1e-4).sum())}/{len(tlg_gap)} cheaper via "
          f"back-off; |LG - G best| max {np.abs(lg_gap - g_gap).max():.2e}, "
          f"|TLG - G best| max {np.abs(tlg_gap - g_gap).max():.2e}")
    assert np.abs(g_err).max() < 1e-4
    assert np.abs(lg_gap - g_gap).max() < 1e-4
    assert np.abs(tlg_gap - g_gap).max() < 1e-4
    assert tlg_gap.max() < 1e-4 and lg_gap.max() < 1e-4
    assert np.percentile(tlg_gap, 1) > -0.05 and tlg_gap.min() > -0.1


def _grammar_fst(graph, model):
    from graph import fstio
    from graph.grammar import build_grammar
    word_label = {w: i for i, w in enumerate(graph.words)}
    lm_to_word = np.array([word_label.get(w, -1) if w not in ("<s>", "</s>") else -1
                           for w in model.vocab], dtype=np.int32)
    arrays, _ = build_grammar(model, lm_to_word, word_label["#0"])
    return fstio.arrays_to_fst(arrays)


def test_tlg_outputs_the_sentence_and_rejects_others(small_graph):
    """Given the frames alone, the best path outputs exactly the sentence; frames of a word
    outside the lexicon are rejected."""
    from lm.arpa import read_arpa
    graph, _ = small_graph
    model = read_arpa(O3)
    sentences = sample_sentences(model, set(graph.lexicon.words()), 30, seed=3)
    rng = np.random.default_rng(4)
    blank = graph.tokens.index("<blank>") + LABEL_OFFSET
    for words in sentences:
        frames = ctc_frames(tokens_of(graph, words), blank, rng)
        assert [graph.words[i] for i in best_output(graph.tlg, frames)] == words
    missing = next(w for w in model.vocab if w.isalpha() and w.isascii()
                   and w not in set(graph.lexicon.words()))
    assert best_cost(graph.tlg, inputs=tokens_of(graph, [missing])) == math.inf


@pytest.fixture(scope="module")
def tiny_graphs(tmp_path_factory):
    """The tiny 4-gram model in every topology, its whole vocabulary spelled as letters+'|'."""
    arpa = os.path.join(KENLM_DIR, "tiny_o4_fallback.arpa")
    graphs = {}
    for topology in ("ctc", "compact", "sync"):
        out = tmp_path_factory.mktemp(f"tiny_{topology}")
        options = CompileOptions(tokens=UNITS, lm=arpa, output_dir=str(out), topology=topology,
                                 spelling="chars", word_boundary="|")
        graphs[topology] = compile_graph(options)
    return arpa, graphs


@pytest.mark.parametrize("topology", ["ctc", "compact", "sync"])
def test_tlg_score_identity_every_topology(tiny_graphs, topology):
    """TLG's best path = G's best path for the sentence, never above -ln P. (This tiny model,
    from 10 lines with fallback discounts, has back-off routes up to ln 2 cheaper than its
    explicit n-grams; kaldilm's arpa2fst G shows the same.)"""
    from lm.arpa import read_arpa
    arpa, graphs = tiny_graphs
    graph = graphs[topology]
    model = read_arpa(arpa)
    reference = kenlm.Model(arpa)
    kept = set(graph.lexicon.words())
    rng = np.random.default_rng(5)
    blank = graph.tokens.index("<blank>") + LABEL_OFFSET
    g = _grammar_fst(graph, model)
    gaps, g_gaps = [], []
    for words in sample_sentences(model, kept, NUM_SENTENCES, seed=6):
        tokens = tokens_of(graph, words)
        inputs = tokens if topology == "sync" else ctc_frames(tokens, blank, rng)
        labels = word_labels(graph, words)
        expected = kenlm_cost(reference, words)
        gaps.append(best_cost(graph.tlg, inputs=inputs, outputs=labels) - expected)
        g_gaps.append(best_cost(g, outputs=labels) - expected)
    gaps, g_gaps = np.array(gaps), np.array(g_gaps)
    print(f"\n{topology}: TLG - (-ln P): min {gaps.min():.4f} mean {gaps.mean():.5f} "
          f"max {gaps.max():.2e}")
    assert gaps.max() < 1e-4
    assert np.abs(gaps - g_gaps).max() < 1e-4


def test_topologies_differ_where_they_should(tiny_graphs):
    """Exact CTC needs a blank between two equal tokens; the compact layout does not; sync
    accepts one token per position only (no blank, no repeats)."""
    _, graphs = tiny_graphs
    graph = graphs["ctc"]
    word = next(w for w in graph.lexicon.words()
                if any(a == b for a, b in zip(w, w[1:])))  # a word with a double letter
    tokens = tokens_of(graph, [word])
    blank = graph.tokens.index("<blank>") + LABEL_OFFSET
    merged = [t for i, t in enumerate(tokens) if i == 0 or tokens[i - 1] != t]
    doubled = [t for t in tokens for _ in range(2)]  # every token on two frames, no blanks
    separated = []
    for i, t in enumerate(tokens):
        if i and tokens[i - 1] == t:
            separated.append(blank)
        separated.append(t)
    w = word_labels(graph, [word])
    assert best_cost(graphs["ctc"].tlg, inputs=separated, outputs=w) < math.inf
    assert best_cost(graphs["ctc"].tlg, inputs=tokens, outputs=w) == math.inf
    assert best_cost(graphs["ctc"].tlg, inputs=doubled, outputs=w) == math.inf
    assert best_cost(graphs["compact"].tlg, inputs=tokens, outputs=w) < math.inf
    assert best_cost(graphs["sync"].tlg, inputs=tokens, outputs=w) < math.inf
    assert best_cost(graphs["sync"].tlg, inputs=separated, outputs=w) == math.inf
    assert best_cost(graphs["sync"].tlg, inputs=merged, outputs=w) == math.inf
    assert best_cost(graphs["ctc"].tlg, inputs=merged, outputs=w) == math.inf


def test_const_fst_output(tmp_path):
    import pywrapfst as fst
    arpa = os.path.join(KENLM_DIR, "tiny_o4_fallback.arpa")
    options = CompileOptions(tokens=UNITS, lm=arpa, output_dir=str(tmp_path), topology="ctc",
                             spelling="chars", word_boundary="|", const=True)
    graph = compile_graph(options)
    write_graph(graph, options)
    written = fst.Fst.read(str(tmp_path / "TLG.fst"))
    assert written.fst_type() == "const"
    assert fst.equal(written, graph.tlg)
