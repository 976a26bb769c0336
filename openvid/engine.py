"""The Python API: one object that holds the settings and a lazily loaded encoder.

The CLI is a thin layer over this class; anything the command line can do, `Engine` can do.
Later capabilities (index, search, classify, few-shot) add verbs here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from openvid.classify import ClassifyOptions, TaxonomyClassifier
from openvid.config import Settings
from openvid.encoders import Encoder, load_encoder
from openvid.media import Clip, iter_clips
from openvid.pipeline import run_batched
from openvid.errors import OpenvidError
from openvid.results import ClassifyResult, Failure, Prediction
from openvid.scoring.calibration import fit_threshold
from openvid.text_cache import CachedTextFeatures

if TYPE_CHECKING:  # pragma: no cover
    from openvid.store import TaxonomyStore


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
        self._encoder: Encoder | None = None
        self._store = None
        self._text_features: CachedTextFeatures | None = None

    @property
    def encoder(self) -> Encoder:
        """Loaded on first use, so building an Engine is free."""
        if self._encoder is None:
            self._encoder = load_encoder(self.settings.model, self.settings)
        return self._encoder

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
        on_progress: Callable[[str, bool], None] | None = None,
    ) -> ClassifyResult:
        """Classify videos against a taxonomy; bad files are reported in `failures`, not raised.

            >>> engine.classify(["clip.mp4"], "sports").predictions[0].top  # doctest: +SKIP
            'pole vault'
        """
        classifier = TaxonomyClassifier(self.encoder, self.taxonomies.get(taxonomy), self.text_features)
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

        run_batched(paths, self.iter_clips, classifier.compute, done, failed, batch_size=self.settings.batch_size)
        return ClassifyResult([predictions[i] for i in sorted(predictions)], failures)

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

    def iter_clips(self, path: str | Path) -> Iterator[Clip]:
        """The video's segments as the encoder wants them (its frames per clip, its image size)."""
        encoder = self.encoder
        window = self.settings.window_s or encoder.window_s
        stride = self.settings.stride_s or window
        return iter_clips(
            str(path),
            window_s=window,
            stride_s=stride,
            frames_per_window=encoder.frames_per_clip,
            short_side=encoder.resize_to,
            backend=self.settings.decoder,
        )

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
