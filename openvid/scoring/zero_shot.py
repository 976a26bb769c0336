"""Zero-shot scores over a taxonomy's labels.

A label is described by prompts: every template filled with its name and each synonym, plus its
own extra prompts. Its vector is the normalised mean of those prompts' vectors (prompt
ensembling, as in CLIP's zero-shot evaluation). Probabilities are softmax(logit_scale · cosine)
over the enabled leaf labels; a whole video's scores come from its segments' scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from openvid.errors import UnknownChoice

AGGREGATES = ("mean", "max")


class LabelLike(Protocol):
    name: str
    prompts: list[str]
    synonyms: list[str]


def label_prompts(label: LabelLike, templates: Sequence[str]) -> list[str]:
    """Templates × (name and synonyms), then the label's own prompts; duplicates dropped, order kept."""
    names = [label.name, *label.synonyms]
    filled = [template.format(name) for name in names for template in templates] if templates else names
    return list(dict.fromkeys([*filled, *label.prompts]))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=axis, keepdims=True)


def aggregate(per_segment: np.ndarray, how: str = "mean") -> np.ndarray:
    """Whole-video scores [K] from segment scores [n, K]: mean (default) or max over segments."""
    if how not in AGGREGATES:
        raise UnknownChoice("aggregate", how, list(AGGREGATES))
    return per_segment.mean(axis=0) if how == "mean" else per_segment.max(axis=0)


@dataclass
class ZeroShotScores:
    """Segment-level cosines and probabilities, and their whole-video aggregates."""

    labels: list[str]
    segment_cosine: np.ndarray  # [n_segments, K]
    segment_probs: np.ndarray  # [n_segments, K]
    cosine: np.ndarray  # [K]
    probs: np.ndarray  # [K], sums to 1 under "mean"


def zero_shot_scores(cosine: np.ndarray, labels: list[str], logit_scale: float, how: str = "mean") -> ZeroShotScores:
    """Scores for one video from its segments' cosines with each label."""
    cosine = np.asarray(cosine, np.float64)
    return scores_from_logits(logit_scale * cosine, cosine, labels, how)


def scores_from_logits(logits: np.ndarray, cosine: np.ndarray, labels: list[str], how: str = "mean") -> ZeroShotScores:
    """Scores for one video from its segments' logits (zero-shot, or with few-shot terms added)."""
    cosine = np.asarray(cosine, np.float64)
    probs = softmax(np.asarray(logits, np.float64), axis=1)
    return ZeroShotScores(
        labels=labels,
        segment_cosine=cosine,
        segment_probs=probs,
        cosine=aggregate(cosine, how),
        probs=aggregate(probs, how),
    )
