"""`Recognizer`: audio in, words with times out, in one object: the acoustic model
(asr.models), optionally a compiled TLG graph searched by the native decoder (asr.decoder), or
greedy decoding when no graph is given.

    from asr import Recognizer
    rec = Recognizer("resources/demo/model", graph="resources/demo/graph", beam=13.0)
    print(rec.transcribe("resources/demo/test/wav/test_00000.wav").text)

`transcribe(x)` takes a path, a float32 mono array at the model's sample rate, or a list of
either (then returns a list). `posteriors(x)` stops after the acoustic model; `decode(output)`
starts from one posterior matrix (an AcousticOutput or a [T, V] log-probability array), for
users who bring their own acoustic model. Options are the `tingxie transcribe` options:
`mode`, `backend`, `num_threads`, `nbest`, plus any field of asr.decoder.DecoderOptions.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from asr.models.base import SPECIAL_TOKENS  # never part of a greedy transcript
from asr.hypothesis import Hypothesis, utterance_json
from common.errors import InputError
from common.token_words import TokenWords

from asr.decoder.options import MODES


@dataclass
class Transcript(Hypothesis):
    """The recogniser's answer for one utterance: its best hypothesis (words with `times` in
    seconds, tokens, costs), and what came with it."""
    nbest: Optional[List[Hypothesis]] = None   # the N best, best first, when nbest > 1
    duration: Optional[float] = None           # seconds of audio, when the input was audio
    reached_final: Optional[bool] = None       # False: the search's best non-final path
    # long input cut by the voice-activity detector (Recognizer.transcribe_long): one record
    # per segment, {"start", "end"} seconds and its utterance JSON, times on the file's timeline
    segments: Optional[List[Dict[str, Any]]] = None

    def to_json(self, key: Optional[str] = None) -> Dict[str, Any]:
        if key is None and not self.nbest and self.duration is None \
                and self.reached_final is None and self.segments is None:
            return Hypothesis.to_json(self)
        fields: Dict[str, Any] = {}
        if self.duration is not None:
            fields["duration"] = round(float(self.duration), 3)
        if self.reached_final is not None:
            fields["reached_final"] = self.reached_final
        if self.segments is not None:
            fields["segments"] = self.segments
        return utterance_json(key, self, self.nbest, **fields)


class Recognizer:
    """Acoustic model + (optional) graph + decoder options, loaded once, used many times."""

    def __init__(self, model: Union[str, Any], graph: Optional[str] = None, *,
                 mode: Optional[str] = None, backend: str = "auto", num_threads: int = 1,
                 nbest: int = 1, hotwords: Optional[Any] = None,
                 rescore: Optional[Any] = None, rescore_nbest: int = 10,
                 hotword_options: Optional[Any] = None, **decoder_options: Any):
        """mode None: the graph's topology decides (sync -> paraformer, else ctc); without a
        graph, the model's own: "ctc" when it has a CTC head, else "paraformer" (FunASR's
        published Paraformers have none; asr.models.base.default_mode). `rescore`: a rescoring config file
        (written by `tingxie tune`) or an asr.rescoring.Rescorer; the decoder's best
        `rescore_nbest` hypotheses are reranked by it and the winner is the transcript.
        `decoder_options`: fields of asr.decoder.DecoderOptions; `hotword_options`: an
        asr.decoder.HotwordOptions or a dict of its fields."""
        if mode is not None and mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if isinstance(nbest, bool) or not isinstance(nbest, int) or nbest < 1:
            raise InputError(f"nbest must be a whole number of at least 1, not {nbest!r}")
        self.nbest = nbest
        self.hotwords = hotwords
        if rescore is not None and graph is None:
            raise InputError("rescoring needs a graph (greedy decoding has no N-best list)")
        if isinstance(rescore_nbest, bool) or not isinstance(rescore_nbest, int) \
                or rescore_nbest < 1:
            raise InputError(f"rescore_nbest must be a whole number of at least 1, not "
                             f"{rescore_nbest!r}")
        self.rescore_nbest = rescore_nbest if rescore is not None else 0
        self.decoder = None
        if graph is not None:  # first: a bad graph fails before the slow model load
            from asr.decoder import Decoder, DecoderOptions
            from asr.decoder.options import make_options
            options = make_options(DecoderOptions, decoder_options)
            options.nbest = max(nbest, self.rescore_nbest)
            self.decoder = Decoder(os.fspath(graph), options, mode=mode,
                                   hotword_options=hotword_options)
            mode = self.decoder.mode
            if hotwords is not None:  # spelled and compiled once, reused for every utterance
                self.hotwords = self.decoder.compile_hotwords(hotwords)
        elif decoder_options or hotword_options is not None:
            given = sorted(decoder_options) + (["hotword_options"] if hotword_options else [])
            raise InputError(f"decoder options {given} need a graph (greedy decoding has none)")
        self.rescorer = rescore
        if isinstance(rescore, (str, os.PathLike)):
            import asr.rescoring
            self.rescorer = asr.rescoring.load(os.fspath(rescore))
        if self.rescorer is not None and hasattr(self.rescorer, "check_acoustic_scale"):
            self.rescorer.check_acoustic_scale(
                self.decoder.acoustic_scale, "the decoder searches",
                os.fspath(rescore) if isinstance(rescore, (str, os.PathLike)) else None)
        if isinstance(model, (str, os.PathLike)):  # mode None: the model's own (default_mode)
            from asr.models import load_acoustic_model
            model = load_acoustic_model(os.fspath(model), mode=mode, backend=backend,
                                        num_threads=num_threads)
        if mode is None:
            mode = getattr(model, "mode", None) if getattr(model, "mode", None) in MODES \
                else "ctc"
        self.mode = mode
        self.model = model
        self.tokens: List[str] = list(model.tokens)
        self.sample_rate: int = int(model.sample_rate)
        self.frame_shift: float = float(model.frame_shift)
        if self.decoder is not None and list(self.decoder.tokens) != self.tokens:
            raise InputError(_token_mismatch(list(self.decoder.tokens), self.tokens),
                             path=os.fspath(graph))
        self.blank = self.tokens.index("<blank>") if "<blank>" in self.tokens else 0
        self._vad = None  # asr.segment.SileroVad, made by the first transcribe_long
        self.token_words = (self.decoder.graph.token_words() if self.decoder is not None
                            else TokenWords(self.tokens))

    # --- audio -> posteriors -------------------------------------------------------------
    def load(self, path: str) -> np.ndarray:
        """Audio file -> float32 mono at the model's rate (mixed down, resampled); InputError
        for unusable audio (asr.audio.load_audio)."""
        from asr.audio import load_audio
        return load_audio(os.fspath(path), sample_rate=self.sample_rate)

    def posteriors(self, audio):
        """Acoustic model outputs (.logp [T, V], .token_times) for a path, array or list."""
        single = not isinstance(audio, (list, tuple))
        waves = [self._wave(a) for a in ([audio] if single else audio)]
        outputs = self.model.posteriors(waves)
        return outputs[0] if single else outputs

    def _wave(self, audio) -> np.ndarray:
        if isinstance(audio, (str, os.PathLike)):
            return self.load(audio)
        from asr.audio import check_samples
        return check_samples(audio, self.sample_rate)

    # --- posteriors -> words -------------------------------------------------------------
    def decode(self, output, hotwords: Optional[Any] = None,
               audio: Optional[np.ndarray] = None) -> Transcript:
        """Decode one AcousticOutput (or a [T, V] log-probability array). `audio` (the
        waveform) is needed only by audio-conditioned rescorers (speech LLMs)."""
        try:
            logp = np.asarray(getattr(output, "logp", output), dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise InputError(f"posteriors must be a [T, V] array of numbers ({err})") from None
        token_times = getattr(output, "token_times", None)
        if logp.ndim != 2 or logp.shape[1] != len(self.tokens):
            raise InputError(f"posteriors must be [T, {len(self.tokens)}], got {logp.shape}")
        if self.decoder is None:
            return self._greedy(logp, token_times)
        result = self.decoder.decode(logp, hotwords=hotwords or self.hotwords)
        best = self._timed(result, token_times)
        candidates = [self._timed(h, token_times) for h in result.nbest]
        if self.rescorer is not None and candidates:
            candidates = self._rescore(candidates[:self.rescore_nbest], audio)
            best = candidates[0]
        transcript = Transcript(**{f.name: getattr(best, f.name)
                                   for f in dataclasses.fields(Hypothesis)},
                                reached_final=bool(result.reached_final))
        if self.nbest > 1 and candidates:
            transcript.nbest = candidates[:self.nbest]
        return transcript

    def _rescore(self, candidates: List[Hypothesis], audio) -> List[Hypothesis]:
        """The first pass's candidates reranked, best first, with their rescoring `scores`
        and `total`, and their first-pass rank (extra["first_pass_rank"])."""
        if getattr(self.rescorer, "needs_audio", False) and audio is None:
            raise InputError("this rescorer scores with the audio: pass audio= to decode()")
        for rank, hyp in enumerate(candidates):
            hyp.extra["first_pass_rank"] = rank
        return self.rescorer.rescore(candidates, audio=audio)

    def transcribe(self, audio, hotwords: Optional[Any] = None, batch_size: int = 8):
        """Path, array, or a list of them -> Transcript (or a list of Transcripts). A list
        goes through the acoustic model `batch_size` utterances at a time."""
        single = not isinstance(audio, (list, tuple))
        items = [audio] if single else list(audio)
        transcripts = []
        for start in range(0, len(items), max(1, batch_size)):
            waves = [self._wave(a) for a in items[start:start + batch_size]]
            for wave, output in zip(waves, self.model.posteriors(waves)):
                transcript = self.decode(output, hotwords=hotwords, audio=wave)
                transcript.duration = len(wave) / self.sample_rate
                transcripts.append(transcript)
        return transcripts[0] if single else transcripts

    def transcribe_long(self, audio, options=None, hotwords: Optional[Any] = None,
                        done: Optional[Dict[Tuple[float, float], Dict[str, Any]]] = None,
                        on_segment=None) -> Transcript:
        """A path (read in blocks) or a float32 array of any length: cut into speech
        segments by the voice-activity detector (asr.segment.SegmentOptions), segments
        through the acoustic model `options.batch_seconds` of audio at a time, each decoded
        on its own; words and times on the file's timeline, and `segments` in the
        Transcript. `done` maps (start, end) to segment records already made (a resumed
        file: they are not decoded again); `on_segment(record)` is called as each finishes.
        No speech: an empty transcript."""
        from asr.segment import SegmentOptions, batches, find_segments, read_span
        options = (options or SegmentOptions()).check()
        if self._vad is None:
            from asr.segment import SileroVad
            self._vad = SileroVad()
        is_path = isinstance(audio, (str, os.PathLike))
        wave = None if is_path else self._wave(audio)
        spans, total = find_segments(audio if is_path else wave, self.sample_rate, options,
                                     self._vad)
        done = dict(done or {})
        records: Dict[Tuple[float, float], Dict[str, Any]] = {
            span: done[span] for span in spans if span in done}
        todo = [span for span in spans if span not in records]
        rate = self.sample_rate
        for group in batches(todo, options.batch_seconds):
            waves = [read_span(audio, *todo[i], rate) if is_path
                     else wave[int(todo[i][0] * rate):int(todo[i][1] * rate)] for i in group]
            keep = [k for k, w in enumerate(waves) if len(w) >= 0.025 * rate]
            outputs = self.model.posteriors([waves[k] for k in keep])
            for k, output in zip(keep, outputs):
                start, end = todo[group[k]]
                piece = self.decode(output, hotwords=hotwords, audio=waves[k])
                record = {"start": start, "end": end,
                          **_shifted(piece, start).to_json(key=None)}
                records[(start, end)] = record
                if on_segment is not None:
                    on_segment(record)
        ordered = [records[span] for span in spans if span in records]
        return _joined(ordered, total)

    def _greedy(self, logp: np.ndarray, token_times) -> Transcript:
        best = logp.argmax(axis=1)
        spans: List[Tuple[int, int, int]] = []  # (token id, first row, last row)
        if self.mode == "ctc":
            previous = -1
            for frame, unit in enumerate(best.tolist()):
                if unit != self.blank and unit != previous:
                    spans.append((unit, frame, frame))
                elif unit == previous and unit != self.blank:
                    spans[-1] = (unit, spans[-1][1], frame)
                previous = unit
        else:
            spans = [(unit, row, row) for row, unit in enumerate(best.tolist())]
        spans = [s for s in spans if self.tokens[s[0]] not in SPECIAL_TOKENS]
        tokens = [self.tokens[unit] for unit, _, _ in spans]
        words, times = [], []
        for text, first, last in self.token_words.group(tokens):
            words.append(text)
            times.append(self._span_seconds(spans[first][1], spans[last][2], token_times))
        score = float(logp[np.arange(len(best)), best].sum())
        return Transcript(words, acoustic_cost=-score, acoustic_scale=1.0, tokens=tokens,
                          times=times, token_columns=[unit for unit, _, _ in spans])

    def _span_seconds(self, first_row: int, last_row: int, token_times):
        """Times of posterior rows first_row..last_row (inclusive): frames (CTC), or token
        positions with the model's token_times (Paraformer; None when it gives none)."""
        if self.mode == "ctc":
            return (round(first_row * self.frame_shift, 6),
                    round((last_row + 1) * self.frame_shift, 6))
        if token_times is None or len(token_times) <= last_row:
            return None, None
        return float(token_times[first_row][0]), float(token_times[last_row][1])

    def _timed(self, hyp: Hypothesis, token_times) -> Hypothesis:
        """A decoder hypothesis with its words' times in seconds."""
        times = [self._span_seconds(int(first), int(last), token_times)
                 for first, last in hyp.word_frames]
        return dataclasses.replace(hyp, times=times, scores={}, extra={})


