"""Tingxie speech recognition: front end, acoustic models, decoder, rescoring, scoring."""


def __getattr__(name):
    # `from asr import Recognizer` without importing the acoustic stack for other users of asr.
    if name == "Recognizer":
        from asr.recognizer import Recognizer
        return Recognizer
    raise AttributeError(f"module 'asr' has no attribute {name!r}")
