"""Issue 7's first bar on the real demo: N-best rescoring with a bigger 5-gram lowers the WER of
first-pass TLG decoding, with weights tuned on the demo dev set only.

The N-best lists (tests/data/rescore_demo, 10-best from the shipped demo model's CTC head and
the demo TLG; regenerate with `bash tools/demo/run.sh 7` after shipping a new model) are scored
with a 5-gram built here by the recipe's own stage (tools/demo/rescoring_lm.py: the whole corpus
minus every line equal to or containing a dev/test/eval sentence), on tests/data/corpora.
"""
import gzip
import os
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "demo"))
CORPUS = os.path.join(ROOT, "tests", "data", "corpora", "en_train.txt.gz")
DATA = os.path.join(os.path.dirname(__file__), "data", "rescore_demo")


def refs_of(part):
    from common.kaldi import read_kaldi_text

    path = os.path.join(ROOT, "tools", "demo", "data", f"{part}.txt")
    return {key: text.split() for key, text in read_kaldi_text(path).items()}


@pytest.fixture(scope="module")
def five_gram(tmp_path_factory):
    import rescoring_lm

    out = tmp_path_factory.mktemp("lm_rescore")
    rescoring_lm.main(["--corpus", CORPUS, "--out", str(out),
                       "--first-pass-text", os.path.join(ROOT, "tools/demo/data/train.txt.gz"),
                       "--held-out"] + [os.path.join(ROOT, f"tools/demo/data/{p}.txt")
                                        for p in ("dev", "test", "eval")])
    text = set(line.strip() for line in open(out / "text.txt", encoding="utf-8"))
    for part in ("dev", "test", "eval"):  # no evaluated sentence is in the LM's text
        assert not any(" ".join(words) in text for words in refs_of(part).values())
    return str(out / "lm5.arpa.gz")


def test_five_gram_nbest_rescoring_lowers_wer(five_gram):
    from asr.rescoring.combine import rerank
    from asr.rescoring.ngram import NgramRescorer
    from asr.rescoring.nbest import read_nbest
    from asr.rescoring.tune import tune
    from asr.scoring import error_rate

    rescorer = {"ngram5": NgramRescorer(five_gram)}
    dev = list(read_nbest(os.path.join(DATA, "dev_nbest.jsonl.gz")))
    weights, summary = tune(dev, refs_of("dev"), rescorer,
                            first_pass_weights=(0.0, 0.25, 0.5, 0.75, 1.0),
                            lm_weights=[x / 4 for x in range(7)],
                            word_bonuses=[x / 2 for x in range(-6, 7)])
    assert summary["tuned_wer"] < summary["first_pass_wer"]
    for part, least_gain in (("test", 0.5), ("eval", 1.0)):  # WER points
        refs = refs_of(part)
        nbests = list(read_nbest(os.path.join(DATA, f"{part}_nbest.jsonl.gz")))
        keys = [nb.key for nb in nbests]
        first = error_rate([refs[k] for k in keys],
                           [nb.hyps[0].words if nb.hyps else [] for nb in nbests])
        for nb in nbests:
            for hyp in nb.hyps:
                hyp.scores["ngram5"] = rescorer["ngram5"].score([hyp.words])[0]
            rerank(nb, weights)
        rescored = error_rate([refs[k] for k in keys],
                              [nb.hyps[0].words if nb.hyps else [] for nb in nbests])
        print(f"{part}: first pass {100 * first:.2f}% -> 5-gram {100 * rescored:.2f}%")
        assert 100 * (first - rescored) >= least_gain, (part, first, rescored, weights)
