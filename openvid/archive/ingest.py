"""`openvid index`: walk folders, skip what is already indexed (by content), embed the rest.

Reader (decode, a background thread) → model (shared batches across videos) → writer (one
SQLite transaction per video, then the FAISS copy). The FAISS file is saved at the end and every
`save_every` videos; the catalog is the truth, so a kill between saves loses at most the videos
whose transaction had not committed. A run asked to stop (`stop`, which the command line sets on
SIGINT/SIGTERM) finishes the batch in hand, leaves the videos in flight out whole and saves, so
the index it leaves is consistent and the same command finishes the job.

One content, one entry: files are identified by `content_hash`, and a second file with content
already indexed (in this run or an earlier one) is reported as a copy of the indexed path, not
indexed again (the catalog keeps one path per content).
"""

from __future__ import annotations

import difflib
import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from openvid.archive.video_index import VideoIndex
from openvid.archive.walk import VIDEO_SUFFIXES, find_videos
from openvid.errors import MediaError, UsageError
from openvid.media.batches import ClipSource, StageTimes, run_batched
from openvid.results import Failure, ToDict
from openvid.store.catalog import DuplicateContent

_HASH_BLOCK = 1 << 16

if TYPE_CHECKING:  # pragma: no cover
    from openvid.encoders import Encoder
    from openvid.media import Clip


