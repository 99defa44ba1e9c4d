"""`tingxie transcribe --ray ADDRESS`: the batch of asr.transcribe on a Ray cluster.

Only the executor changes: inputs, journal, errors.tsv, views and resume are asr.transcribe's
own, and the driver is the one writer (`record_result`, idempotent by key). Each chunk of
`RayOptions.chunk` utterances flows through three stages, chained by object references so the
driver never touches audio or posteriors:

  ReadStage       reader actors, one per node: audio files -> waveforms at the model's rate
                  (asr.audio.load_audio, as the local path reads them);
  ModelStage      acoustic-model actors (`num_gpus` each when the cluster has GPUs): waveforms
                  -> posteriors, `model_batch` waves per forward pass;
  DecodeStage     decoder actors: posteriors -> journal records (asr.recognizer's decode, so a
                  record is byte for byte the local path's). The graph is memory-mapped: an
                  aligned const TLG.fst in place, any other made one once per node (a
                  converted copy under the node's temporary directory, shared by its actors).

Backpressure: at most `chunks_in_flight` chunks are submitted at a time; the next is taken from
the input list only when one finishes, so tasks, audio and posteriors in the cluster stay
bounded whatever the length of the list. (The driver itself holds the list of keys and paths
and the journal's records, as the local path does.)

Exactly once: actors restart when their process dies (`max_restarts=-1`) and their calls are
retried (`max_task_retries`); a retried call recomputes the same chunk, and
the writer skips keys already in the journal. A killed driver takes its actors with it; the
rerun reads the journal back and submits only what is missing.

Placement: each node gets its own reader, model actors (one per GPU, else per CPU) and decoders
(one per CPU with GPUs, else one per 2 CPUs), sharing its CPUs; a chunk goes to the least
loaded model actor and to a reader and a decoder on the same node, so that audio and posteriors
cross no network where the node has all three.

All paths (model, graph, audio) must be readable on every node (the same shared file system,
as for any batch job on a cluster); outputs are written by the driver only.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from common.errors import InputError

from asr.transcribe import Result, failure_reason, transcript_record

FST_MAGIC = 2125659606
FST_IS_ALIGNED = 4  # OpenFst header flag


@dataclass
class RayOptions:
    """How `tingxie transcribe --ray` lays the pipeline over the cluster."""
    address: str = "local"           # local | auto | host:port | ray://host:port
    model_actors: int = 0            # acoustic-model actors; 0: one per GPU, else one per CPU
    decoder_actors: int = 0          # decoder actors; 0: one per 2 CPUs, one per CPU with GPUs
    model_actor_gpus: Optional[float] = None  # GPUs per model actor; None: 1 when there are GPUs
    readers: int = 0                 # audio-reading actors per node; 0: one
    chunk: int = 4                   # utterances per read / model / decoder call
    chunks_in_flight: int = 0        # backpressure window; 0: 2 per actor
    model_batch: int = 1             # waves per forward pass; 1 gives the local path's numbers
                                     # exactly (padding can move the last float bits)
    local_cpus: int = 0              # address "local": CPUs Ray may use (0: all)
    local_object_store_mb: int = 500  # address "local": the object store's memory
    max_task_retries: int = 3        # retries of one call whose actor died
    start_timeout: float = 600.0     # seconds the actors may take to start (placement, loading)


# --- the stages ---------------------------------------------------------------------------------
Item = Tuple[str, str, str]  # key, path as given (goes into the record), absolute path (read)


class ReadStage:
    """Audio files -> waveforms, in the process of a reader actor (one per node: reading is
    I/O, and a long-lived process spares a worker start per chunk)."""

    def ready(self) -> None:
        import asr.audio  # noqa: F401  (imported before the first chunk arrives)

    def read(self, items: Sequence[Item], sample_rate: int) -> List[Tuple]:
        return read_chunk(items, sample_rate)


def read_chunk(items: Sequence[Item], sample_rate: int) -> List[Tuple]:
    """(key, path, wave or None, failure or None, seconds spent) per item."""
    from asr.audio import load_audio
    out = []
    for key, path, absolute in items:
        start = time.perf_counter()
        try:
            wave = load_audio(absolute, sample_rate=sample_rate)
        except Exception as err:
            out.append((key, path, None, failure_reason(err), time.perf_counter() - start))
            continue
        out.append((key, path, wave, None, time.perf_counter() - start))
    return out


class ModelInfo:
    """What the decoder side needs of the acoustic model (Recognizer reads these fields)."""

    def __init__(self, tokens, sample_rate, frame_shift, mode):
        self.tokens = list(tokens)
        self.sample_rate = int(sample_rate)
        self.frame_shift = float(frame_shift)
        self.mode = mode


class ModelStage:
    """Waveforms -> posteriors, in the process of a model actor."""

    def __init__(self, spec: Dict[str, Any], mode: Optional[str], model_batch: int):
        self.model_batch = max(1, model_batch)
        self.load_error: Optional[str] = None
        try:
            from asr.models import load_acoustic_model
            self.model = load_acoustic_model(spec["model"], mode=mode, backend=spec["backend"],
                                             num_threads=spec["threads"])
        except Exception as err:  # reported by ready(), so the actor is not restarted forever
            self.load_error = f"cannot load the model: {failure_reason(err)}"

    def ready(self):
        if self.load_error is not None:
            return self.load_error
        return ModelInfo(self.model.tokens, self.model.sample_rate, self.model.frame_shift,
                         self.model.mode)

    def posteriors(self, chunk: Sequence[Tuple], keep_audio: bool) -> List[Tuple]:
        """(key, path, logp, token_times, wave or None, failure, audio s, compute s)."""
        if self.load_error is not None:
            raise InputError(self.load_error)
        out: List[Optional[Tuple]] = [None] * len(chunk)
        good = []
        for index, (key, path, wave, failure, seconds) in enumerate(chunk):
            if wave is None:
                out[index] = (key, path, None, None, None, failure, 0.0, seconds)
            else:
                good.append(index)
        for first in range(0, len(good), self.model_batch):
            batch = good[first:first + self.model_batch]
            start = time.perf_counter()
            try:
                outputs = self.model.posteriors([chunk[i][2] for i in batch])
            except Exception as err:
                outputs = [err] * len(batch)
            share = (time.perf_counter() - start) / len(batch)
            for index, output in zip(batch, outputs):
                key, path, wave, _, seconds = chunk[index]
                duration = len(wave) / self.model.sample_rate
                if isinstance(output, Exception):
                    out[index] = (key, path, None, None, None, failure_reason(output), 0.0,
                                  seconds + share)
                else:
                    out[index] = (key, path, output.logp, output.token_times,
                                  wave if keep_audio else None, None, duration, seconds + share)
        return out


class DecodeStage:
    """Posteriors -> journal records, in the process of a decoder actor."""

    def __init__(self, spec: Dict[str, Any], mode: Optional[str], model_actor: str):
        """`model_actor`: the name of a ModelStage actor, asked for the model's tokens and
        frame shift (again when this actor restarts)."""
        import ray
        self.load_error: Optional[str] = None
        info = ray.get(ray.get_actor(model_actor).ready.remote())
        if not isinstance(info, ModelInfo):  # the model could not be loaded: ready() says why
            self.load_error = str(info)
            return
        try:
            from asr.recognizer import Recognizer
            graph = spec["graph"] and node_local_graph(spec["graph"])
            self.recognizer = Recognizer(info, graph, mode=mode or info.mode,
                                         nbest=spec["nbest"],
                                         hotwords=spec.get("hotwords"),
                                         rescore=spec.get("rescore"),
                                         rescore_nbest=spec.get("rescore_nbest", 10),
                                         hotword_options=spec["hotword_options"] or None,
                                         **spec["decoder_options"])
        except Exception as err:
            self.load_error = f"cannot load the decoder: {failure_reason(err)}"

    def ready(self):
        return self.load_error

    def needs_audio(self) -> bool:
        return bool(getattr(self.recognizer.rescorer, "needs_audio", False))

    def decode(self, chunk: Sequence[Tuple]) -> List[Result]:
        if self.load_error is not None:
            raise InputError(self.load_error)
        from asr.models.base import AcousticOutput
        out = []
        for key, path, logp, token_times, wave, failure, audio_seconds, seconds in chunk:
            if failure is not None:
                out.append(Result(key, path, None, failure, 0.0, seconds))
                continue
            start = time.perf_counter()
            try:
                transcript = self.recognizer.decode(AcousticOutput(logp, token_times),
                                                    audio=wave)
                transcript.duration = audio_seconds
            except Exception as err:
                out.append(Result(key, path, None, failure_reason(err), 0.0,
                                  seconds + time.perf_counter() - start))
                continue
            out.append(Result(key, path, transcript_record(transcript, key, path), None,
                              audio_seconds, seconds + time.perf_counter() - start))
        return out


class LongStage:
    """Files the segmenting options select (--vad on, or auto and long), whole: the VAD, the
    model and the decoder in one actor, through asr.transcribe's own transcribe_one (resume is
    per file here, not per segment)."""

    def __init__(self, spec: Dict[str, Any]):
        from asr.transcribe import _make_recognizer
        self.spec = spec
        self.load_error: Optional[str] = None
        try:
            self.recognizer = _make_recognizer(spec)
        except Exception as err:
            self.load_error = f"cannot load the model and graph: {failure_reason(err)}"

    def transcribe(self, key: str, path: str, absolute: str) -> List[Result]:
        if self.load_error is not None:
            raise InputError(self.load_error)
        from asr.transcribe import transcribe_one
        result = transcribe_one(self.recognizer, key, absolute, self.spec.get("segmenting"))
        if result.record is not None:
            result.record["path"] = path
        return [result._replace(path=path)]


def node_local_graph(graph_dir: str) -> str:
    """A graph directory whose TLG.fst the decoder memory-maps: `graph_dir` itself when its
    TLG.fst is an aligned const FST, else a converted copy made once per node (the first actor
    converts under a file lock, the others wait and map the same file: the page cache holds one
    copy per node)."""
    fst = os.path.join(graph_dir, "TLG.fst")
    if is_aligned_const(fst):
        return graph_dir
    from asr.decoder import _native, convert_graph
    identity = hashlib.sha1(os.path.abspath(graph_dir).encode())
    converter = os.stat(_native.__file__)  # another build may write another format
    identity.update(f"{converter.st_size}\0{converter.st_mtime_ns}".encode())
    for name in sorted(os.listdir(graph_dir)):  # any file changed: another copy
        stat = os.stat(os.path.join(graph_dir, name))
        identity.update(f"\0{name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    root = os.path.join(tempfile.gettempdir(), "tingxie-graphs")
    os.makedirs(root, exist_ok=True)
    target = os.path.join(root, identity.hexdigest()[:16])
    with open(target + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(target, "complete")):
            partial = tempfile.mkdtemp(dir=root)
            convert_graph(graph_dir, partial)
            open(os.path.join(partial, "complete"), "w").close()
            if os.path.exists(target):  # an interrupted earlier conversion
                import shutil
                shutil.rmtree(target)
            os.rename(partial, target)
    return target


def is_aligned_const(fst_path: str) -> bool:
    try:
        with open(fst_path, "rb") as handle:
            head = handle.read(4096)
        magic, = struct.unpack_from("<i", head, 0)
        if magic != FST_MAGIC:
            return False
        position = 4
        names = []
        for _ in range(2):  # fst type, arc type
            length, = struct.unpack_from("<i", head, position)
            names.append(head[position + 4:position + 4 + length])
            position += 4 + length
        _, flags = struct.unpack_from("<ii", head, position)
        return names[0] == b"const" and bool(flags & FST_IS_ALIGNED)
    except (OSError, struct.error):
        return False  # the decoder reports what is wrong with the file


# --- the driver ---------------------------------------------------------------------------------
def resolve_mode(spec: Dict[str, Any]) -> Optional[str]:
    """The Recognizer's rule: the given mode, else the graph's topology (sync -> paraformer);
    None without either: the model's own (the model actors load it so)."""
    if spec["mode"] is not None:
        return spec["mode"]
    if spec["graph"] is None:
        return None
    from graph.directory import GraphDirectory

    topology = GraphDirectory(spec["graph"], verify=False).topology  # the workers verify it
    return "paraformer" if topology == "sync" else "ctc"


