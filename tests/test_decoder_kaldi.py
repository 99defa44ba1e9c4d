"""Best paths against Kaldi's FasterDecoder (PyPI kaldi-decoder) on the same graph, the same
posteriors and the same beam / max_active / acoustic scale; WER against the references."""
import kaldialign
import numpy as np
import pytest

from asr.decoder import Decoder, DecoderOptions
from decoder_fixtures import BENCH, graphs, load_posteriors, read_refs  # noqa: F401

import kaldi_decoder
import kaldifst


def kaldi_best_paths(graph_dir, utts, beam, scale, max_active, min_active):
    fst = kaldifst.StdVectorFst.read(f"{graph_dir}/TLG.fst")
    out = {}
    for key, (logp, _, _) in utts.items():
        dec = kaldi_decoder.FasterDecoder(fst, kaldi_decoder.FasterDecoderOptions(
            beam=beam, max_active=max_active, min_active=min_active))
        dec.decode(kaldi_decoder.DecodableCtc(logp * np.float32(scale)))
        ok, lattice = dec.get_best_path()
        assert ok
        _, _, olabels, weight = kaldifst.get_linear_symbol_sequence(lattice)
        out[key] = list(olabels)
    return out


def wer(refs, hyps, words):
    errors = sum(kaldialign.edit_distance(refs[k], [words[i] for i in hyps[k]])["total"]
                 for k in hyps)
    return 100.0 * errors / sum(len(refs[k]) for k in hyps)


@pytest.mark.parametrize("topology, npz, refs, beam, scale", [
    ("ctc", "posteriors_test.npz", "refs_test.txt", 13.0, 3.0),
    ("compact", "posteriors_test.npz", "refs_test.txt", 13.0, 3.0),
    ("ctc", "posteriors_test.npz", "refs_test.txt", 8.0, 1.0),
    ("sync", "posteriors_test_sync.npz", "refs_test_sync.txt", 3.0, 10.0),
])
def test_best_paths_equal_kaldi(graphs, topology, npz, refs, beam, scale):
    utts = load_posteriors(npz)
    max_active, min_active = 7000, 20
    kaldi = kaldi_best_paths(graphs[topology], utts, beam, scale, max_active, min_active)
    dec = Decoder(graphs[topology], DecoderOptions(beam=beam, acoustic_scale=scale,
                                                   max_active=max_active,
                                                   min_active=min_active))
    ours = {k: dec.decode(v[0]).word_ids for k, v in utts.items()}
    same = sum(ours[k] == kaldi[k] for k in utts)
    assert same == len(utts), f"only {same}/{len(utts)} best paths equal Kaldi's"
    references = read_refs(BENCH / refs)
    assert wer(references, ours, dec.words) <= wer(references, kaldi, dec.words) + 1e-9


def test_max_active_binds_like_kaldi(graphs):
    """Histogram pruning: with max_active tight the adaptive beam must follow Kaldi's."""
    utts = dict(list(load_posteriors().items())[:8])
    kaldi = kaldi_best_paths(graphs["ctc"], utts, 13.0, 1.0, 30, 5)
    dec = Decoder(graphs["ctc"], DecoderOptions(beam=13.0, acoustic_scale=1.0,
                                                max_active=30, min_active=5))
    same = sum(dec.decode(v[0]).word_ids == kaldi[k] for k, v in utts.items())
    assert same >= 7


def test_const_graph_decodes_like_vector(graphs):
    utts = dict(list(load_posteriors().items())[:5])
    vec = Decoder(graphs["ctc"])
    const = Decoder(graphs["ctc_const"])
    assert const._native.fst_type == "const"
    for logp, _, _ in utts.values():
        a, b = vec.decode(logp), const.decode(logp)
        assert a.word_ids == b.word_ids
        assert a.total_cost == pytest.approx(b.total_cost, abs=1e-3)


def test_decode_batch_equals_decode(graphs):
    utts = load_posteriors()
    dec = Decoder(graphs["ctc"], DecoderOptions(nbest=3))
    arrays = [v[0] for v in utts.values()]
    batch = dec.decode_batch(arrays, num_threads=2)
    for logp, r in zip(arrays, batch):
        single = dec.decode(logp)
        assert r.word_ids == single.word_ids
        assert r.total_cost == single.total_cost
        assert [h.word_ids for h in r.nbest] == [h.word_ids for h in single.nbest]
