"""The options tables (asr/decoder/options.py) are the one definition of the decoder's and the
hotwords' options: the dataclasses, the C++ struct, the flags and the check agree with them."""
import dataclasses
import math

import pytest

from asr.decoder import _native, options
from asr.decoder.options import DECODER_TABLE, HOTWORD_TABLE, DecoderOptions, HotwordOptions
from asr.cli import build_parser
from common.errors import InputError


def test_the_cpp_struct_has_the_tables_fields_and_ctc_defaults():
    native = _native.default_options()
    # the two fields the Decoder sets from the graph and the mode, not user options
    assert native.pop("ctc") is True and native.pop("blank_column") == 0
    assert set(native) == {o.name for o in DECODER_TABLE if o.native}
    for o in DECODER_TABLE:
        if not o.native:
            continue
        if o.by_mode:
            expected = o.by_mode["ctc"]  # the C++ struct's mode is CTC
        elif o.default is None:
            expected = o.native_none
        else:
            expected = o.default
        assert type(native[o.name]) is o.type, o.name
        assert math.isclose(native[o.name], expected, rel_tol=1e-7), o.name


def test_the_dataclasses_are_the_tables():
    for cls, table in ((DecoderOptions, DECODER_TABLE), (HotwordOptions, HOTWORD_TABLE)):
        fields = dataclasses.fields(cls)
        assert [f.name for f in fields] == [o.name for o in table]
        assert [f.default for f in fields] == [o.default for o in table]
        for o in table:
            assert o.help and o.name in cls.__doc__


def test_effective_options_fill_the_mode_defaults():
    assert DecoderOptions().effective("ctc").acoustic_scale == 2.0
    assert DecoderOptions().effective("paraformer").acoustic_scale == 3.0
    assert DecoderOptions(acoustic_scale=5).effective("paraformer").acoustic_scale == 5.0
    native = DecoderOptions(nbest=3).native("paraformer", 7)
    assert native["ctc"] is False and native["blank_column"] == 7 and native["nbest"] == 3
    assert native["blank_skip_threshold"] == -1.0 and native["acoustic_scale"] == 3.0


@pytest.mark.parametrize("values,mode,message", [
    ({"beam": -1.0}, "ctc", "--beam"),
    ({"beam": float("nan")}, "ctc", "finite"),
    ({"beam": "13"}, "ctc", "number"),
    ({"max_active": 1}, "ctc", ">= 2"),
    ({"max_active": 2.5}, "ctc", "whole number"),
    ({"max_active": 2 ** 40}, "ctc", "--max-active"),
    ({"min_active": 500, "max_active": 400}, "ctc", "below max_active"),
    ({"acoustic_scale": 0.0}, "paraformer", "> 0"),
    ({"blank_skip_threshold": 1.5}, "ctc", "<= 1"),
    ({"blank_skip_threshold": 0.9}, "paraformer", "ctc mode only"),
    ({"nbest": 0}, "ctc", "nbest"),
    ({"keep_lattice": 1}, "ctc", "true or false"),
])
def test_a_bad_decoder_option_is_an_input_error(values, mode, message):
    with pytest.raises(InputError, match=message):
        DecoderOptions(**values).effective(mode)


@pytest.mark.parametrize("values,message", [
    ({"bonus": -1.0}, "--hotword-bonus"),
    ({"default_weight": 0.0}, "> 0"),
    ({"cap": float("inf")}, "finite"),
])
def test_a_bad_hotword_option_is_an_input_error(values, message):
    with pytest.raises(InputError, match=message):
        HotwordOptions(**values).check()


def test_unknown_option_names_are_input_errors():
    with pytest.raises(InputError, match="unknown decoder options bean"):
        options.make_options(DecoderOptions, {"bean": 3})
    with pytest.raises(InputError, match="unknown hotword options"):
        options.make_options(HotwordOptions, {"bonnus": 3})


def _flags(command):
    parser = build_parser(command)
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {flag: action for action in sub._actions for flag in action.option_strings}


def test_decode_and_transcribe_take_every_flagged_option_from_the_table():
    decode, transcribe = _flags("decode"), _flags("transcribe")
    def generated(flags, o):
        return o.flag_name in flags and flags[o.flag_name].dest == options.DECODER_DEST + o.name

    for o in DECODER_TABLE:
        assert generated(decode, o) == o.flag, o.name
        assert generated(transcribe, o) == (o.flag and not o.lattice_only), o.name
    for o in HOTWORD_TABLE:
        flag = "--hotword-" + o.flag_name[2:]
        assert flag in decode and flag in transcribe
        assert decode[flag].help == transcribe[flag].help
    for flags in (decode, transcribe):
        for action in flags.values():
            assert "default None" not in (action.help or ""), action.option_strings
