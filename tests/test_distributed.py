"""`openvid index --ray`: on a local Ray cluster, the same videos, segments and vectors as the local path.

One local Ray (2 CPUs) serves the module. The local path's index of the same files is the
reference: the Ray path must store the same videos with the same segment times and vectors within
1e-5 (read from the FAISS copy), report the same failures, survive a decode worker killed
mid-file and an encoder actor killed mid-run (Ray retries their work), stop cleanly, fail a file a worker cannot open with the shared-path message,
and leave, when its driver is killed, an index that opens and that a rerun completes.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fixtures_store import committed_videos

from openvid.cli import run
from openvid.engine import Engine

TESTS = Path(__file__).resolve().parent
VIDEOS = 8
CONTROL = "OPENVID_TEST_RAY_CONTROL"  # a folder: which worker dies once (see arm_worker_kills)


def arm_worker_kills() -> None:
    """Ray worker setup hook: a worker process dies (os._exit) once, as one killed by the OOM killer.

    In the folder $OPENVID_TEST_RAY_CONTROL, a file `decode` holding a video's name makes the decode
    worker of that video die in the middle of it; a file `encode` makes an encoder actor die on its
    first batch of windows. Each leaves `<which>-killed` (its pid) first, so the retry succeeds.
    """
    from openvid.archive import distributed

    control = Path(os.environ[CONTROL])

    def die_once(which: str) -> None:
        if not (control / f"{which}-killed").exists():
            (control / f"{which}-killed").write_text(str(os.getpid()))
            os._exit(1)

    decode = distributed.ClipPlan.__call__

    def cut(self, path):
        armed = (control / "decode").exists() and (control / "decode").read_text() == Path(path).name

        def clips():
            for n, clip in enumerate(decode(self, path)):
                if armed and n == 1:
                    die_once("decode")
                yield clip

        return clips()

    encode = distributed._EncodeWindows.__call__

    def encode_or_die(self, batch):
        if (control / "encode").exists() and (batch["w"] >= 0).any():
            die_once("encode")
        return encode(self, batch)

    distributed.ClipPlan.__call__ = cut
    distributed._EncodeWindows.__call__ = encode_or_die


@pytest.fixture(scope="module")
def control(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray-control")


@pytest.fixture(scope="module")
def ray_cluster(control):
    ray = pytest.importorskip("ray", reason="the distributed extra (ray[data]) is part of [dev]")
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning",
             runtime_env={"env_vars": {"PYTHONPATH": path, CONTROL: str(control)},
                          "worker_process_setup_hook": "test_distributed.arm_worker_kills"})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, make_video) -> Path:
    """VIDEOS short clips of different lengths, and a file that is no video."""
    folder = tmp_path_factory.mktemp("ray-videos")
    for i in range(VIDEOS):
        shutil.copy(make_video(f"ray-{i}", seconds=2 + i / 4, fps=10, noise=True), folder / f"v{i}.mp4")
    (folder / "broken.mp4").write_text("this is a shopping list, not a video\n" * 40)
    return folder


def engine(tiny_model_dirs, home: Path) -> Engine:
    return Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=1.0)


def snapshot(home: Path) -> dict[str, tuple[list[tuple[float, float]], np.ndarray]]:
    """path -> (segment times, the FAISS copy's vectors of them) of the default index."""
    reader = Engine(device="cpu", home=home)
    index = reader.open_index()
    out = {}
    for video in reader.catalog.list_videos(index.record.id):
        segments = reader.catalog.video_segments(video.id)
        ids = np.array([s.id for s in segments], np.int64)
        out[video.path] = ([(s.start_s, s.end_s) for s in segments], index.vectors.reconstruct(ids))
    return out


def assert_same_index(home: Path, reference: dict, restored: frozenset[str] = frozenset()) -> None:
    """Same videos, same segment times, vectors within 1e-5; videos in `restored` had their FAISS
    vectors refilled from the catalog's copy after a crash, so they are held to that copy's
    precision (float16: within 1e-3) instead."""
    got = snapshot(home)
    assert sorted(got) == sorted(reference)
    for path, (times, vectors) in reference.items():
        if path in restored:
            np.testing.assert_allclose(got[path][1], vectors, atol=1e-3, err_msg=path)
            vectors = got[path][1]
        np.testing.assert_allclose(np.array(got[path][0]).reshape(-1, 2), np.array(times).reshape(-1, 2), atol=1e-9,
                                   err_msg=path)
        np.testing.assert_allclose(got[path][1], vectors, atol=1e-5, err_msg=path)


@pytest.fixture(scope="module")
def local(tiny_model_dirs, tmp_path_factory, folder):
    """The local path's report and index of `folder`: the reference."""
    home = tmp_path_factory.mktemp("local-home")
    report = engine(tiny_model_dirs, home).index_videos([folder])
    assert len(report.indexed) == VIDEOS and [Path(f.path).name for f in report.failures] == ["broken.mp4"]
    return report, snapshot(home)


def test_the_ray_path_stores_what_the_local_path_stores(ray_cluster, tiny_model_dirs, tmp_path, folder, local):
    reference_report, reference = local
    plans, progress = [], []
    report = engine(tiny_model_dirs, tmp_path / "home").index_videos(
        [folder], ray="local", ray_batch_size=4, on_start=plans.append,
        on_progress=lambda path, status, n: progress.append((Path(path).name, status, n)))
    assert sorted(report.indexed) == sorted(reference_report.indexed)
    assert report.segments == reference_report.segments and report.video_seconds == pytest.approx(
        reference_report.video_seconds)
    assert report.failures == reference_report.failures  # the same file, the same message
    assert not report.pending and not report.stopped
    assert_same_index(tmp_path / "home", reference)
    assert Engine(device="cpu", home=tmp_path / "home").check().ok
    [plan] = plans
    assert (plan.actors, plan.batch_size, plan.gpus_per_actor, plan.files) == (1, 4, 0, VIDEOS + 1)
    assert sorted(status for _, status, _ in progress) == ["failed"] + ["indexed"] * VIDEOS

    again = engine(tiny_model_dirs, tmp_path / "home").index_videos([folder], ray="local")
    assert len(again.already) == VIDEOS and not again.indexed  # planned on the driver, as before


@pytest.mark.parametrize("which", ["decode", "encode"])
def test_a_worker_killed_mid_run_is_retried_and_nothing_is_lost(ray_cluster, control, tiny_model_dirs, tmp_path,
                                                                folder, local, which):
    (control / which).write_text("v3.mp4")  # decode: the worker cutting v3.mp4; encode: an encoder actor
    try:
        report = engine(tiny_model_dirs, tmp_path / "home").index_videos([folder], ray="local")
    finally:
        (control / which).unlink()
    killed = control / f"{which}-killed"
    assert killed.exists(), f"a {which} worker should have died once"
    assert int(killed.read_text()) != os.getpid()  # a worker process, not this one
    assert len(report.indexed) == VIDEOS and [Path(f.path).name for f in report.failures] == ["broken.mp4"]
    assert_same_index(tmp_path / "home", local[1])


def test_a_file_a_worker_cannot_open_fails_alone_with_the_shared_path_message(ray_cluster, tiny_model_dirs,
                                                                              tmp_path, folder):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("v0.mp4", "v1.mp4"):
        shutil.copy(folder / name, videos / name)
    gone = videos / "v1.mp4"
    # planned (hashed) on the driver, then gone before a worker opens it: what a node without the
    # shared file system sees
    report = engine(tiny_model_dirs, tmp_path / "home").index_videos(
        [videos], ray="local", on_start=lambda plan: gone.unlink())
    assert report.indexed == [str(videos / "v0.mp4")]
    [failure] = report.failures
    assert failure.path == str(gone)
    assert "cannot be read on node" in failure.error and "shared file system" in failure.error
    assert "No such file" in failure.error


def test_a_stop_ends_the_run_cleanly_with_what_was_committed_saved(ray_cluster, tiny_model_dirs, tmp_path, folder,
                                                                   local):
    stop = threading.Event()

    def progress(path: str, status: str, segments: int) -> None:
        if status == "indexed":
            stop.set()  # as Ctrl-C does, after the first video is in

    home = tmp_path / "home"
    report = engine(tiny_model_dirs, home).index_videos([folder], ray="local", ray_batch_size=1, stop=stop,
                                                        on_progress=progress)
    assert report.stopped and 1 <= len(report.indexed) < VIDEOS
    assert sorted(report.indexed + report.pending + [f.path for f in report.failures]) == sorted(
        str(p) for p in folder.iterdir())
    assert Engine(device="cpu", home=home).check().ok  # saved as it stopped: no repair needed
    partial = {path: local[1][path] for path in report.indexed}
    assert_same_index(home, partial)


@pytest.mark.slow
def test_a_killed_driver_leaves_an_index_that_opens_and_a_rerun_finishes(ray_cluster, tiny_model_dirs, tmp_path,
                                                                         folder, local, capsys):
    home = tmp_path / "home"
    command = [sys.executable, "-m", "openvid", "index", str(folder), "--home", str(home), "--model",
               str(tiny_model_dirs["clip"]), "--device", "cpu", "--window", "1", "--ray", "local",
               "--ray-batch-size", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watcher = Engine(device="cpu", home=home)
    deadline = time.monotonic() + 150
    try:
        while True:  # wait until some videos are committed, then kill the driver outright
            assert process.poll() is None, f"the driver ended (exit code {process.returncode}) before the kill: " \
                                           f"{process.stdout.read()}"
            assert time.monotonic() < deadline, "no video was committed within 150 s"
            time.sleep(0.1)
            committed = committed_videos(watcher)
            if committed is not None and 2 <= committed < VIDEOS:
                break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    record = watcher.catalog.find_index("default")
    partial = watcher.catalog.counts(record.id)[0]
    segments = len(watcher.catalog.segment_ids(record.id))
    assert 2 <= partial < VIDEOS, "the kill should land mid-run"
    restored = frozenset(video.path for video in watcher.catalog.list_videos(record.id))
    # as on the local path: the catalog is ahead of the FAISS copy saved last, never behind or damaged...
    state = Engine(device="cpu", home=home).check()
    assert state.damaged is None and not len(state.extra) and state.catalog_segments == segments
    Engine(device="cpu", home=home).open_index().save()  # ...and opening brings FAISS in step
    assert Engine(device="cpu", home=home).check().ok

    capsys.readouterr()
    code = run(["index", str(folder), "--home", str(home), "--model", str(tiny_model_dirs["clip"]), "--device",
                "cpu", "--window", "1", "--ray", "local", "--json"])
    said = capsys.readouterr()
    assert code == 1  # broken.mp4 fails, as on the local path
    rerun = json.loads(said.out)  # the plan goes to stderr: stdout stays one JSON document
    assert len(rerun["already"]) == partial and len(rerun["indexed"]) == VIDEOS - partial
    assert "encoder actors" in said.err and "--ray-actors" in said.err
    assert_same_index(home, local[1], restored)


def test_without_ray_the_message_says_how_to_install_it(monkeypatch, tiny_model_dirs, tmp_path, folder, capsys):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    from openvid.archive.distributed import RayUnavailable

    with pytest.raises(RayUnavailable, match=r'pip install "openvid\[distributed\]"'):
        engine(tiny_model_dirs, tmp_path / "home").index_videos([folder], ray="local")
    assert Engine(device="cpu", home=tmp_path / "home").catalog.find_index("default") is None  # nothing created
    assert run(["index", str(folder), "--home", str(tmp_path / "home"), "--ray", "auto"]) == 1
    assert 'pip install "openvid[distributed]"' in capsys.readouterr().err


def test_ray_options_without_ray_are_refused(tiny_model_dirs, tmp_path, folder):
    from openvid.errors import UsageError

    with pytest.raises(UsageError, match="ray"):
        engine(tiny_model_dirs, tmp_path / "home").index_videos([folder], ray_actors=2)


class _Cluster:
    def __init__(self, cpus: float, gpus: float = 0) -> None:
        self.resources = {"CPU": cpus, "GPU": gpus}

    def cluster_resources(self) -> dict:
        return self.resources


@pytest.mark.parametrize("cpus, gpus, device, actors, expected", [
    (2, 0, "auto", None, (1, 0, 1)),  # one actor, one CPU left to decode
    (32, 0, "auto", None, (8, 0, 1)),  # one per 4 CPUs
    (32, 4, "auto", None, (4, 1, 0)),  # one per GPU
    (32, 4, "cpu", 3, (3, 0, 1)),  # --device cpu keeps the actors off the GPUs
])
def test_the_default_sizes_follow_the_cluster(cpus, gpus, device, actors, expected):
    from openvid.archive.distributed import plan_resources
    from openvid.config import Settings

    got = plan_resources(_Cluster(cpus, gpus), Settings(device=device), actors, None)
    assert (got["actors"], got["gpus"], got["cpus"]) == expected and got["batch_size"] == Settings().batch_size


@pytest.mark.parametrize("cpus, gpus, device, actors, says", [
    (2, 0, "auto", 2, "leave none to decode with"),  # Ray would wait for a free CPU for ever
    (8, 2, "auto", 3, "need one GPU each"),
    (8, 0, "cuda", None, "has no GPU"),
])
def test_sizes_the_cluster_cannot_run_are_refused(cpus, gpus, device, actors, says):
    from openvid.archive.distributed import plan_resources
    from openvid.config import Settings
    from openvid.errors import UsageError

    with pytest.raises(UsageError, match=says):
        plan_resources(_Cluster(cpus, gpus), Settings(device=device), actors, None)


def test_ray_is_imported_only_when_a_run_asks_for_it():
    probe = ("import sys, openvid, openvid.engine, openvid.cli, openvid.archive.distributed\n"
             "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


class _FakeRay:
    """Records `ray.init` calls; `running` says whether a cluster answers address="auto"."""

    def __init__(self, running: bool) -> None:
        self.running, self.calls = running, []

    def is_initialized(self) -> bool:
        return False

    def init(self, address=None, **kwargs) -> None:
        self.calls.append(address)
        if address == "auto" and not self.running:
            raise ConnectionError("Could not find any running Ray instance.")


@pytest.mark.parametrize("address, running, calls, noted", [
    ("auto", True, ["auto"], False),
    ("auto", False, ["auto", "local"], True),  # no cluster: a local one, and the note says so
    ("local", True, ["local"], False),  # local always starts its own
    ("ray://head:10001", True, ["ray://head:10001"], False),
])
def test_auto_joins_a_running_cluster_or_starts_a_local_one_and_says_so(monkeypatch, address, running, calls, noted):
    from openvid.archive import distributed

    fake = _FakeRay(running)
    monkeypatch.setattr(distributed, "import_ray", lambda: fake)
    started, note = distributed.connect(address)
    assert started and fake.calls == calls
    assert ("ray start --head" in note) == noted


def test_an_address_that_is_none_is_refused(monkeypatch):
    from openvid.archive import distributed
    from openvid.errors import UsageError

    monkeypatch.setattr(distributed, "import_ray", lambda: _FakeRay(True))
    with pytest.raises(UsageError, match="auto, local or ray://HOST:PORT"):
        distributed.connect("nowhere")
