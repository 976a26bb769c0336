"""`openvid index --ray`: the same index job, with decoding and encoding spread over a Ray cluster.

The driver (this process) plans the run exactly as the local path does (`ingest._plan`: walk,
hash, skip what is indexed, find moved and changed files) and writes exactly as it does
(`ingest._Writer`: one catalog transaction per video, then FAISS, `save_every`, copies, progress,
the report). Only the middle runs on the cluster, as one Ray Data pipeline:

    from_items(planned files)                    one block per file
      → map_batches(_decode_file), CPU tasks      the windows of one file, `chunk` at a time, as
                                                  rows (file, window, start_s, end_s, uint8 frames),
                                                  then one row with the file's window count, or an
                                                  error row when the file cannot be read or decoded
      → map_batches(_EncodeWindows), actor pool   the model loaded once per actor (one GPU each
                                                  where the cluster has GPUs: fp16 there, by
                                                  `config.device_and_dtype`); frames → vector
      → iter_batches on the driver                grouped by file; a file is committed once its
                                                  count row and all its windows are back

**Memory stays bounded.** A decode task yields `chunk` windows at a time and Ray Data's streaming
executor applies backpressure (each task may run only a few blocks ahead of its consumer), so
what is held anywhere is the windows in flight, never a whole decoded video; the driver keeps
only vectors and times.

**Faults.** A file that fails to decode is an error row, never a failed task: reported and
skipped like the local path. A worker process that dies is Ray's to handle: decode tasks are
retried (Ray Data's default `max_retries=-1` for system failures) and encoder actors are
restarted with their tasks retried (`max_restarts=-1`, `max_task_retries=-1`); a retried task's
rows may come twice, so the driver keys windows by number. A killed driver leaves what it had
committed, as the local path does (the catalog is the truth; FAISS is patched on the next open).

**Shared paths.** Workers open files by the driver's path, so every node must see the same path
(a shared file system). A worker that cannot open a planned file fails that file with a message
saying so and naming the node; the run goes on.

`ray` is imported only here, and only inside functions, so `import openvid` stays light and a
machine without the `distributed` extra loses nothing but this path.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from openvid.archive.ingest import IndexReport, _plan, _Writer
from openvid.archive.video_index import VideoIndex
from openvid.context import ClipPlan
from openvid.errors import ModelUnavailable, OpenvidError, UsageError, opt

if TYPE_CHECKING:  # pragma: no cover
    from openvid.config import Settings
    from openvid.context import RunContext
    from openvid.media import Clip

INSTALL = 'pip install "openvid[distributed]"'
SHARED_PATHS = "every node must see the same path (a shared file system)"


class RayUnavailable(OpenvidError):
    """Ray (the `distributed` extra) is not installed, or the cluster cannot be reached."""


def import_ray() -> Any:
    """`ray` with Ray Data, or `RayUnavailable` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the pipeline needs Ray Data, not only Ray Core
    except ImportError as exc:
        raise RayUnavailable(f"indexing on Ray needs Ray Data, which is not installed ({exc}); install it with "
                             f"`{INSTALL}`, or index without {opt('ray')}") from exc
    return ray


@dataclass(frozen=True)
class RayPlan:
    """What a Ray run runs with; printed at its start (`on_start`) so the defaults are visible."""

    address: str  # what was asked: auto, local or ray://host:port
    connected: str  # what it is running on
    actors: int  # encoder actors
    batch_size: int  # windows per encoder call
    gpus_per_actor: int
    cpus_per_actor: float
    cluster_cpus: float
    cluster_gpus: float
    files: int
    note: str = ""  # e.g. no cluster was running, so a local one was started

    def describe(self) -> str:
        where = f"{self.gpus_per_actor} GPU each" if self.gpus_per_actor else f"{self.cpus_per_actor:g} CPU each"
        line = (f"ray ({self.connected}: {self.cluster_cpus:g} CPUs, {self.cluster_gpus:g} GPUs): {self.files} files, "
                f"{self.actors} encoder actors ({where}), batches of {self.batch_size} windows")
        return f"{line}; {self.note}" if self.note else line


