"""Out-of-vocabulary hotwords on the bench data.

A graph compiled with a cut vocabulary (the words of the first 20 test utterances plus the
1,500 most frequent words, tests/decoder_fixtures.py) cannot output most words of the other
180 utterances. Each of those utterances is decoded plain and with its own out-of-vocabulary
words as hotwords (recall of those words, WER); the first 20 are decoded with 0 / 50 / 200
unrelated out-of-vocabulary hotwords (control WER).

    python tools/bench/decoder_hotwords_oov.py --work-dir /tmp/dec/small_graph
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work-dir", required=True)
    args = p.parse_args(argv)
    import kaldialign
    from asr.decoder import Decoder, DecoderOptions
    from decoder_fixtures import BENCH, compile_graph, load_posteriors, read_refs, \
        small_word_list

    graph = os.path.join(args.work_dir, "ctc")
    if not os.path.exists(os.path.join(graph, "TLG.fst")):
        os.makedirs(args.work_dir, exist_ok=True)
        compile_graph(graph, "ctc", small_word_list(os.path.join(args.work_dir, "words.txt")))
    dec = Decoder(graph, DecoderOptions(acoustic_scale=3.0))
    refs = read_refs(BENCH / "refs_test.txt")
    utts = load_posteriors(num_utts=200)
    keys = list(utts)
    warnings.simplefilter("ignore")
    found = total = err_plain = err_hot = n = 0
    pool = []
    cpu_plain = cpu_hot = 0.0
    for k in keys[20:]:
        oov = sorted({w for w in refs[k] if dec._spell(w) is None})
        pool += oov
        t = time.process_time()
        plain = dec.decode(utts[k][0]).words
        cpu_plain += time.process_time() - t
        t = time.process_time()
        biased = dec.decode(utts[k][0], hotwords=oov).words if oov else plain
        cpu_hot += time.process_time() - t
        total += len(oov)
        found += sum(w in biased for w in oov)
        err_plain += kaldialign.edit_distance(refs[k], plain)["total"]
        err_hot += kaldialign.edit_distance(refs[k], biased)["total"]
        n += len(refs[k])
    print(f"utterances 21-200: {total} out-of-vocabulary words (distinct per utterance) "
          f"given as its hotwords, "
          f"{found} decoded ({100.0 * found / total:.1f}%); WER plain {100.0 * err_plain / n:.2f}%"
          f" -> {100.0 * err_hot / n:.2f}%; CPU {cpu_plain:.3f} s -> {cpu_hot:.3f} s")

    def wer(hotwords):
        e = sum(kaldialign.edit_distance(refs[k], dec.decode(utts[k][0], hotwords=hotwords)
                                         .words)["total"] for k in keys[:20])
        return 100.0 * e / sum(len(refs[k]) for k in keys[:20])
    print(f"control, utterances 1-20: WER {wer(None):.2f}% plain, {wer(pool[:50]):.2f}% with 50 "
          f"unrelated OOV hotwords, {wer(pool[:200]):.2f}% with 200")
    return 0


if __name__ == "__main__":
    sys.exit(main())
