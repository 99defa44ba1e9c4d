"""Our LG against Kaldi's recipe run through kaldifst on the same lexicon and ARPA: G from
kaldilm's arpa2fst, LG = minimize_encoded(determinize_star(L∘G)). With disambiguation symbols
removed, both accept the same (token string, word string) pairs at the same cost: OpenFst's
randequivalent samples 300 paths from each and scores them in the other. Tolerance 0.01:
Kaldi quantises weights to 1/1024 before minimising (we do not, so our costs stay exact)."""
import os
import shutil

import pytest

from graph.compile import CompileOptions, compile_graph
from graph.lexicon import add_disambiguation
from lm.arpa import read_arpa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KENLM_DIR = os.path.join(ROOT, "tests", "data", "kenlm")
UNITS = os.path.join(ROOT, "tests", "data", "decoder_bench", "units.txt")


def kaldi_lg(graph, arpa, work):
    """Kaldi's LG for our lexicon, with our word and token labels."""
    import kaldifst
    import kaldilm
    model = read_arpa(arpa)
    known = set(graph.words)
    words = list(graph.words) + [w for w in model.vocab if w not in known]
    table = os.path.join(work, "words.txt")
    with open(table, "w", encoding="utf-8") as handle:
        handle.writelines(f"{w} {i}\n" for i, w in enumerate(words))
    plain = os.path.join(work, "lm.arpa")
    shutil.copy(arpa, plain)
    kaldilm.arpa2fst(plain, os.path.join(work, "G.fst"), disambig_symbol="#0",
                     read_symbol_table=table, max_arpa_warnings=0)
    g = kaldifst.StdVectorFst.read(os.path.join(work, "G.fst"))
    kaldifst.arcsort(g, sort_type="ilabel")

    token_label = {t: i + 1 for i, t in enumerate(graph.tokens)}
    word_label = {w: i for i, w in enumerate(words)}
    disambig_base = graph.info["disambiguation"]["token_label_#0"]
    spellings, _ = add_disambiguation(graph.lexicon.entries)
    lines, next_state = [], 1
    for entry, spelling in zip(graph.lexicon.entries, spellings):
        source = 0
        for i, token in enumerate(spelling):
            last = i == len(spelling) - 1
            target = 0 if last else next_state
            next_state += 0 if last else 1
            label = token_label.get(token) or disambig_base + int(token[1:])
            lines.append(f"{source} {target} {label} {word_label[entry.word] if i == 0 else 0}")
            source = target
    lines += [f"0 0 {disambig_base} {word_label['#0']}", "0"]
    lexicon = kaldifst.compile("\n".join(lines) + "\n")
    kaldifst.arcsort(lexicon, sort_type="olabel")
    lg = kaldifst.compose(lexicon, g)
    kaldifst.determinize_star(lg, use_log=True)
    kaldifst.minimize_encoded(lg)
    lg.write(os.path.join(work, "LG.fst"))


@pytest.mark.parametrize("name", ["o3_prune011.arpa", "tiny_o4_fallback.arpa"])
def test_lg_equivalent_to_kaldi_recipe(tmp_path, name):
    import pywrapfst as fst
    arpa = os.path.join(KENLM_DIR, name)
    graph = compile_graph(CompileOptions(tokens=UNITS, lm=arpa, output_dir=str(tmp_path / "g"),
                                         spelling="chars", word_boundary="|"))
    kaldi_lg(graph, arpa, str(tmp_path))
    theirs = fst.Fst.read(str(tmp_path / "LG.fst"))
    ours = graph.lg.copy()
    info = graph.info["disambiguation"]
    no_disambig = [(info["token_label_#0"] + k, 0) for k in range(info["max"] + 1)]
    ours.relabel_pairs(ipairs=no_disambig)
    theirs.relabel_pairs(ipairs=no_disambig)
    assert fst.randequivalent(ours, theirs, npath=300, delta=0.01, seed=1, max_length=80)
    assert fst.randequivalent(theirs, ours, npath=300, delta=0.01, seed=2, max_length=80)
    # The check can fail: drop one word's arcs from ours and it must notice.
    broken = ours.copy()
    victim = next(a.olabel for a in broken.arcs(broken.start()) if a.olabel)
    broken.relabel_pairs(opairs=[(victim, len(graph.words) + 5)])
    assert not fst.randequivalent(broken, theirs, npath=300, delta=0.01, seed=3, max_length=80)
