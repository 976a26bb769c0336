"""Classifying videos against a taxonomy: the glue between encoder similarities and answers.

One `TaxonomyClassifier` is built per (encoder, taxonomy version, heads); it turns a batch of clips
into per-label cosines and each head's probabilities (`compute`), and a video's segment scores
into a `Prediction` (`predict`). With closed-set heads, the answer's probabilities are the linear
pool of `openvid.scoring.fusion`; cosines, multi-label decisions and the "none of these" cosine
test stay the encoder's own (heads have no cosine).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from openvid.encoders import Encoder
from openvid.errors import TaxonomyError
from openvid.media import Clip
from openvid.results import HeadReport, LabelScore, Prediction, SegmentPrediction
from openvid.scoring.adapters import FewShot
from openvid.scoring.calibration import is_rejected, multi_label_on, multi_label_threshold, rejection_score
from openvid.scoring.fusion import ZERO_SHOT, fuse, head_vote
from openvid.scoring.hierarchy import roll_up
from openvid.scoring.zero_shot import ZeroShotScores, label_prompts, scores_from_logits, zero_shot_scores

if TYPE_CHECKING:  # pragma: no cover
    from openvid.heads import Head
    from openvid.scoring.head_mapping import HeadMapping


@dataclass
class HeadVoter:
    """A loaded head, where its labels vote in this taxonomy, and its weight in the pool."""

    head: "Head"
    mapping: "HeadMapping"
    weight: float


@dataclass
class ClipScores:
    """One clip's cosine with each label, its unit video vector, and each head's probabilities
    (NaN: nothing to say)."""

    cosine: np.ndarray
    heads: dict[str, np.ndarray] = field(default_factory=dict)
    video: np.ndarray | None = None


@dataclass(frozen=True)
class ClassifyOptions:
    top_k: int = 5
    multi_label: bool = False
    segments: bool = False
    level: int | None = None  # None: the leaf labels; 0: roots; 1: their children; ...


class TaxonomyClassifier:
    def __init__(self, encoder: Encoder, taxonomy: Any, text_features=None,
                 voters: Sequence[HeadVoter] = (), fewshot: FewShot | None = None) -> None:
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
        self.voters = list(voters)
        self.fewshot = fewshot

    def compute(self, clips: list[Clip]) -> list[ClipScores]:
        """One row of label cosines per clip, and each head's row of probabilities."""
        result = self.encoder.label_similarity(clips, self.prompt_groups, self.text_features)
        heads = {voter.head.name: np.asarray(voter.head.predict(clips), np.float64) for voter in self.voters}
        return [ClipScores(row, {name: rows[i] for name, rows in heads.items()}, result.video[i])
                for i, row in enumerate(result.cosine)]

    def predict(self, path: str, clips: Sequence[Clip], rows: Sequence[ClipScores | np.ndarray],
                options: ClassifyOptions) -> Prediction:
        settings = self.taxonomy.settings
        scores = self.scores(rows)
        fused, reports = self._fuse(scores.probs, rows)
        names, probs, cosine = self._at_level(fused.probs if fused else scores.probs, scores.cosine, options.level)
        votes, spread = self._votes_at_level(fused, options.level)
        if options.multi_label:
            # Independent yes/no per label from the encoder's cosine: against the taxonomy's threshold,
            # or a sigmoid-trained encoder's own 0.5 point. Heads (whose votes are one distribution
            # over all labels) take no part.
            scale = self.encoder.logit_scale
            threshold = multi_label_threshold(settings.multi_label_threshold, scale, self.encoder.logit_bias)
            shown = yes_probability(cosine, threshold, scale)
            on = multi_label_on(cosine, threshold)
            ranked = [int(i) for i in np.argsort(-cosine, kind="stable")]
            accepted = [i for i in ranked if on[i]]
            order = accepted or ranked[: options.top_k]  # none on: the closest, so "none of these" shows why
            rejected = not accepted
            votes = spread = None
        else:
            threshold, on, shown = None, None, probs
            order = list(np.argsort(-probs, kind="stable")[: options.top_k])
            best = order[0]
            rejected = self.rejects(probs[best], cosine.max())
        segments = None
        if options.segments:
            segments = []
            for clip, row, seg_probs, seg_cos in zip(clips, rows, scores.segment_probs, scores.segment_cosine):
                seg_fused, _ = self._fuse(seg_probs, [row])
                seg_names, p, c = self._at_level(seg_fused.probs if seg_fused else seg_probs, seg_cos, options.level)
                seg_votes, seg_spread = self._votes_at_level(seg_fused, options.level)
                top = np.argsort(-p, kind="stable")[: options.top_k]
                segments.append(SegmentPrediction(
                    start_s=float(clip.start_s), end_s=float(clip.end_s),
                    labels=[LabelScore(seg_names[i], float(p[i]), float(c[i]), _vote_row(seg_votes, i),
                                       _spread_row(seg_spread, i)) for i in top],
                ))
        return Prediction(
            path=path,
            taxonomy=self.taxonomy.name,
            taxonomy_version=self.taxonomy.version,
            model=self.encoder.identity,
            labels=[LabelScore(names[i], float(shown[i]), float(cosine[i]), _vote_row(votes, i),
                               _spread_row(spread, i), None if on is None else bool(on[i])) for i in order],
            rejected=bool(rejected),
            multi_label=options.multi_label,
            level=options.level,
            segments=segments,
            heads=reports,
            threshold=threshold,
        )

    def rejection_score(self, top_probability: float, top_cosine: float) -> float:
        """What the taxonomy's "none of these" threshold reads for this answer (see `rejection_score`)."""
        settings = self.taxonomy.settings
        return rejection_score(top_probability, top_cosine, settings.reject_on, self.encoder.logit_scale,
                               self.encoder.logit_bias)

    def rejects(self, top_probability: float, top_cosine: float) -> bool:
        settings = self.taxonomy.settings
        return is_rejected(top_probability, top_cosine, settings.reject_threshold, settings.reject_on,
                           self.encoder.logit_scale, self.encoder.logit_bias)

    def scores(self, rows: Sequence[ClipScores | np.ndarray]) -> ZeroShotScores:
        """Segment and whole-video scores over the leaf labels: zero-shot, or with the examples."""
        rows = [row if isinstance(row, ClipScores) else ClipScores(np.asarray(row)) for row in rows]
        cosine = np.stack([row.cosine for row in rows])
        how = self.taxonomy.settings.aggregate
        if self.fewshot is None:
            return zero_shot_scores(cosine, self.labels, self.encoder.logit_scale, how)
        video = np.stack([row.video for row in rows])
        logits = self.fewshot.logits(cosine, video, self.encoder.logit_scale)
        return scores_from_logits(logits, cosine, self.labels, how)

    def probabilities(self, rows: Sequence[ClipScores]) -> np.ndarray:
        """The whole video's answer over the leaf labels: the fused pool with heads, else `scores`."""
        probs = self.scores(rows).probs
        fused, _ = self._fuse(probs, rows)
        return fused.probs if fused else probs

    def with_fewshot(self, fewshot: FewShot | None) -> "TaxonomyClassifier":
        """A copy that scores with other examples (evaluation's k-shot draws); this one is unchanged."""
        other = copy.copy(self)
        other.fewshot = fewshot
        return other

    def _fuse(self, zero_shot: np.ndarray, rows: Sequence[ClipScores]):
        """The pooled distribution over the leaf labels, and a report per head (None without heads).

        A head's video-level scores are the mean of its segment rows that have something to say;
        a head with no such row (no audio anywhere) is left out for this video.
        """
        if not self.voters:
            return None, None
        votes, weights, reports = {}, {}, []
        for voter in self.voters:
            name = voter.head.name
            segment_rows = np.stack([row.heads[name] for row in rows])
            said = np.all(np.isfinite(segment_rows), axis=1)
            vote = head_vote(segment_rows[said].mean(axis=0), voter.mapping.targets, zero_shot) if said.any() else None
            votes[name], weights[name] = vote, voter.weight
        fused = fuse(zero_shot, votes, weights)
        for voter in self.voters:
            name = voter.head.name
            reports.append(HeadReport(name=name, weight=float(voter.weight), share=round(fused.weights.get(name, 0.0), 6),
                                      voted=name in fused.weights, mapped_labels=len(voter.mapping.covered)))
        return fused, reports

    def _covered(self, name: str) -> np.ndarray:
        """Which leaf labels head `name`'s own labels vote for (the others get only its leftover mass)."""
        targets = next(voter.mapping.targets for voter in self.voters if voter.head.name == name)
        covered = np.zeros(len(self.labels), bool)
        covered[np.asarray(targets, np.int64)[np.asarray(targets) >= 0]] = True
        return covered

    def _votes_at_level(self, fused, level: int | None) -> tuple[dict[str, np.ndarray] | None, dict[str, np.ndarray] | None]:
        """Each voter's share of each label, and per head where that share is only leftover mass
        spread over the labels it does not cover (a parent is covered when any of its leaves is)."""
        if fused is None:
            return None, None
        shares, spread = fused.contributions, {}
        for name in shares:
            if name != ZERO_SHOT:
                spread[name] = ~self._covered(name)
        if level is None:
            return shares, spread
        rolled = {name: roll_up(self.labels, share, self.parent_of, level, how="sum")[1] for name, share in shares.items()}
        return rolled, {name: roll_up(self.labels, (~mask).astype(float), self.parent_of, level, how="max")[1] == 0
                        for name, mask in spread.items()}

    def _at_level(self, probs: np.ndarray, cosine: np.ndarray, level: int | None):
        if level is None:
            return self.labels, np.asarray(probs), np.asarray(cosine)
        names, rolled_probs = roll_up(self.labels, probs, self.parent_of, level, how="sum")
        _, rolled_cosine = roll_up(self.labels, cosine, self.parent_of, level, how="max")
        return names, rolled_probs, rolled_cosine


def _vote_row(votes: dict[str, np.ndarray] | None, index: int) -> dict[str, float] | None:
    if votes is None:
        return None
    return {name: round(float(share[index]), 6) for name, share in votes.items()}


def _spread_row(spread: dict[str, np.ndarray] | None, index: int) -> list[str] | None:
    if spread is None:
        return None
    return [name for name, mask in spread.items() if mask[index]]


def yes_probability(cosine: np.ndarray, threshold: float, logit_scale: float) -> np.ndarray:
    """Each label's own yes-probability in multi-label mode: sigmoid(logit_scale · (cosine − threshold)).

    Independent of the other labels (unlike the softmax), on the same logit scale as the encoder's
    softmax, and exactly 0.5 at the threshold, so "on" (cosine ≥ threshold) and "yes-probability ≥
    0.5" are one decision. With a sigmoid-trained encoder's own threshold (−bias / scale) this is
    the model's trained answer, sigmoid(scale · cosine + bias).
    """
    z = float(logit_scale) * (np.asarray(cosine, np.float64) - float(threshold))
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


__all__ = ["ZERO_SHOT", "ClassifyOptions", "ClipScores", "HeadVoter", "TaxonomyClassifier", "yes_probability"]
