"""Which FAISS index to build, and what each kind of FAISS index can do.

`choose_index_type` is the one rule for the automatic choice; `IndexSpec` carries the knobs.
The rest of this module hides FAISS's differences between index families behind a few small
functions, so `vectors.py` asks questions ("can it remove natively?", "which search parameters?")
instead of testing classes everywhere.

Kinds:

- ``flat``  — ``IDMap2,Flat``: exact; ``remove_ids`` natively; vectors stored exactly.
- ``hnsw``  — ``IDMap2,HNSW<M>`` (or another HNSW storage): no ``remove_ids`` in FAISS, so removals
  are tombstones; ``efSearch`` per search; vectors stored exactly when the storage is Flat.
- ``ivf``   — any factory whose core is an ``IndexIVF`` (``IVF1024,PQ64``, ``OPQ64,IVF4096,PQ64``):
  FAISS stores our ids natively and removes natively; ``nprobe`` per search; lossy storage.
- ``other`` — anything else FAISS builds (``PQ64``, ``HNSW32_PQ16``, ``IVF1024,PQ64,RFlat``):
  wrapped in ``IDMap2``; removals are tombstones; filters run by over-fetching. A refine index
  (``IVF4096,PQ64,Refine(SQfp16)``: PQ codes to find candidates, float16 copies to re-score them
  exactly) re-scores ``REFINE_K_FACTOR`` candidates per hit asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss

from openvid.errors import UnknownChoice, VideoIndexError

FLAT = "Flat"
# Candidates a refine index (``…,Refine(SQfp16)``, ``…,RFlat``) re-scores per hit asked for. FAISS's
# default of 1 re-scores only the k hits the codes chose, which re-ranks but finds nothing new; 8 took
# IVF1024,PQ64 from recall@10 0.31 to 0.998 at 100k vectors, and 32 gave no more
# (scripts/bench_scaling.py, docs/benchmarks.md "Index size and scaling").
REFINE_K_FACTOR = 8
GPU_CHOICES = ("auto", "never")
GPU_MAX_K = 2048  # FAISS GPU indexes refuse larger k


@dataclass(frozen=True)
class IndexSpec:
    """How a `VectorIndex` is built. ``factory=None`` means: choose by size (`choose_index_type`).

    The defaults come from ``scripts/bench_search.py`` (see ``docs/benchmarks.md`` and the
    `openvid.vectors.faiss_index` docstring): exact search up to 50,000 vectors, HNSW48 (efConstruction
    80) above, searched with ``ef_search=192``; lower it for speed, raise it for recall.
    """

    dim: int
    factory: str | None = None
    flat_threshold: int = 50_000
    hnsw_m: int = 48
    ef_construction: int = 80
    ef_search: int = 192
    nprobe: int = 32
    use_gpu: str = "auto"

    def __post_init__(self) -> None:
        for name in ("dim", "hnsw_m", "ef_construction", "ef_search", "nprobe"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise VideoIndexError(f"{name} must be a positive integer; got {value!r}")
        if not isinstance(self.flat_threshold, int) or self.flat_threshold < 0:
            raise VideoIndexError(f"flat_threshold must be an integer >= 0; got {self.flat_threshold!r}")
        if self.use_gpu not in GPU_CHOICES:
            raise UnknownChoice("use_gpu value", str(self.use_gpu), list(GPU_CHOICES))
        if self.factory is not None:
            probe_factory(self.dim, self.factory)  # fail now, not at the first add

    @property
    def auto(self) -> bool:
        return self.factory is None


def choose_index_type(count: int, spec: IndexSpec) -> str:
    """The FAISS factory string an index holding ``count`` vectors should have under ``spec``.

    A forced ``spec.factory`` always wins. Otherwise exact ``Flat`` up to ``spec.flat_threshold``
    vectors and ``HNSW<m>`` above it (chosen over HNSW32 and IVF-PQ by measurement: see ``vectors.py``).
    """
    if spec.factory is not None:
        return spec.factory
    return FLAT if count <= spec.flat_threshold else f"HNSW{spec.hnsw_m}"


def probe_factory(dim: int, factory: str) -> faiss.Index:
    """Build an empty FAISS index from ``factory`` or raise with the valid spellings."""
    if not isinstance(factory, str) or not factory.strip():
        raise VideoIndexError(f"factory must be a FAISS factory string such as 'HNSW32'; got {factory!r}")
    if factory.replace(" ", "").upper().startswith("IDMAP"):
        raise VideoIndexError(f"factory {factory!r}: leave out 'IDMap'/'IDMap2', openvid adds the id map itself")
    try:
        return faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1][:200]
        raise VideoIndexError(
            f"FAISS cannot build factory string {factory!r} for dim {dim} ({first}); use a spelling from "
            "https://github.com/facebookresearch/faiss/wiki/The-index-factory, e.g. 'Flat', 'HNSW32', "
            "'IVF1024,PQ64', or leave factory unset for the automatic choice"
        ) from None


def _ivf_of(index: faiss.Index):
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def new_faiss_index(dim: int, factory: str, spec: IndexSpec) -> tuple[faiss.Index, str]:
    """An empty index for ``factory`` that takes caller-chosen int64 ids, and its kind."""
    raw = probe_factory(dim, factory)
    core = faiss.downcast_index(raw)
    if isinstance(core, faiss.IndexIVF) or (
        isinstance(core, faiss.IndexPreTransform) and isinstance(faiss.downcast_index(core.index), faiss.IndexIVF)
    ):
        ivf = _ivf_of(raw)
        ivf.nprobe = spec.nprobe
        return raw, "ivf"
    index = faiss.index_factory(dim, "IDMap2," + factory, faiss.METRIC_INNER_PRODUCT)
    sub = faiss.downcast_index(index.index)
    if isinstance(sub, faiss.IndexHNSW):
        sub.hnsw.efConstruction = spec.ef_construction
        sub.hnsw.efSearch = spec.ef_search
    if isinstance(sub, faiss.IndexRefine):  # saved with the index, so a loaded one keeps it
        sub.k_factor = float(REFINE_K_FACTOR)
    return index, kind_of(index)


def kind_of(index: faiss.Index) -> str:
    """``flat`` | ``hnsw`` | ``ivf`` | ``other`` for an index made by `new_faiss_index` (or read back)."""
    index = faiss.downcast_index(index)
    if not isinstance(index, faiss.IndexIDMap2):
        return "ivf" if _ivf_of(index) is not None else "other"
    sub = faiss.downcast_index(index.index)
    if type(sub) in (faiss.IndexFlatIP, faiss.IndexFlat):
        return "flat"
    if isinstance(sub, faiss.IndexHNSW):
        return "hnsw"
    return "other"


def stores_exact_vectors(index: faiss.Index) -> bool:
    """True when ``reconstruct`` returns the vectors as added (Flat, HNSW over Flat storage)."""
    index = faiss.downcast_index(index)
    if not isinstance(index, faiss.IndexIDMap2):
        return False
    sub = faiss.downcast_index(index.index)
    if isinstance(sub, faiss.IndexHNSW):
        sub = faiss.downcast_index(sub.storage)
    return type(sub) in (faiss.IndexFlatIP, faiss.IndexFlat)


def training_size(dim: int, factory: str) -> int:
    """How many vectors ``factory`` wants before it can be trained (0: needs no training).

    FAISS's k-means asks for at least 39 points per centroid; IVF has ``nlist`` centroids and a
    product quantizer ``2**nbits`` per sub-space, so ask for 39 × the larger of the two.
    """
    index = probe_factory(dim, factory)
    if index.is_trained:
        return 0
    clusters = 256
    ivf = _ivf_of(index)
    if ivf is not None:
        clusters = max(1, ivf.nlist)
        ivf = faiss.downcast_index(ivf)
        if hasattr(ivf, "pq"):
            clusters = max(clusters, ivf.pq.ksub)
    else:
        core = faiss.downcast_index(index)
        storage = faiss.downcast_index(getattr(core, "storage", core))
        pq = getattr(core, "pq", None) or getattr(storage, "pq", None)
        if pq is not None:
            clusters = pq.ksub
        elif hasattr(core, "sq") or hasattr(storage, "sq"):
            return 1000  # a scalar quantizer only learns value ranges
    return 39 * clusters


def search_parameters(kind: str, *, ef_search: int, nprobe: int, k: int, selector=None):
    """FAISS per-call search parameters for ``kind``, or None where the kind takes none."""
    if kind == "flat":
        return faiss.SearchParameters(sel=selector) if selector is not None else None
    if kind == "hnsw":
        params = faiss.SearchParametersHNSW(efSearch=max(ef_search, k))
    elif kind == "ivf":
        params = faiss.SearchParametersIVF(nprobe=nprobe)
    else:
        return None
    if selector is not None:
        params.sel = selector
    return params


def set_parameters(index: faiss.Index, *, ef_search: int, nprobe: int) -> None:
    """Set efSearch / nprobe inside indexes that take no per-call parameters (kind ``other``, e.g. a
    refined IVF); whichever does not apply is skipped."""
    space = faiss.ParameterSpace()
    for name, value in (("efSearch", ef_search), ("nprobe", nprobe)):
        try:
            space.set_index_parameter(index, name, value)
        except RuntimeError:
            pass


def gpu_copy(index: faiss.Index):
    """A copy of ``index`` on every visible GPU, or None (no GPU, CPU-only FAISS, or a type without a
    GPU implementation such as HNSW). The CPU index stays the one that is saved."""
    if not hasattr(faiss, "index_cpu_to_all_gpus") or faiss.get_num_gpus() < 1:
        return None
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except (RuntimeError, AttributeError):
        return None
