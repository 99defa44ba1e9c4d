"""`tingxie transcribe`: batch transcription of audio files into OUTDIR, resumable.

The pipeline, one stage per function:
  1. collect_inputs   audio files, directories (recursive, by extension; keyed by file stem,
                      or by the path under the directory where stems repeat), Kaldi wav.scp
                      (`key path`), or list files (one path a line) -> ordered Utterances,
                      keys unique; a pipe or ark entry, or a line that is not UTF-8, is
                      reported in errors.tsv (file:line) and the rest goes on;
  2. ResultJournal    OUTDIR/results.jsonl, one JSON object per finished utterance, appended
                      and flushed one at a time (fsync'ed at the end). On start it is read
                      back: keys already there are skipped, and a torn last line (a kill in
                      mid-write) is cut off, so a kill -9 loses at most the utterances in
                      flight and a rerun never duplicates a key. OUTDIR/setup.json records
                      the model, graph and options: resuming with others is refused rather
                      than mixing two systems' results in one journal;
  3. transcribe_all   one process (--jobs 1), a pool of worker processes, each loading the
                      model once, or a Ray cluster (--ray, asr/transcribe_ray.py); every
                      result goes through one writer, `record_result`; failures go to
                      OUTDIR/errors.tsv (key, path, reason) and the batch goes on; a progress
                      bar on stderr shows utterances/s and the real-time factor;
  4. write_views      OUTDIR/text (Kaldi) and, with --srt, OUTDIR/srt/KEY.srt, rebuilt from
                      the journal in input order.
Long input (--vad auto|on|off; auto: files longer than 30 s): the file is read in blocks,
cut into speech segments by Silero VAD (asr.segment), and each segment is transcribed on its
own; the file's record holds its `segments` (start, end and each one's words and times) and
its words with times on the file's timeline; the SRT has one cue per segment; no speech gives
an empty transcript. The finished segments of a file in progress go to
OUTDIR/segments/KEY.jsonl, so a rerun after a kill decodes only the rest (with --ray the
whole file is decoded again).
Exit status: 0 when every input is transcribed, 1 when any failed, 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from common.errors import InputError
from common.token_words import join_words
from common.kaldi import read_wav_scp
from common.textio import check_output_dir, lines_with_problems

AUDIO_EXTENSIONS = ("wav", "flac", "mp3", "ogg", "opus", "m4a", "sph")
RESULTS = "results.jsonl"
ERRORS = "errors.tsv"
TEXT = "text"
SETUP = "setup.json"
SEGMENTS = "segments"  # OUTDIR/segments/KEY.jsonl: finished segments of a long file in progress


# --- 1. inputs -------------------------------------------------------------------------------
class Utterance(NamedTuple):
    key: str
    path: str
    problem: Optional[str] = None  # why this entry cannot be read (it goes to errors.tsv)


def collect_inputs(inputs: Sequence[str], extensions: Sequence[str] = AUDIO_EXTENSIONS
                   ) -> List[Utterance]:
    """Every utterance named by `inputs`, in order, keys unique. A bad entry of a wav.scp or
    list file (a pipe, an ark offset, bytes that are not UTF-8) becomes an Utterance with a
    `problem` naming file:line, so the rest of the batch still runs; a missing input or a
    repeated key stops the command (InputError)."""
    suffixes = tuple("." + e.lower().lstrip(".") for e in extensions)
    utterances: List[Utterance] = []
    origin: Dict[str, str] = {}

    def add(key: str, path: str, where: str, problem: Optional[str] = None) -> None:
        key = "_".join(key.split())
        if key in origin:
            raise InputError(f"key '{key}' ({path}) was already given by {origin[key]}; "
                             f"keys must be unique", path=where)
        origin[key] = where
        utterances.append(Utterance(key, path, problem))

    for item in inputs:
        if os.path.isdir(item):
            found = sorted(os.path.join(root, name)
                           for root, _, names in os.walk(item, followlinks=True)
                           for name in names if name.lower().endswith(suffixes))
            if not found:
                raise InputError(f"no audio files ({', '.join(suffixes)}) in this directory",
                                 path=item)
            for path, key in zip(found, _directory_keys(item, found)):
                add(key, path, path)
        elif not os.path.exists(item):
            raise InputError("no such file or directory", path=item)
        elif item.lower().endswith(suffixes):
            add(_key_from_path(os.path.basename(item)), item, item)
        else:
            reader = read_wav_scp if item.endswith(".scp") else _read_list
            for number, key, path, problem in reader(item):
                where = f"{item}:{number}"
                add(key, path, where, problem and f"{where}: {problem}")
    return utterances


def _directory_keys(directory: str, paths: Sequence[str]) -> List[str]:
    """Each file's stem, as Kaldi keys audio (test_00000.wav -> test_00000); files whose stem
    another file in the directory shares are keyed by their path under it instead
    (a/x.wav -> a-x)."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    count: Dict[str, int] = {}
    for stem in stems:
        count[stem] = count.get(stem, 0) + 1
    return [stem if count[stem] == 1 else _key_from_path(os.path.relpath(path, directory))
            for stem, path in zip(stems, paths)]


