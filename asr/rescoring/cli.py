"""`tingxie rescore`: rerank N-best lists (JSONL) or rescore Kaldi text lattices.

N-best (weights from a config written by `tingxie tune`, or given on the command line):
    tingxie rescore --nbest-file nbest.jsonl --config exp/rescore.json -o rescored.jsonl \\
        --text best
    tingxie rescore --nbest-file nbest.jsonl --rescorer ngram=lm5.arpa --lm-weight 0.8 \\
        --first-pass-weight 0 --word-bonus 0.5 --text best
    (add --wav-scp wav.scp for a speech_llm rescorer: it needs each utterance's audio)
A config's weights hold for N-best lists decoded at the acoustic scale it was tuned on: lists
that say they were decoded at another are refused.

Whole lattice (n-gram only: old LM off, new LM on; see asr/rescoring/lattice.py):
    tingxie rescore --lattice lat.txt [--words words.txt] --old-lm lm3.arpa --new-lm lm5.arpa \\
        --am-weight 0.1 --text best -o rescored_lat.txt

Results are written one utterance at a time and flushed: an interrupted run keeps every
finished utterance, and `--resume` skips the keys already in the output.
"""
from __future__ import annotations

import json
import os
import sys

from common.errors import InputError
from common.kaldi import read_wav_scp
from common.textio import check_output_file, numbered_lines, open_text

from .combine import Rescorer, Weights, acoustic_scale_of, load, make_rescorer
from .nbest import read_nbest, write_nbest


def add_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--nbest-file", metavar="FILE",
                        help="N-best JSONL to rerank (`transcribe --nbest N` results.jsonl or "
                             "`decode --nbest N --json` output)")
    source.add_argument("--lattice", metavar="FILE",
                        help="Kaldi text lattice archive (word lattices, e.g. `decode --lattice`)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="rescored N-best JSONL (best first, with scores), or in lattice mode "
                             "the rescored lattices (Kaldi text)")
    parser.add_argument("--text", metavar="FILE",
                        help="best hypothesis per utterance, Kaldi text (key word ...)")
    parser.add_argument("--config", metavar="FILE",
                        help="N-best: rescoring config JSON (from `tingxie tune`)")
    parser.add_argument("--rescorer", action="append", default=[], metavar="[NAME:]TYPE=PATH",
                        help="N-best, instead of --config: ngram=ARPA|KenLM binary, nnlm=DIR, "
                             "llm=DIR, speech_llm=DIR; repeat for several")
    parser.add_argument("--lm-weight", type=float, action="append", default=[],
                        help="N-best: lambda of each --rescorer, in order (default 1 each)")
    parser.add_argument("--first-pass-weight", type=float, default=0.0,
                        help="N-best: weight of the first pass's graph (LM) cost; 0 replaces it "
                             "by the rescorers (default 0)")
    parser.add_argument("--word-bonus", type=float, default=0.0,
                        help="N-best: bonus per hypothesis word (default 0)")
    parser.add_argument("--am-weight", type=float, default=1.0,
                        help="multiplier on the first pass's acoustic costs, which already carry "
                             "the decoder's acoustic scale (default 1)")
    parser.add_argument("--wav-scp", metavar="FILE",
                        help="N-best: Kaldi wav.scp, audio for a speech_llm rescorer")
    parser.add_argument("--resume", action="store_true",
                        help="N-best: skip keys already in --output and append to it")
    parser.add_argument("--words", metavar="FILE",
                        help="lattice mode: words.txt when the lattices hold word ids")
    parser.add_argument("--old-lm", metavar="FILE",
                        help="lattice mode: the first pass's LM (ARPA or binary), subtracted")
    parser.add_argument("--new-lm", metavar="FILE",
                        help="lattice mode: the rescoring LM (ARPA or binary), added")
    parser.add_argument("--old-lm-scale", type=float, default=1.0,
                        help="lattice mode: weight of the old LM's cost removed (default 1)")
    parser.add_argument("--new-lm-scale", type=float, default=1.0,
                        help="lattice mode: weight of the new LM's cost added (default 1)")
    parser.add_argument("--determinize", action="store_true",
                        help="lattice mode: determinise on words first (for state-level "
                             "lattices: the decoder's with determinize_lattice=False, raw "
                             "Kaldi ones; the decoder's default lattice is determinised "
                             "already); costs become totals at --am-weight")


def _rescorer_from_args(args) -> Rescorer:
    if args.config:
        if args.rescorer:
            raise InputError("give either --config or --rescorer, not both")
        return load(args.config)
    from .tune import parse_rescorer_arg

    if not args.rescorer:
        raise InputError("N-best rescoring needs --config or at least one --rescorer")
    specs = [parse_rescorer_arg(text) for text in args.rescorer]
    if args.lm_weight and len(args.lm_weight) != len(specs):
        raise InputError(f"{len(args.lm_weight)} --lm-weight for {len(specs)} --rescorer")
    lambdas = args.lm_weight or [1.0] * len(specs)
    rescorers = {name: make_rescorer(kind, path) for name, kind, path in specs}
    weights = Weights(args.am_weight, args.first_pass_weight, args.word_bonus,
                      {name: w for (name, _, _), w in zip(specs, lambdas)})
    return Rescorer(rescorers, weights)