def _shifted(transcript: Transcript, seconds: float) -> Transcript:
    """Word times moved by `seconds` (a segment's start on the file's timeline)."""
    def move(t):
        return None if t is None else round(t + seconds, 6)
    transcript.times = [(move(start), move(end)) for start, end in transcript.times]
    return transcript


def _joined(segments: List[Dict[str, Any]], duration: float) -> Transcript:
    """The transcript of a whole file from its segment records (in time order): words,
    tokens and times joined, costs added up."""
    words = [w for seg in segments for w in seg["words"]]
    times = [tuple(t) for seg in segments
             for t in (seg.get("times") or [(None, None)] * len(seg["words"]))]
    scales = {seg.get("acoustic_scale") for seg in segments}
    finals = [seg["reached_final"] for seg in segments if "reached_final" in seg]
    return Transcript(words, acoustic_cost=sum(seg["am"] for seg in segments),
                      graph_cost=sum(seg["lm"] for seg in segments),
                      acoustic_scale=scales.pop() if len(scales) == 1 else None,
                      tokens=[t for seg in segments for t in seg.get("tokens", [])],
                      times=times, duration=duration,
                      reached_final=all(finals) if finals else None, segments=segments)


def _token_mismatch(graph_tokens: List[str], model_tokens: List[str]) -> str:
    if len(graph_tokens) != len(model_tokens):
        return (f"the graph has {len(graph_tokens)} tokens but the model outputs "
                f"{len(model_tokens)}: compile the graph with the model's tokens.json")
    column = next(k for k, (a, b) in enumerate(zip(graph_tokens, model_tokens)) if a != b)
    return (f"the graph's token {column} is {graph_tokens[column]!r} but the model's is "
            f"{model_tokens[column]!r}: compile the graph with the model's tokens.json")
