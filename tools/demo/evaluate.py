"""Stage 6 of the demo recipe: WER of greedy vs TLG decoding on the demo test set, in CTC and
Paraformer mode. The acoustic scale is chosen on the dev set (never on test), posteriors are
computed once per mode and set.

    python tools/demo/evaluate.py [--model resources/demo/model] [--backend torch]

Prints one JSON object (also written to exp/demo/eval.json) with dev sweeps and test WERs.
"""
from __future__ import annotations

import argparse
import json
import os

SCALES = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resources/demo/model")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--dev", default="exp/demo/data/dev")
    parser.add_argument("--test", default="resources/demo/test")
    parser.add_argument("--graph-ctc", default="resources/demo/graph")
    parser.add_argument("--graph-sync", default="resources/demo/graph_sync")
    parser.add_argument("--out", default="exp/demo/eval.json")
    args = parser.parse_args()

    from asr.audio import load_audio
    from asr.decoder import Decoder, DecoderOptions
    from asr.models import load_acoustic_model
    from asr.scoring.align import count_edits
    from common.kaldi import read_kaldi_text, read_wav_scp

    sets = {}
    for name, directory in (("dev", args.dev), ("test", args.test)):
        text = read_kaldi_text(os.path.join(directory, "text"))
        scp = list(read_wav_scp(os.path.join(directory, "wav.scp")))
        sets[name] = ([text[e.key] for e in scp], [load_audio(e.path) for e in scp])

    def wer(refs, hyps):
        counts = count_edits([r.split() for r in refs], [h.split() for h in hyps])
        return round(100.0 * float(counts[:, 1:].sum()) / float(counts[:, :3].sum()), 2)

    def cer(refs, hyps):
        counts = count_edits([list(r) for r in refs], [list(h) for h in hyps])
        return round(100.0 * float(counts[:, 1:].sum()) / float(counts[:, :3].sum()), 2)

    report = {"model": args.model, "backend": args.backend}
    for mode, graph, decoder_mode in (("ctc", args.graph_ctc, "ctc"),
                                      ("paraformer", args.graph_sync, "paraformer")):
        am = load_acoustic_model(args.model, mode=mode, backend=args.backend)
        posteriors = {name: am.posteriors(waves) for name, (_, waves) in sets.items()}
        result = {}
        for name, (refs, _) in sets.items():
            greedy = am.greedy_text(posteriors[name])
            result[f"{name}_greedy_wer"] = wer(refs, greedy)
            result[f"{name}_greedy_cer"] = cer(refs, greedy)
        sweep = {}
        for scale in SCALES:
            decoder = Decoder(graph, DecoderOptions(acoustic_scale=scale), mode=decoder_mode)
            hyps = [" ".join(r.words) for r in
                    decoder.decode_batch([o.logp for o in posteriors["dev"]])]
            sweep[scale] = wer(sets["dev"][0], hyps)
        best = min(sweep, key=lambda s: (sweep[s], s))
        decoder = Decoder(graph, DecoderOptions(acoustic_scale=best), mode=decoder_mode)
        hyps = [" ".join(r.words) for r in
                decoder.decode_batch([o.logp for o in posteriors["test"]])]
        result.update(dev_tlg_wer_by_acoustic_scale=sweep, acoustic_scale=best,
                      test_tlg_wer=wer(sets["test"][0], hyps))
        result["test_relative_wer_reduction"] = round(
            1 - result["test_tlg_wer"] / result["test_greedy_wer"], 3) \
            if result["test_greedy_wer"] else None
        report[mode] = result
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
