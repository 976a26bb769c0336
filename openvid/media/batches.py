"""Reader → model → writer over many files: decoding runs ahead in a background thread, and
segments from many videos share model batches, so the model is not idle while files open.

`run_batched` knows nothing of what the model computes: `compute` maps a batch of clips to one
row per clip, and `on_done` receives each file's clips and rows once all of them are through.
A file that fails to decode is reported through `on_failed` and its partial rows are dropped;
the other files go on. A `UsageError` from the source is the call's fault, not the file's: it
stops the run and is raised, like a bug.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from openvid.errors import OpenvidError, UsageError
from openvid.media import Clip

ClipSource = Callable[[str], Iterable[Clip]]


@dataclass
class StageTimes:
    """Seconds spent in each stage, for `--verbose` and benchmarks."""

    decode: float = 0.0
    compute: float = 0.0
    waiting: float = 0.0  # the model waiting on the decoder
    clips: int = 0


@dataclass
class _Chunk:
    index: int
    clips: list[Clip]


@dataclass
class _Done:
    index: int


@dataclass
class _Failed:
    index: int
    error: Exception


_END = object()


def _decode_worker(paths: Sequence[str], source: ClipSource, out: queue.Queue, chunk: int,
                   times: StageTimes, stop: threading.Event) -> None:
    try:
        for index, path in enumerate(paths):
            if stop.is_set():
                return
            started = time.perf_counter()
            try:
                pending: list[Clip] = []
                for clip in source(path):
                    pending.append(clip)
                    if len(pending) >= chunk:
                        times.decode += time.perf_counter() - started
                        out.put(_Chunk(index, pending))
                        started, pending = time.perf_counter(), []
                times.decode += time.perf_counter() - started
                if pending:
                    out.put(_Chunk(index, pending))
                out.put(_Done(index))
            except UsageError:  # the call is wrong, not this file: every file would fail the same way
                raise
            except OpenvidError as exc:
                out.put(_Failed(index, exc))
    except BaseException as exc:  # a bug, not bad input: hand it to the main thread to raise
        out.put(exc)
    finally:
        out.put(_END)


@dataclass
class _FileState:
    clips: list[Clip] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    done: bool = False
    failed: bool = False


def run_batched(
    paths: Sequence[str],
    source: ClipSource,
    compute: Callable[[list[Clip]], Sequence[Any]],
    on_done: Callable[[int, str, list[Clip], list[Any]], None],
    on_failed: Callable[[int, str, Exception], None],
    batch_size: int = 32,
    prefetch: int = 4,
    keep_frames: bool = False,
) -> StageTimes:
    """Run `compute` over every clip of every file in shared batches; report each file once.

    `keep_frames=False` drops each clip's pixels once computed, so memory holds one batch of
    frames plus what the decoder has run ahead by (`prefetch` chunks), not whole videos.
    """
    times = StageTimes()
    events: queue.Queue = queue.Queue(maxsize=max(prefetch, 1))
    stop = threading.Event()
    worker = threading.Thread(target=_decode_worker, args=(paths, source, events, batch_size, times, stop),
                              name="openvid-decode", daemon=True)
    worker.start()
    files: dict[int, _FileState] = {}
    pending: list[tuple[int, Clip]] = []

    def finish_ready() -> None:
        for index in [i for i, state in files.items() if state.done and not state.failed]:
            if not any(i == index for i, _ in pending):
                state = files.pop(index)
                on_done(index, paths[index], state.clips, state.rows)

    def flush() -> None:
        if not pending:
            return
        batch = list(pending)
        pending.clear()
        started = time.perf_counter()
        rows = compute([clip for _, clip in batch])
        times.compute += time.perf_counter() - started
        times.clips += len(batch)
        for (index, clip), row in zip(batch, rows):
            state = files.get(index)
            if state is None or state.failed:
                continue
            if not keep_frames:
                clip.drop_pixels()
            state.clips.append(clip)
            state.rows.append(row)

    try:
        while True:
            started = time.perf_counter()
            event = events.get()
            times.waiting += time.perf_counter() - started
            if event is _END:
                break
            if isinstance(event, BaseException):
                raise event
            if isinstance(event, _Chunk):
                files.setdefault(event.index, _FileState())
                pending.extend((event.index, clip) for clip in event.clips)
                while len(pending) >= batch_size:
                    head, rest = pending[:batch_size], pending[batch_size:]
                    pending[:] = head
                    flush()
                    pending[:] = rest
                    finish_ready()
            elif isinstance(event, _Done):
                files.setdefault(event.index, _FileState()).done = True
                finish_ready()
            elif isinstance(event, _Failed):
                files.pop(event.index, None)
                pending[:] = [(i, c) for i, c in pending if i != event.index]
                on_failed(event.index, paths[event.index], event.error)
        flush()
        finish_ready()
    finally:
        stop.set()
        while worker.is_alive():  # unblock a worker waiting on a full queue
            try:
                events.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)
    return times