def _key_from_path(relative: str) -> str:
    stem = os.path.splitext(relative)[0]
    return stem.replace(os.sep, "-")


def _read_list(path: str) -> Iterator[Tuple[int, str, str, Optional[str]]]:
    for number, line, problem in lines_with_problems(path):
        yield number, _key_from_path(os.path.basename(line)), line, problem


# --- 2. the journal ----------------------------------------------------------------------------
class ResultJournal:
    """Append-only JSONL of finished utterances; reading it back gives the keys done."""

    def __init__(self, path: str):
        self.path = path
        self.done: Dict[str, Dict[str, Any]] = {}
        self.dropped_torn_line = False
        if os.path.exists(path):
            self._recover()
        self._handle = open(path, "ab")

    def _recover(self) -> None:
        with open(self.path, "rb") as handle:
            data = handle.read()
        # Each record is written as one line ending in a newline, so an interrupted write
        # leaves a last piece without one: that piece, and only that, is dropped.
        complete = data.rfind(b"\n") + 1
        for number, line in enumerate(data[:complete].splitlines(), 1):
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                record = None
            if not isinstance(record, dict) or not isinstance(record.get("key"), str):
                raise InputError("not a transcription result (the journal is damaged; move "
                                 "it away to start over)", path=self.path, line=number)
            self.done.setdefault(record["key"], record)
        if complete < len(data):
            self.dropped_torn_line = True
            with open(self.path, "r+b") as handle:
                handle.truncate(complete)

    def append(self, record: Dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
        self._handle.write(line)
        self._handle.flush()  # in the kernel now: a killed process loses nothing written
        self.done[record["key"]] = record

    def close(self) -> None:
        os.fsync(self._handle.fileno())  # per record it would cost ~7 ms on a busy disk
        self._handle.close()


class ErrorLog:
    """OUTDIR/errors.tsv: key, path, reason, one failure a line (this run's failures). The
    first `SHOWN` also go to the terminal as `tingxie: error: PATH: utterance KEY: reason`."""

    SHOWN = 10

    def __init__(self, path: str, echo=None):
        self.path = path
        self.count = 0
        self.echo = echo or (lambda line: print(line, file=sys.stderr))
        self._handle = open(path, "w", encoding="utf-8")
        self._handle.write("key\tpath\treason\n")
        self._handle.flush()

    def add(self, key: str, path: str, reason: str) -> None:
        reason = " ".join(reason.split())
        self._handle.write(f"{key}\t{path}\t{reason}\n")
        self._handle.flush()
        self.count += 1
        if self.count <= self.SHOWN:
            self.echo(f"tingxie: error: {path}: utterance {key}: {reason}")
        if self.count == self.SHOWN + 1:
            self.echo(f"tingxie transcribe: more failures: see {self.path}")

    def close(self) -> None:
        self._handle.close()


# --- 3. transcription ------------------------------------------------------------------------
_worker_recognizer = None
_worker_load_error: Optional[InputError] = None


def _init_worker(spec: Dict[str, Any]) -> None:
    global _worker_recognizer, _worker_load_error
    import warnings
    from asr.cli import show_warning
    warnings.showwarning = show_warning  # `tingxie: warning: ...` from workers too
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    try:
        _worker_recognizer = _make_recognizer(spec)
    except InputError as err:  # handed to the parent with the first task: it stops the run
        _worker_load_error = err
    except Exception as err:
        _worker_load_error = InputError(f"cannot load the model: {type(err).__name__}: {err}")


def _exit_when_orphaned(parent: int) -> None:
    """A worker whose parent was killed (kill -9 leaves it waiting on its queue forever)
    exits within a second instead of lingering with a loaded model."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _make_recognizer(spec: Dict[str, Any]):
    from asr.recognizer import Recognizer
    try:
        return Recognizer(spec["model"], spec["graph"], mode=spec["mode"],
                          backend=spec["backend"], num_threads=spec["threads"],
                          nbest=spec["nbest"], hotwords=spec.get("hotwords"),
                          rescore=spec.get("rescore"),
                          rescore_nbest=spec.get("rescore_nbest", 10),
                          hotword_options=spec["hotword_options"] or None,
                          **spec["decoder_options"])
    except ValueError as err:
        if isinstance(err, InputError):
            raise
        raise InputError(str(err)) from None


class Result(NamedTuple):
    """One utterance's outcome, as every executor (one process, the pool, Ray) hands it to
    `record_result`."""
    key: str
    path: str
    record: Optional[dict]   # the journal line, None when it failed
    reason: Optional[str]    # why it failed
    audio_seconds: float
    compute_seconds: float


def failure_reason(err: Exception) -> str:
    """What errors.tsv says about an utterance that raised `err`."""
    if isinstance(err, InputError):
        return err.message
    return f"{type(err).__name__}: {err}"


def transcript_record(transcript, key: str, path: str) -> Dict[str, Any]:
    record = transcript.to_json(key)
    record["path"] = path
    return record


def transcribe_one(recognizer, key: str, path: str, segmenting: Optional[Dict[str, Any]] = None,
                   partial_dir: Optional[str] = None) -> Result:
    """segmenting: asr.segment.SegmentOptions fields; a file it selects (--vad) is cut into
    speech segments, each finished segment appended to partial_dir/KEY.jsonl, and those
    already there are not decoded again (resume at segment granularity)."""
    start = time.perf_counter()
    try:
        transcript = _transcribe_file(recognizer, key, path, segmenting, partial_dir)
    except Exception as err:  # one bad file must not stop the batch; its reason is recorded
        return Result(key, path, None, failure_reason(err), 0.0, time.perf_counter() - start)
    return Result(key, path, transcript_record(transcript, key, path), None,
                  transcript.duration or 0.0, time.perf_counter() - start)


def _transcribe_file(recognizer, key: str, path: str, segmenting: Optional[Dict[str, Any]],
                     partial_dir: Optional[str]):
    from asr.segment import SegmentOptions, audio_seconds
    options = SegmentOptions(**(segmenting or {"vad": "off"})).check()
    if not options.wanted(audio_seconds(path)):
        return recognizer.transcribe(path)
    partial = SegmentJournal(os.path.join(partial_dir, key + ".jsonl")) if partial_dir else None
    try:
        return recognizer.transcribe_long(path, options,
                                          done=partial.done if partial else None,
                                          on_segment=partial.append if partial else None)
    finally:
        if partial is not None:
            partial.close()


class SegmentJournal:
    """OUTDIR/segments/KEY.jsonl: the finished segments of a long file in progress, appended
    and flushed one at a time; a torn last line is dropped. Removed once the file's record
    is in the results journal."""

    def __init__(self, path: str):
        self.path = path
        self.done: Dict[Tuple[float, float], Dict[str, Any]] = {}
        if os.path.exists(path):
            with open(path, "rb") as handle:
                data = handle.read()
            complete = data.rfind(b"\n") + 1
            for line in data[:complete].splitlines():
                try:
                    record = json.loads(line.decode("utf-8"))
                    self.done[(record["start"], record["end"])] = record
                except (UnicodeDecodeError, ValueError, KeyError, TypeError):
                    continue  # a damaged line: that segment is decoded again
            with open(path, "r+b") as handle:
                handle.truncate(complete)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._handle = open(path, "ab")

    def append(self, record: Dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def _worker_task(key: str, path: str, segmenting=None, partial_dir=None):
    if _worker_load_error is not None:
        raise _worker_load_error
    return transcribe_one(_worker_recognizer, key, path, segmenting, partial_dir)


class Progress:
    """tqdm on stderr with utterances/s (tqdm's rate) and the real-time factor (compute
    seconds per audio second). The bar starts once the model is loaded (`start`), or at the
    first result when workers load it, so loading does not count against the rate."""

    def __init__(self, total: int, enabled: bool):
        self.total = total
        self.enabled = enabled
        self.audio_seconds = 0.0
        self.compute_seconds = 0.0
        self.bar = None

    def start(self) -> None:
        if self.enabled and self.bar is None and self.total:
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, unit="utt", file=sys.stderr, dynamic_ncols=True,
                            smoothing=0.1)

    def write(self, line: str) -> None:
        """A message line that does not tear the bar."""
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def update(self, audio_seconds: float, compute_seconds: float, failed: int) -> None:
        self.start()
        self.audio_seconds += audio_seconds
        self.compute_seconds += compute_seconds
        if self.bar is not None:
            rtf = self.compute_seconds / self.audio_seconds if self.audio_seconds else 0.0
            self.bar.set_postfix_str(f"RTF {rtf:.3f}, {failed} failed", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def record_result(result: Result, journal: ResultJournal, errors: ErrorLog,
                  progress: Progress) -> None:
    """The one writer of every executor. Idempotent by key: an utterance already in the
    journal (a retried task answering twice, a resumed run) is not written again."""
    if result.key in journal.done:
        return
    if result.record is None:
        errors.add(result.key, result.path, result.reason)
    else:
        journal.append(result.record)
    progress.update(result.audio_seconds, result.compute_seconds, errors.count)


def transcribe_all(utterances: Sequence[Utterance], spec: Dict[str, Any],
                   journal: ResultJournal, errors: ErrorLog, jobs: int,
                   progress: Progress, ray=None, partial_dir: Optional[str] = None) -> None:
    """`ray`: an asr.transcribe_ray.RayOptions to run on a Ray cluster instead of `jobs`
    local processes (a long file is resumed whole there). `partial_dir`: where long files
    in progress keep their finished segments."""
    todo = []
    for key, path, problem in utterances:
        if key in journal.done:
            continue
        if problem is not None:
            errors.add(key, path, problem)
        else:
            todo.append((key, path))

    def record(result: Result) -> None:
        record_result(result, journal, errors, progress)
        finished = os.path.join(partial_dir, result.key + ".jsonl") if partial_dir else None
        if finished and result.key in journal.done and os.path.exists(finished):
            os.remove(finished)

    progress.total = len(todo)
    if not todo:
        return
    if ray is not None:
        from asr.transcribe_ray import run_pipeline
        run_pipeline(todo, spec, ray, record, progress)
        return
    if jobs <= 1:
        recognizer = _make_recognizer(spec)
        progress.start()
        for key, path in todo:
            record(transcribe_one(recognizer, key, path, spec.get("segmenting"), partial_dir))
        return
    try:
        _run_pool(todo, spec, jobs, record, partial_dir)
    except BrokenProcessPool as err:
        raise InputError(f"a worker process died ({err}); the finished results are kept: "
                         f"run the same command again to resume") from None


def _run_pool(todo, spec, jobs, record, partial_dir=None) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(spec,)) as pool:
        pending = set()
        queue = iter(todo)
        for key, path in queue:  # keep at most 2 per worker in flight: a kill loses only those
            pending.add(pool.submit(_worker_task, key, path, spec.get("segmenting"),
                                    partial_dir))
            if len(pending) >= 2 * jobs:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                record(future.result())
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(pool.submit(_worker_task, *nxt, spec.get("segmenting"),
                                            partial_dir))


def lock_outdir(outdir: str):
    """An exclusive lock on OUTDIR/.lock for the life of the process (the kernel drops it
    when the process dies, even by kill -9): two runs appending to one journal would write
    the same keys twice."""
    import fcntl
    handle = open(os.path.join(outdir, ".lock"), "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise InputError("another tingxie transcribe is writing to this output directory",
                         path=outdir) from None
    return handle


def effective_options(spec: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The decoder and hotword options the search runs with, defaults of the mode filled in
    (None with --no-lm); the mode follows the graph's topology unless --mode gave one."""
    if spec["graph"] is None:
        return None
    from asr.decoder.options import DecoderOptions, HotwordOptions, make_options
    mode = spec["mode"]
    if mode is None:
        from graph.directory import GraphDirectory
        topology = GraphDirectory(spec["graph"], verify=False).topology  # the workers verify it
        mode = "paraformer" if topology == "sync" else "ctc"
    decoder = make_options(DecoderOptions, spec["decoder_options"],
                           nbest=max(spec["nbest"], spec.get("rescore_nbest", 0)))
    hotwords = make_options(HotwordOptions, spec["hotword_options"]).check()
    return {"mode": mode, "decoder": decoder.effective(mode).as_dict(),
            "hotwords": hotwords.as_dict()}


def check_same_setup(path: str, spec: Dict[str, Any], has_results: bool = True) -> None:
    """OUTDIR/setup.json records what made the results (model, graph, mode, backend, N-best,
    the decoder options given and the effective ones, defaults included); resuming with
    anything else would mix two systems' output in one journal, so it is refused. A setup
    that made no results yet (`has_results` False: e.g. its model failed to load) is replaced."""
    setup = {name: value for name, value in spec.items() if name != "threads"}
    setup["effective_options"] = effective_options(spec)
    for name in ("model", "graph"):
        if setup[name] is not None:
            setup[name] = os.path.abspath(setup[name])
    if os.path.exists(path) and has_results:
        try:
            with open(path, encoding="utf-8") as handle:
                previous = json.load(handle)
        except (ValueError, UnicodeDecodeError):
            raise InputError("not a setup record (move the output directory away to start "
                             "over)", path=path) from None
        if previous != setup:
            changed = sorted(k for k in set(previous) | set(setup)
                             if previous.get(k) != setup.get(k))
            raise InputError(f"this output directory holds results made with a different "
                             f"{', '.join(changed)}; use another -o (or remove it) instead of "
                             f"mixing two setups in one journal", path=path)
        return
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(setup, handle, indent=1)
    os.replace(path + ".tmp", path)


# --- 4. views of the journal -------------------------------------------------------------------
def write_views(outdir: str, utterances: Sequence[Utterance], journal: ResultJournal,
                srt: bool) -> int:
    """The views hold every result of the journal, so that `text` always agrees with it: this
    run's inputs in input order, then results of earlier runs over other inputs (returned:
    how many of those there are)."""
    ordered = [journal.done[u.key] for u in utterances if u.key in journal.done]
    given = {u.key for u in utterances}
    earlier = [record for key, record in journal.done.items() if key not in given]
    ordered += earlier
    temporary = os.path.join(outdir, TEXT + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        for record in ordered:
            handle.write(f"{record['key']} {record['text']}".rstrip() + "\n")
    os.replace(temporary, os.path.join(outdir, TEXT))
    if srt:
        srt_dir = os.path.join(outdir, "srt")
        os.makedirs(srt_dir, exist_ok=True)
        for record in ordered:
            with open(os.path.join(srt_dir, record["key"] + ".srt"), "w",
                      encoding="utf-8") as handle:
                if record.get("segments") is not None:
                    handle.write(segments_to_srt(record["segments"]))
                else:
                    handle.write(to_srt(record.get("words", []), record.get("times", [])))
    return len(earlier)


def segments_to_srt(segments: Sequence[Dict[str, Any]]) -> str:
    """One SubRip cue per segment with words, timed by its words (else by the segment)."""
    blocks = []
    for segment in segments:
        if not segment.get("words"):
            continue
        timed = [t for t in segment.get("times", []) if t[0] is not None and t[1] is not None]
        start = timed[0][0] if timed else segment["start"]
        end = timed[-1][1] if timed else segment["end"]
        blocks.append(f"{len(blocks) + 1}\n{_srt_time(start)} --> {_srt_time(end)}\n"
                      f"{' '.join(segment['words'])}\n")
    return "\n".join(blocks)


def to_srt(words: Sequence[str], times: Sequence[Sequence[Optional[float]]],
           max_words: int = 12, max_seconds: float = 5.0, max_gap: float = 0.8) -> str:
    """Words with times ([start, end] seconds each) -> SubRip cues: a new cue after a pause,
    or when one grows too long. Words without times are left out."""
    cues: List[List[Tuple[str, float, float]]] = []
    for word, (start, end) in zip(words, times):
        if start is None or end is None:
            continue
        if cues:
            cue = cues[-1]
            if (len(cue) < max_words and end - cue[0][1] <= max_seconds
                    and start - cue[-1][2] <= max_gap):
                cue.append((word, start, end))
                continue
        cues.append([(word, start, end)])
    blocks = []
    for number, cue in enumerate(cues, 1):
        text = join_words([w for w, _, _ in cue])
        blocks.append(f"{number}\n{_srt_time(cue[0][1])} --> {_srt_time(cue[-1][2])}"
                      f"\n{text}\n")
    return "\n".join(blocks)


def _srt_time(seconds: float) -> str:
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3600000)
    minutes, millis = divmod(millis, 60000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


# --- the command ---------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="audio files, directories (searched recursively), Kaldi wav.scp "
                             "files (*.scp) or list files (one audio path a line)")
    parser.add_argument("--model", required=True,
                        help="FunASR model directory or its ONNX export, or a sherpa-onnx "
                             "Paraformer directory (model.onnx + tokens.txt) (asr.models)")
    lm = parser.add_mutually_exclusive_group(required=True)
    lm.add_argument("--graph", help="compiled TLG graph directory (tingxie graph compile)")
    lm.add_argument("--no-lm", action="store_true", help="greedy decoding, no graph")
    parser.add_argument("--mode", choices=("ctc", "paraformer"), default=None,
                        help="ctc (CTC head, per frame) or paraformer (per token); default: the "
                             "graph's topology (sync -> paraformer), else the model's own (ctc "
                             "when it has a CTC head, else paraformer)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                        help="auto (default): ONNX when the directory has an export for the "
                             "mode or no model.pt, else torch")
    parser.add_argument("-o", "--output-dir", required=True, metavar="DIR",
                        help="output directory: text, results.jsonl, setup.json, errors.tsv "
                             "(a rerun resumes)")
    parser.add_argument("--nbest", type=int, default=1, metavar="N",
                        help="N-best hypotheses per utterance in results.jsonl (default 1)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="worker processes (default 1)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="threads per worker process (default 1)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run on a Ray cluster instead of --jobs processes (needs the `ray` "
                             "extra): local (start one here), auto or host:port (join a "
                             "running cluster), ray://host:port (Ray Client)")
    parser.add_argument("--ray-model-actors", type=int, default=0, metavar="N",
                        help="acoustic-model actors (default: one per GPU, else per CPU)")
    parser.add_argument("--ray-decoder-actors", type=int, default=0, metavar="N",
                        help="decoder actors (default: one per 2 CPUs; per CPU with GPUs)")
    parser.add_argument("--srt", action="store_true", help="also write OUTDIR/srt/KEY.srt")
    parser.add_argument("--extensions", default=",".join(AUDIO_EXTENSIONS),
                        help="audio file extensions searched in directories")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--rescore", metavar="CONFIG",
                        help="rerank the decoder's N-best with the rescorers and weights of a "
                             "config written by `tingxie tune` (asr.rescoring; needs --graph)")
    parser.add_argument("--rescore-nbest", type=int, default=10, metavar="N",
                        help="hypotheses the rescorer reranks (default 10)")
    parser.add_argument("--hotwords", metavar="FILE",
                        help="hotword file, `word-or-phrase [weight]` per line (FunASR's format); "
                             "biases the search without recompiling the graph (needs --graph)")
    vad = parser.add_argument_group("long input (asr.segment: Silero VAD, audio read in blocks)")
    vad.add_argument("--vad", choices=("auto", "on", "off"), default="auto",
                     help="cut input into speech segments first; auto: for input longer than "
                          "--vad-auto-seconds (default auto)")
    vad.add_argument("--vad-auto-seconds", type=float, default=30.0, metavar="S",
                     help="auto: the length above which the VAD runs (default 30)")
    vad.add_argument("--max-segment", type=float, default=20.0, metavar="S",
                     help="longest segment in seconds; longer speech is cut at its quietest "
                          "point (default 20)")
    vad.add_argument("--min-silence", type=float, default=0.5, metavar="S",
                     help="seconds of non-speech that end a segment (default 0.5)")
    vad.add_argument("--vad-threshold", type=float, default=0.5, metavar="P",
                     help="speech probability that starts speech (default 0.5)")
    vad.add_argument("--batch-seconds", type=float, default=0.0, metavar="S",
                     help="seconds of segments per acoustic-model batch (default 0: one "
                          "segment a call; a quantised ONNX model's output then does not "
                          "depend on what else is in the batch)")
    from asr.decoder import options
    options.add_arguments(parser)


