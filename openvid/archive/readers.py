"""Opened indexes kept for searching, so a search costs a search and not a load.

Opening an index reads its FAISS file, checks it and brings it in step with the catalog: close
to a second at 100,000 segments (scripts/bench_serve.py), far more than the search itself. An
`IndexReaders` keeps each opened index and hands it to every later search of the same index,
as long as it is still what is on disk:

- the FAISS copy was saved again (its sidecar changed): it is opened afresh;
- videos were committed since (a running indexer saves every few dozen videos): only their
  segments' vectors are read from the catalog and added, so searches see each video as soon as
  it is committed, as they did when every search opened the index;
- anything else changed (videos removed or replaced): opened afresh.

Searches share an opened index under a read lock (FAISS searches may run concurrently); adding the
new videos' vectors takes the write lock. An index being rebuilt is replaced whole, so a search
that began on the old one finishes on it.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from openvid.archive.video_index import VideoIndex, folder_of
from openvid.store.catalog import Catalog, IndexRecord


class ReadWriteLock:
    """Many readers or one writer."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._changed:
            while self._writing:
                self._changed.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._changed:
                self._readers -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._changed:
            while self._writing or self._readers:
                self._changed.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()


@dataclass
class _Held:
    index: VideoIndex
    record_id: int
    sidecar: tuple[int, int] | None
    videos: tuple[int, int]  # (count, highest id) of the index's videos it holds
    lock: ReadWriteLock = field(default_factory=ReadWriteLock)


def _sidecar(home: Path, name: str) -> tuple[int, int] | None:
    try:
        stat = (folder_of(home, name) / "vectors.json").stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class IndexReaders:
    """The opened indexes of one Engine, for searches (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}

    @contextlib.contextmanager
    def reading(self, home: Path, catalog: Catalog, record: IndexRecord) -> Iterator[VideoIndex]:
        """The index, current with the disk and the catalog, held for reading while the block runs."""
        held = self._current(Path(home), catalog, record)
        with held.lock.read():
            yield held.index

    def _current(self, home: Path, catalog: Catalog, record: IndexRecord) -> _Held:
        sidecar = _sidecar(home, record.name)
        videos = catalog.video_state(record.id)
        with self._lock:
            held = self._held.get(record.name)
        if held is not None and held.record_id == record.id and held.sidecar == sidecar and sidecar is not None:
            if held.videos == videos:
                return held
            if self._catch_up(held, catalog, record, videos):
                return held
        fresh = _Held(VideoIndex.open(home, catalog, record), record.id, sidecar, videos)
        with self._lock:
            self._held[record.name] = fresh
        return fresh

    @staticmethod
    def _catch_up(held: _Held, catalog: Catalog, record: IndexRecord, videos: tuple[int, int]) -> bool:
        """Add the vectors of videos committed since `held` was current; False when more than that changed."""
        with held.lock.write():
            if held.videos == videos:
                return True  # another search caught up meanwhile
            count, highest = held.videos
            new_videos, ids = catalog.segments_after(record.id, highest)
            if count + new_videos != videos[0]:
                return False  # videos were removed or replaced too: open afresh
            # A video committed while the index was being opened is in it already (its repair read the
            # catalog after the state was taken): add only what is not there.
            ids = np.setdiff1d(ids, np.asarray(held.index.vectors.ids(), np.int64)) if len(ids) else ids
            if len(ids):
                held.index.add(ids, catalog.vectors(ids, record.dim))
            held.videos = videos
            return True

    def forget(self, name: str) -> None:
        with self._lock:
            self._held.pop(name, None)