def connect(options: RayOptions):
    """ray.init for the address; returns the ray module."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install -e '.[ray]'") from None
    common = dict(log_to_driver=False, configure_logging=False)
    address = options.address
    try:
        if address == "local":
            # The workers of a Ray started here import this very checkout, whatever their cwd
            # (on a running cluster they import the tingxie installed on their nodes).
            source_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            saved = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, saved) if p)
            try:
                ray.init(address="local", num_cpus=options.local_cpus or os.cpu_count(),
                         include_dashboard=False,
                         object_store_memory=options.local_object_store_mb * 2**20, **common)
            finally:
                if saved is None:
                    del os.environ["PYTHONPATH"]
                else:
                    os.environ["PYTHONPATH"] = saved
        else:
            ray.init(address=address, **common)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise InputError(f"--ray {address}: cannot connect: {err}") from None
    return ray


def run_pipeline(todo: Iterable[Tuple[str, str]], spec: Dict[str, Any], options: RayOptions,
                 record: Callable[[Result], None], progress) -> None:
    """Transcribe (key, path) pairs on Ray; `record` (the journal's writer) gets every Result
    once, in completion order."""
    ray = connect(options)
    try:
        try:
            pipeline = Pipeline(ray, spec, options)
        except ray.exceptions.RayError as err:
            raise InputError(f"--ray {options.address}: the pipeline's actors did not start "
                             f"({type(err).__name__}: {str(err).splitlines()[0]})") from None
        pipeline.run(iter(todo), record, progress)
    finally:
        ray.shutdown()


class Pipeline:
    def __init__(self, ray, spec: Dict[str, Any], options: RayOptions):
        self.ray = ray
        self.options = options
        mode = resolve_mode(spec)
        spec = dict(spec)
        for name in ("model", "graph"):
            if spec[name] is not None:
                spec[name] = os.path.abspath(spec[name])
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        nodes = [n for n in ray.nodes() if n.get("Alive") and n["Resources"].get("CPU", 0) >= 1]
        if not nodes:
            raise InputError(f"--ray {options.address}: the cluster has no node with a CPU")
        cpus = [int(n["Resources"]["CPU"]) for n in nodes]
        gpus = [int(n["Resources"].get("GPU", 0)) for n in nodes]
        gpus_each = options.model_actor_gpus
        if gpus_each is None:
            gpus_each = 1.0 if any(gpus) else 0.0
        # Per node: a model actor per GPU, else per CPU; decoding is a fraction of the model's
        # compute on a CPU (BENCHMARKS.md ## Ray), so half as many decoders keep up, while with
        # GPUs the decoders are the CPUs' work. Given counts are shared out in that proportion.
        models = [int(g / gpus_each) for g in gpus] if gpus_each else list(cpus)
        decoders = list(cpus) if gpus_each else [(c + 1) // 2 for c in cpus]
        if options.model_actors:
            models = _share(options.model_actors, models)
        if options.decoder_actors:
            decoders = _share(options.decoder_actors, decoders)
        retry = dict(max_restarts=-1, max_task_retries=options.max_task_retries)
        model_class, decoder_class = ray.remote(ModelStage), ray.remote(DecodeStage)
        reader_class = ray.remote(ReadStage)
        # All start at once; the decoders ask the first model actor for the token list.
        first_model = f"tingxie-model-{uuid.uuid4().hex}"
        self.model_actors, self.decoder_actors, self.readers = [], [], []
        self.node_of: Dict[Any, str] = {}
        for node, n_cpus, n_models, n_decoders in zip(nodes, cpus, models, decoders):
            if not n_models and not n_decoders:
                continue
            # A node's CPU actors share its CPUs evenly and are all resident at once: a stage
            # that waits leaves its core to the busy one, so the stages balance themselves.
            cpu_actors = n_decoders + (0 if gpus_each else n_models)
            cpus_each = min(1.0, n_cpus / max(1, cpu_actors))
            here = dict(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"],
                                                                           soft=True), **retry)
            for _ in range(n_models):
                name = None if self.model_actors else first_model
                actor = model_class.options(name=name, num_cpus=0 if gpus_each else cpus_each,
                                            num_gpus=gpus_each, **here)
                self.model_actors.append(actor.remote(spec, mode, options.model_batch))
                self.node_of[self.model_actors[-1]] = node["NodeID"]
            for _ in range(n_decoders):
                actor = decoder_class.options(num_cpus=cpus_each, **here)
                self.decoder_actors.append(actor.remote(spec, mode, first_model))
                self.node_of[self.decoder_actors[-1]] = node["NodeID"]
            for _ in range(options.readers or 1):
                self.readers.append(reader_class.options(num_cpus=0, **here).remote())
                self.node_of[self.readers[-1]] = node["NodeID"]
        if not self.model_actors or not self.decoder_actors:
            raise InputError(f"--ray {options.address}: no node for a model actor or a "
                             f"decoder actor (GPUs per model actor: {gpus_each})")
        # The batch starts once the first of each kind is up; the others join as they come
        # (a load error of theirs comes back as the InputError of their first call).
        self.info = self._started(self.model_actors[0].ready.remote())
        if isinstance(self.info, str):
            raise InputError(self.info, path=spec["model"])
        problem = self._started(self.decoder_actors[0].ready.remote())
        if problem is not None:
            raise InputError(problem, path=spec["graph"] or spec["model"])
        self.spec = spec
        self.long_actor = None  # started at the first file the segmenting options select
        # waveforms travel on to the decoders only for a rescorer that scores with the audio
        self.keep_audio = ray.get(self.decoder_actors[0].needs_audio.remote())
        self.window = options.chunks_in_flight or 2 * (len(self.model_actors)
                                                       + len(self.decoder_actors))

    def _started(self, refs):
        try:
            return self.ray.get(refs, timeout=self.options.start_timeout)
        except self.ray.exceptions.GetTimeoutError:
            raise InputError(f"--ray {self.options.address}: the actors did not start within "
                             f"{self.options.start_timeout:.0f} s (does the cluster have the "
                             f"CPUs and GPUs they ask for?)") from None

    def _segmented(self, path: str) -> bool:
        """Whether the segmenting options select this file (asr.transcribe's rule)."""
        from asr.segment import SegmentOptions, audio_seconds
        options = SegmentOptions(**(self.spec.get("segmenting") or {"vad": "off"}))
        if options.vad == "off":
            return False
        return options.wanted(audio_seconds(path))

    def _long_actor(self, load):
        if self.long_actor is None:
            # num_cpus 0: it shares the CPUs the pipeline's actors hold
            self.long_actor = self.ray.remote(LongStage).options(
                num_cpus=0, max_restarts=-1,
                max_task_retries=self.options.max_task_retries).remote(self.spec)
            self.node_of[self.long_actor] = None
            load[self.long_actor] = 0
        return self.long_actor

    def run(self, todo: Iterator[Tuple[str, str]], record, progress) -> None:
        ray = self.ray
        load = {actor: 0 for actor in self.node_of}
        in_flight: Dict[Any, Tuple[Any, ...]] = {}
        chunks = _chunks(todo, max(1, self.options.chunk))

        def least_loaded(actors, node=None):
            near = [a for a in actors if self.node_of[a] == node] or actors
            return min(near, key=load.__getitem__)

        def submit() -> bool:
            chunk = next(chunks, None)
            if chunk is None:
                return False
            items = []
            for key, path in chunk:
                absolute = os.path.abspath(path)
                try:
                    segmented = self._segmented(path)
                except InputError as err:  # as the local path reports it
                    record(Result(key, path, None, err.message, 0.0, 0.0))
                    continue
                if segmented:
                    actor = self._long_actor(load)
                    in_flight[actor.transcribe.remote(key, path, absolute)] = (actor,)
                    load[actor] += 1
                else:
                    items.append((key, path, absolute))
            if not items:
                return True
            model = least_loaded(self.model_actors)
            node = self.node_of[model]  # the chunk stays on this node where it can
            stages = (least_loaded(self.readers, node), model,
                      least_loaded(self.decoder_actors, node))
            audio = stages[0].read.remote(items, self.info.sample_rate)
            posteriors = model.posteriors.remote(audio, self.keep_audio)
            in_flight[stages[2].decode.remote(posteriors)] = stages
            for actor in stages:
                load[actor] += 1
            return True

        progress.start()
        while len(in_flight) < self.window and submit():
            pass
        while in_flight:
            finished, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in finished:
                for actor in in_flight.pop(ref):
                    load[actor] -= 1
                try:
                    results = ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    if isinstance(err.cause, InputError):  # an actor that could not load
                        raise err.cause from None
                    raise InputError(f"a Ray stage failed: {str(err).splitlines()[0]}") from None
                except ray.exceptions.RayError as err:
                    raise InputError(
                        f"a Ray worker failed {self.options.max_task_retries + 1} times on one "
                        f"chunk ({type(err).__name__}: {str(err).splitlines()[0]}); the "
                        f"finished results are kept: run the same command again to resume"
                    ) from None
                for result in results:
                    record(result)
                submit()


def _share(total: int, weights: Sequence[int]) -> List[int]:
    """`total` actors over nodes in proportion to `weights` (largest remainders first)."""
    weights = [max(0, w) for w in weights]
    if not sum(weights):
        weights = [1] * len(weights)
    exact = [total * w / sum(weights) for w in weights]
    shares = [int(x) for x in exact]
    for index in sorted(range(len(exact)), key=lambda i: shares[i] - exact[i])[
            :total - sum(shares)]:
        shares[index] += 1
    return shares


def _chunks(pairs: Iterator[Tuple[str, str]], size: int) -> Iterator[List[Tuple[str, str]]]:
    chunk: List[Tuple[str, str]] = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