def run(args) -> int:
    from asr.decoder import options
    decoder_options, hotword_options = options.from_arguments(args)
    ray = None
    if args.ray is not None:
        from asr.transcribe_ray import RayOptions
        ray = RayOptions(address=args.ray, model_actors=args.ray_model_actors,
                         decoder_actors=args.ray_decoder_actors)
    elif args.ray_model_actors or args.ray_decoder_actors:
        raise InputError("--ray-model-actors and --ray-decoder-actors need --ray")
    from asr.segment import SegmentOptions
    segmenting = SegmentOptions(vad=args.vad, auto_seconds=args.vad_auto_seconds,
                                max_segment=args.max_segment, min_silence=args.min_silence,
                                threshold=args.vad_threshold, batch_seconds=args.batch_seconds)
    summary = transcribe_batch(
        args.inputs, args.output_dir, args.model, args.graph, mode=args.mode,
        backend=args.backend, nbest=args.nbest, jobs=args.jobs, threads=args.threads,
        ray=ray, srt=args.srt, progress=not args.no_progress, hotwords=args.hotwords,
        rescore=args.rescore, rescore_nbest=args.rescore_nbest,
        hotword_options=hotword_options, segmenting=segmenting,
        extensions=[e for e in args.extensions.split(",") if e], **decoder_options)
    return 1 if summary.failed else 0


