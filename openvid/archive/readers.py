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

Knowing that nothing changed must cost less than the search: SQLite's commit counter
(`openvid.store.db.CommitWatch`) says whether anything was committed since the last look, so a
search with nothing new asks the catalog nothing about the index. Where each segment is (video,
start, end) is kept in memory beside the vectors (`SegmentPlaces`), and so are the paths of videos
already hit since the last commit: a moved file changes its path, and its move is a commit.

Searches share an opened index under a read lock (FAISS searches may run concurrently); adding the
new videos' vectors takes the write lock. An index being rebuilt is replaced whole, so a search
that began on the old one finishes on it.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from openvid.archive.video_index import VideoIndex, folder_of
from openvid.store.catalog import Catalog, IndexRecord, SegmentRecord
from openvid.store.db import CommitWatch


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


class SegmentPlaces:
    """Which video each segment of an opened index belongs to, and when: kept in memory beside it,
    so turning FAISS hits into moments costs an array lookup and not a catalog query per search.

    A segment never changes once stored (a replaced video gets new segment ids), so the table
    only grows as videos are committed; a video's path can change (a moved file), so paths are
    read for the hit videos alone (`Catalog.video_places`), and kept only until the next commit.
    """

    def __init__(self, ids: np.ndarray, video_ids: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        order = np.argsort(ids, kind="stable")
        self.ids, self.video_ids = ids[order], video_ids[order]
        self.starts, self.ends = starts[order], ends[order]
        # The hit videos' (path, duration), as read since this table was made. A table is replaced
        # (`after_commit`) whenever anything was committed to the catalog, so what is kept here is
        # never older than the last commit: a moved file shows at the next search.
        self._videos: dict[int, tuple[str, float]] = {}
        self._videos_lock = threading.Lock()

    def after_commit(self) -> "SegmentPlaces":
        """The same table with no video places kept (a new object: searches holding this one keep theirs)."""
        fresh = object.__new__(SegmentPlaces)
        fresh.ids, fresh.video_ids, fresh.starts, fresh.ends = self.ids, self.video_ids, self.starts, self.ends
        fresh._videos, fresh._videos_lock = {}, threading.Lock()
        return fresh

    @classmethod
    def load(cls, catalog: Catalog, index_id: int, after_video_id: int = 0) -> "SegmentPlaces":
        return cls(*catalog.segment_rows(index_id, after_video_id))

    def extend(self, more: "SegmentPlaces") -> "SegmentPlaces":
        """A table with `more`'s segments too (a new object: searches holding this one keep it whole)."""
        fresh = ~np.isin(more.ids, self.ids)
        return SegmentPlaces(np.concatenate([self.ids, more.ids[fresh]]),
                             np.concatenate([self.video_ids, more.video_ids[fresh]]),
                             np.concatenate([self.starts, more.starts[fresh]]),
                             np.concatenate([self.ends, more.ends[fresh]]))

    def records(self, catalog: Catalog, ids: Sequence[int]) -> dict[int, SegmentRecord]:
        """`Catalog.segments` for these ids, from the table (and the hit videos' current paths)."""
        wanted = np.asarray(list(ids), np.int64)
        if not len(wanted) or not len(self.ids):
            return {}
        at = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        known = self.ids[at] == wanted
        at, wanted = at[known], wanted[known]
        video_ids = self.video_ids[at].tolist()  # plain ints and floats: numpy scalars cost per element
        with self._videos_lock:
            known_videos = self._videos
            places = {v: known_videos[v] for v in video_ids if v in known_videos}
        missing = [v for v in video_ids if v not in places]
        if missing:
            read = catalog.video_places(missing)
            places.update(read)
            with self._videos_lock:
                self._videos.update(read)
        out: dict[int, SegmentRecord] = {}
        for segment_id, video_id, start, end in zip(wanted.tolist(), video_ids, self.starts[at].tolist(),
                                                    self.ends[at].tolist()):
            place = places.get(video_id)
            if place is not None:  # else removed since: like a segment the catalog no longer has
                out[segment_id] = SegmentRecord(segment_id, video_id, place[0], start, end, place[1])
        return out


@dataclass
class OpenedIndex:
    """What a search reads: the index's record, its vectors, and where its segments are."""

    record: IndexRecord
    index: VideoIndex
    places: SegmentPlaces


@dataclass
class _Held:
    opened: OpenedIndex
    sidecar: tuple[int, int] | None
    videos: tuple[int, int]  # (count, highest id) of the index's videos it holds
    commits: int | None  # the catalog's `CommitWatch.version` when it was last known current
    lock: ReadWriteLock = field(default_factory=ReadWriteLock)


def _sidecar(home: Path, name: str) -> tuple[int, int] | None:
    try:
        stat = (folder_of(home, name) / "vectors.json").stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class IndexReaders:
    """The opened indexes of one Engine, for searches (thread-safe).

    While nothing is committed to the catalog (its `CommitWatch`) and the FAISS copy is not saved
    again, a search asks the catalog nothing to know its index is current: one PRAGMA and one stat.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        self._watch: CommitWatch | None = None
        self._watched: object | None = None  # the SQLAlchemy engine watched

    @contextlib.contextmanager
    def reading(self, home: Path, catalog: Catalog, name: str) -> Iterator[OpenedIndex]:
        """The named index, current with the disk and the catalog, held for reading while the block
        runs (an unknown name raises `UnknownIndex`)."""
        held = self._current(Path(home), catalog, name)
        with held.lock.read():
            yield held.opened

    def _commits(self, catalog: Catalog) -> int | None:
        with self._lock:
            if self._watched is not catalog.engine:
                if self._watch is not None:
                    self._watch.close()
                self._watch, self._watched = CommitWatch.of(catalog.engine), catalog.engine
            watch = self._watch
        return watch.version() if watch is not None else None

    def _current(self, home: Path, catalog: Catalog, name: str) -> _Held:
        commits = self._commits(catalog)  # read first: a commit after it is seen by the next search
        sidecar = _sidecar(home, name)
        with self._lock:
            held = self._held.get(name)
        if (held is not None and commits is not None and held.commits == commits and held.sidecar == sidecar
                and sidecar is not None):
            return held
        record = catalog.get_index(name)
        videos = catalog.video_state(record.id)
        if (held is not None and held.opened.record.id == record.id and held.sidecar == sidecar
                and sidecar is not None):
            if held.videos == videos or self._catch_up(held, catalog, record, videos):
                held.opened.places = held.opened.places.after_commit()  # a commit may have moved a file
                held.commits = commits
                return held
        index = VideoIndex.open(home, catalog, record)
        places = SegmentPlaces.load(catalog, record.id)
        fresh = _Held(OpenedIndex(record, index, places), sidecar, videos, commits)
        with self._lock:
            self._held[name] = fresh
        return fresh

    @staticmethod
    def _catch_up(held: _Held, catalog: Catalog, record: IndexRecord, videos: tuple[int, int]) -> bool:
        """Add the vectors of videos committed since `held` was current; False when more than that changed."""
        with held.lock.write():
            if held.videos == videos:
                return True  # another search caught up meanwhile
            count, highest = held.videos
            new_videos, rows = catalog.segments_after(record.id, highest)
            if count + new_videos != videos[0]:
                return False  # videos were removed or replaced too: open afresh
            opened, more = held.opened, SegmentPlaces(*rows)
            # A video committed while the index was being opened is in it already (its repair read the
            # catalog after the state was taken): add only what is not there.
            ids = np.setdiff1d(more.ids, np.asarray(opened.index.vectors.ids(), np.int64)) if len(more.ids) else more.ids
            if len(ids):
                opened.index.add(ids, catalog.vectors(ids, record.dim))
            opened.places = opened.places.extend(more)
            held.videos = videos
            return True

    def forget(self, name: str) -> None:
        with self._lock:
            self._held.pop(name, None)
