"""`tingxie transcribe --ray` on a real two-node Ray cluster on 127.0.0.1 (no mocks): the same
files as the local path, and exactly once after a worker process or the driver is killed with
SIGKILL mid-run. The demo model and graph; the demo test audio listed several times under
distinct keys for volume. The module's cluster is stopped at the end."""
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

import ray  # the test extra pulls it
import funasr  # noqa: F401  (the am extra)
from ray.cluster_utils import Cluster  # noqa: E402

from asr.cli import main  # noqa: E402
from asr.transcribe import transcribe_batch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "resources", "demo")
MODEL = os.path.join(DEMO, "model")
GRAPH = os.path.join(DEMO, "graph")
COPIES = 4  # 50 test files x 4 keys = 200 utterances


@pytest.fixture(scope="module")
def cluster():
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = ROOT  # the nodes' workers import this checkout
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "object_store_memory": 200 * 2**20})
    cluster.add_node(num_cpus=1, object_store_memory=200 * 2**20)
    cluster.wait_for_nodes()
    try:
        yield cluster
    finally:
        cluster.shutdown()
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A wav.scp of COPIES keys per demo test file, one file that is not audio and one long
    enough for --vad auto to segment it (9 test files with pauses, ~55 s)."""
    import numpy as np
    import soundfile
    folder = tmp_path_factory.mktemp("inputs")
    bad = folder / "not_audio.wav"
    bad.write_bytes(b"RIFF....WAVEfmt not really")
    lines = []
    with open(os.path.join(DEMO, "test", "wav.scp"), encoding="utf-8") as handle:
        pairs = [line.split() for line in handle if line.strip()]
    for copy in range(COPIES):
        lines += [f"{key}_{copy} {os.path.join(ROOT, path)}" for key, path in pairs]
    lines.insert(7, f"broken {bad}")
    pause = np.zeros(8000, np.float32)
    long_audio = np.concatenate([part for _, path in pairs[:9] for part in (
        soundfile.read(os.path.join(ROOT, path), dtype="float32")[0], pause)])
    soundfile.write(folder / "long.wav", long_audio, 16000)
    lines.insert(20, f"long {folder / 'long.wav'}")
    scp = folder / "wav.scp"
    scp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(scp), len(lines)


@pytest.fixture(scope="module")
def local_run(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    code = main(["transcribe", inputs[0], "--model", MODEL, "--graph", GRAPH, "-o", str(out),
                 "--srt", "--no-progress", "--jobs", "2"])
    assert code == 1  # the broken file
    return out


def command(scp, out, address):
    return [sys.executable, "-m", "asr.cli", "transcribe", scp, "--model", MODEL, "--graph",
            GRAPH, "-o", str(out), "--srt", "--ray", address, "--no-progress"]



def journal_keys(out):
    path = os.path.join(out, "results.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, "rb") as handle:
        return [json.loads(line)["key"] for line in handle.read().split(b"\n")[:-1]]


def assert_same_as_local(out, local, total):
    keys = journal_keys(out)
    assert len(keys) == len(set(keys)) == total - 1, Counter(keys).most_common(3)
    with open(os.path.join(out, "text"), encoding="utf-8") as mine, \
            open(os.path.join(local, "text"), encoding="utf-8") as theirs:
        assert mine.read() == theirs.read()
    records = {}
    for name in (out, local):
        with open(os.path.join(name, "results.jsonl"), encoding="utf-8") as handle:
            records[name] = {r["key"]: r for r in map(json.loads, handle)}
    assert records[out] == records[local]
    assert len(records[out]["long"]["segments"]) > 1  # segmented by the VAD, on Ray too
    for name in ("setup.json", "srt/test_00003_1.srt", "srt/long.srt"):
        with open(os.path.join(out, name), "rb") as mine, \
                open(os.path.join(local, name), "rb") as theirs:
            assert mine.read() == theirs.read(), name


def descendants(root):
    """PIDs under `root` in the process tree (the cluster's raylets and their workers)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def actor_pids(title):
    pids = []
    for pid in descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if handle.read().startswith(f"ray::{title}".encode()):
                    pids.append(pid)
        except OSError:
            pass
    return pids


def wait_for_progress(out, at_least, process, timeout=120):
    deadline = time.time() + timeout
    while len(journal_keys(out)) < at_least:
        assert process.poll() is None, process.communicate()
        assert time.time() < deadline, "the run made no progress"
        time.sleep(0.05)


def test_ray_cluster_run_equals_local_run(cluster, inputs, local_run, tmp_path):
    """Through the Python API, in this process (the driver), default actor counts."""
    out = tmp_path / "ray"
    summary = transcribe_batch([inputs[0]], str(out), MODEL, GRAPH, srt=True, progress=False,
                               ray=cluster.address)
    assert (summary.total, summary.done, summary.failed) == (inputs[1], inputs[1] - 1, 1)
    assert_same_as_local(out, local_run, inputs[1])
    with open(out / "errors.tsv", encoding="utf-8") as mine, \
            open(local_run / "errors.tsv", encoding="utf-8") as theirs:
        assert mine.read() == theirs.read()


def test_killed_worker_loses_and_duplicates_nothing(cluster, inputs, local_run, tmp_path):
    out = tmp_path / "ray"
    process = subprocess.Popen(command(inputs[0], out, cluster.address), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_progress(out, 20, process)
        victims = actor_pids("DecodeStage") + actor_pids("ModelStage")
        assert victims, "no actor processes found"
        os.kill(victims[0], signal.SIGKILL)
        done_at_kill = len(journal_keys(out))
        _, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert done_at_kill < inputs[1] - 1, "the run ended before the kill: nothing was proven"
    assert process.returncode == 1, stderr
    assert victims[0] not in actor_pids("DecodeStage") + actor_pids("ModelStage")
    assert_same_as_local(out, local_run, inputs[1])


def test_killed_driver_resumes_exactly_once(cluster, inputs, local_run, tmp_path):
    out = tmp_path / "ray"
    process = subprocess.Popen(command(inputs[0], out, cluster.address), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_progress(out, 20, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    done_at_kill = len(set(journal_keys(out)))
    assert done_at_kill < inputs[1] - 1, "the run ended before the kill: nothing was proven"
    rerun = subprocess.run(command(inputs[0], out, cluster.address), cwd=ROOT,
                           timeout=300, capture_output=True, text=True)
    assert rerun.returncode == 1, rerun.stderr
    assert f"resuming: {done_at_kill} of {inputs[1]}" in rerun.stderr
    assert_same_as_local(out, local_run, inputs[1])