def content_hash(path: Path) -> str:
    """Identity of a file's content: its size and blocks from its start, middle and end.

    Reading 192 KiB instead of the whole file keeps re-indexing a large archive fast; a rename or
    move keeps the hash, and any re-encode or edit changes the size or the sampled bytes.
    """
    size = path.stat().st_size
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as handle:
        for offset in sorted({0, max(size // 2 - _HASH_BLOCK // 2, 0), max(size - _HASH_BLOCK, 0)}):
            handle.seek(offset)
            digest.update(handle.read(_HASH_BLOCK))
    return digest.hexdigest()


@dataclass
class IndexReport(ToDict):
    index: str
    indexed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # this path is indexed with this content
    # Another file with the same content: path -> the indexed path that holds it. Indexed once,
    # under one path: a copy is found by searching, under the path listed here, not by its own.
    copies: dict[str, str] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)  # already indexed under another path; path updated
    replaced: list[str] = field(default_factory=list)  # path indexed before with other content
    failures: list[Failure] = field(default_factory=list)
    segments: int = 0
    video_seconds: float = 0.0
    wall_seconds: float = 0.0
    times: StageTimes | None = None
    stopped: bool = False  # the run was asked to stop (`stop`); `pending` lists what it left
    pending: list[str] = field(default_factory=list)  # not indexed yet: running the same command again does it


@dataclass
class _Planned:
    path: Path
    content_hash: str
    size: int
    replaces: int | None


def index_videos(
    index: VideoIndex,
    encoder: Encoder,
    paths: Sequence[str | Path],
    source: ClipSource,
    *,
    batch_size: int = 32,
    save_every: int = 50,
    on_progress: Callable[[str, str, int], None] | None = None,
    stop: threading.Event | None = None,
) -> IndexReport:
    """Index every video under `paths` not already in `index`. `on_progress(path, status, segments)`.

    Content is recognised by `content_hash`, within this run as across runs: each content is
    indexed once, under the first path found (sorted), and every other file with that content is
    reported in `copies` (path -> the indexed path) and is not searchable by its own path.

    `stop` (a `threading.Event`, set e.g. by a SIGINT handler) ends the run cleanly: the batch
    being computed finishes, videos it completes are committed, the ones still in flight are
    left out whole (`pending`; the next run indexes them) and the vectors are saved, so the index
    is consistent (`openvid check` is clean) and `stopped` is True. Any other way out (an exception,
    a second Ctrl-C) still saves what was committed before raising.

    The Ray path (`openvid.archive.distributed`) plans and commits through the same `_plan` and
    `_Writer`; only the reader → model part differs.
    """
    started = time.perf_counter()
    report = IndexReport(index.record.name)
    planned = _plan(index, paths, report, on_progress, stop)
    writer = _Writer(index, planned, report, save_every=save_every, on_progress=on_progress)

    def done(i: int, path: str, clips: list[Clip], rows: list) -> None:
        writer.commit(i, [(c.start_s, c.end_s) for c in clips], rows)

    def failed(i: int, path: str, error: Exception) -> None:
        writer.fail(i, error)

    try:
        report.times = run_batched([str(p.path) for p in planned], source,
                                   lambda clips: list(encoder.encode_video(clips)), done, failed,
                                   batch_size=batch_size, stop=stop)
    except BaseException:
        writer.abort()
        raise
    return writer.finish(started, stopped=bool(report.times and report.times.stopped))


class _Writer:
    """The one way a run writes what it computed: one catalog transaction per video, then FAISS.

    Shared by the local pipeline and the Ray one, so copies, `save_every`, progress, the failure
    of a file's copies and the final report behave the same whichever computed the vectors.
    """

    def __init__(self, index: VideoIndex, planned: list[_Planned], report: IndexReport, *, save_every: int,
                 on_progress: Callable[[str, str, int], None] | None) -> None:
        self.index, self.planned, self.report = index, planned, report
        self.save_every, self.on_progress = save_every, on_progress
        self.copies_of: dict[str, list[str]] = {}
        for copy, original in report.copies.items():
            self.copies_of.setdefault(original, []).append(copy)
        self._since_save = 0

    def commit(self, i: int, times: Sequence[tuple[float, float]], rows: Sequence[np.ndarray]) -> None:
        """Store planned file `i`: its segments' (start_s, end_s) and one vector per segment."""
        plan, report, index = self.planned[i], self.report, self.index
        path = str(plan.path)
        duration = float(times[-1][1]) if len(times) else 0.0
        vectors = np.stack(rows)
        try:
            ids, removed = index.catalog.add_video(
                index.record.id, content_hash=plan.content_hash, path=path, size=plan.size, duration_s=duration,
                times=[(float(a), float(b)) for a, b in times], vectors=vectors, replaces=plan.replaces)
        except DuplicateContent as exc:  # another process indexed the same content meanwhile
            report.copies[path] = exc.path
            if self.on_progress:
                self.on_progress(path, "copy", 0)
            return
        index.add(ids, vectors, removed)
        report.indexed.append(path)
        report.segments += len(ids)
        report.video_seconds += duration
        self._since_save += 1
        if self._since_save >= self.save_every:
            index.save()
            self._since_save = 0
        if self.on_progress:
            self.on_progress(path, "indexed", len(ids))

    def fail(self, i: int, error: Exception | str) -> None:
        """Report planned file `i` as failed (and each copy of it: identical bytes fail identically)."""
        report, path = self.report, str(self.planned[i].path)
        report.failures.append(Failure(path, str(error)))
        for copy in self.copies_of.get(path, []):
            del report.copies[copy]
            report.failures.append(Failure(copy, f"{copy}: the same content as {path}, which failed: {error}"))
        if self.on_progress:
            self.on_progress(path, "failed", 0)

    def abort(self) -> None:
        """On the way out of a failed or interrupted run: save what was committed."""
        _save_committed(self.index)

    def finish(self, started: float, *, stopped: bool) -> IndexReport:
        """Save FAISS and complete the report: what is still pending, how long it took."""
        report = self.report
        self.index.save()
        report.stopped = stopped
        finished = set(report.indexed) | set(report.copies) | {f.path for f in report.failures}
        report.pending += [str(p.path) for p in self.planned if str(p.path) not in finished]
        report.wall_seconds = time.perf_counter() - started
        return report


def _plan(index: VideoIndex, paths: Sequence[str | Path], report: IndexReport,
          on_progress: Callable[[str, str, int], None] | None, stop: threading.Event | None) -> list[_Planned]:
    """Hash every file, then decide for each: already indexed, moved, a copy, new or changed.

    All hashes come first so that a decision can look at the whole run: a file whose content is
    indexed under a path that now holds other content was moved there (its row follows it), and
    the content at that old path is then new, not a replacement of the moved row.
    """
    catalog, index_id = index.catalog, index.record.id
    hashed: list[tuple[Path, str, int]] = []
    for path in find_videos(paths):
        if stop is not None and stop.is_set():  # hashing a large archive takes a while: stop here too
            report.pending.append(str(path))
            continue
        try:
            if not path.is_file():
                raise MediaError(path, "no such file")
            hashed.append((path, content_hash(path), path.stat().st_size))
        except OSError as exc:
            report.failures.append(Failure(str(path), f"{path}: cannot read: {exc.strerror or exc}"))
        except MediaError as exc:
            report.failures.append(Failure(str(path), str(exc)))
            if on_progress:
                on_progress(str(path), "failed", 0)
    digest_of = {str(path): digest for path, digest, _ in hashed}
    holder: dict[str, str] = {}  # content hash -> the path that holds it in the index after this run
    new: list[tuple[Path, str, int]] = []
    for path, digest, size in hashed:
        status = None
        if digest in holder:
            report.copies[str(path)] = holder[digest]
            status = "copy"
        elif (known := catalog.find_video(index_id, content_hash=digest)) is not None:
            if known.path == str(path):
                report.already.append(str(path))
                holder[digest], status = known.path, "already"
            elif _still_holds(known.path, digest, digest_of):
                report.copies[str(path)] = known.path
                holder[digest], status = known.path, "copy"
            else:  # the indexed file is gone or now holds other content: this is where it went
                catalog.move_video(known.id, str(path))
                report.moved.append(str(path))
                holder[digest], status = str(path), "moved"
        if status is None:
            new.append((path, digest, size))
            holder[digest] = str(path)
        elif on_progress:
            on_progress(str(path), status, 0)
    planned = []
    for path, digest, size in new:
        previous = catalog.find_video(index_id, path=str(path))  # after the moves above
        planned.append(_Planned(path, digest, size, previous.id if previous else None))
        if previous:
            report.replaced.append(str(path))
    return planned


def _still_holds(path: str, digest: str, digest_of: dict[str, str]) -> bool:
    """Whether the file at `path` still has this content (hashed in this run, else read now)."""
    if path in digest_of:
        return digest_of[path] == digest
    try:
        return Path(path).is_file() and content_hash(Path(path)) == digest
    except OSError:
        return False


def _save_committed(index: VideoIndex) -> None:
    """On the way out of a failed or interrupted run: bring FAISS in step with what the catalog
    committed (a video may have been committed just before the interruption) and save it."""
    try:
        index.repair()
        index.save()
    except Exception:  # noqa: BLE001 - the original error matters more; the next open repairs anyway
        pass


def remove_videos(index: VideoIndex, paths: Sequence[str | Path]) -> list[str]:
    """Drop videos (named files, or every indexed video under named folders) from the index.

    All or nothing: a path that matches no indexed video raises `UsageError` (naming the closest
    indexed path) before anything is removed, as `rm` refuses a name that does not exist.
    """
    wanted = [Path(p).expanduser().resolve() for p in paths]
    videos = index.catalog.list_videos(index.record.id)
    matched: dict[Path, list] = {w: [] for w in wanted}
    for video in videos:
        path = Path(video.path)
        for w in wanted:
            if path == w or w in path.parents:
                matched[w].append(video)
    unmatched = [w for w, found in matched.items() if not found]
    if unmatched:
        raise UsageError(_nothing_matches(index, unmatched, [v.path for v in videos]))
    chosen = {v.id: v.path for found in matched.values() for v in found}
    index.add(np.zeros(0, np.int64), np.zeros((0, index.record.dim), np.float32),
              removed=index.catalog.remove_videos(list(chosen)))
    index.save()
    return sorted(chosen.values())


def _nothing_matches(index: VideoIndex, unmatched: list[Path], indexed: list[str]) -> str:
    names = ", ".join(str(p) for p in unmatched)
    close = difflib.get_close_matches(str(unmatched[0]), indexed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else (
        f"; it holds {len(indexed)} videos (`openvid search --path GLOB` finds them by path)" if indexed
        else "; it holds no videos")
    return (f"nothing in index {index.record.name!r} matches {names}, so nothing was removed; give indexed files "
            f"or folders{hint}")


def prune_videos(index: VideoIndex, *, dry_run: bool = False) -> list[str]:
    """Drop the videos whose files are gone from disk (`openvid prune`); returns their paths.

    A moved file needs no pruning: `openvid index` on its new place finds it by content and moves
    its entry. With `dry_run`, only report.
    """
    gone = [v for v in index.catalog.list_videos(index.record.id) if not Path(v.path).exists()]
    if gone and not dry_run:
        index.add(np.zeros(0, np.int64), np.zeros((0, index.record.dim), np.float32),
                  removed=index.catalog.remove_videos([v.id for v in gone]))
        index.save()
    return [v.path for v in gone]


def size_on_disk(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*") if f.is_file()) if folder.exists() else 0


__all__ = ["VIDEO_SUFFIXES", "IndexReport", "content_hash", "index_videos", "prune_videos", "remove_videos",
           "size_on_disk"]  # VIDEO_SUFFIXES lives in `walk`; kept here for `evaluate.dataset`
