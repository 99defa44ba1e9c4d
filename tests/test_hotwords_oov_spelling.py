"""Out-of-vocabulary hotwords under every spelling `tingxie graph compile` uses (issue 8): BPE
pieces (a sentencepiece model trained here; the graph directory keeps its own copy,
bpe.model), a FunASR seg_dict with BPE as the fallback, and Chinese characters with no
word-boundary token. Posteriors are synthesised: every token of a sentence is clear except
the name's, which are only weakly likely (a rival close behind); the name is not in the
graph, so without the hotword it cannot be decoded, and with it the whole sentence must come
out exactly -- the name at its place, the words around it intact (the side graph is entered
and left only between words) -- while sentences without the name do not change."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from asr.cli import main as tingxie
from asr.decoder import Decoder

EN_TEXT = Path(__file__).resolve().parent / "data" / "kenlm" / "train.txt"

EN_NAMES = ["zorbakian", "melidor"]     # not words of the corpus
ZH_NAMES = ["欧阳修", "诸葛亮", "司马光", "张三丰", "李时珍", "王安石"]


def log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def synthesise(rng, columns, weak, num_columns, mode, blank=0, dense=False):
    """columns: per word its token columns; weak: per word a bool. CTC: each token one or two
    frames, a blank after it unless `dense` (then only where a token repeats); sync: one row
    per token. A clear token has logit +8; a weak one +3 with a rival at +2.5."""
    rows = []

    def row(column, is_weak):
        logits = rng.normal(0.0, 1.0, num_columns)
        if mode == "sync":
            logits[blank] = -1e4 if blank >= 0 else logits[blank]
        if is_weak:
            rival = rng.choice([c for c in range(num_columns) if c not in (column, blank)])
            logits[rival] = 2.5
            logits[column] = 3.0
        else:
            logits[column] = 8.0
        return logits

    if mode == "ctc":
        rows.append(row(blank, False))
    flat = [(c, w) for word, is_weak in zip(columns, weak) for c, w in ((c, is_weak) for c in word)]
    for i, (c, is_weak) in enumerate(flat):
        rows += [row(c, is_weak) for _ in range(1 + (i % 2) * (mode == "ctc"))]
        if mode == "ctc":
            repeat_next = i + 1 < len(flat) and flat[i + 1][0] == c
            if not dense or repeat_next:
                rows.append(row(blank, False))
    if mode == "ctc":
        rows.append(row(blank, False))
    return log_softmax(np.array(rows)).astype(np.float32)


def compile_graph(out, tokens, lm, topology, spelling, **extra):
    argv = ["graph", "compile", "--tokens", str(tokens), "--lm", str(lm), "--spelling",
            spelling, "--topology", topology, "-o", str(out)]
    for key, value in extra.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    assert tingxie(argv) == 0
    return out


def write_lm(sentences, path, order=2):
    from lm.arpa import write_arpa
    from lm.estimate import train

    write_arpa(train(sentences, order, discount_fallback=True), str(path))
    return path


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    """A BPE model (150 pieces) trained on 200 lines, a bigram LM, CTC and sync graphs."""
    import sentencepiece as spm

    root = tmp_path_factory.mktemp("hot_bpe")
    lines = EN_TEXT.read_text(encoding="utf-8").splitlines()[:200]
    (root / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(root / "corpus.txt"),
                                   model_prefix=str(root / "sp"), vocab_size=150,
                                   model_type="bpe", character_coverage=1.0, bos_id=-1,
                                   eos_id=-1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=str(root / "sp.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    (root / "tokens.txt").write_text("".join(f"{t} {i}\n" for i, t in
                                             enumerate(["<blank>"] + pieces)), encoding="utf-8")
    sentences = [l.split() for l in lines]
    lm = write_lm(sentences, root / "lm.arpa")
    graphs = {topology: compile_graph(root / topology, root / "tokens.txt", lm, topology,
                                      "bpe", bpe_model=root / "sp.model")
              for topology in ("ctc", "sync")}
    return {"root": root, "sp": sp, "sentences": sentences, "graphs": graphs,
            "vocab": {w for s in sentences for w in s}}


@pytest.fixture(scope="module")
def chinese(tmp_path_factory):
    """Chinese words spelled as characters (no boundary token), a bigram LM, compact CTC and
    sync graphs; the names' characters are tokens, the names are not words."""
    import gzip

    root = tmp_path_factory.mktemp("hot_zh")
    from tests.zh_text import sentences as zh_sentences
    sentences = zh_sentences(300, seed=5)
    sentences = [s for s in sentences if all(not any(ch.isdigit() for ch in w) for w in s)]
    vocab = {w for s in sentences for w in s}
    chars = sorted({ch for w in vocab for ch in w} | {ch for n in ZH_NAMES for ch in n})
    (root / "tokens.txt").write_text("".join(f"{t} {i}\n" for i, t in
                                             enumerate(["<blank>"] + chars)), encoding="utf-8")
    lm = write_lm(sentences, root / "lm.arpa")
    graphs = {topology: compile_graph(root / topology, root / "tokens.txt", lm, topology,
                                      "chars")
              for topology in ("compact", "sync")}
    names = [n for n in ZH_NAMES if n not in vocab]
    return {"root": root, "sentences": sentences, "graphs": graphs, "vocab": vocab,
            "names": names}


