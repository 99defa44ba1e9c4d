"""One Decoder used from several Python threads at once: decode() releases the GIL and shares
a cached search only with the thread that holds it, so concurrent calls must give exactly the
results of the same calls made one after another (also under tools/sanitize.sh)."""
from concurrent.futures import ThreadPoolExecutor

from asr.decoder import Decoder, DecoderOptions
from decoder_fixtures import graphs, load_posteriors  # noqa: F401


def summary(result):
    return (tuple(result.words), tuple(result.tokens), result.total_cost, result.acoustic_cost,
            tuple(map(tuple, result.word_frames)),
            tuple((tuple(h.words), h.total_cost) for h in result.nbest))


def test_concurrent_decode_calls_equal_sequential_ones(graphs):
    utts = [logp for logp, _, _ in load_posteriors().values()][:12]
    for topology, options in (("ctc", DecoderOptions(acoustic_scale=3.0, nbest=3)),
                              ("compact", DecoderOptions(acoustic_scale=3.0))):
        dec = Decoder(graphs[topology], options)
        expected = [summary(dec.decode(logp)) for logp in utts]
        jobs = utts * 4  # 48 calls over 4 threads: the cached search is contended
        with ThreadPoolExecutor(max_workers=4) as pool:
            got = list(pool.map(lambda logp: summary(dec.decode(logp)), jobs))
        assert got == expected * 4, topology


def test_concurrent_decode_and_decode_batch(graphs):
    utts = [logp for logp, _, _ in load_posteriors().values()][:8]
    dec = Decoder(graphs["ctc"], DecoderOptions(acoustic_scale=3.0))
    expected = [summary(r) for r in dec.decode_batch(utts, num_threads=1)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        batch = pool.submit(dec.decode_batch, utts, num_threads=2)
        singles = list(pool.map(lambda logp: summary(dec.decode(logp)), utts))
        batch = [summary(r) for r in batch.result()]
    assert singles == expected and batch == expected
