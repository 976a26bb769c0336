"""The catalog of video indexes: which videos each holds (by content), their segments and vectors.

The catalog is the source of truth; the FAISS file is a fast copy of its vectors. A video is
written in one transaction (its row, its segments, their vectors, and the removal of the older
version of a changed file), so a crash leaves it either wholly there or not at all.

**Vectors are kept as float16** (`VECTOR_DTYPE`): the catalog's copy exists to rebuild the FAISS
copy (which keeps float32) after a crash or damage, and a rebuild from float16 gives the same
search results (recall@10 ≥ 0.999 against a float32 rebuild, `tests/test_index_storage.py`) for
half the bytes. Rows written before (float32, dim × 4 bytes) still read: the blob's length tells
the two apart, and `shrink_vectors` (run by `openvid compact`) rewrites them as float16. Callers
that need a stored vector exactly read the FAISS copy first (`VideoIndex.stored_vectors`).
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Iterable, Sequence

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select, update

from openvid.errors import IndexExists, UnknownIndex, UsageError, VideoIndexError
from openvid.store.db import read_transaction, utcnow, write_transaction
from openvid.store.schema import segments, video_indexes, videos


@dataclass(frozen=True)
class IndexRecord:
    id: int
    name: str
    model: str  # what the user asked for (--model), to load the same encoder again
    encoder: str  # the encoder's identity: vectors from another encoder are refused
    dim: int
    window_s: float
    stride_s: float
    frames: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class VideoRecord:
    id: int
    content_hash: str
    path: str
    size: int
    duration_s: float
    indexed_at: datetime


@dataclass(frozen=True)
class SegmentRecord:
    id: int
    video_id: int
    path: str
    start_s: float
    end_s: float
    duration_s: float  # the video's


class DuplicateContent(VideoIndexError):
    """The index already holds this content (one entry per content), under `path`."""

    def __init__(self, index: str, path: str) -> None:
        self.path = path
        super().__init__(f"index {index!r} already holds this content, as {path}")


VECTOR_DTYPE = "<f2"  # how new segment vectors are stored (see the module docstring)
_READABLE = ("<f2", "<f4")  # what a stored blob may hold: float16, or float32 from older catalogs


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=VECTOR_DTYPE).tobytes()


def _unblob(blob: bytes, dim: int, segment_id: int) -> np.ndarray:
    """A stored vector as float32, whichever width it was stored at (told apart by its length)."""
    for dtype in _READABLE:
        if len(blob) == dim * np.dtype(dtype).itemsize:
            return np.frombuffer(blob, dtype=dtype)
    raise VideoIndexError(f"segment {segment_id}: its stored vector has {len(blob)} bytes, which is neither "
                          f"{dim} float16 nor {dim} float32 values; re-index its video")


SegmentRows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # ids, video ids, starts, ends


def _segment_rows_query(index_id: int, after_video_id: int):
    return (select(segments.c.id, segments.c.video_id, segments.c.start_s, segments.c.end_s).join(videos)
            .where(videos.c.index_id == index_id, videos.c.id > after_video_id).order_by(segments.c.id))


def _segment_arrays(rows: Sequence) -> SegmentRows:
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    ids, video_ids, starts, ends = zip(*rows)
    return (np.asarray(ids, np.int64), np.asarray(video_ids, np.int64), np.asarray(starts, np.float64),
            np.asarray(ends, np.float64))


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- indexes -------------------------------------------------------------------------------
    def create_index(self, name: str, *, model: str, encoder: str, dim: int, window_s: float,
                     stride_s: float, frames: int) -> IndexRecord:
        now = utcnow()
        with write_transaction(self.engine) as conn:
            if conn.execute(select(video_indexes.c.id).where(video_indexes.c.name == name)).first():
                raise IndexExists(f"an index named {name!r} already exists")
            conn.execute(insert(video_indexes).values(
                name=name, model=model, encoder=encoder, dim=dim, window_s=window_s, stride_s=stride_s,
                frames=frames, created_at=now, updated_at=now))
        return self.get_index(name)

    def find_index(self, name: str) -> IndexRecord | None:
        with read_transaction(self.engine) as conn:
            row = conn.execute(select(video_indexes).where(video_indexes.c.name == name)).first()
        return IndexRecord(**row._mapping) if row else None

    def get_index(self, name: str) -> IndexRecord:
        record = self.find_index(name)
        if record is None:
            names = [r.name for r in self.list_indexes()]
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else (
                f"; indexes here: {', '.join(names)}" if names else "; build one with `openvid index FOLDER`")
            raise UnknownIndex(f"no index named {name!r}{hint}")
        return record

    def list_indexes(self) -> list[IndexRecord]:
        with read_transaction(self.engine) as conn:
            rows = conn.execute(select(video_indexes).order_by(video_indexes.c.name)).all()
        return [IndexRecord(**r._mapping) for r in rows]

    def delete_index(self, name: str) -> None:
        record = self.get_index(name)
        with write_transaction(self.engine) as conn:
            conn.execute(delete(video_indexes).where(video_indexes.c.id == record.id))

    # -- videos --------------------------------------------------------------------------------
    def find_video(self, index_id: int, *, content_hash: str | None = None, path: str | None = None) -> VideoRecord | None:
        query = select(videos.c.id, videos.c.content_hash, videos.c.path, videos.c.size, videos.c.duration_s,
                       videos.c.indexed_at).where(videos.c.index_id == index_id)
        query = query.where(videos.c.content_hash == content_hash) if content_hash else query.where(videos.c.path == path)
        with read_transaction(self.engine) as conn:
            row = conn.execute(query).first()
        return VideoRecord(**row._mapping) if row else None

    def list_videos(self, index_id: int) -> list[VideoRecord]:
        query = select(videos.c.id, videos.c.content_hash, videos.c.path, videos.c.size, videos.c.duration_s,
                       videos.c.indexed_at).where(videos.c.index_id == index_id).order_by(videos.c.path)
        with read_transaction(self.engine) as conn:
            return [VideoRecord(**r._mapping) for r in conn.execute(query)]

    def get_video(self, video_id: int) -> VideoRecord | None:
        """The video of that id, in whichever index (ids are unique across the catalog)."""
        query = select(videos.c.id, videos.c.content_hash, videos.c.path, videos.c.size, videos.c.duration_s,
                       videos.c.indexed_at).where(videos.c.id == int(video_id))
        with read_transaction(self.engine) as conn:
            row = conn.execute(query).first()
        return VideoRecord(**row._mapping) if row else None

    def video_state(self, index_id: int) -> tuple[int, int]:
        """(how many videos, the highest video id) of an index: changes whenever a video is added,
        removed or replaced, for a cache to tell whether it is current (one cheap query)."""
        query = select(func.count(videos.c.id), func.max(videos.c.id)).where(videos.c.index_id == index_id)
        with read_transaction(self.engine) as conn:
            count, highest = conn.execute(query).one()
        return int(count), int(highest or 0)

    def segments_after(self, index_id: int, video_id: int) -> tuple[int, SegmentRows]:
        """(how many videos, `segment_rows` of them) of the index's videos with an id above `video_id`,
        read in one transaction, so the count and the rows describe the same videos."""
        with read_transaction(self.engine) as conn:
            count = conn.execute(select(func.count(videos.c.id)).where(
                videos.c.index_id == index_id, videos.c.id > video_id)).scalar()
            rows = conn.execute(_segment_rows_query(index_id, video_id)).all()
        return int(count or 0), _segment_arrays(rows)

    def segment_rows(self, index_id: int, after_video_id: int = 0) -> SegmentRows:
        """(ids, video ids, starts, ends) of the index's segments, of videos with an id above
        `after_video_id`, by id: what a searcher keeps in memory to place its hits (segments never change)."""
        with read_transaction(self.engine) as conn:
            return _segment_arrays(conn.execute(_segment_rows_query(index_id, after_video_id)).all())

    def video_places(self, video_ids: Iterable[int]) -> dict[int, tuple[str, float]]:
        """{video id: (path, duration)} for these videos (those still indexed): one small query, since
        a path changes when a file is moved."""
        wanted = sorted({int(v) for v in video_ids})
        if not wanted:
            return {}
        out: dict[int, tuple[str, float]] = {}
        # On every search: the driver's own cursor, since SQLAlchemy's IN expansion and Row objects
        # cost more than the query (a plain read; the pool still hands out and takes back the connection).
        with self.engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                for start in range(0, len(wanted), 900):
                    chunk = wanted[start : start + 900]
                    cursor.execute(f"SELECT id, path, duration_s FROM videos WHERE id IN ({', '.join('?' * len(chunk))})",
                                   chunk)
                    out.update({row[0]: (row[1], row[2]) for row in cursor.fetchall()})
            finally:
                cursor.close()
        return out

    def video_folders(self) -> list[str]:
        """The distinct folders that hold an indexed video, in any index (what a server may read from)."""
        with read_transaction(self.engine) as conn:
            paths = conn.execute(select(videos.c.path)).scalars().all()
        return sorted({str(PurePath(path).parent) for path in paths})

    def move_video(self, video_id: int, path: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(videos).where(videos.c.id == video_id).values(path=path))

    def add_video(self, index_id: int, *, content_hash: str, path: str, size: int, duration_s: float,
                  times: Sequence[tuple[float, float]], vectors: np.ndarray,
                  replaces: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Store a video and its segments in one transaction; returns (new ids, ids it replaced).

        Content already in the index raises `DuplicateContent` (checked inside the transaction, so
        two writers racing on one file cannot both add it), leaving the catalog unchanged.
        """
        if len(times) != len(vectors):
            raise UsageError("one vector per segment")
        with write_transaction(self.engine) as conn:
            holder = conn.execute(select(videos.c.path).where(
                videos.c.index_id == index_id, videos.c.content_hash == content_hash,
                *([videos.c.id != replaces] if replaces is not None else []))).first()
            if holder is not None:
                name = conn.execute(select(video_indexes.c.name).where(video_indexes.c.id == index_id)).scalar()
                raise DuplicateContent(str(name), holder[0])
            removed = self._delete_videos(conn, [replaces]) if replaces is not None else np.zeros(0, np.int64)
            video_id = conn.execute(insert(videos).values(
                index_id=index_id, content_hash=content_hash, path=path, size=size, duration_s=duration_s,
                indexed_at=utcnow())).inserted_primary_key[0]
            ids = []
            if len(times):  # one multi-row INSERT ... RETURNING, ids in the order given (not a statement per row)
                rows = [{"video_id": video_id, "start_s": float(start), "end_s": float(end), "vector": _blob(vector)}
                        for (start, end), vector in zip(times, vectors)]
                ids = conn.execute(insert(segments).returning(segments.c.id, sort_by_parameter_order=True),
                                   rows).scalars().all()
            conn.execute(update(video_indexes).where(video_indexes.c.id == index_id).values(updated_at=utcnow()))
        return np.array(ids, np.int64), removed

    def remove_videos(self, video_ids: Iterable[int]) -> np.ndarray:
        """Delete videos and their segments; returns the segment ids removed."""
        with write_transaction(self.engine) as conn:
            return self._delete_videos(conn, list(video_ids))

    @staticmethod
    def _delete_videos(conn, video_ids: list[int]) -> np.ndarray:
        ids = [r[0] for r in conn.execute(select(segments.c.id).where(segments.c.video_id.in_(video_ids)))]
        conn.execute(delete(segments).where(segments.c.video_id.in_(video_ids)))
        conn.execute(delete(videos).where(videos.c.id.in_(video_ids)))
        return np.array(ids, np.int64)

    # -- segments ------------------------------------------------------------------------------
    def segment_ids(self, index_id: int) -> np.ndarray:
        query = select(segments.c.id).join(videos).where(videos.c.index_id == index_id).order_by(segments.c.id)
        with read_transaction(self.engine) as conn:
            return np.array([r[0] for r in conn.execute(query)], np.int64)

    def vectors(self, ids: Sequence[int], dim: int) -> np.ndarray:
        """Stored vectors of these segments as float32, in the order asked (float16 copies of new
        rows, exact float32 of rows written by older versions; see the module docstring)."""
        found: dict[int, bytes] = {}
        ids = [int(i) for i in ids]
        with read_transaction(self.engine) as conn:
            for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
                chunk = ids[start : start + 900]
                for row in conn.execute(select(segments.c.id, segments.c.vector).where(segments.c.id.in_(chunk))):
                    found[row[0]] = row[1]
        missing = [i for i in ids if i not in found]
        if missing:
            raise VideoIndexError(f"no stored vector for segments {missing[:5]}{' and more' if len(missing) > 5 else ''}"
                                  " (removed meanwhile?)")
        out = np.zeros((len(ids), dim), np.float32)
        for row, segment_id in enumerate(ids):
            out[row] = _unblob(found[segment_id], dim, segment_id)
        return out

    def shrink_vectors(self, index_id: int, dim: int, *, batch: int = 5000) -> int:
        """Rewrite this index's float32 rows (from older versions) as float16; returns how many.

        One transaction per `batch` rows, so a large catalog never holds the write lock for long
        and an interrupted run keeps what it converted. SQLite reuses the freed pages for later
        rows; the file itself shrinks only with VACUUM.
        """
        wide = dim * np.dtype("<f4").itemsize
        index_segments = select(segments.c.id).join(videos).where(videos.c.index_id == index_id)
        converted = 0
        while True:
            with write_transaction(self.engine) as conn:
                rows = conn.execute(select(segments.c.id, segments.c.vector).where(
                    segments.c.id.in_(index_segments), func.length(segments.c.vector) == wide).limit(batch)).all()
                for segment_id, blob in rows:
                    conn.execute(update(segments).where(segments.c.id == segment_id).values(
                        vector=_blob(np.frombuffer(blob, dtype="<f4"))))
            converted += len(rows)
            if len(rows) < batch:
                return converted

    def segments(self, ids: Sequence[int]) -> dict[int, SegmentRecord]:
        ids = [int(i) for i in ids]
        out: dict[int, SegmentRecord] = {}
        query = select(segments.c.id, segments.c.video_id, videos.c.path, segments.c.start_s, segments.c.end_s,
                       videos.c.duration_s).join(videos)
        with read_transaction(self.engine) as conn:
            for start in range(0, len(ids), 900):
                for row in conn.execute(query.where(segments.c.id.in_(ids[start : start + 900]))):
                    out[row[0]] = SegmentRecord(*row)
        return out

    def video_segments(self, video_id: int) -> list[SegmentRecord]:
        query = (select(segments.c.id, segments.c.video_id, videos.c.path, segments.c.start_s, segments.c.end_s,
                        videos.c.duration_s).join(videos).where(segments.c.video_id == video_id)
                 .order_by(segments.c.start_s))
        with read_transaction(self.engine) as conn:
            return [SegmentRecord(*row) for row in conn.execute(query)]

    def filter_segment_ids(self, index_id: int, *, path_glob: str | None = None,
                           min_duration_s: float | None = None) -> np.ndarray:
        """Ids of segments whose video matches a path glob and is at least this long."""
        query = select(segments.c.id, videos.c.path).join(videos).where(videos.c.index_id == index_id)
        if min_duration_s is not None:
            query = query.where(videos.c.duration_s >= min_duration_s)
        with read_transaction(self.engine) as conn:
            rows = conn.execute(query).all()
        return np.array([i for i, path in rows if path_glob is None or fnmatch.fnmatch(path, path_glob)], np.int64)

    def counts(self, index_id: int) -> tuple[int, int]:
        with read_transaction(self.engine) as conn:
            n_videos = conn.execute(select(func.count()).select_from(videos).where(videos.c.index_id == index_id)).scalar()
            n_segments = conn.execute(select(func.count()).select_from(segments).join(videos)
                                      .where(videos.c.index_id == index_id)).scalar()
        return int(n_videos), int(n_segments)