def columns_of(decoder, words, spell_oov):
    out = []
    for w in words:
        spelled = decoder._spell(w)
        out.append(spelled if spelled is not None else spell_oov(w))
    return out


def check_names(decoder, sentences, names, mode, seed, dense=False):
    """Each name put into a sentence (at a seeded place), weakly likely; decoded without and
    with the hotwords; then the sentences themselves (no name) with the hotwords on."""
    rng = np.random.default_rng(seed)
    hot = decoder.compile_hotwords(names)
    assert sorted(hot.oov_words) == sorted(names)
    blank = decoder.blank_column
    found = 0
    cases = []
    for i, name in enumerate(names * 2):
        words = list(sentences[i])
        at = int(rng.integers(1, len(words)))
        words = words[:at] + [name] + words[at:]
        columns = columns_of(decoder, words, decoder._spell_oov)
        logp = synthesise(rng, columns, [w == name for w in words], decoder.num_tokens, mode,
                          blank, dense)
        plain = decoder.decode(logp).words
        biased = decoder.decode(logp, hotwords=hot).words
        assert name not in plain
        found += biased == words
        cases.append((words, plain, biased))
    assert found >= len(cases) - 1, cases
    for words in sentences[:6]:
        logp = synthesise(rng, columns_of(decoder, words, None), [False] * len(words),
                          decoder.num_tokens, mode, blank, dense)
        assert decoder.decode(logp, hotwords=hot).words == decoder.decode(logp).words == words


@pytest.mark.parametrize("topology,dense", [("ctc", False), ("ctc", True), ("sync", False)])
def test_bpe_names_are_decoded_with_the_graph_own_bpe_model(english, topology, dense):
    decoder = Decoder(english["graphs"][topology])
    sp = english["sp"]
    for name in EN_NAMES:
        assert name not in english["vocab"]
        spelled = [decoder.tokens[c] for c in decoder._spell_oov(name)]
        assert spelled == sp.encode_as_pieces(name) and spelled[0].startswith("\u2581")
    sentences = [s for s in english["sentences"] if 4 <= len(s) <= 10]
    check_names(decoder, sentences, EN_NAMES, "sync" if topology == "sync" else "ctc",
                seed=3 + dense, dense=dense)


@pytest.mark.parametrize("topology", ["compact", "sync"])
def test_chinese_names_are_decoded_between_words(chinese, topology):
    """Any character may begin or continue a word: the name must still land between words
    (states with G's back-off), not inside 中国-like words whose output is pending."""
    decoder = Decoder(chinese["graphs"][topology])
    names = chinese["names"]
    assert len(names) >= 3
    assert [decoder.tokens[c] for c in decoder._spell_oov(names[0])] == list(names[0])
    sentences = [s for s in chinese["sentences"] if 3 <= len(s) <= 8]
    check_names(decoder, sentences, names[:3], "sync" if topology == "sync" else "ctc", seed=5)


def test_a_moved_graph_directory_keeps_its_bpe_model(english, tmp_path):
    src = Path(english["graphs"]["sync"])
    meta = json.loads((src / "graph.json").read_text(encoding="utf-8"))
    assert meta["spelling"] == {"rule": "bpe", "bpe_model": "bpe.model", "seg_dict": None}
    assert meta["word_boundary"] is None
    assert (src / "bpe.model").read_bytes() == (english["root"] / "sp.model").read_bytes()
    moved = tmp_path / "elsewhere" / "graph"
    shutil.copytree(src, moved)
    hidden = english["root"] / "sp.model.hidden"  # the original model gone
    (english["root"] / "sp.model").rename(hidden)
    try:
        decoder = Decoder(moved)
        assert decoder._spell_oov(EN_NAMES[0]) is not None
        sentences = [s for s in english["sentences"] if 4 <= len(s) <= 10]
        check_names(decoder, sentences, EN_NAMES[:1], "sync", seed=11)
        (moved / "bpe.model").unlink()
        from common.errors import InputError
        with pytest.raises(InputError, match="bpe.model"):
            Decoder(moved).compile_hotwords(EN_NAMES)
    finally:
        hidden.rename(english["root"] / "sp.model")


