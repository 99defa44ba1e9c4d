"""The decoder's and the hotwords' options: one table each, the only place an option is defined.

Each `Option` is what Kaldi's `Register()` says of an option (name, type, default, one line of
help) plus its range, which is its `Check()`. Everything else is derived from the tables:
  - the `DecoderOptions` and `HotwordOptions` dataclasses (fields, defaults, docstrings);
  - the command-line flags of every subcommand that decodes (`add_arguments`: `tingxie decode`
    and `tingxie transcribe`) and the options they give (`from_arguments`);
  - the check (`DecoderOptions.check`, `HotwordOptions.check`), raising InputError;
  - the {name: value} dict the native decoder fills its C++ struct from by name
    (csrc/decoder.h `DecoderOptions::Register`), whose defaults equal this table's CTC-mode
    defaults (tests/test_decoder_options.py).
To add an option: one `Option(...)` line here, one field and one `visit(...)` line in
csrc/decoder.h when the C++ search reads it.

Costs are -ln probabilities. Along a path:
  acoustic_cost = -acoustic_scale * sum over frames t of logp[t, k_t]
                  (k_t: the column the path reads at frame t; skipped blank frames count with
                  their blank column);
  graph_cost    = sum of TLG arc weights + final weight + word_insertion_penalty per word;
  total_cost    = acoustic_cost + graph_cost, the quantity minimised.
Defaults were tuned on synthetic dev posteriors (tools/bench/decoder_synth.py, 200 sentences
sampled from the bench LM), never on the test set: CTC dev WER 4.89% at acoustic_scale 2 (5.26%
at 3, 5.68% at 4, 5.92% at 1), flat in beam 8-16 once min_active is 200 (5.5-5.8% with
min_active 20, at a sixth of the CPU time); Paraformer (label-synchronous) dev WER 0.08% at
acoustic_scale 3 (0.12% at 2, 0.33% at 10). BENCHMARKS.md `## Decoder` has the sweep. The
hotword bonus was tuned on the synthetic dev set (tools/bench/hotwords_eval.py --seed 7
--control 300): the largest of 0.5/0.6/0.75 whose dev control WER rises by at most one word
(0.03) at every acoustic scale 1-10, CTC and Paraformer (1.0 and 1.5: up to +0.23 and +1.39 on
100 dev sentences).
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from common.errors import InputError

# The model's modes (asr.models): "ctc", one posterior row per frame with a blank column;
# "paraformer", one row per output token (label-synchronous search, the graph's "sync"
# topology).
MODES = ("ctc", "paraformer")
INT32_MAX = 2 ** 31 - 1


@dataclass(frozen=True)
class Option:
    name: str
    type: type                      # float, int, bool, or str (a path)
    default: Any                    # None: the mode's default (by_mode) or `none_means`
    help: str                       # one line
    low: Optional[float] = None     # the range: low <= value (low < value when low_open)
    high: Optional[float] = None    #   and value <= high
    low_open: bool = False
    by_mode: Optional[Dict[str, Any]] = None  # default per model mode, when default is None
    none_means: Optional[str] = None  # what a None value means (e.g. "off")
    native_none: Any = None         # the C++ struct's value for None
    modes: Tuple[str, ...] = MODES  # the modes it applies to
    flag: bool = True               # a command-line flag (False: the command sets it itself)
    lattice_only: bool = False      # matters only when a lattice is kept
    native: bool = True             # a field of the C++ struct (False: the Decoder uses it)

    @property
    def flag_name(self) -> str:
        return "--" + self.name.replace("_", "-")

    def default_text(self) -> str:
        if self.by_mode:
            return ", ".join(f"{mode} {value:g}" for mode, value in self.by_mode.items())
        if self.default is None:
            return self.none_means
        return str(self.default).lower() if self.type is bool else f"{self.default:g}"

    def range_text(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None and self.high != INT32_MAX:
            parts.append(f"<= {self.high:g}")
        return " and ".join(parts)

    def check(self, value: Any, what: str) -> Any:
        """The value converted to the option's type; InputError when it is not one or out of
        range. `what` names the option in the message."""
        if value is None:
            if self.default is None:
                return None
            raise InputError(f"{what} must be given (default {self.default_text()})")
        if self.type is bool:
            if not isinstance(value, bool):
                raise InputError(f"{what} must be true or false, got {value!r}")
            return value
        if self.type is str:
            if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
                raise InputError(f"{what} must be a path, got {value!r}")
            return os.fspath(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{what} must be a number, got {value!r}")
        if self.type is int:
            if float(value) != int(value) if math.isfinite(value) else True:
                raise InputError(f"{what} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise InputError(f"{what} must be a finite number, got {value}")
        high = self.high if self.high is not None else (INT32_MAX if self.type is int else None)
        if (self.low is not None and (value < self.low or (self.low_open and value == self.low))
                or high is not None and value > high):
            raise InputError(f"{what} must be {self.range_text() or 'in range'}, got {value:g}")
        return value


def _annotation(option: Option):
    return Optional[option.type] if option.default is None else option.type


DECODER_TABLE: Tuple[Option, ...] = (
    Option("beam", float, 13.0, "prune tokens costlier than the best token + beam",
           low=0, low_open=True),
    Option("max_active", int, 7000, "at most this many tokens per frame (histogram pruning)",
           low=2),
    Option("min_active", int, 200, "keep at least this many tokens per frame (below "
           "max_active)", low=0),
    Option("beam_delta", float, 0.5, "slack added to the beam when max/min_active binds "
           "(Kaldi)", low=0),
    Option("lattice_beam", float, 6.0, "lattice links and N-best paths within this of the "
           "best path are kept", low=0, low_open=True),
    Option("acoustic_scale", float, None, "multiplies the log-posteriors (the inverse of an LM "
           "weight); every acoustic cost written carries it", low=0, low_open=True,
           by_mode={"ctc": 2.0, "paraformer": 3.0}),
    Option("blank_skip_threshold", float, None, "CTC: do not search frames whose blank "
           "probability exceeds this (WeNet's blank skipping)", low=0, high=1, low_open=True,
           none_means="off", native_none=-1.0, modes=("ctc",)),
    Option("word_insertion_penalty", float, 0.0, "graph cost added per output word"),
    Option("nbest", int, 1, "distinct word sequences in Result.nbest, best first, within "
           "lattice_beam of the best (1: first-best only)", low=1, flag=False),
    Option("keep_lattice", bool, False, "also return the lattice (Result.lattice)", flag=False),
    Option("determinize_lattice", bool, True, "with keep_lattice: the word lattice, "
           "determinised and pruned by lattice_beam (WordLattice); false: the pruned "
           "state-level lattice (Lattice)", flag=False),
    Option("lattice_max_states", int, 50000, "determinisation guard: past this many states it "
           "retries with half the lattice beam (WordLattice.beam)", low=1, lattice_only=True),
    Option("lattice_max_arcs", int, 500000, "determinisation guard: past this many arcs it "
           "retries with half the lattice beam", low=1, lattice_only=True),
    Option("big_lm", str, None, "an n-gram LM (ARPA or binary) applied during the search: each "
           "word costs -ln P under it minus -ln P under the graph's own LM (small_lm), as "
           "Kaldi's biglm decoder does", none_means="off", native=False),
    Option("small_lm", str, None, "with big_lm: the LM the graph was compiled from (ARPA or "
           "binary), whose costs are taken back out", none_means="the graph directory's lm.bin",
           native=False),
    Option("prune_interval", int, 25, "lattice mode: prune the lattice every this many frames "
           "(incremental, as Kaldi's prune-interval)", low=1, lattice_only=True),
)

HOTWORD_TABLE: Tuple[Option, ...] = (
    Option("bonus", float, 0.6, "cost lowered per matched hotword token, x its weight, in "
           "log-posterior units (x acoustic_scale)", low=0, high=10),
    Option("default_weight", float, 1.0, "weight of hotword entries that give none", low=0,
           low_open=True),
    Option("max_weight", float, 10.0, "largest weight of a hotword entry; larger ones are "
           "lowered to it, with a warning (a weight of 1e30 would swamp every other cost)",
           low=0, low_open=True, high=1e6),
    Option("cap", float, 30.0, "most hotword bonus kept per utterance (log-posterior units)",
           low=0),
    Option("oov_cost", float, 10.0, "graph cost (-ln, unscaled) of entering a hotword the "
           "graph cannot output", low=0),
)


def _docstring(title: str, table: Sequence[Option]) -> str:
    lines = [title, ""]
    for o in table:
        lines.append(f"{o.name} ({o.type.__name__}, default {o.default_text()}): {o.help}")
    return "\n".join(lines)


class _OptionsMixin:
    TABLE: Tuple[Option, ...] = ()
    LABEL = ""

    def check(self, mode: Optional[str] = None):
        """A checked copy, values converted to their types; InputError naming the option
        (and its flag) when a value is of the wrong type or out of range, or when an option
        is set that does not apply to `mode`."""
        values = {}
        for o in self.TABLE:
            what = f"{self.LABEL} option {o.name}"
            if o.flag:
                what += f" ({self.FLAG_PREFIX}{o.flag_name[2:]})"
            value = o.check(getattr(self, o.name), what)
            if mode is not None and mode not in o.modes and value not in (None, o.default):
                raise InputError(f"{what} applies to {' and '.join(o.modes)} mode only, not "
                                 f"{mode}")
            values[o.name] = value
        checked = dataclasses.replace(self, **values)
        checked._check_together()
        return checked

    def _check_together(self) -> None:
        pass

    def as_dict(self) -> Dict[str, Any]:
        return {o.name: getattr(self, o.name) for o in self.TABLE}


class _DecoderOptionsMethods(_OptionsMixin):
    TABLE = DECODER_TABLE
    LABEL = "decoder"
    FLAG_PREFIX = "--"

    def _check_together(self) -> None:
        if self.small_lm is not None and self.big_lm is None:
            raise InputError("decoder option small_lm (--small-lm) is used only with big_lm "
                             "(--big-lm)")
        if self.min_active >= self.max_active:
            raise InputError(f"decoder option min_active (--min-active {self.min_active}) must "
                             f"be below max_active (--max-active {self.max_active})")

    def effective(self, mode: str):
        """Checked, with the mode's defaults filled in: the options a search in `mode` runs
        with (what outputs record)."""
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        checked = self.check(mode)
        filled = {o.name: o.by_mode[mode] for o in self.TABLE
                  if o.by_mode and getattr(checked, o.name) is None}
        return dataclasses.replace(checked, **filled)

    def native(self, mode: str, blank_column: int) -> Dict[str, Any]:
        """{name: value} for the C++ struct (csrc/decoder.h), every field given."""
        effective = self.effective(mode)
        values = {o.name: o.native_none if getattr(effective, o.name) is None
                  else getattr(effective, o.name) for o in self.TABLE if o.native}
        values["ctc"] = mode == "ctc"
        values["blank_column"] = int(blank_column)
        return values


class _HotwordOptionsMethods(_OptionsMixin):
    TABLE = HOTWORD_TABLE
    LABEL = "hotword"
    FLAG_PREFIX = "--hotword-"


def _make(name: str, table, methods, title: str):
    cls = dataclasses.make_dataclass(
        name, [(o.name, _annotation(o), dataclasses.field(default=o.default,
                                                           metadata={"option": o}))
               for o in table], bases=(methods,))
    cls.__module__ = __name__
    cls.__doc__ = _docstring(title, table)
    return cls


DecoderOptions = _make("DecoderOptions", DECODER_TABLE, _DecoderOptionsMethods,
                       "Search options (asr/decoder/options.py DECODER_TABLE). None for "
                       "acoustic_scale: the mode's default.")
HotwordOptions = _make("HotwordOptions", HOTWORD_TABLE, _HotwordOptionsMethods,
                       "Hotword options (asr/decoder/options.py HOTWORD_TABLE). `bonus` and "
                       "`cap` are in log-posterior units, like WeNet's context score: a matched "
                       "token lowers the path cost by bonus x weight x acoustic_scale, so their "
                       "effect does not shrink when the acoustic scale grows; `oov_cost` stands "
                       "for the LM's probability of an unknown word, in graph cost units.")


# --- command-line flags ------------------------------------------------------------------------
DECODER_DEST = "decoder__"
HOTWORD_DEST = "hotword__"


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _add_table(group, table, dest_prefix: str, flag_prefix: str, lattice: bool) -> None:
    for o in table:
        if not o.flag or (o.lattice_only and not lattice):
            continue
        kind = _parse_bool if o.type is bool else o.type
        text = o.help + f" (default {o.default_text()}"
        text += f"; {o.range_text()})" if o.range_text() else ")"
        group.add_argument(flag_prefix + o.flag_name[2:], dest=dest_prefix + o.name,
                           default=None, type=kind,
                           metavar={bool: "BOOL", str: "PATH"}.get(o.type, o.type.__name__.upper()),
                           help=text)


def add_arguments(parser: argparse.ArgumentParser, lattice: bool = False) -> None:
    """The decoder and hotword flags (every flagged option of both tables); `lattice`: also
    the options that matter only when the command writes lattices."""
    group = parser.add_argument_group("decoder options (asr.decoder.DecoderOptions)")
    _add_table(group, DECODER_TABLE, DECODER_DEST, "--", lattice)
    group = parser.add_argument_group("hotword options (asr.decoder.HotwordOptions; with "
                                      "--hotwords)")
    _add_table(group, HOTWORD_TABLE, HOTWORD_DEST, "--hotword-", lattice)


def from_arguments(args: argparse.Namespace) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(decoder options, hotword options) given on the command line, by name (those not
    given are left out: their defaults apply)."""
    def given(prefix):
        return {name[len(prefix):]: value for name, value in vars(args).items()
                if name.startswith(prefix) and value is not None}
    return given(DECODER_DEST), given(HOTWORD_DEST)


def make_options(cls, values: Optional[Mapping[str, Any]] = None, **more):
    """cls (DecoderOptions or HotwordOptions) from {name: value}, an unknown name being an
    InputError that lists the known ones; an instance of cls is returned as it is."""
    if isinstance(values, cls) and not more:
        return values
    values = dict(dataclasses.asdict(values) if isinstance(values, cls) else values or {},
                  **more)
    known = [o.name for o in cls.TABLE]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"unknown {cls.LABEL} options {', '.join(unknown)}; "
                         f"{cls.__name__} has {', '.join(known)}")
    return cls(**values)
