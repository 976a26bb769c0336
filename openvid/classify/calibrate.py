"""`taxonomy calibrate`: fit the "none of these" threshold from videos that do and do not show a label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from openvid.classify.classifier import ClassifyOptions
from openvid.classify.prepare import classify_videos, prepare
from openvid.errors import UsageError, opt
from openvid.results import Failure
from openvid.scoring.calibration import REJECT_ON, fit_threshold, rejection_score, sample_size_warning

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext

EVERY_LABEL = 1_000_000  # top_k that keeps every label: the best cosine may not rank first


@dataclass
class Calibration:
    """A fitted "none of these" threshold and the scores it was fitted on."""

    threshold: float
    on: str
    accept_scores: np.ndarray
    reject_scores: np.ndarray
    failures: list[Failure]
    warnings: list[str] = field(default_factory=list)


def calibrate_rejection(ctx: "RunContext", taxonomy: str, accept: Sequence[str], reject: Sequence[str],
                        on: str = "probability") -> Calibration:
    """Fit and store the taxonomy's "none of these" threshold from example videos.

    `accept`: videos that do show one of the taxonomy's labels; `reject`: videos that show none.
    The threshold is the cut on the best label's score (probability or cosine) that best
    separates the two sets (`fit_threshold`); it is saved as the taxonomy's setting (one edit: the
    threshold and which score it reads). Fewer than a few videos per side still stores it, with a
    warning that says how many were used (`sample_size_warning`).
    """
    if on not in REJECT_ON:
        raise UsageError(f"{opt('on', on)} is not a score to threshold; valid: {', '.join(REJECT_ON)}")
    prepared = prepare(ctx, taxonomy)
    options = ClassifyOptions(top_k=EVERY_LABEL)
    encoder = prepared.classifier.encoder
    scores = {}
    failures: list[Failure] = []
    for side, paths in (("accept", accept), ("reject", reject)):
        result = classify_videos(prepared, [str(p) for p in paths], options)
        failures.extend(result.failures)
        scores[side] = np.array([
            rejection_score(p.labels[0].probability, max(s.cosine for s in p.labels), on, encoder.logit_scale,
                            encoder.logit_bias)
            for p in result.predictions
        ])
    if not len(scores["accept"]) or not len(scores["reject"]):
        raise UsageError(f"calibration needs at least one readable video on each side ({opt('accept')} and "
                         f"{opt('reject')})")
    threshold = fit_threshold(scores["accept"], scores["reject"])
    ctx.taxonomies.update_settings(taxonomy, reject_threshold=threshold, reject_on=on)
    warning = sample_size_warning(len(scores["accept"]), len(scores["reject"]))
    return Calibration(threshold, on, scores["accept"], scores["reject"], failures,
                       list(prepared.warnings) + ([warning] if warning else []))


__all__ = ["Calibration", "calibrate_rejection"]
