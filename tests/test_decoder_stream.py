"""The decoder's lifecycle (Decoder.stream: accept chunks, partial, finalize) and its
incremental lattice pruning: chunk by chunk must give exactly what one decode() of the whole
input gives, and pruning as it goes must lose nothing within lattice_beam of the best path."""
import numpy as np
import pytest

from asr.decoder import Decoder, DecoderOptions
from decoder_fixtures import graphs, load_posteriors  # noqa: F401
from common.errors import InputError

NUM_UTTS = 8


def random_chunks(logp, rng):
    """logp cut at random points, with empty and one-frame chunks among them."""
    cuts = sorted(rng.choice(np.arange(1, len(logp)), size=min(6, len(logp) - 1),
                             replace=False).tolist())
    bounds = [0] + cuts + [len(logp)]
    chunks = [logp[a:b] for a, b in zip(bounds, bounds[1:])]
    chunks.insert(1, logp[:0])
    return chunks


def stream_decode(decoder, chunks):
    s = decoder.stream()
    for chunk in chunks:
        s.accept(chunk)
        s.partial()
    return s.finalize()


def hyp_fields(h):
    return (h.words, list(h.word_ids), list(h.tokens), list(h.word_frames), h.total_cost,
            h.acoustic_cost, h.graph_cost)


def assert_same_result(a, b):
    assert hyp_fields(a) == hyp_fields(b)
    assert a.reached_final == b.reached_final
    assert np.array_equal(a.token_frames, b.token_frames)
    assert [hyp_fields(h) for h in a.nbest] == [hyp_fields(h) for h in b.nbest]
    if a.lattice is None:
        assert b.lattice is None
        return
    x, y = a.lattice.arrays(), b.lattice.arrays()
    assert x.keys() == y.keys()
    for key in x:
        assert np.array_equal(x[key], y[key]), key


CONFIGS = {
    "first-best": dict(),
    "nbest": dict(nbest=10),
    "word-lattice": dict(nbest=10, keep_lattice=True),
    "state-lattice": dict(nbest=5, keep_lattice=True, determinize_lattice=False),
    "blank-skip-lattice": dict(nbest=10, keep_lattice=True, blank_skip_threshold=0.9),
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_chunks_equal_whole_ctc(graphs, config):  # noqa: F811
    decoder = Decoder(graphs["ctc"], DecoderOptions(min_active=20, prune_interval=7,
                                                    **CONFIGS[config]))
    rng = np.random.default_rng(5)
    for key, (logp, _, _) in load_posteriors(num_utts=NUM_UTTS).items():
        whole = decoder.decode(logp)
        assert whole.words
        assert_same_result(whole, stream_decode(decoder, random_chunks(logp, rng)))


def test_chunks_equal_whole_sync(graphs):  # noqa: F811
    decoder = Decoder(graphs["sync"], DecoderOptions(beam=8, nbest=10, keep_lattice=True))
    rng = np.random.default_rng(6)
    for key, (logp, _, _) in load_posteriors("posteriors_test_sync.npz", NUM_UTTS).items():
        assert_same_result(decoder.decode(logp), stream_decode(decoder, random_chunks(logp, rng)))


def test_chunks_equal_whole_with_hotwords(graphs):  # noqa: F811
    decoder = Decoder(graphs["ctc"], DecoderOptions(min_active=20, nbest=10, keep_lattice=True))
    logp = next(iter(load_posteriors(num_utts=1).values()))[0]
    hotwords = decoder.compile_hotwords({"the": 2.0, "zanzibar": 3.0})
    whole = decoder.decode(logp, hotwords=hotwords)
    s = decoder.stream(hotwords=hotwords)
    for start in range(0, len(logp), 13):
        s.accept(logp[start:start + 13])
    assert_same_result(whole, s.finalize())


def long_input(num_utts=20):
    """The test utterances joined into one input of ~2,500 frames."""
    return np.concatenate([v[0] for v in load_posteriors(num_utts=num_utts).values()])


def test_incremental_pruning_loses_nothing_within_the_lattice_beam(graphs):  # noqa: F811
    """Pruning every 25 frames (the default) against pruning once at the end: the same
    N-best, the same word lattice, and a lattice held small while decoding."""
    logp = long_input()
    base = dict(min_active=20, nbest=10, keep_lattice=True)
    pruned = Decoder(graphs["ctc"], DecoderOptions(**base)).decode(logp)
    unpruned = Decoder(graphs["ctc"], DecoderOptions(prune_interval=10 ** 9, **base)).decode(logp)
    assert len(pruned.nbest) > 1
    assert_same_result(pruned, unpruned)
    assert pruned.lattice.num_arcs > 0
    state_base = dict(base, determinize_lattice=False)
    a = Decoder(graphs["ctc"], DecoderOptions(**state_base)).decode(logp)
    b = Decoder(graphs["ctc"], DecoderOptions(prune_interval=10 ** 9, **state_base)).decode(logp)
    assert_same_result(a, b)
    # the search's buffers: pruned as it goes vs. every link of the input kept to the end
    work = Decoder(graphs["ctc"], DecoderOptions(**base))._native.decode(logp, None).work_bytes
    no_prune = Decoder(graphs["ctc"], DecoderOptions(prune_interval=10 ** 9, **base))
    assert work * 3 < no_prune._native.decode(logp, None).work_bytes


def test_long_input_in_chunks_equals_whole(graphs):  # noqa: F811
    logp = long_input()
    decoder = Decoder(graphs["ctc"], DecoderOptions(min_active=20, nbest=10, keep_lattice=True))
    rng = np.random.default_rng(7)
    assert_same_result(decoder.decode(logp), stream_decode(decoder, random_chunks(logp, rng)))


def test_partial(graphs):  # noqa: F811
    decoder = Decoder(graphs["ctc"], DecoderOptions(min_active=20))
    agree = 0
    utts = load_posteriors(num_utts=NUM_UTTS)
    for logp, _, _ in utts.values():
        s = decoder.stream()
        start = s.partial()
        assert start.words == [] and start.total_cost == 0.0
        half = len(logp) // 2
        s.accept(logp[:half])
        p = s.partial()
        # the same frames fed another way give the same partial
        t = decoder.stream()
        for i in range(half):
            t.accept(logp[i:i + 1])
        assert hyp_fields(t.partial()) == hyp_fields(p)
        assert all(end < half for _, end in p.word_frames)
        s.accept(logp[half:])
        end = s.partial()
        result = s.finalize()
        assert end.total_cost <= result.total_cost + 1e-3  # no final weight in the partial
        agree += end.words == result.words
    assert agree >= NUM_UTTS - 2


def test_stream_misuse(graphs):  # noqa: F811
    decoder = Decoder(graphs["ctc"])
    logp = next(iter(load_posteriors(num_utts=1).values()))[0]
    s = decoder.stream()
    with pytest.raises(InputError, match="no frames"):
        s.finalize()
    with pytest.raises(InputError, match="columns"):
        s.accept(logp[:5, :-1])
    bad = logp[:5].copy()
    bad[2, 3] = np.nan
    with pytest.raises(InputError, match="frame 2"):
        s.accept(bad)
    s.accept(logp)
    assert s.frames == len(logp)
    s.finalize()
    with pytest.raises(ValueError, match="after finalize"):
        s.accept(logp)
    with pytest.raises(ValueError, match="prune_interval"):
        Decoder(graphs["ctc"], DecoderOptions(prune_interval=0))
