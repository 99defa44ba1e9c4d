"""Chinese: words spelled as characters, an LM trained by lm/ on generated Chinese text
(tests/zh_text.py), and the same
score identity as the English graphs (G walk = -ln P; TLG best path = G best path <= -ln P)."""
import json
import math
import os

import numpy as np
import pytest

from graph.compile import CompileOptions, compile_graph
from graph.grammar import build_grammar
from graph import fstio
from graph.symbols import LABEL_OFFSET
from tests.graph_reference import BackoffWalker, best_cost, ctc_frames, sample_sentences

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_LINES = 1000
LN10 = math.log(10.0)

import lm.estimate as estimate


@pytest.fixture(scope="module")
def zh(tmp_path_factory):
    from lm.arpa import read_arpa, write_arpa
    out = tmp_path_factory.mktemp("zh")
    from tests.zh_text import sentences as zh_sentences
    sentences = zh_sentences(NUM_LINES, seed=3)
    model = estimate.train(sentences, 3)
    arpa = out / "zh.arpa"
    write_arpa(model, str(arpa))
    model = read_arpa(str(arpa))
    chars = sorted({c for s in sentences for w in s for c in w})
    tokens = out / "tokens.json"  # FunASR's form: a JSON list in column order
    tokens.write_text(json.dumps(["<blank>", "<s>", "</s>"] + chars + ["<unk>"],
                                 ensure_ascii=False), encoding="utf-8")
    graphs = {}
    for topology in ("ctc", "sync"):
        options = CompileOptions(tokens=str(tokens), lm=str(arpa), output_dir=str(out / topology),
                                 topology=topology, spelling="chars")
        graphs[topology] = compile_graph(options, model=model)
    return model, str(arpa), graphs


def test_zh_lexicon_needs_disambiguation(zh):
    """Words that are prefixes of others (中国 / 中国人) get #1..; LG stays deterministic."""
    import pywrapfst as fst
    _, _, graphs = zh
    graph = graphs["ctc"]
    assert graph.info["disambiguation"]["max"] >= 1
    assert graph.info["lexicon"]["dropped"] == {}
    assert graph.lg.properties(fst.I_DETERMINISTIC, True) == fst.I_DETERMINISTIC
    spelled = {e.word: e.tokens for e in graph.lexicon.entries}
    assert spelled["中国"] == ("中", "国")


@pytest.mark.parametrize("topology", ["ctc", "sync"])
def test_zh_score_identity(zh, topology):
    model, arpa, graphs = zh
    graph = graphs[topology]
    word_label = {w: i for i, w in enumerate(graph.words)}
    token_label = {t: i + LABEL_OFFSET for i, t in enumerate(graph.tokens)}
    lm_to_word = np.array([word_label.get(w, -1) if w not in ("<s>", "</s>") else -1
                           for w in model.vocab], dtype=np.int32)
    arrays, _ = build_grammar(model, lm_to_word, word_label["#0"])
    g = fstio.arrays_to_fst(arrays)
    walker = BackoffWalker(g, word_label["#0"])
    import kenlm
    reference = kenlm.Model(arpa)
    rng = np.random.default_rng(11)
    blank = token_label["<blank>"]
    walk_err, gaps, g_gaps = [], [], []
    for words in sample_sentences(model, set(graph.lexicon.words()) - {"<unk>"}, 200, seed=12):
        expected = -model.score_sentence(words) * LN10  # lm/'s own scoring
        assert abs(expected + reference.score(" ".join(words), bos=True, eos=True) * LN10) < 1e-3
        labels = [word_label[w] for w in words]
        tokens = [token_label[c] for w in words for c in w]
        inputs = tokens if topology == "sync" else ctc_frames(tokens, blank, rng)
        walk_err.append(walker.cost(labels) - expected)
        gaps.append(best_cost(graph.tlg, inputs=inputs, outputs=labels) - expected)
        g_gaps.append(best_cost(g, outputs=labels) - expected)
    walk_err, gaps, g_gaps = map(np.array, (walk_err, gaps, g_gaps))
    print(f"\nzh {topology}: G walk |err| max {np.abs(walk_err).max():.2e}; TLG - (-ln P) "
          f"min {gaps.min():.4f} p1 {np.percentile(gaps, 1):.4f} max {gaps.max():.2e}")
    assert np.abs(walk_err).max() < 1e-4
    assert gaps.max() < 1e-4
    assert np.abs(gaps - g_gaps).max() < 1e-4
    assert np.percentile(gaps, 1) > -0.05
