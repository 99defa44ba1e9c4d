"""On-the-fly big-LM decoding (csrc/big_lm.h): over a unigram TLG with the trigram applied during
the search, the result is the static trigram TLG's: the same best word sequences at the same
costs, up to search errors (either search may prune a path the other keeps) and the static G's
back-off approximation (its epsilon back-off arcs can undercut the exact score, which the big
LM computes). Also with N-best, lattices and hotwords, and through the command line."""
import numpy as np
import pytest

from asr.cli import main as tingxie
from asr.decoder import Decoder, DecoderOptions
from lm.arpa import read_arpa, write_arpa
from lm.binary import build_binary
from common.errors import InputError
from lm.model import NgramModel, NgramTable
from tests.decoder_fixtures import BENCH, compile_graph, small_word_list

NUM_UTTS = 40
SEARCH = dict(acoustic_scale=2.0, beam=20.0, max_active=100000)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A unigram (the trigram's unigrams: its G has no back-off, so it is exact) and the
    bench trigram; a TLG of each over the same small vocabulary; the trigram as a binary."""
    root = tmp_path_factory.mktemp("big_lm")
    words = small_word_list(root / "words.txt")
    trigram = read_arpa(str(BENCH / "lm3.arpa.gz"))
    bigram_tables = [NgramTable(trigram.orders[0].ids, trigram.orders[0].logprob,
                                np.zeros_like(trigram.orders[0].backoff))]
    bigram = root / "lm2.arpa"
    write_arpa(NgramModel(trigram.vocab, bigram_tables), str(bigram))
    small = compile_graph(root / "small", "ctc", words, lm=str(bigram))
    big = compile_graph(root / "big", "ctc", words)
    build_binary(BENCH / "lm3.arpa.gz", root / "lm3.bin")
    posts = np.load(BENCH / "posteriors_test.npz")
    keys = sorted(k for k in posts.files if "__" not in k)[:NUM_UTTS]
    return {"root": root, "small": small, "big": big, "bigram": str(bigram),
            "big_lm": str(root / "lm3.bin"), "posts": [posts[k] for k in keys]}


def test_agrees_with_the_static_big_lm_graph(setup):
    static = Decoder(setup["big"], DecoderOptions(**SEARCH))
    small_only = Decoder(setup["small"], DecoderOptions(**SEARCH))
    biglm = Decoder(setup["small"], DecoderOptions(**SEARCH, big_lm=setup["big_lm"],
                                                    small_lm=setup["bigram"]))
    a = static.decode_batch(setup["posts"], num_threads=1)
    b = biglm.decode_batch(setup["posts"], num_threads=1)
    c = small_only.decode_batch(setup["posts"], num_threads=1)
    same = [x.words == y.words for x, y in zip(a, b)]
    assert sum(same) >= 0.9 * len(same)
    # biglm - static: the exact score, never below G's best path; almost always equal to it
    gaps = [y.total_cost - x.total_cost for x, y, s in zip(a, b, same) if s]
    assert min(gaps) >= -1e-3
    assert sum(g <= 0.05 for g in gaps) >= 0.9 * len(gaps)
    # the comparison has teeth: the bigram graph alone finds other sequences or costs
    assert sum(x.words != z.words or abs(x.total_cost - z.total_cost) > 0.05
               for x, z in zip(a, c)) >= len(a) // 2


def test_nbest_lattice_and_hotwords_with_a_big_lm(setup):
    options = dict(SEARCH, nbest=5, keep_lattice=True, lattice_beam=10.0)
    static = Decoder(setup["big"], DecoderOptions(**options))
    biglm = Decoder(setup["small"], DecoderOptions(**options, big_lm=setup["big_lm"],
                                                    small_lm=setup["bigram"]))
    compared = 0
    for logp in setup["posts"][:10]:
        x, y = static.decode(logp), biglm.decode(logp)
        assert [h.words for h in y.nbest][:1] == [x.words]
        # the lattice's best path is the search's best, at the same cost
        best = y.lattice.nbest[0]
        assert best.words == y.words
        assert best.total_cost == pytest.approx(y.total_cost, abs=1e-3)
        for h in y.nbest:  # every N-best entry is scored by the big LM as the static graph does
            match = [g for g in x.nbest if g.words == h.words]
            if match and h is not y.nbest[0]:
                compared += 1
                assert h.total_cost == pytest.approx(match[0].total_cost, abs=0.05)
    assert compared >= 5
    # hotwords still bias the search: a word the first utterance does not contain comes out
    # when boosted enough
    logp = setup["posts"][0]
    plain = biglm.decode(logp).words
    target = next(w for w in ("the", "and", "of") if w not in plain)
    boosted = biglm.decode(logp, hotwords={target: 50.0}).words
    assert target in boosted


def test_command_line_and_errors(setup, tmp_path, capsys):
    npz = tmp_path / "post.npz"
    np.savez(npz, **{f"u{i}": p for i, p in enumerate(setup["posts"][:3])})
    out = tmp_path / "hyp.txt"
    assert tingxie(["decode", "--graph", setup["small"], "--posteriors", str(npz), "-o",
                    str(out), "--big-lm", setup["big_lm"], "--small-lm", setup["bigram"],
                    "--beam", "20", "--max-active", "100000"]) == 0
    static = Decoder(setup["big"], DecoderOptions(**SEARCH))
    expected = [" ".join(static.decode(p).words) for p in setup["posts"][:3]]
    lines = [l.split(None, 1) for l in out.read_text().splitlines()]
    assert [l[1] if len(l) > 1 else "" for l in lines] == expected
    # no --small-lm: the graph directory's own lm.bin (tingxie graph compile writes it)
    implicit = Decoder(setup["small"], DecoderOptions(**SEARCH, big_lm=setup["big_lm"]))
    assert implicit.small_lm.path.endswith("lm.bin")
    assert [" ".join(implicit.decode(p).words) for p in setup["posts"][:3]] == expected
    import shutil
    from graph.directory import GraphDirectory, seal
    bare = tmp_path / "no_lm_bin"  # a graph directory without its LM
    shutil.copytree(setup["small"], bare)
    info = GraphDirectory(str(bare)).info
    (bare / "lm.bin").unlink()
    seal(str(bare), info)
    with pytest.raises(InputError, match="small-lm"):
        Decoder(str(bare), DecoderOptions(big_lm=setup["big_lm"]))
    with pytest.raises(InputError, match="only with big_lm"):
        Decoder(setup["small"], DecoderOptions(small_lm=setup["bigram"]))
    bad = tmp_path / "bad.bin"
    bad.write_bytes(open(setup["big_lm"], "rb").read()[:1000])
    assert tingxie(["decode", "--graph", setup["small"], "--posteriors", str(npz), "-o",
                    str(out), "--big-lm", str(bad), "--small-lm", setup["bigram"]]) == 2
    assert "truncated" in capsys.readouterr().err