# -- the cluster ---------------------------------------------------------------------------------
def connect(address: str) -> tuple[bool, str]:
    """Join or start the Ray cluster `address` names; returns (whether we started Ray here, a note).

    `auto`: a running cluster (`ray start --head` on this machine, or RAY_ADDRESS), else a local
    one, with a note saying so (a laptop user gets a run rather than an error). `local`: a new
    local cluster. `ray://host:port`: the Ray client. A process already connected (`ray.init`
    called by the caller, e.g. a notebook or a test) keeps its connection, whatever `address`.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False, ""
    quiet = {"include_dashboard": False, "configure_logging": True, "logging_level": "warning",
             "log_to_driver": False}
    note = ""
    try:
        if address == "auto":
            try:
                ray.init(address="auto", **quiet)
            except ConnectionError:
                note = "no running Ray cluster was found (`ray start --head` starts one), so a local one was started"
                ray.init(address="local", **quiet)
        elif address == "local":
            ray.init(address="local", **quiet)
        elif address.startswith("ray://"):
            ray.init(address=address, log_to_driver=False)
        elif ":" in address:  # HOST:PORT of a cluster's head, joined directly (from inside its network)
            ray.init(address=address, **quiet)
        else:
            raise UsageError(f"{opt('ray', address)} is not a Ray address; give auto, local or ray://HOST:PORT")
    except (ConnectionError, RuntimeError) as exc:
        raise RayUnavailable(f"cannot reach the Ray cluster at {address}: {exc}; check that it runs "
                             f"(`ray status` on its head node) and that this machine can reach its port") from exc
    return True, note


def plan_resources(ray: Any, settings: "Settings", actors: int | None, batch_size: int | None) -> dict[str, Any]:
    """Actor count, GPUs per actor and batch size: given, else from what the cluster holds.

    With GPUs in the cluster (and a device other than cpu asked for), one actor per GPU, one GPU
    each; without, one actor per 4 CPUs (at least one), 1 CPU each, leaving the rest to decoding,
    which is usually the heavier half on CPUs.
    """
    resources = ray.cluster_resources()
    cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
    use_gpus = gpus >= 1 and not settings.device.startswith("cpu")
    if settings.device.startswith("cuda") and not use_gpus:
        raise UsageError(f"{opt('device', settings.device)} was asked for but the Ray cluster has no GPU; "
                         f"use {opt('device', 'cpu')} or add GPU workers")
    if actors is not None and actors < 1:
        raise UsageError(f"{opt('ray_actors')} must be at least 1, got {actors}")
    if batch_size is not None and batch_size < 1:
        raise UsageError(f"{opt('ray_batch_size')} must be at least 1, got {batch_size}")
    chosen = actors or (int(gpus) if use_gpus else max(1, int(cpus) // 4))
    if use_gpus and chosen > gpus:
        raise UsageError(f"{chosen} encoder actors need one GPU each and the Ray cluster has {gpus:g}; give "
                         f"{opt('ray_actors', int(gpus))} or fewer, or add GPU workers")
    if not use_gpus and chosen >= cpus:  # Ray would wait for a free CPU for ever: the actors hold them all
        raise UsageError(f"{chosen} encoder actors take {chosen} of the Ray cluster's {cpus:g} CPUs and leave none "
                         f"to decode with; give {opt('ray_actors', max(int(cpus) - 1, 1))} or fewer, or add CPUs")
    return {"actors": chosen, "gpus": 1 if use_gpus else 0, "cpus": 0 if use_gpus else 1,
            "batch_size": batch_size or settings.batch_size, "cluster_cpus": cpus, "cluster_gpus": gpus}


# -- on the workers ------------------------------------------------------------------------------
_ROW = ("i", "w", "start_s", "end_s", "count", "error")


def _row(i: int, clip: "Clip | None" = None, *, count: int = -1, error: str = "") -> dict[str, Any]:
    """One row: a window of file `i` (its frames as bytes, with their shape), or its count or error row."""
    if clip is None:
        return {"i": i, "w": -1, "start_s": 0.0, "end_s": 0.0, "count": count, "error": error, "frames": b"",
                "shape": np.zeros(4, np.int64)}
    return {"i": i, "w": clip.index, "start_s": float(clip.start_s), "end_s": float(clip.end_s), "count": -1,
            "error": "", "frames": clip.frames.tobytes(), "shape": np.array(clip.frames.shape, np.int64)}


def node_name() -> str:
    """This node, as a message names it: host name and address."""
    try:
        return f"{socket.gethostname()} ({socket.gethostbyname(socket.gethostname())})"
    except OSError:
        return socket.gethostname()


def _decode_file(item: dict[str, Any], source: Callable[[str], Iterable["Clip"]]) -> Iterator[dict[str, Any]]:
    """A Ray Data `flat_map` UDF: one row per window of the planned file `item`, then its count row.

    Never raises for a bad file: a file this node cannot open, or one that fails to decode, is an
    error row (the driver reports it and goes on). A `UsageError` (the call is wrong: every file
    would fail) and bugs do raise, and fail the run, as in the local path. Rows are yielded one
    window at a time, and Ray Data cuts them into blocks as they come, so a long video is never
    held whole.
    """
    i, path = int(item["i"]), str(item["path"])
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        yield _row(i, error=f"{path}: cannot be read on node {node_name()}: {exc.strerror or exc}; "
                            f"{SHARED_PATHS}, and the planned files must stay in place until the run ends")
        return
    count = 0
    clips = None
    try:
        clips = iter(source(path))
        for clip in clips:
            clip.index = count  # the window number the driver orders by
            yield _row(i, clip)
            count += 1
        yield _row(i, count=count)
    except UsageError:
        raise
    except OpenvidError as exc:
        yield _row(i, error=str(exc))
    finally:
        close = getattr(clips, "close", None)
        if close is not None:  # a generator: release its decoder now
            close()


class _EncodeWindows:
    """A Ray Data actor UDF: the encoder loaded once per actor; frames in, one vector per window out.

    It loads the index's own model through `load_encoder` (a hub name or a local checkpoint
    folder, which then must be at the same path on every node) and refuses to run when the
    weights it gets are not the ones the index was built with.
    """

    def __init__(self, model: str, settings: "Settings", identity: str) -> None:
        from openvid.encoders import load_encoder

        self.encoder = load_encoder(model, settings)
        if self.encoder.identity != identity:
            raise ModelUnavailable(f"the model {model!r} loads as {self.encoder.identity} on node {node_name()}, but "
                                   f"the index was built with {identity}; give every node the same checkpoint")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from openvid.media import Clip

        windows = np.flatnonzero(batch["w"] >= 0)
        clips = [Clip(path="", index=int(batch["w"][k]), start_s=float(batch["start_s"][k]),
                      end_s=float(batch["end_s"][k]),
                      frames=np.frombuffer(batch["frames"][k], np.uint8).reshape(batch["shape"][k]),
                      frame_indices=np.zeros(int(batch["shape"][k][0]), np.int64)) for k in windows]
        vectors = np.zeros((len(batch["w"]), self.encoder.dim), np.float32)
        if clips:
            vectors[windows] = np.asarray(self.encoder.encode_video(clips), np.float32)
        out = {name: batch[name] for name in _ROW}
        out["vector"] = vectors
        return out


# -- the driver ----------------------------------------------------------------------------------
@dataclass
class _Pending:
    times: dict[int, tuple[float, float]]
    vectors: dict[int, np.ndarray]
    count: int = -1


def index_videos(
    index: VideoIndex,
    ctx: "RunContext",
    paths: Sequence[str | Path],
    *,
    ray: str = "auto",
    actors: int | None = None,
    batch_size: int | None = None,
    save_every: int = 50,
    on_progress: Callable[[str, str, int], None] | None = None,
    on_start: Callable[[RayPlan], None] | None = None,
    stop: threading.Event | None = None,
    source: Callable[[str], Iterable["Clip"]] | None = None,
) -> IndexReport:
    """`ingest.index_videos` with decoding and encoding on a Ray cluster (see the module docstring).

    `ray`: auto, local or ray://HOST:PORT (`connect`). `actors`, `batch_size`: encoder actors and
    windows per encoder call (default: `plan_resources`); `on_start` receives them, with the
    cluster's size, before the first file is read. `source`: how a worker cuts a file into
    windows (default: `ClipPlan.of(ctx)`, the local path's own windows); it is pickled to the
    workers. `stop` ends the run cleanly: the videos committed so far are saved, the rest is
    `pending`, as in the local path.
    """
    started = time.perf_counter()
    ray_module = import_ray()
    started_here, note = connect(ray)
    try:
        resources = plan_resources(ray_module, ctx.settings, actors, batch_size)  # wrong sizes fail before hashing
        report = IndexReport(index.record.name)
        planned = _plan(index, paths, report, on_progress, stop)
        writer = _Writer(index, planned, report, save_every=save_every, on_progress=on_progress)
        plan = RayPlan(address=ray, connected=_where(ray_module, started_here), actors=resources["actors"],
                       batch_size=resources["batch_size"], gpus_per_actor=resources["gpus"],
                       cpus_per_actor=resources["cpus"], cluster_cpus=resources["cluster_cpus"],
                       cluster_gpus=resources["cluster_gpus"], files=len(planned), note=note)
        if on_start:
            on_start(plan)
        stopped = bool(stop and stop.is_set())
        try:
            if planned and not stopped:
                stopped = _run(ray_module, index, ctx, planned, writer, plan, source or ClipPlan.of(ctx), stop)
        except BaseException:
            writer.abort()
            raise
        return writer.finish(started, stopped=stopped)
    finally:
        if started_here:
            ray_module.shutdown()


def _where(ray: Any, started_here: bool) -> str:
    if not started_here:
        return "the connected cluster"
    try:
        return f"cluster at {ray.get_runtime_context().gcs_address}"
    except Exception:  # noqa: BLE001 - only a label; the Ray client has no GCS address
        return "the cluster"


def _run(ray: Any, index: VideoIndex, ctx: "RunContext", planned: list, writer: _Writer, plan: RayPlan,
         source: Callable[[str], Iterable["Clip"]], stop: threading.Event | None) -> bool:
    """Run the pipeline and commit each file as its windows come back; returns whether it stopped."""
    from ray.data import DataContext

    context = DataContext.get_current()
    changes = {
        "enable_progress_bars": False,  # the command line draws its own
        "print_on_execution_start": False,
        "raise_original_map_exception": True,  # a UsageError from a worker stays a UsageError
        "max_consecutive_actor_init_deaths": 3,  # an actor killed while loading its model is replaced
    }
    if isinstance(source, ClipPlan):  # a block of about one encoder batch: what a decode task holds ahead
        changes["target_max_block_size"] = max(1 << 22, plan.batch_size * source.window_bytes())
    previous = {name: getattr(context, name) for name in changes}
    for name, value in changes.items():  # for this run only: the caller's own Ray Data work is left as it was
        setattr(context, name, value)
    data_log = logging.getLogger("ray.data")
    log_level = data_log.level
    data_log.setLevel(logging.WARNING)  # not Ray Data's "execution finished" lines on the command line's stderr
    try:
        items = [{"i": i, "path": str(p.path)} for i, p in enumerate(planned)]
        settings = ctx.settings.replace(device="cpu") if not plan.gpus_per_actor else (
            ctx.settings if ctx.settings.device.startswith("cuda") else ctx.settings.replace(device="cuda"))
        model = ctx.settings.model_name
        dataset = (
            ray.data.from_items(items, override_num_blocks=len(items))
            .flat_map(_decode_file, num_cpus=1, fn_kwargs={"source": source})
            .map_batches(_EncodeWindows, batch_size=plan.batch_size, batch_format="numpy",
                         compute=ray.data.ActorPoolStrategy(size=plan.actors), num_gpus=plan.gpus_per_actor or None,
                         num_cpus=plan.cpus_per_actor if not plan.gpus_per_actor else None,
                         fn_constructor_kwargs={"model": model, "settings": settings,
                                                "identity": index.record.encoder})
        )
        return _collect(dataset.iter_batches(batch_size=None, batch_format="numpy"), planned, writer, stop)
    finally:
        for name, value in previous.items():
            setattr(context, name, value)
        data_log.setLevel(log_level)


def _collect(batches: Iterable[dict[str, np.ndarray]], planned: list, writer: _Writer,
             stop: threading.Event | None) -> bool:
    """Group rows by file and commit each file once its count row and all its windows are in.

    Windows are keyed by number, so a retried task's repeated rows change nothing; a file's error
    row drops what came of it and reports it (later rows of it are ignored).
    """
    open_files: dict[int, _Pending] = {}
    closed: set[int] = set()
    iterator = iter(batches)
    try:
        for batch in iterator:
            for k in range(len(batch["i"])):
                i = int(batch["i"][k])
                if i in closed:
                    continue
                if batch["error"][k]:
                    open_files.pop(i, None)
                    closed.add(i)
                    writer.fail(i, str(batch["error"][k]))
                    continue
                state = open_files.setdefault(i, _Pending({}, {}))
                w = int(batch["w"][k])
                if w >= 0:
                    state.times[w] = (float(batch["start_s"][k]), float(batch["end_s"][k]))
                    state.vectors[w] = batch["vector"][k]
                else:
                    state.count = int(batch["count"][k])
                if state.count >= 0 and len(state.times) >= state.count:
                    del open_files[i]
                    closed.add(i)
                    if not state.count:
                        writer.fail(i, f"{planned[i].path}: no window could be cut from this video")
                        continue
                    order = sorted(state.times)[:state.count]
                    writer.commit(i, [state.times[w] for w in order], [state.vectors[w] for w in order])
            if stop is not None and stop.is_set():
                return True
        return False
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:  # stops the streaming execution when we leave early
            close()


__all__ = ["ClipPlan", "RayPlan", "RayUnavailable", "connect", "import_ray", "index_videos", "plan_resources",
           "INSTALL"]
