"""Reader → model → writer over many files: decoding runs ahead in a background thread, and
segments from many videos share model batches, so the model is not idle while files open.

`run_batched` knows nothing of what the model computes: `compute` maps a batch of clips to one
row per clip, and `on_done` receives each file's clips and rows once all of them are through.
A file that fails to decode is reported through `on_failed` and its partial rows are dropped;
the other files go on. A `UsageError` from the source is the call's fault, not the file's: it
stops the run and is raised, like a bug.

**Memory does not grow with a video's length.** The decoder hands over one clip at a time
through a queue that holds at most `prefetch` clips (one batch by default: enough to keep the
model fed), and a computed clip keeps only its times (`Clip.drop_pixels`), so what is held is
about two batches of frames whatever the length; a ten-hour file costs what a one-minute one does.

glibc's malloc is the other half of that: by default it raises its mmap threshold to the size of
each large block freed (up to 32 MB), so the frame buffers and model inputs that come and go
every batch move into its heaps, where long-lived small objects pin them and the process keeps
memory it no longer uses, a little more with every batch. `run_batched` fixes the threshold at
glibc's own default (128 KiB; no-op on other C libraries), so a large block is returned to the
system when freed. Measured in `scripts/bench_memory.py` (docs/benchmarks.md).

**Stopping.** Setting `stop` (a `threading.Event`, e.g. from a SIGINT handler) ends the run at the
next clip: the batch being computed finishes, the files it completes are reported, and the files
still in flight are dropped unreported (nothing of them was handed to `on_done`); the decoder
thread stops within one clip. `StageTimes.stopped` says it happened.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from openvid.errors import OpenvidError, UsageError
from openvid.media import Clip

ClipSource = Callable[[str], Iterable[Clip]]



_M_MMAP_THRESHOLD = -3  # mallopt parameter number (malloc.h)


@functools.cache
def bound_malloc_retention() -> bool:
    """Fix glibc's mmap threshold at its default, so large blocks go back to the system when freed.

    Setting it turns off glibc's dynamic threshold (see the module docstring); it is what
    `MALLOC_MMAP_THRESHOLD_=131072` does. Returns whether it was applied (glibc on Linux only);
    an explicit `MALLOC_MMAP_THRESHOLD_` in the environment is left alone.
    """
    import os

    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


@dataclass
class StageTimes:
    """Seconds spent in each stage, for `--verbose` and benchmarks."""

    decode: float = 0.0
    compute: float = 0.0
    waiting: float = 0.0  # the model waiting on the decoder
    clips: int = 0
    stopped: bool = False  # `stop` was set: the files still in flight were not reported


@dataclass
class _Item:
    index: int
    clip: Clip


@dataclass
class _Done:
    index: int


@dataclass
class _Failed:
    index: int
    error: Exception


_END = object()


def _decode_worker(paths: Sequence[str], source: ClipSource, out: queue.Queue, times: StageTimes,
                   stop: threading.Event) -> None:
    try:
        for index, path in enumerate(paths):
            if stop.is_set():
                return
            started = time.perf_counter()
            clips = None
            try:
                clips = iter(source(path))
                for clip in clips:
                    times.decode += time.perf_counter() - started
                    if stop.is_set():  # checked per clip: a long video must not be decoded to its end
                        return
                    out.put(_Item(index, clip))
                    del clip  # the queue holds the only reference: a dropped clip frees its pixels
                    started = time.perf_counter()
                times.decode += time.perf_counter() - started
                out.put(_Done(index))
            except UsageError:  # the call is wrong, not this file: every file would fail the same way
                raise
            except OpenvidError as exc:
                out.put(_Failed(index, exc))
            finally:
                close = getattr(clips, "close", None)
                if close is not None:  # a generator: release its decoder now, not at garbage collection
                    close()
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
    prefetch: int | None = None,
    keep_frames: bool = False,
    stop: threading.Event | None = None,
) -> StageTimes:
    """Run `compute` over every clip of every file in shared batches; report each file once.

    `prefetch`: how many clips the decoder may run ahead (default: one batch). `keep_frames=False`
    drops each clip's pixels once computed, so memory holds the batch being computed plus the
    clips decoded ahead, not whole videos. `stop`: see the module docstring.
    """
    bound_malloc_retention()
    times = StageTimes()
    events: queue.Queue = queue.Queue(maxsize=max(prefetch or batch_size, 1))
    halt = threading.Event()
    worker = threading.Thread(target=_decode_worker, args=(paths, source, events, times, halt),
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
            if stop is not None and stop.is_set():
                times.stopped = True
                break
            started = time.perf_counter()
            try:
                event = events.get(timeout=0.1)
            except queue.Empty:
                times.waiting += time.perf_counter() - started
                continue
            times.waiting += time.perf_counter() - started
            if event is _END:
                break
            if isinstance(event, BaseException):
                raise event
            if isinstance(event, _Item):
                files.setdefault(event.index, _FileState())
                pending.append((event.index, event.clip))
                del event
                if len(pending) >= batch_size:
                    flush()
                    finish_ready()
            elif isinstance(event, _Done):
                files.setdefault(event.index, _FileState()).done = True
                finish_ready()
            elif isinstance(event, _Failed):
                files.pop(event.index, None)
                pending[:] = [(i, c) for i, c in pending if i != event.index]
                on_failed(event.index, paths[event.index], event.error)
        if not times.stopped:
            flush()
            finish_ready()
    finally:
        halt.set()
        while worker.is_alive():  # unblock a worker waiting on a full queue
            try:
                events.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)
    return times
