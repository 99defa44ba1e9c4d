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

The contract every subcommand keeps on bad input (tests/test_cli_contract.py checks it):
status 2 with one line `tingxie: error: PATH[:LINE]: problem` on stderr (usage errors too);
status 1 with a line per failed item; warnings as `tingxie: warning: ...`; a reader that goes
away (`tingxie lm info x.arpa | head -1`) ends the command quietly; never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import warnings

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

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one `tingxie: error:` line, like every other error."""

    def error(self, message):
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="tingxie", description=__doc__.splitlines()[0])
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


def _reject_nan(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """argparse's float() takes 'nan'; no option of any subcommand means anything by it."""
    for name, value in vars(args).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, float) and math.isnan(v) for v in values):
            raise _UsageError(f"argument {_flag_of(parser, name) or name}: NaN is not a "
                              "usable value")


def _flag_of(parser: argparse.ArgumentParser, dest: str):
    """The option string (e.g. --hotword-bonus) that sets `dest`, searching subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found = _flag_of(sub, dest)
                if found:
                    return found
        elif action.dest == dest and action.option_strings:
            return max(action.option_strings, key=len)
    return None


def show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"tingxie: warning: {message}", file=sys.stderr)


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away (`| head`): stop quietly, as `yes | head` does. Later
    writes (and Python's final flush) go to /dev/null instead of raising again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 128 + 13  # the shell's status for a process ended by SIGPIPE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in argv if not a.startswith("-")), None)
    if chosen not in SUBCOMMANDS:
        chosen = None
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            parser = build_parser(chosen)
            args = parser.parse_args(argv)
            if not getattr(args, "run", None):
                raise _UsageError(f"a COMMAND is needed: {', '.join(SUBCOMMANDS)} (see "
                                  "`tingxie --help`)")
            _reject_nan(parser, args)
            status = int(args.run(args) or 0)
            sys.stdout.flush()
            return status
        except _UsageError as err:
            print(f"tingxie: error: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except InputError as err:
            print(f"tingxie: error: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except BrokenPipeError:
            return _quiet_broken_pipe()
        except OSError as err:  # an output path in a missing directory, a full disk, ...
            where = f"{err.filename}: " if err.filename else ""
            print(f"tingxie: error: {where}{err.strerror or err}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("tingxie: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
