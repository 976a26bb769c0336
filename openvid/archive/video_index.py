"""One named video index: the catalog's rows plus the FAISS copy of their vectors, kept in step.

On disk: the catalog lives in the home folder's SQLite file, the vectors in `<home>/<name>/`
(the FAISS index and its JSON description, written atomically by `VectorIndex.save`). The
catalog is the truth: opening an index compares the FAISS ids with the catalog's segment ids
and patches FAISS from the stored vectors (adds what is missing, removes what is extra), so an
index killed at any moment opens consistent and has lost at most the videos in flight.

Vectors are kept once at full precision: the FAISS copy holds the encoder's float32 (or a lossy
code plus a float32 side copy), the catalog a float16 copy for repairs (half the bytes; a repair
from it gives the same search results, `tests/test_index_storage.py`). The catalog cannot be the
FAISS file alone: it commits each video in its own transaction while the FAISS file is saved only
every few dozen videos, and that is what bounds a crash's loss to the videos in flight.
`stored_vectors` reads a segment's vector from the FAISS copy first for that reason.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from openvid.errors import UsageError, VideoIndexError, opt
from openvid.results import ToDict
from openvid.store.catalog import Catalog, IndexRecord
from openvid.vectors import VectorIndex

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext


@dataclass
class Consistency(ToDict):
    """How the FAISS copy differs from the catalog."""

    catalog_segments: int
    index_vectors: int
    missing: np.ndarray  # in the catalog, not in FAISS
    extra: np.ndarray  # in FAISS, not in the catalog
    damaged: str | None = None  # why the saved FAISS copy could not be read (it is rebuilt from the catalog)
    gone: list[str] = field(default_factory=list)  # indexed files no longer on disk (`openvid prune` drops them)
    tombstones: int = 0  # removed vectors still in the FAISS file (`openvid compact`, or `check --fix`)

    @property
    def vectors_ok(self) -> bool:
        """The FAISS copy holds exactly the catalog's segments."""
        return self.damaged is None and not len(self.missing) and not len(self.extra)

    @property
    def ok(self) -> bool:
        """Nothing to repair and nothing indexed that is gone from disk (removed vectors awaiting
        compaction are not a fault: searches never return them)."""
        return self.vectors_ok and not self.gone


