"""Every subcommand speaks one vocabulary (asr/cli.py's docstring): every option has help text,
and a flag name means the same thing wherever it appears."""
import argparse

import pytest

from asr.cli import SUBCOMMANDS, build_parser, main
from asr.decoder.options import MODES


def _parsers():
    """(name, parser) for every subcommand and sub-subcommand (lm train, graph compile, ...)."""
    found = []

    def walk(name, parser):
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child, sub in action.choices.items():
                    walk(f"{name} {child}", sub)

    for command in SUBCOMMANDS:
        top = build_parser(command)
        sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
        walk(command, sub.choices[command])
    return found


PARSERS = _parsers()


def _options(parser):
    return [a for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def test_the_walk_finds_every_subcommand():
    names = {name for name, _ in PARSERS}
    assert set(SUBCOMMANDS) <= names
    assert {"lm train", "lm prune", "lm generate", "graph compile"} <= names


@pytest.mark.parametrize("name,parser", PARSERS, ids=[n for n, _ in PARSERS])
def test_every_option_has_help_text(name, parser):
    for action in _options(parser):
        what = f"tingxie {name} {'/'.join(action.option_strings) or action.dest}"
        assert action.help and action.help.strip(), f"{what} has no help text"
        assert "default None" not in action.help, what


@pytest.mark.parametrize("name,parser", PARSERS, ids=[n for n, _ in PARSERS])
def test_flags_mean_the_same_everywhere(name, parser):
    for action in _options(parser):
        flags = action.option_strings
        what = f"tingxie {name} {'/'.join(flags)}"
        if "-o" in flags:
            assert flags in (["-o", "--output"], ["-o", "--output-dir"]), what
        assert not any(f in ("--out", "--outdir", "--num-threads") or f.startswith("--out-")
                       for f in flags), what
        if "--nbest" in flags or "--jobs" in flags or "--threads" in flags:
            assert action.type is int, f"{what} is a count"
        if any(f.endswith("-file") for f in flags):
            assert action.type in (None, str) and action.nargs is None, f"{what} is a file"
        if "--json" in flags:
            assert isinstance(action, argparse._StoreTrueAction), f"{what} is a flag"
        if "--mode" in flags:
            assert tuple(action.choices) == MODES, f"{what}: the model's modes"
        if "--topology" in flags:
            assert tuple(action.choices) == ("ctc", "compact", "sync"), what


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("tingxie ")


def test_usage_errors_exit_2(capsys):
    assert main(["wer", "--mode", "all", "a", "b"]) == 2  # renamed --keys
    err = capsys.readouterr().err
    assert err.startswith("tingxie: error: unrecognized arguments: --mode") and err.count("\n") == 1
    assert main([]) == 2
