"""`tingxie decode`: decode log-posteriors from an .npz file against a graph directory.

Each array in the .npz (key -> float32 [T, V]) is one utterance; keys containing `__` are
metadata and skipped. The 1-best goes to a Kaldi text file (`key word word ...`), or with
--json JSON lines (asr/hypothesis.py's format: words, tokens, times, costs and the acoustic
scale they carry, N-best as `hyps`, so `tingxie rescore` and `tune` read them). Lines are written and flushed as utterances finish, so an interrupted run keeps what
it decoded; a bad utterance is reported (file, key, problem) and skipped, and the exit status
is 1 if any was (2: bad input or usage). With --lattice, each utterance's word lattice goes to
a Kaldi CompactLattice text archive.
"""
from __future__ import annotations

import json
import sys
import time
import zipfile

import numpy as np

from asr.hypothesis import utterance_json
from common.errors import InputError

CHUNK = 32  # utterances handed to one decode_batch call


def add_arguments(p):
    from asr.decoder import options

    p.add_argument("--graph", required=True, help="graph directory (tingxie graph compile)")
    p.add_argument("--posteriors", required=True, help=".npz: key -> float32 [T, V] log-posteriors")
    p.add_argument("--mode", choices=options.MODES, default=None,
                   help="ctc (a posterior row per frame, with blank) or paraformer (a row per "
                   "token); default: the graph's topology (sync: paraformer, else ctc)")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the 1-best, Kaldi text (key word ...)")
    p.add_argument("--json", action="store_true",
                   help="write --output as JSON lines instead of text: words, word frames, "
                   "tokens, costs, the acoustic scale they carry, N-best")
    p.add_argument("--lattice", metavar="FILE", help="also write each utterance's word lattice (determinised, "
                   "pruned by --lattice-beam) to this Kaldi CompactLattice text archive, "
                   "words from words.txt (`tingxie rescore --lattice` reads it)")
    p.add_argument("--nbest", type=int, default=1, metavar="N",
                   help="distinct word sequences per utterance in the JSON lines, best first, "
                   "within --lattice-beam of the best (default 1)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="decoding threads (default: all cores)")
    p.add_argument("--hotwords", metavar="FILE", help="hotword file: `word-or-phrase [weight]` per line "
                   "(FunASR's format); words outside the graph are spelled by its rule")
    options.add_arguments(p, lattice=True)


def _open_npz(path):
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise InputError(f"not a readable .npz file ({err})", path) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy renamed, one bare array
        raise InputError("a single .npy array, not an .npz archive of utterances (save with "
                         "numpy.savez(path, key=array, ...))", path)
    return loaded


def run(args) -> int:
    from asr.decoder import Decoder, options
    from common.textio import check_output_file

    for path in (args.output, args.lattice):
        if path:
            check_output_file(path)

    if args.threads is not None and args.threads < 1:
        raise InputError("--threads must be at least 1")
    decoder_options, hotword_options = options.from_arguments(args)
    decoder_options.update(nbest=args.nbest, keep_lattice=bool(args.lattice))
    decoder = Decoder(args.graph, decoder_options, mode=args.mode,
                      hotword_options=hotword_options)
    print(f"tingxie decode: {decoder.mode} mode, options in effect "
          f"{json.dumps(decoder.options.as_dict())}", file=sys.stderr)
    hotwords = None
    if args.hotwords:
        import warnings
        with warnings.catch_warnings():  # the problems are printed below
            warnings.simplefilter("ignore")
            hotwords = decoder.compile_hotwords(args.hotwords)  # OOV names included
        for problem in hotwords.problems:
            print(f"tingxie: warning: {problem}", file=sys.stderr)
        print(f"tingxie decode: {len(hotwords.entries)} hotwords", file=sys.stderr)
    npz = _open_npz(args.posteriors)
    keys = [k for k in npz.files if "__" not in k]
    if not keys:
        raise InputError("no utterances (every key contains '__')", args.posteriors)

    failed = 0
    done = 0
    start = time.time()
    with open(args.output, "w", encoding="utf-8") as hyp_out, \
            (open(args.lattice, "w", encoding="utf-8") if args.lattice else _Null()) as lat_out:
        for begin in range(0, len(keys), CHUNK):
            chunk_keys, arrays = [], []
            for key in keys[begin:begin + CHUNK]:
                try:
                    arrays.append(npz[key])
                    chunk_keys.append(key)
                except (ValueError, OSError, zipfile.BadZipFile) as err:
                    failed += _report(args.posteriors, key, f"cannot read array: {err}")
            try:
                results = decoder.decode_batch(arrays, hotwords=hotwords,
                                               num_threads=args.threads)
            except InputError:
                # find the bad ones one by one; the good ones are still decoded
                results = []
                for key, array in zip(chunk_keys, arrays):
                    try:
                        results.append(decoder.decode(array, hotwords=hotwords))
                    except InputError as err:
                        failed += _report(args.posteriors, key, err.message)
                        results.append(None)
            for key, result in zip(chunk_keys, results):
                if result is None:
                    continue
                if args.json:
                    hyp_out.write(json.dumps(_record(key, result), ensure_ascii=False) + "\n")
                else:
                    hyp_out.write(" ".join([key] + result.words) + "\n")
                if args.lattice:
                    lat_out.write(result.lattice.kaldi_text(key))
                done += 1
            hyp_out.flush()
            lat_out.flush()
            print(f"tingxie decode: {done + failed}/{len(keys)} utterances "
                  f"({time.time() - start:.1f} s)", file=sys.stderr)
    if failed:
        print(f"tingxie decode: {failed} utterance(s) skipped, {done} decoded", file=sys.stderr)
        return 1
    return 0


def _report(path, key, message) -> int:
    print(f"tingxie: error: {path}: utterance {key}: {message}", file=sys.stderr)
    return 1


def _record(key, r) -> dict:
    return utterance_json(key, r, r.nbest, word_frames=[list(f) for f in r.word_frames],
                          reached_final=r.reached_final)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, _):
        pass

    def flush(self):
        pass