class BatchSummary(NamedTuple):
    total: int    # utterances named by the inputs
    done: int     # of them in the journal now (this run's and earlier runs')
    failed: int   # failures of this run (OUTDIR/errors.tsv)
    rtf: float    # this run's compute seconds per audio second


def transcribe_batch(inputs: Sequence[str], outdir: str, model: str, graph: Optional[str] = None,
                     *, mode: Optional[str] = None, backend: str = "auto", nbest: int = 1,
                     jobs: int = 1, threads: int = 1, ray=None, srt: bool = False,
                     progress: bool = True, hotwords: Optional[str] = None,
                     rescore: Optional[str] = None, rescore_nbest: int = 10,
                     hotword_options: Optional[Dict[str, Any]] = None,
                     segmenting=None, extensions: Sequence[str] = AUDIO_EXTENSIONS,
                     **decoder_options: Any) -> BatchSummary:
    """`tingxie transcribe` as a function: the same inputs, options and OUTDIR files;
    `decoder_options` and `hotword_options` are fields of asr.decoder's DecoderOptions and
    HotwordOptions.
    `ray`: an address ("local", "auto", "host:port", "ray://host:port") or an
    asr.transcribe_ray.RayOptions, to run on a Ray cluster instead of `jobs` processes.
    `segmenting`: an asr.segment.SegmentOptions (default: its defaults, --vad auto)."""
    if jobs < 1 or threads < 1 or nbest < 1:
        raise InputError("--jobs, --threads and --nbest must be at least 1")
    if rescore is not None:
        if graph is None:
            raise InputError("--rescore needs --graph (greedy decoding has no N-best list)")
        if not os.path.exists(rescore):
            raise InputError("no such file", path=rescore)
        if rescore_nbest < 1:
            raise InputError("--rescore-nbest must be at least 1")
    if hotwords is not None:
        if graph is None:
            raise InputError("--hotwords needs --graph (greedy decoding has no search to bias)")
        if not os.path.exists(hotwords):
            raise InputError("no such file", path=hotwords)
    hotword_options = dict(hotword_options or {})
    if graph is None and (decoder_options or hotword_options):
        given = sorted(decoder_options) + sorted("hotword_" + n for n in hotword_options)
        raise InputError(f"decoder options ({', '.join(given)}) need --graph")
    for path, what in ((model, "--model"), (graph, "--graph")):
        if path is not None and not os.path.exists(path):
            raise InputError(f"{what}: no such file or directory", path=path)
    if isinstance(ray, str):
        from asr.transcribe_ray import RayOptions
        ray = RayOptions(address=ray)
    check_output_dir(outdir)
    utterances = collect_inputs(inputs, extensions)
    spec = {"model": model, "graph": graph, "mode": mode,
            "backend": backend, "threads": threads, "nbest": nbest,
            "decoder_options": decoder_options, "hotword_options": hotword_options}
    from asr.segment import SegmentOptions
    spec["segmenting"] = dataclasses.asdict((segmenting or SegmentOptions()).check())
    if hotwords is not None:
        spec["hotwords"] = os.path.abspath(hotwords)
    if rescore is not None:
        spec["rescore"] = os.path.abspath(rescore)
        spec["rescore_nbest"] = rescore_nbest
    os.makedirs(outdir, exist_ok=True)
    lock = lock_outdir(outdir)  # noqa: F841  (held until this function returns)
    results = os.path.join(outdir, RESULTS)
    check_same_setup(os.path.join(outdir, SETUP), spec,
                     has_results=os.path.exists(results) and os.path.getsize(results) > 0)
    journal = ResultJournal(os.path.join(outdir, RESULTS))
    if journal.dropped_torn_line:
        print("tingxie transcribe: dropped a torn last line of the journal (an interrupted "
              "run); that utterance is transcribed again", file=sys.stderr)
    skipped = sum(u.key in journal.done for u in utterances)
    if skipped:
        print(f"tingxie transcribe: resuming: {skipped} of {len(utterances)} utterances already "
              f"done in {journal.path}", file=sys.stderr)
    bar = Progress(len(utterances) - skipped, enabled=progress)
    errors = ErrorLog(os.path.join(outdir, ERRORS), echo=bar.write)
    try:
        transcribe_all(utterances, spec, journal, errors, jobs, bar, ray=ray,
                       partial_dir=os.path.join(outdir, SEGMENTS))
    finally:
        bar.close()
        journal.close()
        errors.close()
        earlier = write_views(outdir, utterances, journal, srt)
        lock.close()
    if earlier:
        print(f"tingxie transcribe: {earlier} results of earlier runs over other inputs are in "
              f"{journal.path}; {os.path.join(outdir, TEXT)} lists them too, after this "
              "run's", file=sys.stderr)
    done = sum(u.key in journal.done for u in utterances)
    untimed = sum(1 for u in utterances if u.key in journal.done and any(
        None in (t or [None]) for t in journal.done[u.key].get("times", [])))
    if untimed:
        print(f"tingxie transcribe: warning: {untimed} utterances have words without times: the "
              f"model gives none (funasr's export of a plain Paraformer has no CIF outputs; "
              f"`python -m asr.models.export MODEL_DIR` writes one that has)"
              + ("; their SRT files are empty" if srt else ""), file=sys.stderr)
    rtf = bar.compute_seconds / bar.audio_seconds if bar.audio_seconds else 0.0
    print(f"tingxie transcribe: {done} of {len(utterances)} utterances transcribed, "
          f"{errors.count} failed (see {errors.path}); RTF {rtf:.4f} this run",
          file=sys.stderr)
    return BatchSummary(len(utterances), done, errors.count, rtf)
