"""Hotword biasing (issue 8): bonuses per matched token, partial bonus taken back, full bonus
kept, the cap, bad hotword lists reported with file:line, and biasing that changes a
decision the LM and the acoustics left close."""
import numpy as np
import pytest

from asr.cli import main as tingxie
from asr.decoder import Decoder, DecoderOptions
from asr.decoder.hotwords import HotwordOptions, read_hotword_file
from decoder_fixtures import graphs, load_posteriors  # noqa: F401
from test_decoder_errors import frames, tiny  # noqa: F401


SCALE = 3.0  # bonus and cap are log-posterior units: x acoustic_scale in the search's cost


def dec(tiny, bonus=2.0, cap=30.0, **opts):
    return Decoder(tiny, DecoderOptions(acoustic_scale=SCALE, **opts),
                   hotword_options=HotwordOptions(bonus=bonus, cap=cap))


def test_partial_bonus_is_taken_back(tiny):
    """`a|` read with hotword `aa`: the bonus for the matched `a` is given back at `|`."""
    d = dec(tiny)
    logp = frames(0, 1, 0, 3, 0)
    base = d.decode(logp)
    biased = d.decode(logp, hotwords=["aa"])
    assert biased.words == base.words == ["a"]
    assert biased.total_cost == pytest.approx(base.total_cost, abs=1e-4)


def test_completed_hotword_keeps_its_bonus_up_to_the_cap(tiny):
    d = dec(tiny, bonus=2.0)
    logp = frames(0, 1, 0, 1, 3, 0)  # a _ a | : "aa"
    base = d.decode(logp)
    assert base.words == ["aa"]
    biased = d.decode(logp, hotwords={"aa": 1.5})
    # three tokens (a, a, |) x bonus 2 x weight 1.5, x the acoustic scale
    assert biased.total_cost == pytest.approx(base.total_cost - 9.0 * SCALE, abs=1e-4)
    capped = dec(tiny, bonus=2.0, cap=4.0).decode(logp, hotwords={"aa": 1.5})
    assert capped.total_cost == pytest.approx(base.total_cost - 4.0 * SCALE, abs=1e-4)
    off = dec(tiny, bonus=2.0, cap=0.0).decode(logp, hotwords={"aa": 1.5})
    assert off.total_cost == pytest.approx(base.total_cost, abs=1e-4)


def test_bias_flips_a_close_decision(tiny):
    logp = frames(0, 1, 3, 0)
    logp[1] = np.log([0.02, 0.55, 0.41, 0.02])  # `a` a little more likely than `b`
    d = dec(tiny, bonus=1.0)  # the LM favours `a` by ~3 nats, the acoustics by ~1 (x3)
    assert d.decode(logp).words == ["a"]
    assert d.decode(logp, hotwords=["b"]).words == ["b"]
    # per-utterance hotwords in a batch
    hw = d.compile_hotwords(["b"])
    out = d.decode_batch([logp, logp], hotwords=[hw, None])
    assert [r.words for r in out] == [["b"], ["a"]]


def test_hotword_file_problems_are_reported_and_the_rest_used(tiny, tmp_path):
    path = tmp_path / "hot.txt"
    path.write_text("b 2.5\n\naa\nb 1.0\nzz 3\naa x y\nb -1\n")
    entries, problems = read_hotword_file(str(path))
    assert [(e[0], e[1]) for e in entries] == [("b", 2.5), ("aa", None), ("b", 1.0),
                                                ("zz", 3.0), ("aa x y", None)]
    assert [(p.line, "empty" in p.message) for p in problems] == [(2, True), (7, False)]
    d = dec(tiny)
    with pytest.warns(UserWarning) as caught:
        hw = d.compile_hotwords(str(path))
    assert hw.entries == [("b", 2.5), ("aa", 1.0)]
    messages = [str(w.message) for w in caught]
    assert any("hot.txt:4" in m and "twice" in m for m in messages)
    assert any("hot.txt:5" in m and "vocabulary" in m for m in messages)
    assert any("hot.txt:6" in m for m in messages)  # `x`, `y` are not words of the graph