def test_seg_dict_words_first_then_the_compile_rule(english, tmp_path):
    """A graph compiled with a seg_dict spells a new word listed there by its entry and any
    other new word by the BPE model, as the compile did for the graph's own words."""
    root = english["root"]
    pieces = [t.split()[0] for t in (root / "tokens.txt").read_text(encoding="utf-8").splitlines()]
    listed = ["\u2581the", "l", "ord"]  # an unusual split, only the seg_dict would give it
    assert all(p in pieces for p in listed)
    (tmp_path / "seg_dict").write_text(f"melidor {' '.join(listed)}\n", encoding="utf-8")
    graph = compile_graph(tmp_path / "g", root / "tokens.txt", root / "lm.arpa", "sync", "bpe",
                          bpe_model=root / "sp.model", seg_dict=tmp_path / "seg_dict")
    assert (Path(graph) / "seg_dict").is_file()
    decoder = Decoder(graph)
    assert [decoder.tokens[c] for c in decoder._spell_oov("melidor")] == listed
    assert ([decoder.tokens[c] for c in decoder._spell_oov("zorbakian")]
            == english["sp"].encode_as_pieces("zorbakian"))


@pytest.fixture(scope="module")
def tiny_chars(tmp_path_factory):
    """Tokens a b c d spelled as characters with no boundary token (as Chinese is); words
    ad, b, da; the LM has seen `da b ad` often and `ad` after `da` never."""
    root = tmp_path_factory.mktemp("hot_tiny_chars")
    (root / "tokens.txt").write_text("<blank> 0\na 1\nb 2\nc 3\nd 4\n", encoding="utf-8")
    sentences = [["da", "b", "ad"]] * 6 + [["ad", "da"]] * 2 + [["b"]]
    lm = write_lm(sentences, root / "lm.arpa")
    return compile_graph(root / "ctc", root / "tokens.txt", lm, "ctc", "chars")


def strong(*tokens):
    """One clear frame per token (columns: 0 blank, a=1 .. d=4)."""
    column = {"_": 0, "a": 1, "b": 2, "c": 3, "d": 4}
    logits = np.zeros((len(tokens), 5))
    for t, token in enumerate(tokens):
        logits[t, column[token]] = 10.0
    return log_softmax(logits).astype(np.float32)


def test_a_name_is_entered_and_left_only_between_words(tiny_chars):
    """`a c d` with the name `c`: `c` would only fit inside `ad` -- the name must not be put
    there (nor `ad` and `c` output in some order); between words it is found."""
    decoder = Decoder(tiny_chars)
    assert decoder.decode(strong("_", "a", "_", "c", "_", "d", "_"), hotwords=["c"]).words \
        == ["ad"]
    assert decoder.decode(strong("_", "a", "d", "c", "_"), hotwords=["c"]).words == ["ad", "c"]
    assert decoder.decode(strong("_", "c", "a", "d", "_"), hotwords=["c"]).words == ["c", "ad"]


def test_ctc_after_a_name_the_next_word_may_start_at_once(tiny_chars):
    """`ad c da` with no blank anywhere: after the name the search goes on from T's
    after-blank state, so the `d` of `da` is a new token, not a repeat of `ad`'s `d`."""
    decoder = Decoder(tiny_chars)
    logp = strong("_", "a", "d", "c", "d", "a", "_")
    assert decoder.decode(logp, hotwords=["c"]).words == ["ad", "c", "da"]


