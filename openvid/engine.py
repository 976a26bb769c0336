"""The Python API: one object, one verb per job, each delegating to the job's own module.

The CLI and the server are thin layers over this class; anything they can do, `Engine` can do.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from openvid.config import Settings
from openvid.context import ModelCache, RunContext
from openvid.encoders import identity_of
from openvid.errors import IndexModelMismatch, UsageError, opt
from openvid.results import ClassifyResult, ToDict

if TYPE_CHECKING:  # pragma: no cover
    from openvid.archive.distributed import RayPlan
    from openvid.archive.ingest import IndexReport  # the archive (and faiss) load on first use of an index
    from openvid.archive.readers import IndexReaders
    from openvid.archive.search import SearchHit
    from openvid.archive.video_index import Consistency, VideoIndex
    from openvid.classify.calibrate import Calibration  # the classify job loads on first use too
    from openvid.encoders import Encoder
    from openvid.encoders.text_cache import CachedTextFeatures
    from openvid.evaluate.run import EvalResult
    from openvid.fewshot import ExamplesAdded, FitReport, SyncReport
    from openvid.heads import Head, HeadChoice
    from openvid.media import Clip
    from openvid.scoring.head_mapping import HeadMapping
    from openvid.store import ExampleStore, TaxonomyStore
    from openvid.store.catalog import Catalog, IndexRecord
    from openvid.store.head_maps import HeadMapStore


@dataclass
class VideoEmbedding(ToDict):
    """One vector per segment of a video, with the time range each covers."""

    path: str
    starts: np.ndarray  # seconds, float64 [n]
    ends: np.ndarray  # seconds, float64 [n]
    vectors: np.ndarray  # float32 [n, dim], unit norm
    model: str  # the encoder's identity


class Engine:
    """Entry point of the Python API.

        >>> engine = Engine(model="clip")                     # doctest: +SKIP
        >>> engine.encode_text(["a dog catching a frisbee"]).shape  # doctest: +SKIP
        (1, 512)

    **What a call may change.** `settings` is frozen and never replaced: no call changes what a
    later call does. A call on an index runs with that index's model, window and stride, for that
    call only; a model chosen explicitly (the `model` argument, `Settings(model=...)` or
    `OPENVID_MODEL`) is always the one used, and an index built with another model is refused
    with `IndexModelMismatch`, which names the model the index needs.

    **Sharing across threads.** One Engine serves concurrent calls from many threads:

    - models (encoders and heads) load once, under a lock, and are then only read: inference runs
      under `torch.inference_mode()` and keeps no per-call state;
    - the SQLite store hands each transaction its own connection (SQLAlchemy's pool), so every
      thread works in its own database session; writers take SQLite's write lock (BEGIN IMMEDIATE);
    - the text-feature cache of each encoder locks its own memory;
    - writes to one index (`index_videos`, `remove_videos`, `check(fix=True)`) are serialised per
      index by a lock of this Engine; searches read the saved copy and never wait for them.

    Several processes may share one home too (see `openvid.store.db`), but index writes are
    serialised only within one Engine: run one indexer per index at a time.
    """

    def __init__(self, model: str | None = None, settings: Settings | None = None, **overrides: Any) -> None:
        base = settings or Settings.from_env()
        self.settings = base.replace(model=model, **overrides)
        self._lock = threading.Lock()
        self._store: "TaxonomyStore | None" = None
        self._models = ModelCache(self.settings, lambda: self.taxonomies)
        self._index_locks: dict[str, threading.Lock] = {}
        self._readers: "IndexReaders | None" = None  # opened indexes kept for searches, made on first search

    @property
    def model_was_chosen(self) -> bool:
        """True when the caller named a model: then it is used everywhere, indexes included."""
        return self.settings.model is not None

    # -- shared, lazily loaded parts -------------------------------------------------------------
    @property
    def encoder(self) -> "Encoder":
        """The chosen (or default) encoder, loaded on first use, so building an Engine is free."""
        return self._models.encoder(self.settings.model_name)

    @property
    def taxonomies(self) -> "TaxonomyStore":
        """The prompt-set store in the home folder (opened on first use)."""
        with self._lock:
            if self._store is None:
                from openvid.store import TaxonomyStore

                self._store = TaxonomyStore(self.settings.home)
            return self._store

    @property
    def catalog(self) -> "Catalog":
        """The catalog of video indexes (`openvid.store.catalog`), in the home's database."""
        return self._context().catalog

    @property
    def examples(self) -> "ExampleStore":
        """Few-shot examples and fitted probes, per taxonomy and encoder (`openvid.store.examples`)."""
        return self._context().examples

    @property
    def head_maps(self) -> "HeadMapStore":
        """The user's head-label overrides (`openvid heads map`)."""
        return self._context().head_maps

    @property
    def text_features(self) -> "CachedTextFeatures":
        """The chosen encoder's text features behind the memory and SQLite caches."""
        return self._models.text_features(self.encoder)

    def load_heads(self, heads: Sequence["str | HeadChoice"]) -> list["Head"]:
        """Load each head once per engine (a later call reuses it), on the settings' device."""
        return self._models.heads(heads)

    def _context(self, settings: Settings | None = None, job: str = "index") -> RunContext:
        """The explicit state of one call: these settings (default: the engine's); models load on use.
        `job` picks the default encoder when none is chosen (`Settings.model_for`)."""
        return RunContext(settings or self.settings, self.taxonomies, self._models, job)

    def _index_context(self, record: "IndexRecord") -> RunContext:
        """A context for a call on `record`'s index: its model (unless one was chosen), window and stride."""
        settings = self.settings
        if settings.model is None:
            settings = settings.replace(model=record.model)
        ctx = self._context(settings.replace(window_s=settings.window_s or record.window_s,
                                             stride_s=settings.stride_s or record.stride_s))
        # A loaded encoder knows its identity; one not loaded yet is known without loading it
        # (openvid.encoders.hub), so `info`, `check` and `remove` load no model, and only a differing
        # answer is checked by loading. (Reading a local folder's fingerprint costs file system calls,
        # which a search should not pay each time once its model is loaded.)
        loaded = self._models.loaded(ctx.settings.model_name)
        if loaded is not None:
            mismatch = loaded.identity != record.encoder
        else:
            mismatch = identity_of(ctx.settings.model_name) != record.encoder and ctx.encoder.identity != record.encoder
        if mismatch:
            raise IndexModelMismatch(record.name, record.encoder, record.model, ctx.encoder.identity)
        return ctx

    def _search_readers(self) -> "IndexReaders":
        """Opened indexes kept between searches (`openvid.archive.readers`); faiss loads on first use."""
        with self._lock:
            if self._readers is None:
                from openvid.archive.readers import IndexReaders

                self._readers = IndexReaders()
            return self._readers

    def _index_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._index_locks.setdefault(name, threading.Lock())

    # -- video indexes -------------------------------------------------------------------------
    def _open(self, name: str, *, create: bool = False, factory: str | None = None, repair: bool = True,
              rebuild_damaged: bool = False) -> tuple[RunContext, VideoIndex]:
        from openvid.archive.video_index import VideoIndex, create_record

        catalog = self.catalog
        record = catalog.find_index(name)
        if record is None:
            if not create:
                catalog.get_index(name)  # raises with "did you mean" / how to build one
            ctx = self._context()
            record = create_record(ctx, name, factory=factory)  # checks the factory before writing
        else:
            ctx = self._index_context(record)
        target = VideoIndex.open(self.settings.home, ctx.catalog, record, repair=repair, factory=factory,
                                 rebuild_damaged=rebuild_damaged)
        return ctx, target

    def open_index(self, name: str = "default", *, create: bool = False, factory: str | None = None,
                   repair: bool = True, rebuild_damaged: bool = False) -> VideoIndex:
        """The named index, consistent with its catalog; `create` makes it for this engine's model."""
        return self._open(name, create=create, factory=factory, repair=repair, rebuild_damaged=rebuild_damaged)[1]

    def index_videos(self, paths: str | Path | Sequence[str | Path], index: str = "default", *, factory: str | None = None,
                     on_progress: Callable[[str, str, int], None] | None = None,
                     stop: threading.Event | None = None, ray: str | None = None, ray_actors: int | None = None,
                     ray_batch_size: int | None = None,
                     on_start: Callable[[RayPlan], None] | None = None) -> IndexReport:
        """Index the videos under `paths` (files or folders); already-indexed content is skipped.

        Each content is indexed once: other files with the same bytes, in this run or indexed
        before, are reported in `IndexReport.copies` (see `openvid.archive.ingest`). Refused with
        `UsageError`, before anything is written: paths that hold no video at all, and, on an
        existing index, a window, stride or `factory` other than its own. A call that created the
        index and indexed nothing (every file failed, or it was stopped) removes it again.
        `stop`: a `threading.Event` that ends the run cleanly when set (`IndexReport.stopped`).

        `ray` ("auto", "local" or "ray://HOST:PORT") decodes and encodes on a Ray cluster instead of
        this process (`openvid.archive.distributed`, the `distributed` extra): the same plan, the
        same writes and the same result. `ray_actors` and `ray_batch_size` size it (defaults from
        the cluster); `on_start` receives the `RayPlan` it runs with before the first file is read.
        """
        from openvid.archive.ingest import index_videos
        from openvid.archive.video_index import check_settings
        from openvid.archive.walk import videos_under

        if ray is None and (ray_actors is not None or ray_batch_size is not None or on_start is not None):
            raise UsageError(f"{opt('ray_actors')}, {opt('ray_batch_size')} and on_start size a Ray run; "
                             f"give {opt('ray', 'auto')} (or local, or ray://HOST:PORT) with them")
        if ray is not None:
            from openvid.archive.distributed import import_ray

            import_ray()  # without the extra: say how to install it before anything is created
        files = videos_under(_paths(paths))
        with self._index_lock(index):
            created = self.catalog.find_index(index) is None
            ctx, target = self._open(index, create=True, factory=factory)
            if not created:
                check_settings(target, window_s=self.settings.window_s, stride_s=self.settings.stride_s,
                               factory=factory)
            try:
                if ray is not None:
                    from openvid.archive import distributed

                    return distributed.index_videos(target, ctx, files, ray=ray, actors=ray_actors,
                                                    batch_size=ray_batch_size, on_progress=on_progress,
                                                    on_start=on_start, stop=stop)
                return index_videos(target, ctx.encoder, files, ctx.clips, batch_size=ctx.settings.batch_size,
                                    on_progress=on_progress, stop=stop)
            finally:
                if created:
                    target.drop_if_empty()

    def remove_videos(self, paths: str | Path | Sequence[str | Path], index: str = "default") -> list[str]:
        """Drop the named files, or every indexed video under named folders; returns their paths.

        All or nothing: a path that matches no indexed video raises `UsageError` and nothing is
        removed. Removed vectors of an approximate index wait for `compact`.
        """
        from openvid.archive.ingest import remove_videos

        with self._index_lock(index):
            return remove_videos(self.open_index(index), _paths(paths))

    def search(
        self,
        query: str | None = None,
        *,
        index: str = "default",
        k: int = 10,
        like: str | None = None,
        per_video: bool = False,
        path_glob: str | None = None,
        min_duration_s: float | None = None,
        taxonomy: str | None = None,
        label: str | None = None,
        rerank: int = 0,
        ef_search: int | None = None,
        include_self: bool = False,
    ) -> list[SearchHit]:
        """Top-k moments for a text query, or for an example clip (`like="clip.mp4@12-20"`).

        A `like` clip's own indexed segment is left out of its results unless `include_self`.
        An empty list means nothing matched the filters (or the index is empty).
        """
        from openvid.archive.search import search as search_archive

        with self._search_readers().reading(self.settings.home, self.catalog, index) as opened:
            ctx = self._index_context(opened.record)
            return search_archive(ctx, opened.index, query, k=k, like=like, per_video=per_video,
                                  path_glob=path_glob, min_duration_s=min_duration_s, taxonomy=taxonomy, label=label,
                                  rerank=rerank, ef_search=ef_search, include_self=include_self,
                                  places=opened.places.records)

    def index_info(self, index: str = "default") -> dict:
        from openvid.archive.ingest import size_on_disk

        target = self.open_index(index, repair=False)
        videos, segments = self.catalog.counts(target.record.id)
        return {"index": target.record, "videos": videos, "segments": segments, "vectors": target.vectors.info(),
                "folder": str(target.folder), "bytes_on_disk": size_on_disk(target.folder)}

    def prepare(self, models: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
        """Load these models now and build their towers on the settings' runtime, so that no later
        call pays for it (a server's first query would otherwise wait for the load and, the first
        time on ONNX Runtime or OpenVINO, for the export: seconds to a minute).

        By default: the chosen model, else the model of each index in the home (what searches use);
        nothing when there is neither. Answers {model: {tower: runtime it runs on}}.
        """
        models = self.search_models() if models is None else models
        return {model: self._models.encoder(model).runtimes(build=True) for model in models}

    def search_models(self) -> list[str]:
        """The models searches of this home run: the chosen one, else each index's own."""
        if self.model_was_chosen:
            return [self.settings.model_name]
        return sorted({row["model"] for row in self.list_indexes()})

    def list_indexes(self) -> list[dict]:
        """Every index in the home: name, model, videos, segments and bytes on disk (`openvid info`)."""
        from openvid.archive.video_index import summaries

        return summaries(self.catalog, self.settings.home)

    def check(self, index: str = "default", fix: bool = False) -> Consistency:
        """Compare the FAISS copy with the catalog, and the indexed files with the disk.

        A FAISS copy that cannot be read at all is reported as damaged (not raised). `fix` repairs
        the FAISS copy from the vectors kept in the catalog (rebuilding a damaged one), compacts
        removed vectors and saves; files gone from disk are only reported (`prune` drops them: a
        missing disk should not empty an index by itself). The state returned is the one found.
        """
        with self._index_lock(index):
            target = self.open_index(index, repair=False, rebuild_damaged=True)
            state = target.consistency(files=True)
            if fix and (not state.vectors_ok or state.tombstones):
                target.repair()
                target.vectors.compact()
                target.save()
            return state

    def compact(self, index: str = "default") -> int:
        """Drop removed vectors from the index's FAISS file for good; returns how many."""
        with self._index_lock(index):
            return self.open_index(index).compact()

    def prune(self, index: str = "default", *, dry_run: bool = False) -> list[str]:
        """Drop the indexed videos whose files are gone from disk; returns their paths.

        A moved file needs no pruning: indexing its new place finds it by content.
        """
        from openvid.archive.ingest import prune_videos

        with self._index_lock(index):
            return prune_videos(self.open_index(index), dry_run=dry_run)

    # -- classification ------------------------------------------------------------------------
    def classify(
        self,
        paths: str | Path | Sequence[str | Path],
        taxonomy: str | None = None,
        *,
        labels: str | Sequence[str] | None = None,
        top_k: int = 5,
        multi_label: bool = False,
        segments: bool = False,
        level: int | None = None,
        heads: Sequence["str | HeadChoice"] = (),
        head_weights: dict[str, float] | None = None,
        map_threshold: float | None = None,
        on_progress: Callable[[str, bool], None] | None = None,
    ) -> ClassifyResult:
        """Classify videos against a taxonomy; bad files are reported in `failures`, not raised.

        `paths`: one video or a list. `taxonomy`: a stored taxonomy's name; or, instead, `labels`:
        label names for this call only (a list, or one comma-separated string, as the transformers
        zero-shot pipelines take `candidate_labels`), scored with the default template and nothing
        stored. `heads`: closed-set heads that vote beside the zero-shot encoder (`openvid heads
        list`); `head_weights`: their weights for this call (else the taxonomy's, else each head's
        default).

            >>> engine.classify("clip.mp4", "sports").predictions[0].top  # doctest: +SKIP
            'pole vault'
            >>> engine.classify("clip.mp4", labels=["surfing", "skateboarding", "cooking"])  # doctest: +SKIP
            >>> engine.classify(["a.mp4", "b.mp4"], "sports", heads=["videomae"])  # doctest: +SKIP
        """
        from openvid.classify.classifier import ClassifyOptions
        from openvid.classify.prepare import classify_videos, labels_taxonomy, prepare

        if (taxonomy is None) == (labels is None):
            raise UsageError(f"give either {opt('taxonomy')} or {opt('labels')} (label names for this call), not "
                             f"{'both' if labels is not None else 'neither'}")
        target = taxonomy if labels is None else labels_taxonomy(labels)
        prepared = prepare(self._context(job="classify"), target, heads=heads, head_weights_given=head_weights,
                           map_threshold=map_threshold)
        options = ClassifyOptions(top_k=top_k, multi_label=multi_label, segments=segments, level=level)
        return classify_videos(prepared, _video_files(paths), options, on_progress)

    def calibrate_rejection(self, taxonomy: str, accept: str | Path | Sequence[str | Path],
                            reject: str | Path | Sequence[str | Path], on: str = "probability") -> Calibration:
        """Fit and store the taxonomy's "none of these" threshold (`openvid.classify.calibrate`).

        `warnings` on the result say when too few videos per side were given for a stable threshold.
        """
        from openvid.classify.calibrate import calibrate_rejection

        return calibrate_rejection(self._context(job="classify"), taxonomy, _paths(accept), _paths(reject), on=on)

    def head_mapping(self, taxonomy: str, head: "str | HeadChoice | Head", *, threshold: float | None = None,
                     labels: Sequence[str] | None = None) -> "HeadMapping":
        """Where `head`'s labels vote in `taxonomy`: overrides, same names, then text similarity."""
        from openvid.classify.voting import head_mapping

        return head_mapping(self._context(job="classify"), self.taxonomies.get(taxonomy), head, threshold=threshold, labels=labels)

    def set_head_weight(self, taxonomy: str, head: str, weight: float | None) -> dict[str, float]:
        """Store `head`'s weight in `taxonomy`'s settings (None: back to the head's default)."""
        from openvid.heads import get_head_spec

        get_head_spec(head)  # unknown names fail here, listing the heads
        return self.taxonomies.set_head_weight(taxonomy, head, weight).settings.head_weights  # one transaction

    # -- few-shot examples ---------------------------------------------------------------------
    def add_examples(self, taxonomy: str, label: str, clips: str | Path | Sequence[str | Path]) -> "ExamplesAdded":
        """Embed example clips (`FILE` or `FILE@START-END`) and store them for `label`, all or none.

        The label is created when missing, in the same transaction; the result says so
        (`created_label`, with `similar_labels` spelled like it: a typo?) and iterates over the
        stored records. Classification uses them at once.

            >>> engine.add_examples("sports", "kickflip", ["a.mp4", "b.mp4@3-7"]).created_label  # doctest: +SKIP
            False
        """
        from openvid.fewshot import add_examples

        return add_examples(self._context(job="classify"), taxonomy, label, _paths(clips))

    def sync_examples(self, taxonomy: str) -> "SyncReport":
        """Re-embed the taxonomy's examples for this engine's encoder from their files."""
        from openvid.fewshot import sync

        return sync(self._context(job="classify"), taxonomy)

    def fit_fewshot(self, taxonomy: str, *, tune: bool = True) -> "FitReport":
        """Tune the cache's alpha/beta by leave-one-out and fit the linear probe (stored)."""
        from openvid.fewshot import fit

        return fit(self._context(job="classify"), taxonomy, tune=tune)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, taxonomy: str, data: str | Path, *, shots: Sequence[int] = (), out_dir: str | Path | None = None,
                 seed: int = 0, heads: Sequence["str | HeadChoice"] = (), head_weights: dict[str, float] | None = None,
                 on_progress: Callable[[str, bool], None] | None = None,
                 on_planned: Callable[[int], None] | None = None) -> "EvalResult":
        """Accuracy of `taxonomy` on labelled clips (a folder of label folders or a CSV), with a
        confusion matrix and, for `shots`, a k-shot curve; with `heads`, of the fused answer.
        See `openvid.evaluate.run`.

            >>> engine.evaluate("sports", "labelled/", shots=[0, 1, 2, 4], out_dir="eval")  # doctest: +SKIP
        """
        from openvid.evaluate.run import run_eval

        return run_eval(self._context(job="classify"), taxonomy, data, shots=shots, out_dir=out_dir, seed=seed, heads=heads,
                        head_weights=head_weights, on_progress=on_progress, on_planned=on_planned)

    # -- embeddings ----------------------------------------------------------------------------
    def encode_text(self, texts: str | Sequence[str]) -> np.ndarray:
        return self.encoder.encode_text([texts] if isinstance(texts, str) else list(texts))

    def iter_clips(self, path: str | Path, heads: Sequence["Head"] = ()) -> Iterator["Clip"]:
        """The video's segments as the encoder wants them (see `RunContext.clips`)."""
        return self._context().clips(str(path), heads)

    def encode_video(self, path: str | Path) -> VideoEmbedding:
        """Segment a video file and embed every segment, holding one batch of frames at a time."""
        if not isinstance(path, (str, Path)):
            raise UsageError("encode_video takes one video (a path) and returns its segments' vectors; for several, "
                             "call it once per video, or index them with index_videos")
        ctx = self._context()
        encoder, batch_size = ctx.encoder, ctx.settings.batch_size
        starts, ends, vectors = [], [], []
        for batch in batched(ctx.clips(str(path)), batch_size):
            vectors.append(encoder.encode_video(batch, batch_size=batch_size))
            starts.extend(c.start_s for c in batch)
            ends.extend(c.end_s for c in batch)
        return VideoEmbedding(
            path=str(path),
            starts=np.array(starts, np.float64),
            ends=np.array(ends, np.float64),
            vectors=np.concatenate(vectors) if vectors else np.zeros((0, encoder.dim), np.float32),
            model=encoder.identity,
        )

    # -- models and settings -------------------------------------------------------------------
    @staticmethod
    def pull(name: str) -> str:
        """Download a checkpoint into the local cache (an encoder or a head, by any accepted name);
        returns where it is. A local folder or file is already there: its path comes back."""
        from openvid.encoders import pull
        from openvid.heads import list_heads, pull_head

        return pull_head(name) if name in {spec.name for spec in list_heads()} else pull(name)

    def config(self, resolve: bool = False) -> dict[str, Any]:
        """What calls of this engine run with: the home and how it was chosen, model, device, dtype,
        versions (`openvid config`). `resolve` says what "auto" becomes here (imports torch)."""
        from openvid.config import describe

        return describe(self.settings, resolve=resolve)


def _video_files(paths: str | Path | Sequence[str | Path]) -> list[str]:
    """Files exactly as given, folders walked for videos as `openvid index` walks them."""
    from openvid.archive.walk import expand_folders

    return expand_folders(_paths(paths))


def _paths(paths: str | Path | Sequence[str | Path]) -> list[str]:
    """One path or many: a lone string is one file, never a sequence of characters."""
    if isinstance(paths, (str, Path)):
        return [str(paths)]
    return [str(p) for p in paths]


def batched(items: Iterable["Clip"], size: int) -> Iterator[list["Clip"]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def __getattr__(name: str) -> Any:
    """`openvid.engine.Calibration` stays importable, without loading the classify job with the engine."""
    if name == "Calibration":
        from openvid.classify.calibrate import Calibration

        return Calibration
    raise AttributeError(f"module 'openvid.engine' has no attribute {name!r}")


__all__ = ["Calibration", "Engine", "VideoEmbedding"]
