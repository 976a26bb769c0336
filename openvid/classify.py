"""Classifying videos against a taxonomy: the glue between encoder similarities and answers.

One `TaxonomyClassifier` is built per (encoder, taxonomy version); it turns a batch of clips into
per-label cosines (`compute`) and a video's segment cosines into a `Prediction` (`predict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from openvid.encoders import Encoder
from openvid.errors import TaxonomyError
from openvid.media import Clip
from openvid.results import LabelScore, Prediction, SegmentPrediction
from openvid.scoring.calibration import is_rejected, multi_label_on
from openvid.scoring.hierarchy import roll_up
from openvid.scoring.zero_shot import label_prompts, zero_shot_scores


@dataclass(frozen=True)
class ClassifyOptions:
    top_k: int = 5
    multi_label: bool = False
    segments: bool = False
    level: int | None = None  # None: the leaf labels; 0: roots; 1: their children; ...


class TaxonomyClassifier:
    def __init__(self, encoder: Encoder, taxonomy: Any, text_features=None) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy
        leaves = taxonomy.leaves()
        if not leaves:
            raise TaxonomyError(
                f"taxonomy {taxonomy.name!r} has no enabled labels to classify with; add one with "
                f"`openvid taxonomy add-label {taxonomy.name} LABEL`"
            )
        self.labels = [label.name for label in leaves]
        self.prompt_groups = [label_prompts(label, taxonomy.templates) for label in leaves]
        self.parent_of = {label.name: label.parent for label in taxonomy.labels}
        self.text_features = text_features or encoder.text_features

    def compute(self, clips: list[Clip]) -> list[np.ndarray]:
        """One row of label cosines per clip."""
        result = self.encoder.label_similarity(clips, self.prompt_groups, self.text_features)
        return list(result.cosine)

    def predict(self, path: str, clips: Sequence[Clip], cosine_rows: Sequence[np.ndarray],
                options: ClassifyOptions) -> Prediction:
        settings = self.taxonomy.settings
        scores = zero_shot_scores(np.stack(cosine_rows), self.labels, self.encoder.logit_scale, settings.aggregate)
        names, probs, cosine = self._at_level(scores.probs, scores.cosine, options.level)
        if options.multi_label:
            on = multi_label_on(cosine, settings.multi_label_threshold)
            order = [i for i in np.argsort(-cosine, kind="stable") if on[i]]
            rejected = not order
        else:
            order = list(np.argsort(-probs, kind="stable")[: options.top_k])
            best = order[0]
            rejected = is_rejected(probs[best], cosine.max(), settings.reject_threshold, settings.reject_on)
        segments = None
        if options.segments:
            segments = []
            for clip, seg_probs, seg_cos in zip(clips, scores.segment_probs, scores.segment_cosine):
                seg_names, p, c = self._at_level(seg_probs, seg_cos, options.level)
                top = np.argsort(-p, kind="stable")[: options.top_k]
                segments.append(SegmentPrediction(
                    start_s=float(clip.start_s), end_s=float(clip.end_s),
                    labels=[LabelScore(seg_names[i], float(p[i]), float(c[i])) for i in top],
                ))
        return Prediction(
            path=path,
            taxonomy=self.taxonomy.name,
            taxonomy_version=self.taxonomy.version,
            model=self.encoder.identity,
            labels=[LabelScore(names[i], float(probs[i]), float(cosine[i])) for i in order],
            rejected=bool(rejected),
            multi_label=options.multi_label,
            level=options.level,
            segments=segments,
        )

    def _at_level(self, probs: np.ndarray, cosine: np.ndarray, level: int | None):
        if level is None:
            return self.labels, np.asarray(probs), np.asarray(cosine)
        names, rolled_probs = roll_up(self.labels, probs, self.parent_of, level, how="sum")
        _, rolled_cosine = roll_up(self.labels, cosine, self.parent_of, level, how="max")
        return names, rolled_probs, rolled_cosine
