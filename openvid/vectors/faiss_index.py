"""FAISS vectors with stable caller-chosen int64 ids: add, remove, search, save, load.

Vectors are L2-normalised float32 and compared by inner product (= cosine). The catalog chooses
the ids; this layer never renumbers them.

**Index type follows size.** While an index holds at most ``flat_threshold`` (50,000) vectors it is
exact (``IDMap2,Flat``). The ``add`` that crosses the threshold rebuilds it as ``HNSW48``
(efConstruction 80) in place; the switch is one-way (removals never turn it back into Flat). A
forced FAISS factory string (``"HNSW32"``, ``"IVF1024,PQ64"``, ``"Flat"``) turns the automatic
choice off; a forced type that needs training stays an exact Flat index until it holds enough
vectors to train on (39 per k-means centroid), then rebuilds into the forced type.

**Why these defaults** (``scripts/bench_search.py``; tables and discussion in
``docs/benchmarks.md``). Target: p50 < 5 ms and recall@10 ≥ 0.95 at 1M 512-d vectors, single
queries on one core. On the harder (low-rank) set at 1M, HNSW48 efSearch 192 gives recall 0.957 at
3.74 ms; HNSW32 needs efSearch 384 for the same recall at 4.66 ms (inside the target by less than
run-to-run noise), for 30 % less build time and 128 bytes less per vector. IVF1024,PQ64 tops out
at recall 0.07-0.43 and IVF1024,Flat (the ceiling of any re-ranked IVF-PQ) at 0.71, and both need
training. Flat costs 4.7-5.2 ms per query at 50,000 vectors, the approximate budget, and grows
linearly beyond.

**Keeping vectors for rebuilds.** Flat and HNSW-over-Flat store the vectors exactly, so a rebuild
reads them back with ``reconstruct_n``; nothing is stored twice at full precision (the catalog's
copy, for rebuilding this file after damage, is float16: `openvid.store.catalog`). Index types
whose FAISS storage is lossy (IVF, PQ, SQ) keep a float32 side copy (``.ids.npy`` + ``.vecs.npy``
beside the ``.faiss``, memory-mapped on ``load(mmap=True)``) so rebuilds, filtered exact search and
`reconstruct` use the originals.

**Removal.** Flat and IVF remove natively (``remove_ids``). HNSW and other types cannot; their
removed ids become tombstones: excluded at search by an ``IDSelectorNot`` inside FAISS (or, for
types that take no selector, by over-fetching and filtering), never counted by ``len``, dropped for
good by ``compact()`` or the next rebuild. Adding a tombstoned id again compacts first (the old
vector has to leave the graph), so replacing a vector is remove + add on every type.

**Filters.** ``allowed_ids`` up to ``EXACT_FILTER_MAX`` ids are searched exactly over those ids'
vectors (an HNSW graph walk restricted to a few ids misses many of them); larger sets go to FAISS
as an ``IDSelectorBatch``.

**Vectors in.** ``add`` and ``search`` refuse non-finite values and vectors whose norm is more than
1 % away from 1 (un-normalised input is almost always a bug: another encoder, or a missing
normalisation); vectors within that tolerance are re-normalised exactly.

**GPU.** With ``use_gpu="auto"`` and faiss-gpu seeing a GPU, unfiltered searches run on a GPU
copy of the index (Flat and IVF types; FAISS has no GPU HNSW). The CPU index is the one saved.
Without a GPU everything silently runs on the CPU.

Not thread-safe for concurrent writers; concurrent searches on an unchanging index are fine.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from openvid.errors import VideoIndexError, opt
from openvid.vectors import persist
from openvid.vectors.arrays import (
    SideStore,
    check_ids,
    check_vectors,
    clean,
    isin_sorted,
    pad_to,
    padding,
    positive,
    sample,
)
from openvid.vectors.kinds import (
    FLAT,
    GPU_MAX_K,
    IndexSpec,
    choose_index_type,
    gpu_copy,
    kind_of,
    new_faiss_index,
    search_parameters,
    set_parameters,
    stores_exact_vectors,
    training_size,
)
from openvid.vectors.threads import threads_for

EXACT_FILTER_MAX = 20_000
_UNSET = object()
_training_size = functools.lru_cache(maxsize=64)(training_size)


@dataclass(frozen=True)
class IndexInfo:
    """What `VectorIndex.info` reports."""

    type: str  # flat | hnsw | ivf | other
    factory: str  # FAISS factory string of the index as built now
    auto: bool  # the type follows size (no forced factory)
    dim: int
    count: int  # live vectors
    tombstones: int
    bytes_on_disk: int | None  # after save/load, else None
    ef_search: int
    nprobe: int
    gpu: bool  # searches run on a GPU copy


class VectorIndex:
    """FAISS over unit vectors (inner product) with stable int64 ids. Build with `create` or `load`.

    >>> index = VectorIndex.create(4)
    >>> index.add(np.array([7, 9]), np.eye(4, dtype=np.float32)[:2])
    >>> scores, ids = index.search(np.eye(4, dtype=np.float32)[:1], k=3)
    >>> ids.tolist(), scores.tolist()
    ([[7, 9, -1]], [[1.0, 0.0, -inf]])
    """

    def __init__(self, spec: IndexSpec, index: faiss.Index, factory: str, *, tombstones=None,
                 side: tuple[np.ndarray, np.ndarray] | None = None, mapped: bool = False) -> None:
        self.spec = spec
        self._index, self._kind, self._factory = index, kind_of(index), factory
        self._tomb = np.asarray(tombstones if tombstones is not None else [], dtype=np.int64)
        if side is None and not stores_exact_vectors(index):
            side = (np.empty(0, np.int64), np.empty((0, spec.dim), np.float32))
        self._side = SideStore(*side) if side is not None else None
        self._mapped = mapped
        self._ef_search, self._nprobe = spec.ef_search, spec.nprobe
        self._applied: tuple[int, int] | None = None  # (efSearch, nprobe) last set inside an "other" index
        self._bytes_on_disk: int | None = None
        self._changed()

    # ---------------------------------------------------------------- construction
    @classmethod
    def create(cls, dim: int, factory: str | None = None, *, flat_threshold: int = 50_000, hnsw_m: int = 48,
               ef_construction: int = 80, ef_search: int = 192, nprobe: int = 32,
               use_gpu: str = "auto") -> VectorIndex:
        """An empty index of ``dim``-d vectors; ``factory=None`` lets the type follow size."""
        spec = IndexSpec(dim=dim, factory=factory, flat_threshold=flat_threshold, hnsw_m=hnsw_m,
                         ef_construction=ef_construction, ef_search=ef_search, nprobe=nprobe, use_gpu=use_gpu)
        first = choose_index_type(0, spec)
        if _training_size(dim, first) > 0:
            first = FLAT  # exact until there is enough data to train the forced type
        index, _ = new_faiss_index(dim, first, spec)
        return cls(spec, index, first)

    # ---------------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        return self.spec.dim

    @property
    def ef_search(self) -> int:
        return self._ef_search

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        self._ef_search = positive("ef_search", value)

    @property
    def nprobe(self) -> int:
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._nprobe = positive("nprobe", value)
        self._gpu = _UNSET

    def __len__(self) -> int:
        return int(self._index.ntotal) - int(self._tomb.size)

    def ids(self) -> np.ndarray:
        """Live ids, ascending."""
        return np.setdiff1d(self._stored_sorted(), self._tomb, assume_unique=True)

    def holds(self, ids: np.ndarray) -> np.ndarray:
        """A boolean mask: which of ``ids`` are live in this index (cheap: the sorted ids are cached)."""
        ids = check_ids(ids, "ids")
        return isin_sorted(ids, self._stored_sorted()) & ~isin_sorted(ids, self._tomb)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The float32 vectors of live ``ids``, exactly as added (n × dim, in the order asked).

        From FAISS's own storage where it is exact (Flat, HNSW over Flat: ``reconstruct_batch``),
        else from the side copy that lossy types keep; an id that is not live raises."""
        ids = check_ids(ids, "ids")
        absent = ids[~self.holds(ids)]
        if absent.size:
            raise VideoIndexError(f"ids {sample(absent)} are not in the index (never added, or removed)")
        if not ids.size:
            return np.empty((0, self.dim), np.float32)
        if self._side is not None:
            return np.ascontiguousarray(self._side.take(ids), dtype=np.float32)
        return self._index.reconstruct_batch(ids)

    def info(self) -> IndexInfo:
        return IndexInfo(type=self._kind, factory=self._factory, auto=self.spec.auto, dim=self.dim, count=len(self),
                         tombstones=int(self._tomb.size), bytes_on_disk=self._bytes_on_disk,
                         ef_search=self._ef_search, nprobe=self._nprobe, gpu=self._gpu_index() is not None)

    def __repr__(self) -> str:
        return f"VectorIndex({self._factory!r}, dim={self.dim}, count={len(self)}, tombstones={self._tomb.size})"

    # ---------------------------------------------------------------- writes
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n × dim unit float32) under the caller's ``ids`` (n distinct int64 >= 0)."""
        ids = check_ids(ids, "ids")
        vectors = check_vectors(vectors, self.dim, "vectors")
        if len(ids) != len(vectors):
            raise VideoIndexError(f"got {len(ids)} ids for {len(vectors)} vectors; pass one id per vector")
        if not len(ids):
            return
        unique, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise VideoIndexError(f"ids repeated within this add: {sample(unique[counts > 1])}; give each vector its own id")
        present = ids[isin_sorted(ids, self._stored_sorted())]
        if present.size:
            alive = present[~isin_sorted(present, self._tomb)]
            if alive.size:
                raise VideoIndexError(f"ids {sample(alive)} are already in the index; remove() them first to replace "
                                      "their vectors")
            self.compact()  # re-using removed ids: their old vectors must leave the graph first
        self._materialise()
        self._index.add_with_ids(vectors, ids)
        if self._side is not None:
            self._side.append(ids, vectors)
        stored = self._sorted_cache
        if stored is not None:  # keep the sorted ids current in O(n) instead of re-sorting
            new = np.sort(ids)
            stored = np.insert(stored, np.searchsorted(stored, new), new)
        self._changed(stored)
        self._maybe_rebuild()

    def remove(self, ids: np.ndarray) -> int:
        """Remove ``ids`` (unknown or already removed ids are ignored); returns how many were live."""
        ids = np.unique(check_ids(ids, "ids"))
        live = ids[isin_sorted(ids, self._stored_sorted()) & ~isin_sorted(ids, self._tomb)]
        if not live.size:
            return 0
        if self._kind in ("flat", "ivf"):
            self._materialise()
            self._index.remove_ids(faiss.IDSelectorBatch(live))
            if self._side is not None:
                self._side.remove(live)
            stored = self._sorted_cache
            self._changed(stored[~isin_sorted(stored, live)] if stored is not None else None)
        else:
            self._tomb = np.union1d(self._tomb, live)
            self._changed(self._sorted_cache)
        return int(live.size)

    def compact(self) -> int:
        """Rebuild without tombstones (same type); returns how many were dropped."""
        dropped = int(self._tomb.size)
        if dropped:
            self._rebuild(self._factory)
        return dropped

    def rebuild(self, factory: str | None = None) -> None:
        """Rebuild now (dropping tombstones) as ``factory``, which from then on is forced; without one, as
        the type this index should have at its size."""
        if factory is not None:
            spec = dataclasses.replace(self.spec, factory=factory)  # validates the string
            self._rebuild(factory)
            self.spec = spec
        else:
            self._rebuild(choose_index_type(len(self), self.spec))

    # ---------------------------------------------------------------- search
    def search(self, queries: np.ndarray, k: int, *, allowed_ids: np.ndarray | None = None,
               ef_search: int | None = None, nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` live vectors per query by inner product.

        Returns ``(scores, ids)``, both q × k, best first; rows with fewer hits are padded with
        score ``-inf`` and id ``-1``. ``allowed_ids`` restricts results to those ids.
        ``ef_search`` (HNSW) and ``nprobe`` (IVF) override the index's own for this call.
        """
        with threads_for(len(queries) if np.ndim(queries) == 2 else 1):  # see openvid.vectors.threads
            return self._search(queries, k, allowed_ids=allowed_ids, ef_search=ef_search, nprobe=nprobe)

    def _search(self, queries: np.ndarray, k: int, *, allowed_ids: np.ndarray | None,
                ef_search: int | None, nprobe: int | None) -> tuple[np.ndarray, np.ndarray]:
        queries = check_vectors(queries, self.dim, "queries", allow_1d=True)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise VideoIndexError(f"{opt('k')} must be a positive integer; got {k!r}")
        k = int(k)
        ef = self._ef_search if ef_search is None else positive("ef_search", ef_search)
        nprobe = self._nprobe if nprobe is None else positive("nprobe", nprobe)
        allowed = None
        if allowed_ids is not None:
            wanted = np.unique(check_ids(allowed_ids, "allowed_ids"))
            allowed = wanted[isin_sorted(wanted, self._stored_sorted()) & ~isin_sorted(wanted, self._tomb)]
        live = len(self) if allowed is None else int(allowed.size)
        if not len(queries) or not live:
            return padding(len(queries), k)
        if allowed is not None and self._kind != "flat" and allowed.size <= EXACT_FILTER_MAX:
            return self._exact(queries, k, allowed)
        if self._kind == "other":
            return self._overfetch(queries, k, allowed, ef, nprobe)
        scores, ids = self._faiss_search(queries, k, allowed, ef, nprobe)
        short = (ids >= 0).sum(axis=1) < min(k, live)
        if short.any() and self._kind == "hnsw":  # the graph walk ran out of unfiltered neighbours
            scores[short], ids[short] = self._overfetch(queries[short], k, allowed, ef, nprobe)
        return scores, ids

    def _faiss_search(self, queries, k, allowed, ef, nprobe):
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
        elif self._tomb.size:
            selector = self._tombstone_selector()[1]
        plain = selector is None and k <= GPU_MAX_K and nprobe == self._nprobe
        gpu = self._gpu_index() if plain else None
        if gpu is not None:
            scores, ids = gpu.search(queries, k)
        else:
            params = search_parameters(self._kind, ef_search=ef, nprobe=nprobe, k=k, selector=selector)
            scores, ids = self._index.search(queries, k, params=params)
        return clean(scores, ids)

    def _overfetch(self, queries, k, allowed, ef, nprobe):
        """Search without a selector, fetching extra hits and dropping tombstones / disallowed ids."""
        stored = int(self._index.ntotal)
        live = len(self) if allowed is None else int(allowed.size)
        fetch = k + int(self._tomb.size)
        if allowed is not None:
            fetch = max(fetch, 2 * k * stored // max(1, live))
        fetch = min(stored, fetch)
        if self._kind == "other" and self._applied != (ef, nprobe):
            set_parameters(self._index, ef_search=ef, nprobe=nprobe)
            self._applied = (ef, nprobe)
        while True:
            params = search_parameters(self._kind, ef_search=ef, nprobe=nprobe, k=fetch)
            scores, ids = clean(*self._index.search(queries, fetch, params=params))
            keep = ids >= 0
            if self._tomb.size:
                keep &= ~np.isin(ids, self._tomb)
            if allowed is not None:
                keep &= np.isin(ids, allowed)
            order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
            scores, ids, keep = (np.take_along_axis(a, order, axis=1) for a in (scores, ids, keep))
            if keep.sum(axis=1).min() >= min(k, live) or fetch >= stored:
                break
            fetch = min(stored, 2 * fetch)
        scores[~keep], ids[~keep] = -np.inf, -1
        return pad_to(scores, ids, k)

    def _exact(self, queries, k, allowed):
        """Brute force over the vectors of ``allowed`` (live ids)."""
        vectors = self.reconstruct(allowed)
        sims = queries @ vectors.T
        top = min(k, len(allowed))
        part = np.argpartition(-sims, top - 1, axis=1)[:, :top] if top < len(allowed) else np.tile(
            np.arange(len(allowed)), (len(queries), 1))
        part_scores = np.take_along_axis(sims, part, axis=1)
        best = np.argsort(-part_scores, axis=1, kind="stable")
        return pad_to(np.take_along_axis(part_scores, best, axis=1).astype(np.float32),
                       allowed[np.take_along_axis(part, best, axis=1)], k)

    # ---------------------------------------------------------------- persistence
    def save(self, folder: str | Path) -> None:
        """Write atomically to ``folder`` (see `openvid.vectors.persist` for the layout and guarantees)."""
        spec = dataclasses.asdict(self.spec)
        spec.update(ef_search=self._ef_search, nprobe=self._nprobe)
        files = persist.write_folder(Path(folder), self._index, self._side.arrays() if self._side else None, {
            "dim": self.dim, "kind": self._kind, "built": self._factory, "spec": spec, "count": len(self),
            "ntotal": int(self._index.ntotal), "tombstones": self._tomb.tolist(),
        })
        self._bytes_on_disk = sum(record["bytes"] for record in files.values())

    @classmethod
    def load(cls, folder: str | Path, mmap: bool = False, *, verify: bool = True,
             use_gpu: str | None = None) -> VectorIndex:
        """Read an index saved by `save`. ``mmap=True`` maps the vectors read-only (shared page cache,
        little private memory; the first write copies the index into memory). ``verify`` checks the
        CRC-32 of every file (reads them once)."""
        meta, index, side = persist.read_folder(Path(folder), mmap=mmap, verify=verify)
        try:
            spec = IndexSpec(**meta["spec"])
        except TypeError as exc:
            raise VideoIndexError(f"{folder}: {persist.SIDECAR} has an unknown spec ({exc}); "
                                  f"{persist.fix_hint(Path(folder))}") from None
        if use_gpu is not None:
            spec = dataclasses.replace(spec, use_gpu=use_gpu)
        loaded = cls(spec, index, meta["built"], tombstones=np.unique(meta["tombstones"]), side=side, mapped=mmap)
        loaded._bytes_on_disk = sum(record["bytes"] for record in meta["files"].values())
        return loaded

    # ---------------------------------------------------------------- internals
    def _changed(self, sorted_ids: np.ndarray | None = None) -> None:
        """Drop what a write makes stale; ``sorted_ids`` is the new sorted id list when the caller kept it."""
        self._sorted_cache = sorted_ids
        self._tomb_selector = None
        self._gpu = _UNSET

    def _stored_sorted(self) -> np.ndarray:
        """Every id FAISS holds (tombstones included), ascending; cached until the next write."""
        if self._sorted_cache is None:
            if self._kind == "ivf":
                stored = np.asarray(self._side.arrays()[0])
            else:
                stored = faiss.vector_to_array(self._index.id_map)
            self._sorted_cache = np.sort(stored)
        return self._sorted_cache

    def _tombstone_selector(self):
        if self._tomb_selector is None:
            inner = faiss.IDSelectorBatch(self._tomb)
            self._tomb_selector = (inner, faiss.IDSelectorNot(inner))  # keep inner alive
        return self._tomb_selector

    def _gpu_index(self):
        if self.spec.use_gpu == "never":
            return None
        if self._gpu is _UNSET:
            self._gpu = gpu_copy(self._index)
            if self._gpu is not None and self._kind == "ivf":
                faiss.GpuParameterSpace().set_index_parameter(self._gpu, "nprobe", self._nprobe)
        return self._gpu

    def _materialise(self) -> None:
        """Copy a memory-mapped index into memory before FAISS writes to it (mapped data is read-only)."""
        if self._mapped:
            self._index = faiss.deserialize_index(faiss.serialize_index(self._index))
            self._mapped, self._applied = False, None

    def _maybe_rebuild(self) -> None:
        target = choose_index_type(len(self), self.spec)
        if target == self._factory or (self.spec.auto and target == FLAT):
            return  # automatic switching is one-way: Flat -> approximate
        if len(self) >= _training_size(self.dim, target):
            self._rebuild(target)

    def _rebuild(self, factory: str) -> None:
        ids, vectors = self._live_vectors()
        index, _ = new_faiss_index(self.dim, factory, self.spec)
        if not index.is_trained:
            need = _training_size(self.dim, factory)
            if len(ids) < need:
                raise VideoIndexError(f"{factory!r} needs {need} vectors to train; this index holds {len(ids)}. "
                                      "Add more vectors first or choose a type that needs no training, such as "
                                      f"{opt('factory', 'Flat')}")
            index.train(vectors)
        if len(ids):
            index.add_with_ids(vectors, ids)
        self._index, self._kind, self._factory = index, kind_of(index), factory
        self._tomb = np.empty(0, np.int64)
        self._side = None if stores_exact_vectors(index) else SideStore(ids, vectors)
        self._mapped = False
        self._applied = None
        self._changed()

    def _live_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        if self._side is not None:
            ids, vectors = (np.asarray(a) for a in self._side.arrays())
        else:
            ids = faiss.vector_to_array(self._index.id_map)
            sub = faiss.downcast_index(self._index.index)
            vectors = sub.reconstruct_n(0, sub.ntotal) if sub.ntotal else np.empty((0, self.dim), np.float32)
        if self._tomb.size:
            keep = ~np.isin(ids, self._tomb)
            ids, vectors = ids[keep], vectors[keep]
        return np.ascontiguousarray(ids, dtype=np.int64), np.ascontiguousarray(vectors, dtype=np.float32)
