"""One named video index: the catalog's rows plus the FAISS copy of their vectors, kept in step.

On disk: the catalog lives in the home folder's SQLite file, the vectors in `<home>/<name>/`
(the FAISS index and its JSON description, written atomically by `VectorIndex.save`). The
catalog is the truth: opening an index compares the FAISS ids with the catalog's segment ids
and patches FAISS from the stored vectors (adds what is missing, removes what is extra), so an
index killed at any moment opens consistent and has lost at most the videos in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from openvid.errors import VideoIndexError
from openvid.store.catalog import Catalog, IndexRecord
from openvid.vectors import VectorIndex

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext


@dataclass
class Consistency:
    """How the FAISS copy differs from the catalog."""

    catalog_segments: int
    index_vectors: int
    missing: np.ndarray  # in the catalog, not in FAISS
    extra: np.ndarray  # in FAISS, not in the catalog
    damaged: str | None = None  # why the saved FAISS copy could not be read (it is rebuilt from the catalog)

    @property
    def ok(self) -> bool:
        return self.damaged is None and not len(self.missing) and not len(self.extra)


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

    def consistency(self) -> Consistency:
        catalog_ids = self.catalog.segment_ids(self.record.id)
        index_ids = np.asarray(self.vectors.ids(), np.int64)
        return Consistency(
            catalog_segments=len(catalog_ids),
            index_vectors=len(index_ids),
            missing=np.setdiff1d(catalog_ids, index_ids),
            extra=np.setdiff1d(index_ids, catalog_ids),
            damaged=self.damaged,
        )

    def repair(self) -> Consistency:
        """Make FAISS hold exactly the catalog's segments; returns what was wrong before."""
        state = self.consistency()
        if len(state.extra):
            self.vectors.remove(state.extra)
        if len(state.missing):
            self.vectors.add(state.missing, self.catalog.vectors(state.missing, self.record.dim))
        return state

    def add(self, ids: np.ndarray, vectors: np.ndarray, removed: np.ndarray | None = None) -> None:
        if removed is not None and len(removed):
            self.vectors.remove(removed)
        if len(ids):
            self.vectors.add(ids, vectors)

    def save(self) -> None:
        self.vectors.save(self.folder)
        self.damaged = None


def _load_vectors(folder: Path, record: IndexRecord) -> VectorIndex:
    if not (folder / "vectors.json").exists():
        raise VideoIndexError(f"{folder} has vector files but no vectors.json; run `openvid check --fix` to rebuild it")
    vectors = VectorIndex.load(folder)
    if vectors.dim != record.dim:
        raise VideoIndexError(f"{folder} holds {vectors.dim}-d vectors but the catalog says {record.dim}; "
                              "run `openvid check --fix` to rebuild it")
    return vectors


def create_record(ctx: "RunContext", name: str) -> IndexRecord:
    """A new index for `ctx`'s encoder, window and stride (recorded, so every later call uses them)."""
    encoder = ctx.encoder
    model = ctx.settings.model_name
    if Path(model).expanduser().exists():  # a local checkpoint: remember where, from anywhere
        model = str(Path(model).expanduser().resolve())
    return ctx.catalog.create_index(name, model=model, encoder=encoder.identity, dim=encoder.dim,
                                    window_s=ctx.window_s, stride_s=ctx.stride_s, frames=encoder.frames_per_clip)


def folder_of(home: Path, name: str) -> Path:
    return Path(home) / name