def _done_keys(path: str) -> set:
    keys = set()
    if not path or not os.path.exists(path):
        return keys
    for _, line in numbered_lines(path):
        try:
            keys.add(json.loads(line)["key"])
        except (ValueError, KeyError, TypeError):
            break  # a torn last line from an interrupted run: rescore that utterance again
    return keys


def _run_nbest(args) -> int:
    rescorer = _rescorer_from_args(args)
    audio_table = ({entry.key: entry for entry in read_wav_scp(args.wav_scp)}
                   if args.wav_scp else None)
    if rescorer.needs_audio and audio_table is None:
        raise InputError("a speech_llm rescorer needs --wav-scp")
    done = _done_keys(args.output) if args.resume else set()
    if done:  # drop a torn last line before appending
        with open_text(args.output) as handle:
            good = [line for line in handle if line.strip() and _is_json(line)]
        with open_text(args.output, "w") as handle:
            handle.writelines(good)
    out = open_text(args.output, "a" if args.resume else "w") if args.output else None
    text = open_text(args.text, "a" if args.resume else "w") if args.text else None
    count = 0
    warned = False
    try:
        for nbest in read_nbest(args.nbest_file):
            if nbest.key in done:
                continue
            scale = acoustic_scale_of([nbest], args.nbest_file)
            rescorer.check_acoustic_scale(scale, f"utterance {nbest.key!r} was decoded",
                                          args.nbest_file)
            if scale is None and rescorer.decoder_acoustic_scale and not warned:
                warned = True
                print(f"tingxie: warning: {args.nbest_file}: utterance {nbest.key!r} does not "
                      f"say which acoustic scale it was decoded at; the weights assume "
                      f"{rescorer.decoder_acoustic_scale:g}", file=sys.stderr)
            audio = None
            if audio_table is not None and rescorer.needs_audio:
                if nbest.key not in audio_table:
                    raise InputError(f"no audio for utterance {nbest.key!r}", path=args.wav_scp)
                entry = audio_table[nbest.key]
                if entry.problem:
                    raise InputError(entry.problem, path=args.wav_scp, line=entry.line)
                from asr.audio import load_audio

                audio = load_audio(entry.path)
            nbest.hyps = rescorer.rescore(nbest, audio=audio)
            if out:
                write_nbest(out, nbest)
                out.flush()
            if text:
                best = nbest.hyps[0].words if nbest.hyps else []
                text.write(" ".join([nbest.key] + best) + "\n")
                text.flush()
            count += 1
    finally:
        for handle in (out, text):
            if handle:
                handle.close()
    print(f"rescored {count} utterances" + (f" ({len(done)} already done)" if done else ""),
          file=sys.stderr)
    return 0


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except ValueError:
        return False


def _run_lattice(args) -> int:
    from .lattice import LatticeRescoreOptions, nbest, read_kaldi_lattices, rescore_lattice
    from .ngram import open_query

    if not args.new_lm:
        raise InputError("lattice rescoring needs --new-lm (and --old-lm to remove the first "
                         "pass's LM score)")
    symbols = None
    if args.words:
        from asr.decoder import read_symbol_table

        symbols = read_symbol_table(args.words)
    new_lm = open_query(args.new_lm)
    old_lm = open_query(args.old_lm) if args.old_lm else None
    options = LatticeRescoreOptions(args.old_lm_scale, args.new_lm_scale,
                                    determinize=args.determinize,
                                    acoustic_scale=args.am_weight)
    text = open_text(args.text, "w") if args.text else None
    out = open_text(args.output, "w") if args.output else None
    count = 0
    try:
        for lattice in read_kaldi_lattices(args.lattice, symbols):
            rescored = rescore_lattice(lattice, new_lm, old_lm, options)
            best = nbest(rescored, 1, 1.0 if args.determinize else args.am_weight)
            if text:
                text.write(" ".join([lattice.key] + (best[0].words if best else [])) + "\n")
                text.flush()
            if out:
                out.write(rescored.to_kaldi_text())
                out.flush()
            count += 1
    finally:
        for handle in (out, text):
            if handle:
                handle.close()
    print(f"rescored {count} lattices", file=sys.stderr)
    return 0


def run(args) -> int:
    outputs = (args.output, args.text)
    if not any(outputs):
        raise InputError("nothing to write: give -o/--output and/or --text")
    for path in outputs:
        if path:
            check_output_file(path)
    if args.lattice:
        return _run_lattice(args)
    return _run_nbest(args)
