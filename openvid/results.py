"""What the Python API returns: plain dataclasses that print, compare and serialise to JSON."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LabelScore:
    label: str
    probability: float  # softmax over the taxonomy's labels (summed over children for parents)
    cosine: float  # raw similarity; comparable across taxonomies, unlike the probability
    # With closed-set heads: each voter's additive share of `probability` ("zero-shot", head names).
    votes: dict[str, float] | None = None


@dataclass
class HeadReport:
    """How one closed-set head took part in a video's answer."""

    name: str
    weight: float  # its share of the pool for this video (0 when it had nothing to say)
    voted: bool  # False: nothing to say (an audio head on a video without audio) or nothing mapped
    mapped_labels: int  # taxonomy labels it can vote for


@dataclass
class SegmentPrediction:
    start_s: float
    end_s: float
    labels: list[LabelScore]


@dataclass
class Prediction:
    """One video's answer against one taxonomy."""

    path: str
    taxonomy: str
    taxonomy_version: int
    model: str
    labels: list[LabelScore]  # best first: the top-k, or in multi-label mode every label that is on
    rejected: bool = False  # "none of these": the best label was not convincing enough to name
    multi_label: bool = False
    level: int | None = None
    segments: list[SegmentPrediction] | None = None
    heads: list[HeadReport] | None = None  # the closed-set heads asked for, and how each voted

    @property
    def top(self) -> str | None:
        """The answer in one word, or None for "none of these"."""
        return None if self.rejected or not self.labels else self.labels[0].label


@dataclass
class Failure:
    path: str
    error: str


@dataclass
class ClassifyResult:
    predictions: list[Prediction] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. examples that could not be re-embedded