def test_ctc_the_repeat_of_a_name_last_token_is_not_a_new_token(tiny_chars):
    """`da cb ad` where `cb`'s `b` lasts two frames: the LM would rather hear `b` after `da`
    (the name is transparent to it) -- but the second `b` frame is a CTC repeat, not the
    word `b`."""
    decoder = Decoder(tiny_chars)
    logp = strong("_", "d", "a", "c", "b", "b", "_", "a", "d", "_")
    assert decoder.decode(logp, hotwords=["cb"]).words == ["da", "cb", "ad"]
    logp = strong("_", "d", "a", "c", "b", "_", "b", "_", "a", "d", "_")  # a blank between
    assert decoder.decode(logp, hotwords=["cb"]).words == ["da", "cb", "b", "ad"]


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_bonus_is_in_log_posterior_units_and_the_entry_cost_in_graph_units(tiny_chars, scale):
    """On the same path, a matched token lowers the cost by bonus x acoustic_scale (the
    search's cost is acoustic_scale x -ln p + graph cost), while the name's entry cost is a
    graph cost, the same at every scale."""
    from asr.decoder import DecoderOptions
    from asr.decoder.hotwords import HotwordOptions

    options = HotwordOptions(bonus=0.5, oov_cost=3.0)
    decoder = Decoder(tiny_chars, DecoderOptions(acoustic_scale=scale), hotword_options=options)
    logp = strong("_", "d", "a", "_", "b", "_")
    plain, biased = decoder.decode(logp), decoder.decode(logp, hotwords=["da"])
    assert plain.words == biased.words == ["da", "b"]
    assert biased.acoustic_cost == pytest.approx(plain.acoustic_cost, abs=1e-4)
    assert biased.graph_cost == pytest.approx(plain.graph_cost - 2 * 0.5 * scale, abs=1e-4)
    # the name `c` after `da`: LM cost of `da b` (the name is transparent to it), + entry
    # cost, - one token's bonus
    named = decoder.decode(strong("_", "d", "a", "c", "_", "b", "_"), hotwords=["c"])
    assert named.words == ["da", "c", "b"]
    assert named.graph_cost == pytest.approx(plain.graph_cost + 3.0 - 0.5 * scale, abs=1e-4)


def test_a_lexicon_graph_has_no_rule_for_new_words(tmp_path):
    """Compiled from a lexicon, a graph records no spelling rule: a new word is reported as
    unspellable (file:line), not spelled by a guess."""
    (tmp_path / "tokens.txt").write_text("<blank> 0\na 1\nb 2\n", encoding="utf-8")
    (tmp_path / "lexicon.txt").write_text("ab a b\nb b\n", encoding="utf-8")
    lm = write_lm([["ab", "b"], ["b"]], tmp_path / "lm.arpa")
    out = tmp_path / "g"
    assert tingxie(["graph", "compile", "--tokens", str(tmp_path / "tokens.txt"), "--lm",
                    str(lm), "--lexicon", str(tmp_path / "lexicon.txt"), "-o", str(out)]) == 0
    assert json.loads((out / "graph.json").read_text())["spelling"] == {"rule": "lexicon", "bpe_model": None,
                                                                  "seg_dict": None}
    (tmp_path / "hot.txt").write_text("ab\nba\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="hot.txt:2"):
        hot = Decoder(out).compile_hotwords(str(tmp_path / "hot.txt"))
    assert hot.entries == [("ab", 1.0)] and not hot.oov_words


def test_a_unigram_graph_has_word_boundaries_too(tmp_path):
    """A unigram G has no back-off arc: its word-boundary states are the final ones."""
    (tmp_path / "tokens.txt").write_text("<blank> 0\na 1\nb 2\nc 3\nd 4\n", encoding="utf-8")
    lm = write_lm([["ad", "b"], ["da"], ["b", "ad"]], tmp_path / "lm.arpa", order=1)
    graph = compile_graph(tmp_path / "g", tmp_path / "tokens.txt", lm, "ctc", "chars")
    decoder = Decoder(graph)
    assert decoder.decode(strong("_", "a", "d", "c", "d", "a", "_"), hotwords=["c"]).words \
        == ["ad", "c", "da"]
    assert decoder.decode(strong("_", "a", "_", "c", "_", "d", "_"), hotwords=["c"]).words \
        == ["ad"]


def test_a_graph_whose_spelling_record_is_broken_is_reported(english, tmp_path):
    moved = tmp_path / "g"
    shutil.copytree(english["graphs"]["sync"], moved)
    meta = json.loads((moved / "graph.json").read_text(encoding="utf-8"))
    from common.errors import InputError
    from graph.directory import GraphInfo, seal
    for broken in ("bpe", {"bpe_model": "bpe.model"}, {"rule": "bpe", "bpe_model": "/abs/bpe"}):
        meta["spelling"] = broken
        (moved / "graph.json").write_text(json.dumps(meta), encoding="utf-8")
        with pytest.raises(InputError, match="graph.json"):
            Decoder(moved).compile_hotwords(EN_NAMES)
    meta["spelling"] = {"rule": "bpe", "bpe_model": "bpe.model", "seg_dict": None}
    (moved / "bpe.model").write_bytes(b"not a sentencepiece model")
    (moved / "graph.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(InputError, match="bpe.model: this file is not the one"):
        Decoder(moved)
    seal(str(moved), GraphInfo.from_json(meta, "graph.json"))  # a hand-made directory
    with pytest.raises(InputError, match="sentencepiece"):
        Decoder(moved).compile_hotwords(EN_NAMES)