def test_cli_hotwords(graphs, tmp_path, capsys):
    utts = dict(list(load_posteriors().items())[:3])
    npz = tmp_path / "p.npz"
    np.savez(npz, **{k: v[0] for k, v in utts.items()})
    hot = tmp_path / "hot.txt"
    hot.write_text("the 2\nqqqzz\nq7q\n")  # qqqzz: a new word, spelled; q7q: no `7` token
    out = tmp_path / "hyp.txt"
    assert tingxie(["decode", "--graph", graphs["ctc"], "--posteriors", str(npz),
                    "--hotwords", str(hot), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "hot.txt:3" in err and "hot.txt:2" not in err and "2 hotwords" in err
    assert len(out.read_text().splitlines()) == 3


def test_recall_of_missed_words_rises_on_bench_data(graphs):
    """Words the plain search gets wrong on the first utterances, given as hotwords, are
    found more often; the utterances without them do not change for the worse."""
    d = Decoder(graphs["ctc"], DecoderOptions(acoustic_scale=3.0, beam=13.0))
    utts = load_posteriors()
    from decoder_fixtures import BENCH, read_refs
    refs = read_refs(BENCH / "refs_test.txt")
    missed = {}
    for key, (logp, _, _) in utts.items():
        hyp = set(d.decode(logp).words)
        words = [w for w in refs[key] if w not in hyp and d._spell(w) is not None]
        if words:
            missed[key] = words
    assert missed
    before = after = total = 0
    for key, words in missed.items():
        logp = utts[key][0]
        plain = d.decode(logp).words
        biased = d.decode(logp, hotwords=words).words
        for w in words:
            total += 1
            before += w in plain
            after += w in biased
    assert before == 0 and after >= 0.5 * total


@pytest.mark.parametrize("arrays", [
    ([0, 1], [2], [5], [0, 0], [0.0, 1.0], [0, 1]),        # edge to a node that does not exist
    ([0, 1, 1], [2], [1], [0, 0, 0], [0.0, 1.0], [0, 1]),  # sizes disagree
    ([0, 2, 2, 2], [2, 1], [1, 2], [0, 0, 0], [0.0, 1.0, 1.0], [0, 1, 1]),  # unsorted
    ([0, 1, 1], [99], [1], [0, 0], [0.0, 1.0], [0, 1]),    # token out of range
    ([0, 1, 1], [2], [1], [0, 7], [0.0, 1.0], [0, 1]),     # failure link out of range
    ([0, 1, 1], [2], [1], [0, 0], [0.0, float("nan")], [0, 1]),
    ([-3, 1, 1], [2], [1], [0, 0], [0.0, 1.0], [0, 1]),
])
def test_malformed_automaton_is_rejected(tiny, arrays):
    from asr.decoder import _native
    automaton = _native.HotwordAutomaton(*arrays, cap=5.0)
    with pytest.raises(ValueError, match="hotword automaton"):
        Decoder(tiny)._native.decode(frames(1, 3), automaton)


def test_oov_hotword_becomes_decodable(tiny):
    """`ab` is not a word of the tiny graph: as a hotword it goes into the side graph and is
    decoded, with its frames, and the LM context around it is kept."""
    logp = frames(0, 1, 0, 2, 3, 0)  # a _ b |
    d = dec(tiny)
    assert "ab" not in d.decode(logp).words
    r = d.decode(logp, hotwords=["ab"])
    assert r.words == ["ab"]
    assert r.word_ids == [len(d.words)]  # labels after words.txt, for this call
    assert r.word_frames == [(1, 4)]
    assert r.reached_final
    # in context: `a` then the name then `b`
    logp = frames(0, 1, 3, 0, 1, 2, 3, 2, 0, 3, 0)  # a | a b | b _ |
    assert d.decode(logp, hotwords=["ab"]).words == ["a", "ab", "b"]
    # repeats inside a name need a blank, as everywhere in CTC
    logp = frames(0, 2, 2, 3, 0)  # b b | reads `b|`, not `bb|`
    assert d.decode(logp, hotwords=["bb"]).words == ["b"]
    logp = frames(0, 2, 0, 2, 3, 0)
    assert d.decode(logp, hotwords=["bb"]).words == ["bb"]


def test_oov_names_on_bench_data(graphs):
    """The small graph knows only the words of the first 20 utterances and 1,500 frequent
    ones, so the next utterances' other words are out of vocabulary: given as hotwords,
    most of them are decoded; unrelated OOV hotwords leave the first utterances' WER alone."""
    import kaldialign
    from decoder_fixtures import BENCH, read_refs
    d = Decoder(graphs["ctc"], DecoderOptions(acoustic_scale=3.0))
    refs = read_refs(BENCH / "refs_test.txt")
    utts = load_posteriors(num_utts=40)
    keys = list(utts)
    found = total = 0
    oov_pool = []
    for key in keys[20:]:
        oov = sorted({w for w in refs[key] if d._spell(w) is None})
        oov_pool += oov
        if not oov:
            continue
        words = d.decode(utts[key][0], hotwords=oov).words
        total += len(oov)
        found += sum(w in words for w in oov)
    assert total >= 10
    assert found >= 0.5 * total, f"{found}/{total} OOV hotwords decoded"

    def wer(hotwords):
        errors = sum(kaldialign.edit_distance(
            refs[k], d.decode(utts[k][0], hotwords=hotwords).words)["total"] for k in keys[:20])
        return 100.0 * errors / sum(len(refs[k]) for k in keys[:20])
    assert wer(oov_pool[:50]) <= wer(None) + 0.5


def test_oov_hotwords_in_sync_mode(graphs):
    """The same side graph in label-synchronous mode (one position per token, no blank)."""
    from decoder_fixtures import BENCH, read_refs
    d = Decoder(graphs["sync"], DecoderOptions(acoustic_scale=3.0, beam=10.0))
    refs = read_refs(BENCH / "refs_test_sync.txt")
    utts = load_posteriors("posteriors_test_sync.npz", num_utts=30)
    found = total = 0
    for key in list(utts)[20:]:
        oov = sorted({w for w in refs[key] if d._spell(w) is None})
        if oov:
            r = d.decode(utts[key][0], hotwords=oov)
            total += len(oov)
            found += sum(w in r.words for w in oov)
            assert len(r.word_frames) == len(r.words)
    assert total >= 5 and found >= 0.5 * total, f"{found}/{total}"
