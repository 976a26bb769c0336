"""What the Python API returns: plain dataclasses that print, compare and serialise to JSON.

Every result has `to_dict()`, the plain-JSON form that `--json` prints (`ToDict`, shared with the
archive's `SearchHit` and `IndexReport`), so a script gets from the API exactly what it would get
from the command line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any


def to_jsonable(value: Any) -> Any:
    """`value` as JSON types: dataclasses (through their `to_dict` when they have one), paths,
    dates, numpy arrays and scalars, tuples and sets; anything else is refused with its type."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy arrays and scalars, without importing numpy here
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


class ToDict:
    """`to_dict()` for a result dataclass: its fields as plain JSON types, nested results included."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclass
class LabelScore(ToDict):
    label: str
    # Single-label mode: softmax over the taxonomy's labels (summed over children for parents), so
    # the labels' probabilities sum to 1. Multi-label mode: the label's own yes-probability,
    # independent of the other labels: sigmoid(logit_scale · (cosine − threshold)), 0.5 exactly at
    # the threshold (the taxonomy's, or with a sigmoid-trained encoder such as SigLIP its own
    # −bias / scale, so the probability is the model's sigmoid(scale · cosine + bias)); on from there.
    probability: float
    cosine: float  # raw similarity; comparable across taxonomies, unlike the probability
    # With closed-set heads: each voter's additive share of `probability` ("zero-shot", head names).
    votes: dict[str, float] | None = None
    # Heads whose share in `votes` is their leftover mass (the probability on their own labels that
    # map to nothing in this taxonomy), spread over the labels they do not cover in the zero-shot
    # proportions: no label of theirs votes here (`openvid heads show-map` lists it as "no vote").
    spread: list[str] | None = None
    on: bool | None = None  # multi-label mode: the label is accepted (its yes-probability reaches 0.5)


@dataclass
class HeadReport(ToDict):
    """How one closed-set head took part in a video's answer."""

    name: str
    weight: float  # the configured weight (call > taxonomy > head default), relative to the encoder's 1
    share: float  # its normalised share of the pool for this video: weight / Σ weights (0 when silent)
    voted: bool  # False: nothing to say (an audio head on a video without audio) or nothing mapped
    mapped_labels: int  # taxonomy labels its own labels vote for (the others get only its leftover mass)


@dataclass
class SegmentPrediction(ToDict):
    start_s: float
    end_s: float
    labels: list[LabelScore]


@dataclass
class Prediction(ToDict):
    """One video's answer against one taxonomy."""

    path: str
    taxonomy: str
    taxonomy_version: int
    model: str
    # Best first. Single-label mode: the top-k. Multi-label mode: every accepted label (`on`), by
    # yes-probability; when none is (`rejected`), the top-k closest, each with `on` False.
    labels: list[LabelScore]
    rejected: bool = False  # "none of these": the best label was not convincing enough to name
    multi_label: bool = False
    level: int | None = None
    segments: list[SegmentPrediction] | None = None
    heads: list[HeadReport] | None = None  # the closed-set heads asked for, and how each voted
    threshold: float | None = None  # multi-label mode: the cosine at which a label is on

    @property
    def top(self) -> str | None:
        """The answer in one word, or None for "none of these" (multi-label: the best accepted label)."""
        return None if self.rejected or not self.labels else self.labels[0].label

    @property
    def accepted(self) -> list[str]:
        """Every label that is on: all accepted labels in multi-label mode, else the top one (or none)."""
        if self.rejected:
            return []
        if self.multi_label:
            return [score.label for score in self.labels if score.on]
        return [self.labels[0].label] if self.labels else []

    def to_dict(self) -> dict[str, Any]:
        """The fields, plus `top` and `accepted` (what a script usually wants first)."""
        return {**super().to_dict(), "top": self.top, "accepted": self.accepted}


@dataclass
class Failure(ToDict):
    path: str
    error: str


@dataclass
class ClassifyResult(ToDict):
    predictions: list[Prediction] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. examples that could not be re-embedded


__all__ = [
    "ClassifyResult", "Failure", "HeadReport", "LabelScore", "Prediction", "SegmentPrediction", "ToDict",
    "to_jsonable",
]
