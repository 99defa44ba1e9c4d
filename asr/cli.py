"""`tingxie`: one command, subcommands that mirror the Python API.

Each subcommand lives next to the code it drives and exposes `add_arguments(parser)` and
`run(args) -> int`. Modules are imported only when their subcommand is chosen, so
`tingxie wer` does not pay for importing torch.

One vocabulary across subcommands (tests/test_cli_vocabulary.py holds them to it):
  --mode ctc|paraformer     the acoustic model's mode (a graph's --topology is ctc|compact|sync)
  -o, --output FILE         the command's output file; -o, --output-dir DIR when a directory
  --nbest N                 always a count; an N-best file is --nbest-file FILE
  --json                    output JSON instead of text (a flag, never a file name)
  --threads N               threads inside one process; --jobs N: worker processes
  exit status               0 ok, 1 some items failed (the rest was done), 2 bad input or usage
Decoder and hotword flags come from one table (asr/decoder/options.py).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from common.errors import InputError

# name -> (module, one-line help)
SUBCOMMANDS = {
    "lm": ("lm.cli", "n-gram language models: train, ppl, prune, generate, info"),
    "graph": ("graph.cli", "compile T, L and G into a TLG decoding graph"),
    "decode": ("asr.decoder.cli", "decode posteriors (.npz) against a compiled graph"),
    "transcribe": ("asr.transcribe", "transcribe audio with an acoustic model and a graph"),
    "rescore": ("asr.rescoring.cli", "rescore N-best lists or lattices"),
    "tune": ("asr.rescoring.tune", "grid-search rescoring weights on a dev set"),
    "wer": ("asr.scoring.cli", "word / character error rate between Kaldi text files"),
}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tingxie", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tingxie {_version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(run=module.run)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("tingxie")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    if chosen not in SUBCOMMANDS:
        chosen = None
    parser = build_parser(chosen)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except InputError as err:
        print(f"tingxie: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tingxie: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
