"""`tingxie`: one command, subcommands that mirror the Python API.

Each subcommand lives next to the code it drives and exposes `add_arguments(parser)` and
`run(args) -> int`. Modules are imported only when their subcommand is chosen, so
`tingxie wer` does not pay for importing torch.
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(run=module.run)
    return parser


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
