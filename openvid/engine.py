"""The Python API: one object that holds the settings and a lazily loaded encoder.

The CLI is a thin layer over this class; anything the command line can do, `Engine` can do.
Later capabilities (index, search, classify, few-shot) add verbs here.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from openvid.classify import ClassifyOptions, TaxonomyClassifier
from openvid.config import Settings
from openvid.encoders import Encoder, load_encoder
from openvid.media import Clip, iter_clips
from openvid.pipeline import run_batched
from openvid.encoders.base import label_matrix
from openvid.errors import IndexError_, OpenvidError
from openvid.indexing import IndexReport, index_videos, remove_videos, size_on_disk
from openvid.media import load_clip
from openvid.search import SearchHit, label_filter_ids, parse_clip_ref, search_index
from openvid.video_index import Consistency, VideoIndex
from openvid.results import ClassifyResult, Failure, Prediction
from openvid.scoring.calibration import fit_threshold
from openvid.text_cache import CachedTextFeatures

if TYPE_CHECKING:  # pragma: no cover
    from openvid.heads import Head, HeadChoice
    from openvid.scoring.head_mapping import HeadMapping
    from openvid.store import TaxonomyStore
    from openvid.store.catalog import Catalog


@dataclass
class VideoEmbedding:
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
    """

    def __init__(self, model: str | None = None, settings: Settings | None = None, **overrides: Any) -> None:
        base = settings or Settings.from_env()
        self.settings = base.replace(model=model, **overrides)
        # An index remembers the model it was built with; searching it uses that model unless
        # the caller named one (then a mismatch is an error, not silently wrong vectors).
        self.model_was_chosen = model is not None or bool(os.environ.get("OPENVID_MODEL"))
        self._encoder: Encoder | None = None
        self._store = None
        self._text_features: CachedTextFeatures | None = None
        self._heads: dict[tuple, "Head"] = {}

    @property
    def encoder(self) -> Encoder:
        """Loaded on first use, so building an Engine is free."""
        if self._encoder is None:
            self._encoder = load_encoder(self.settings.model, self.settings)
        return self._encoder

    # -- video indexes -------------------------------------------------------------------------
    @property
    def catalog(self) -> "Catalog":
        from openvid.store.catalog import Catalog

        return Catalog(self.taxonomies.engine)

    def open_index(self, name: str = "default", *, create: bool = False, factory: str | None = None,
                   repair: bool = True, rebuild_damaged: bool = False) -> VideoIndex:
        """The named index, consistent with its catalog; `create` makes it for this engine's model."""
        record = self.catalog.find_index(name)
        if record is None:
            if not create:
                self.catalog.get_index(name)  # raises with "did you mean" / how to build one
            encoder = self.encoder
            window = self.settings.window_s or encoder.window_s
            model = self.settings.model
            if Path(model).expanduser().exists():  # a local checkpoint: remember where, from anywhere
                model = str(Path(model).expanduser().resolve())
            record = self.catalog.create_index(
                name, model=model, encoder=encoder.identity, dim=encoder.dim, window_s=window,
                stride_s=self.settings.stride_s or window, frames=encoder.frames_per_clip)
        else:
            self._use_index_model(record)
        return VideoIndex.open(self.settings.home, self.catalog, record, repair=repair, factory=factory,
                               rebuild_damaged=rebuild_damaged)

    def _use_index_model(self, record) -> None:
        if not self.model_was_chosen and self._encoder is None:
            self.settings = self.settings.replace(model=record.model)
        if self.encoder.identity != record.encoder:
            raise IndexError_(
                f"index {record.name!r} was built with {record.encoder} but this run uses "
                f"{self.encoder.identity}; pass --model {record.model} or use another --index")
        self.settings = self.settings.replace(window_s=self.settings.window_s or record.window_s,
                                              stride_s=self.settings.stride_s or record.stride_s)

    def index_videos(self, paths: Sequence[str | Path], index: str = "default", *, factory: str | None = None,
                     on_progress: Callable[[str, str, int], None] | None = None) -> IndexReport:
        """Index the videos under `paths` (files or folders); already-indexed content is skipped."""
        target = self.open_index(index, create=True, factory=factory)
        return index_videos(target, self.encoder, paths, self.iter_clips, batch_size=self.settings.batch_size,
                            on_progress=on_progress)

    def remove_videos(self, paths: Sequence[str | Path], index: str = "default") -> list[str]:
        return remove_videos(self.open_index(index), paths)

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
    ) -> list[SearchHit]:
        """Top-k moments for a text query, or for an example clip (`like="clip.mp4@12-20"`)."""
        target = self.open_index(index)
        if (query is None) == (like is None):
            raise OpenvidError("search needs either a text query or --like FILE[@start-end], not both")
        if like is not None:
            path, start, end = parse_clip_ref(like)
            clip = load_clip(path, start, end, frames=self.encoder.frames_per_clip, short_side=self.encoder.resize_to,
                             backend=self.settings.decoder)
            vector = self.encoder.encode_video([clip])[0]
        else:
            vector = self.encoder.encode_text([query])[0]
        allowed = None
        if path_glob or min_duration_s is not None:
            allowed = self.catalog.filter_segment_ids(target.record.id, path_glob=path_glob, min_duration_s=min_duration_s)
        if taxonomy or label:
            if not (taxonomy and label):
                raise OpenvidError("filtering by label needs both --taxonomy and --label")
            classifier = TaxonomyClassifier(self.encoder, self.taxonomies.get(taxonomy), self.text_features)
            candidates = allowed if allowed is not None else self.catalog.segment_ids(target.record.id)
            label_vectors = label_matrix(classifier.prompt_groups, self.text_features)
            allowed = label_filter_ids(target, candidates, label_vectors, classifier.labels, label)
        rescore = None
        if rerank and query is not None and hasattr(self.encoder, "rerank"):
            encoder = self.encoder

            def rescore(records):
                clips = [load_clip(r.path, r.start_s, r.end_s, frames=encoder.frames_per_clip,
                                   short_side=encoder.resize_to, backend=self.settings.decoder) for r in records]
                return encoder.rerank(query, clips) / encoder.logit_scale
        elif rerank:
            raise OpenvidError(f"--rerank needs a text query and an encoder with an exact video-conditioned "
                               f"score (xclip, xclip-zs); {self.encoder.name} has none")
        return search_index(target, vector, k, per_video=per_video, allowed_ids=allowed, rescore=rescore,
                            rerank=rerank, ef_search=ef_search)

    def index_info(self, index: str = "default") -> dict:
        target = self.open_index(index, repair=False)
        videos, segments = self.catalog.counts(target.record.id)
        return {"index": target.record, "videos": videos, "segments": segments, "vectors": target.vectors.info(),
                "folder": str(target.folder), "bytes_on_disk": size_on_disk(target.folder)}

    def check(self, index: str = "default", fix: bool = False) -> Consistency:
        """Compare the FAISS copy with the catalog; with `fix`, repair and save it.

        A FAISS copy that cannot be read at all is reported as damaged (not raised), and `fix`
        rebuilds it from the vectors kept in the catalog.
        """
        target = self.open_index(index, repair=False, rebuild_damaged=True)
        state = target.consistency()
        if fix and not state.ok:
            target.repair()
            target.save()
        return state

    @property
    def taxonomies(self) -> "TaxonomyStore":
        """The prompt-set store in the home folder (opened on first use)."""
        if self._store is None:
            from openvid.store import TaxonomyStore

            self._store = TaxonomyStore(self.settings.home)
        return self._store

    @property
    def text_features(self) -> CachedTextFeatures:
        """The encoder's text features behind the memory and SQLite caches."""
        if self._text_features is None:
            from openvid.store import EmbeddingCache

            self._text_features = CachedTextFeatures(self.encoder, EmbeddingCache(self.taxonomies.engine))
        return self._text_features

    def classify(
        self,
        paths: Sequence[str | Path],
        taxonomy: str,
        *,
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

        `heads`: closed-set heads that vote beside the zero-shot encoder (`openvid heads list`);
        `head_weights`: their weights for this call (else the taxonomy's, else each head's default).

            >>> engine.classify(["clip.mp4"], "sports").predictions[0].top  # doctest: +SKIP
            'pole vault'
            >>> engine.classify(["clip.mp4"], "sports", heads=["videomae"])  # doctest: +SKIP
        """
        from openvid import voting

        from openvid import fewshot

        spec = self.taxonomies.get(taxonomy)
        loaded = self.load_heads(heads)
        weights = voting.head_weights(loaded, spec.settings.head_weights, head_weights)
        classifier = TaxonomyClassifier(self.encoder, spec, self.text_features)
        warnings = self._sync_warnings(fewshot.sync(self, taxonomy))
        classifier.fewshot = fewshot.state(self, spec, classifier.labels, warnings)
        if loaded:
            mappings = [self.head_mapping(taxonomy, head, threshold=map_threshold, labels=classifier.labels)
                        for head in loaded]
            classifier.voters = voting.voters(loaded, mappings, weights)
        options = ClassifyOptions(top_k=top_k, multi_label=multi_label, segments=segments, level=level)
        paths = [str(p) for p in paths]
        predictions: dict[int, Prediction] = {}
        failures: list[Failure] = []

        def done(index: int, path: str, clips: list[Clip], rows: list) -> None:
            predictions[index] = classifier.predict(path, clips, rows, options)
            if on_progress:
                on_progress(path, True)

        def failed(index: int, path: str, error: Exception) -> None:
            failures.append(Failure(path, str(error)))
            if on_progress:
                on_progress(path, False)

        run_batched(paths, lambda path: self.iter_clips(path, heads=loaded), classifier.compute, done, failed,
                    batch_size=self.settings.batch_size)
        return ClassifyResult([predictions[i] for i in sorted(predictions)], failures, warnings)

    # -- few-shot examples ---------------------------------------------------------------------
    @property
    def examples(self):
        """Few-shot examples and fitted probes, per taxonomy and encoder (`openvid.store.examples`)."""
        from openvid.store import ExampleStore

        return ExampleStore(self.taxonomies.engine)

    def add_examples(self, taxonomy: str, label: str, clips: Sequence[str | Path]):
        """Embed example clips (`FILE` or `FILE@START-END`) and store them for `label`, all or none.

        The label is created when missing. Classification uses them at once.

            >>> engine.add_examples("sports", "kickflip", ["a.mp4", "b.mp4@3-7"])  # doctest: +SKIP
        """
        from openvid import fewshot

        return fewshot.add_examples(self, taxonomy, label, [str(c) for c in clips])

    def sync_examples(self, taxonomy: str):
        """Re-embed the taxonomy's examples for this engine's encoder from their files."""
        from openvid import fewshot

        return fewshot.sync(self, taxonomy)

    def fit_fewshot(self, taxonomy: str, *, tune: bool = True):
        """Tune the cache's alpha/beta by leave-one-out and fit the linear probe (stored)."""
        from openvid import fewshot

        return fewshot.fit(self, taxonomy, tune=tune)

    def evaluate(self, taxonomy: str, data: str | Path, *, shots: Sequence[int] = (), out_dir: str | Path | None = None,
                 seed: int = 0, on_progress: Callable[[str, bool], None] | None = None,
                 on_planned: Callable[[int], None] | None = None):
        """Accuracy of `taxonomy` on labelled clips (a folder of label folders or a CSV), with a
        confusion matrix and, for `shots`, a k-shot curve; see `openvid.eval_runner`.

            >>> engine.evaluate("sports", "labelled/", shots=[0, 1, 2, 4], out_dir="eval")  # doctest: +SKIP
        """
        from openvid.eval_runner import run_eval

        return run_eval(self, taxonomy, data, shots=shots, out_dir=out_dir, seed=seed, on_progress=on_progress,
                        on_planned=on_planned)

    @staticmethod
    def _sync_warnings(report) -> list[str]:
        if not report.missing:
            return []
        return [f"{len(report.missing)} example(s) could not be re-embedded for {report.encoder} and are left out: "
                + "; ".join(report.missing)]

    # -- closed-set heads ----------------------------------------------------------------------
    def load_heads(self, heads: Sequence["str | HeadChoice"]) -> list["Head"]:
        """Load each head once per engine (a later call reuses it), on the settings' device."""
        from openvid.heads import HeadChoice, load_head

        loaded = []
        for choice in heads:
            choice = HeadChoice(choice) if isinstance(choice, str) else choice
            key = (choice.name, choice.checkpoint, choice.labels_file)
            if key not in self._heads:
                self._heads[key] = load_head(choice, self.settings)
            loaded.append(self._heads[key])
        names = [head.name for head in loaded]
        if len(set(names)) != len(names):
            raise OpenvidError(f"a head was asked for twice ({', '.join(names)}); give each --head once")
        return loaded

    def head_mapping(self, taxonomy: str, head: "str | HeadChoice | Head", *, threshold: float | None = None,
                     labels: Sequence[str] | None = None) -> "HeadMapping":
        """Where `head`'s labels vote in `taxonomy`: overrides, same names, then text similarity."""
        from openvid import voting
        from openvid.heads import Head, HeadChoice, get_head_spec
        from openvid.heads.base import labels_without_loading
        from openvid.scoring.head_mapping import DEFAULT_MAP_THRESHOLD

        spec = self.taxonomies.get(taxonomy)
        leaves = spec.leaves()
        labels = list(labels) if labels is not None else [label.name for label in leaves]
        if isinstance(head, Head):
            name, head_labels = head.name, (None if head.open_vocabulary else head.labels)
            if head.open_vocabulary:
                head.set_labels(labels)
        else:  # a name: its labels without loading the weights when they are known offline (Kinetics-400)
            choice = HeadChoice(head) if isinstance(head, str) else head
            name, head_labels = choice.name, labels_without_loading(choice)
            if head_labels is None and not get_head_spec(choice.name).open_vocabulary:
                head_labels = self.load_heads([choice])[0].labels
        synonyms = {label.name: list(label.synonyms) for label in leaves}
        return voting.mapping_for(name, head_labels, labels, self.text_features, synonyms,
                                  self.head_maps.overrides(taxonomy, name),
                                  threshold=DEFAULT_MAP_THRESHOLD if threshold is None else threshold)

    @property
    def head_maps(self):
        """The user's head-label overrides (`openvid heads map`)."""
        from openvid.store.head_maps import HeadMapStore

        return HeadMapStore(self.taxonomies)

    def set_head_weight(self, taxonomy: str, head: str, weight: float | None) -> dict[str, float]:
        """Store `head`'s weight in `taxonomy`'s settings (None: back to the head's default)."""
        from openvid.heads import get_head_spec

        get_head_spec(head)  # unknown names fail here, listing the heads
        weights = dict(self.taxonomies.get(taxonomy).settings.head_weights)
        if weight is None:
            weights.pop(head, None)
        else:
            weights[head] = weight
        return self.taxonomies.update_settings(taxonomy, head_weights=weights).settings.head_weights

    def calibrate_rejection(
        self,
        taxonomy: str,
        accept: Sequence[str | Path],
        reject: Sequence[str | Path],
        on: str = "probability",
    ) -> Calibration:
        """Fit and store the taxonomy's "none of these" threshold from example videos.

        `accept`: videos that do show one of the taxonomy's labels; `reject`: videos that show none.
        The threshold is the cut on the best label's score (probability or cosine) that best
        separates the two sets (`fit_threshold`); it is saved as the taxonomy's setting.
        """
        scores = {}
        failures: list[Failure] = []
        for side, paths in (("accept", accept), ("reject", reject)):
            result = self.classify(paths, taxonomy, top_k=1_000_000)  # every label: the best cosine may not rank first
            failures.extend(result.failures)
            scores[side] = np.array([
                p.labels[0].probability if on == "probability" else max(s.cosine for s in p.labels)
                for p in result.predictions
            ])
        if not len(scores["accept"]) or not len(scores["reject"]):
            raise OpenvidError("calibration needs at least one readable video on each side (--accept and --reject)")
        threshold = fit_threshold(scores["accept"], scores["reject"])
        self.taxonomies.update_settings(taxonomy, reject_threshold=threshold, reject_on=on)
        return Calibration(threshold, on, scores["accept"], scores["reject"], failures)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode_text(list(texts))

    def iter_clips(self, path: str | Path, heads: Sequence["Head"] = ()) -> Iterator[Clip]:
        """The video's segments as the encoder wants them (its frames per clip, its image size).

        With `heads`, one decode serves them all: each head's frame count is sampled by time over
        the central seconds of each window that its training clips covered (`Clip.views`), at the
        largest short side anyone needs, and audio heads get each window's audio (`Clip.audio`).
        """
        from openvid import voting

        encoder = self.encoder
        window = self.settings.window_s or encoder.window_s
        stride = self.settings.stride_s or window
        views, short_side = voting.frame_needs(heads)
        clips = iter_clips(
            str(path),
            window_s=window,
            stride_s=stride,
            frames_per_window=encoder.frames_per_clip,
            short_side=max(encoder.resize_to, short_side),
            backend=self.settings.decoder,
            extra_frame_counts=views,
        )
        rates = voting.sample_rates(heads)
        return voting.with_audio(str(path), clips, rates) if rates else clips

    def encode_video(self, path: str | Path) -> VideoEmbedding:
        """Segment a video file and embed every segment, holding one batch of frames at a time."""
        starts, ends, vectors = [], [], []
        batch_size = self.settings.batch_size
        for batch in batched(self.iter_clips(path), batch_size):
            vectors.append(self.encoder.encode_video(batch, batch_size=batch_size))
            starts.extend(c.start_s for c in batch)
            ends.extend(c.end_s for c in batch)
        return VideoEmbedding(
            path=str(path),
            starts=np.array(starts, np.float64),
            ends=np.array(ends, np.float64),
            vectors=np.concatenate(vectors) if vectors else np.zeros((0, self.encoder.dim), np.float32),
            model=self.encoder.identity,
        )


@dataclass
class Calibration:
    """A fitted "none of these" threshold and the scores it was fitted on."""

    threshold: float
    on: str
    accept_scores: np.ndarray
    reject_scores: np.ndarray
    failures: list[Failure]


def batched(items: Iterable[Clip], size: int) -> Iterator[list[Clip]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
