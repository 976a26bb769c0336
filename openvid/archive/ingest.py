"""`openvid index`: walk folders, skip what is already indexed (by content), embed the rest.

Reader (decode, a background thread) → model (shared batches across videos) → writer (one
SQLite transaction per video, then the FAISS copy). The FAISS file is saved at the end and every
`save_every` videos; the catalog is the truth, so a kill between saves loses at most the videos
whose transaction had not committed.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from openvid.archive.video_index import VideoIndex
from openvid.encoders import Encoder
from openvid.errors import MediaError
from openvid.media import Clip
from openvid.media.batches import ClipSource, StageTimes, run_batched
from openvid.results import Failure

VIDEO_SUFFIXES = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .mpg .mpeg .ts .mts .m2ts .wmv .flv .3gp .ogv".split()
)
_HASH_BLOCK = 1 << 16


def find_videos(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus every video file (by suffix) under the folders named, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES))
        else:
            found.append(path)
    return list(dict.fromkeys(p.resolve() if p.exists() else p for p in found))


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
class IndexReport:
    index: str
    indexed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # same content already in the index
    moved: list[str] = field(default_factory=list)  # already indexed under another path; path updated
    replaced: list[str] = field(default_factory=list)  # path indexed before with other content
    failures: list[Failure] = field(default_factory=list)
    segments: int = 0
    video_seconds: float = 0.0
    wall_seconds: float = 0.0
    times: StageTimes | None = None


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
) -> IndexReport:
    """Index every video under `paths` not already in `index`. `on_progress(path, status, segments)`."""
    started = time.perf_counter()
    report = IndexReport(index.record.name)
    catalog, index_id = index.catalog, index.record.id
    planned: list[_Planned] = []
    for path in find_videos(paths):
        try:
            if not path.is_file():
                raise MediaError(path, "no such file")
            digest, size = content_hash(path), path.stat().st_size
        except OSError as exc:
            report.failures.append(Failure(str(path), f"{path}: cannot read: {exc.strerror or exc}"))
            continue
        except MediaError as exc:
            report.failures.append(Failure(str(path), str(exc)))
            if on_progress:
                on_progress(str(path), "failed", 0)
            continue
        known = catalog.find_video(index_id, content_hash=digest)
        if known is not None:
            if known.path != str(path) and not Path(known.path).exists():
                catalog.move_video(known.id, str(path))
                report.moved.append(str(path))
            else:
                report.already.append(str(path))
            if on_progress:
                on_progress(str(path), "already", 0)
            continue
        previous = catalog.find_video(index_id, path=str(path))
        planned.append(_Planned(path, digest, size, previous.id if previous else None))
        if previous:
            report.replaced.append(str(path))

    since_save = 0

    def done(i: int, path: str, clips: list[Clip], rows: list) -> None:
        nonlocal since_save
        plan = planned[i]
        duration = float(clips[-1].end_s) if clips else 0.0
        ids, removed = catalog.add_video(
            index_id, content_hash=plan.content_hash, path=path, size=plan.size, duration_s=duration,
            times=[(c.start_s, c.end_s) for c in clips], vectors=np.stack(rows), replaces=plan.replaces)
        index.add(ids, np.stack(rows), removed)
        report.indexed.append(path)
        report.segments += len(ids)
        report.video_seconds += duration
        since_save += 1
        if since_save >= save_every:
            index.save()
            since_save = 0
        if on_progress:
            on_progress(path, "indexed", len(ids))

    def failed(i: int, path: str, error: Exception) -> None:
        report.failures.append(Failure(path, str(error)))
        if on_progress:
            on_progress(path, "failed", 0)

    report.times = run_batched([str(p.path) for p in planned], source, lambda clips: list(encoder.encode_video(clips)),
                               done, failed, batch_size=batch_size)
    index.save()
    report.wall_seconds = time.perf_counter() - started
    return report


def remove_videos(index: VideoIndex, paths: Sequence[str | Path]) -> list[str]:
    """Drop videos (named files, or every indexed video under named folders) from the index."""
    wanted = [Path(p).expanduser().resolve() for p in paths]
    removed_paths, video_ids = [], []
    for video in index.catalog.list_videos(index.record.id):
        path = Path(video.path)
        if any(path == w or w in path.parents for w in wanted):
            removed_paths.append(video.path)
            video_ids.append(video.id)
    if video_ids:
        index.add(np.zeros(0, np.int64), np.zeros((0, index.record.dim), np.float32),
                  removed=index.catalog.remove_videos(video_ids))
        index.save()
    return removed_paths


def size_on_disk(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*") if f.is_file()) if folder.exists() else 0

