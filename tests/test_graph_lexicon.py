"""Lexicons: reading, automatic spelling (characters, sentencepiece BPE, FunASR seg_dict),
pronunciation probabilities and homophones through the compiled graph."""
import math
import os

import numpy as np
import pytest

from graph.compile import CompileOptions, compile_graph
from graph.lexicon import Entry, Speller, add_disambiguation, read_lexicon, spell_words
from common.tokens import read_tokens
from graph.symbols import LABEL_OFFSET
from tests.graph_reference import best_cost, best_output, ctc_frames

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KENLM_DIR = os.path.join(ROOT, "tests", "data", "kenlm")
TINY = os.path.join(KENLM_DIR, "tiny_o4_fallback.arpa")
UNITS = os.path.join(ROOT, "tests", "data", "decoder_bench", "units.txt")
LN10 = math.log(10.0)


def test_disambiguation_follows_add_lex_disambig():
    entries = [Entry("red", ("r", "e", "d")), Entry("read", ("r", "e", "d")),
               Entry("re", ("r", "e")), Entry("redo", ("r", "e", "d", "o")),
               Entry("a", ("a",))]
    spellings, highest = add_disambiguation(entries)
    # "r e d" is shared by two words and a prefix of "r e d o"; "r e" is a prefix.
    assert spellings == [("r", "e", "d", "#1"), ("r", "e", "d", "#2"), ("r", "e", "#1"),
                         ("r", "e", "d", "o"), ("a",)]
    assert highest == 2


def test_lexicon_with_probabilities(tmp_path):
    path = tmp_path / "lexiconp.txt"
    path.write_text("the 1.0 t h e |\nthe 0.25 t h i |\na 0.5 a |\n", encoding="utf-8")
    lexicon = read_lexicon(str(path), read_tokens(UNITS))
    assert [(e.word, e.prob, e.tokens) for e in lexicon.entries] == [
        ("the", 1.0, ("t", "h", "e", "|")), ("the", 0.25, ("t", "h", "i", "|")),
        ("a", 0.5, ("a", "|"))]


def test_pronunciation_probability_and_homophones_in_the_graph(tmp_path):
    """Two words spelled alike are both reachable (disambiguated); an alternative spelling
    costs -ln(prob) more; LG stays deterministic."""
    import pywrapfst as fst
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("psalm 1.0 p s a l m |\npsalm 0.25 s a m |\nblessed 1.0 b l e s t |\n"
                       "man 1.0 b l e s t |\nthe 1.0 t h e |\n", encoding="utf-8")
    graph = compile_graph(CompileOptions(tokens=UNITS, lm=TINY, output_dir=str(tmp_path / "g"),
                                         lexicon=str(lexicon)))
    assert graph.lg.properties(fst.I_DETERMINISTIC, True) == fst.I_DETERMINISTIC
    assert graph.info["disambiguation"]["max"] == 2
    words = {w: i for i, w in enumerate(graph.words)}
    token = {t: i + LABEL_OFFSET for i, t in enumerate(graph.tokens)}

    def cost(sentence, spelled):
        return best_cost(graph.tlg, inputs=[token[c] for c in spelled],
                         outputs=[words[w] for w in sentence])

    main = cost(["psalm"], "psalm|")
    alternative = cost(["psalm"], "sam|")
    assert alternative - main == pytest.approx(-math.log(0.25), abs=1e-4)
    import kenlm
    reference = kenlm.Model(TINY)
    for sentence in (["blessed"], ["man"], ["the", "man"], ["the", "blessed"]):
        expected = -reference.score(" ".join(sentence), bos=True, eos=True) * LN10
        spelled = "".join("blest|" if w != "the" else "the|" for w in sentence)
        assert expected - 0.7 < cost(sentence, spelled) < expected + 1e-4
    assert graph.info["lm"]["words_not_in_lexicon"] > 0


def test_seg_dict_overrides_spelling(tmp_path):
    tokens = tmp_path / "tokens.txt"
    symbols = ["<blank>", "psa@@", "lm", "the"] + list("abcdefghijklmnopqrstuvwxyz")
    tokens.write_text("".join(f"{s} {i}\n" for i, s in enumerate(symbols)), encoding="utf-8")
    speller = Speller(symbols, "chars", seg_dict={"psalm": ("psa@@", "lm")})
    lexicon = spell_words(["psalm", "the", "x-ray", "<unk>", "<s>"], speller)
    assert [(e.word, e.tokens) for e in lexicon.entries] == [
        ("psalm", ("psa@@", "lm")), ("the", ("t", "h", "e"))]
    assert lexicon.dropped == {"unspellable with the model's tokens": 1,
                               "unk word without an <unk> token": 1}


def test_bpe_spelling_compiles_and_scores(tmp_path):
    """Words spelled with a sentencepiece BPE model trained here; TLG's best path for the
    pieces outputs the words at the LM's cost."""
    import sentencepiece as spm
    import kenlm
    prefix = tmp_path / "bpe"
    spm.SentencePieceTrainer.Train(
        input=os.path.join(KENLM_DIR, "tiny.txt"), model_prefix=str(prefix), vocab_size=120,
        model_type="bpe", character_coverage=1.0, minloglevel=2)
    processor = spm.SentencePieceProcessor()
    processor.Load(str(prefix) + ".model")
    pieces = [processor.IdToPiece(i) for i in range(processor.GetPieceSize())]
    tokens = tmp_path / "tokens.json"
    import json
    tokens.write_text(json.dumps(["<blank>"] + [p for p in pieces if p not in ("<unk>", "<s>",
                                                                             "</s>")]),
                      encoding="utf-8")
    graph = compile_graph(CompileOptions(tokens=str(tokens), lm=TINY, topology="ctc",
                                         output_dir=str(tmp_path / "g"), spelling="bpe",
                                         bpe_model=str(prefix) + ".model"))
    assert graph.info["lexicon"]["dropped"] == {"unk word without an <unk> token": 1}
    spelled = {e.word: e.tokens for e in graph.lexicon.entries}
    assert spelled["blessed"] == tuple(processor.EncodeAsPieces("blessed"))
    words = {w: i for i, w in enumerate(graph.words)}
    token = {t: i + LABEL_OFFSET for i, t in enumerate(graph.tokens)}
    reference = kenlm.Model(TINY)
    rng = np.random.default_rng(3)
    sentences = [line.split()[:6] for line in open(os.path.join(KENLM_DIR, "tiny.txt"),
                                                    encoding="utf-8")]
    for sentence in sentences:
        frames = ctc_frames([token[p] for w in sentence for p in spelled[w]], token["<blank>"],
                            rng)
        expected = -reference.score(" ".join(sentence), bos=True, eos=True) * LN10
        got = best_cost(graph.tlg, inputs=frames, outputs=[words[w] for w in sentence])
        assert expected - 0.7 < got < expected + 1e-4  # this tiny LM's back-off allowance
        assert [graph.words[i] for i in best_output(graph.tlg, frames)] == sentence \
            or len(set(spelled[w] for w in sentence)) < len(set(sentence))