class VideoIndex:
    def __init__(self, home: Path, catalog: Catalog, record: IndexRecord, vectors: VectorIndex,
                 damaged: str | None = None) -> None:
        self.home = Path(home)
        self.catalog = catalog
        self.record = record
        self.vectors = vectors
        self.damaged = damaged

    @property
    def folder(self) -> Path:
        return folder_of(self.home, self.record.name)

    @classmethod
    def open(cls, home: Path, catalog: Catalog, record: IndexRecord, *, repair: bool = True,
             factory: str | None = None, rebuild_damaged: bool = False) -> "VideoIndex":
        """Load the FAISS copy (or start one) and, with `repair`, bring it in step with the catalog.

        A damaged FAISS copy raises `VideoIndexError` unless `rebuild_damaged`: then it is started
        afresh and `repair` refills it from the catalog's stored vectors (`openvid check --fix`).
        """
        folder = folder_of(home, record.name)
        damaged = None
        vectors = None
        if (folder / "vectors.json").exists() or any(folder.glob("vectors.*")):
            try:
                vectors = _load_vectors(folder, record)
            except VideoIndexError as exc:
                if not rebuild_damaged:
                    raise
                damaged = str(exc)
        if vectors is None:
            vectors = VectorIndex.create(record.dim, factory=factory)
        index = cls(home, catalog, record, vectors, damaged=damaged)
        if repair:
            index.repair()
        return index

    def consistency(self, *, files: bool = False) -> Consistency:
        """How FAISS differs from the catalog; with `files`, also which indexed files are gone."""
        catalog_ids = self.catalog.segment_ids(self.record.id)
        index_ids = np.asarray(self.vectors.ids(), np.int64)
        gone = [v.path for v in self.catalog.list_videos(self.record.id) if not Path(v.path).exists()] if files else []
        return Consistency(
            catalog_segments=len(catalog_ids),
            index_vectors=len(index_ids),
            missing=np.setdiff1d(catalog_ids, index_ids),
            extra=np.setdiff1d(index_ids, catalog_ids),
            damaged=self.damaged,
            gone=gone,
            tombstones=self.vectors.info().tombstones,
        )

    def repair(self) -> Consistency:
        """Make FAISS hold exactly the catalog's segments; returns what was wrong before."""
        state = self.consistency()
        if len(state.extra):
            self.vectors.remove(state.extra)
        if len(state.missing):
            self.vectors.add(state.missing, self.catalog.vectors(state.missing, self.record.dim))
        return state

    def stored_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The float32 vectors of these segments, as exact as this index keeps them.

        From the FAISS copy where it holds them (the encoder's float32 as added), else from the
        catalog's float16 copy (segments committed after this index was opened). Unknown ids raise
        `VideoIndexError`.
        """
        ids = np.asarray(ids, np.int64).reshape(-1)
        held = self.vectors.holds(ids)
        out = np.empty((len(ids), self.record.dim), np.float32)
        if held.any():
            out[held] = self.vectors.reconstruct(ids[held])
        if not held.all():
            out[~held] = self.catalog.vectors(ids[~held], self.record.dim)
        return out

    def add(self, ids: np.ndarray, vectors: np.ndarray, removed: np.ndarray | None = None) -> None:
        if removed is not None and len(removed):
            self.vectors.remove(removed)
        if len(ids):
            self.vectors.add(ids, vectors)

    def save(self) -> None:
        self.vectors.save(self.folder)
        self.damaged = None

    def compact(self) -> int:
        """Drop removed vectors from the FAISS file for good (HNSW keeps them as tombstones) and
        save; returns how many were dropped.

        Also rewrites the catalog's float32 vectors of an older catalog as float16 (a storage
        change, so here and not in `openvid check --fix`, which only repairs; reading works either
        way). Nothing in FAISS changes with it: its copy stays float32.
        """
        self.catalog.shrink_vectors(self.record.id, self.record.dim)
        dropped = self.vectors.compact()
        if dropped:
            self.save()
        return dropped

    def drop_if_empty(self) -> bool:
        """Delete this index (catalog record and vector folder) if it holds no video; whether it did.

        A run that created an index and indexed nothing (every file failed, or it was stopped
        first) leaves nothing behind this way.
        """
        if self.catalog.counts(self.record.id)[0]:
            return False
        self.catalog.delete_index(self.record.name)
        shutil.rmtree(self.folder, ignore_errors=True)
        return True


def _load_vectors(folder: Path, record: IndexRecord) -> VectorIndex:
    if not (folder / "vectors.json").exists():
        raise VideoIndexError(f"{folder} has vector files but no vectors.json; run `openvid check --fix` to rebuild it")
    vectors = VectorIndex.load(folder)
    if vectors.dim != record.dim:
        raise VideoIndexError(f"{folder} holds {vectors.dim}-d vectors but the catalog says {record.dim}; "
                              "run `openvid check --fix` to rebuild it")
    return vectors


def create_record(ctx: "RunContext", name: str, factory: str | None = None) -> IndexRecord:
    """A new index for `ctx`'s encoder, window and stride (recorded, so every later call uses them).

    The vector settings are checked first (a `factory` FAISS cannot build raises here), so a
    refused call leaves no empty index behind.
    """
    encoder = ctx.encoder
    if factory is not None:
        VectorIndex.create(encoder.dim, factory=factory)
    model = ctx.settings.model_name
    if Path(model).expanduser().exists():  # a local checkpoint: remember where, from anywhere
        model = str(Path(model).expanduser().resolve())
    return ctx.catalog.create_index(name, model=model, encoder=encoder.identity, dim=encoder.dim,
                                    window_s=ctx.window_s, stride_s=ctx.stride_s, frames=encoder.frames_per_clip)


def check_settings(target: VideoIndex, *, window_s: float | None, stride_s: float | None,
                   factory: str | None) -> None:
    """Refuse settings for new videos that differ from the ones `target` was built with.

    An index holds one window, stride and vector type for all its videos (search compares their
    segments, and the FAISS type is the index's own); adding videos cut otherwise would mix them
    silently. The message names the index's settings and the way to build a second index.
    """
    record = target.record
    built = target.vectors.spec.factory
    asked = []
    if window_s is not None and abs(window_s - record.window_s) > 1e-9:
        asked.append(opt("window_s", f"{window_s:g}"))
    if stride_s is not None and abs(stride_s - record.stride_s) > 1e-9:
        asked.append(opt("stride_s", f"{stride_s:g}"))
    if factory is not None and factory != built:
        asked.append(opt("factory", factory))
    if not asked:
        return
    kind = f"FAISS factory {built!r}" if built else "the automatic FAISS type"
    raise UsageError(
        f"index {record.name!r} was built with windows of {record.window_s:g} s every {record.stride_s:g} s and "
        f"{kind}; this call asks for {', '.join(asked)}. Leave those out to add videos to it with its own "
        f"settings, or give another {opt('index', 'NAME')} to build a new index with these")


def summaries(catalog: Catalog, home: Path) -> list[dict]:
    """One row per index of the home: name, model, videos, segments, bytes on disk."""
    rows = []
    for record in catalog.list_indexes():
        videos, segments = catalog.counts(record.id)
        folder = folder_of(home, record.name)
        size = sum(f.stat().st_size for f in folder.glob("*") if f.is_file()) if folder.exists() else 0
        rows.append({"name": record.name, "model": record.model, "videos": videos, "segments": segments,
                     "bytes_on_disk": size})
    return rows


def folder_of(home: Path, name: str) -> Path:
    return Path(home) / name
