"""When to say "none of these", and when a label is on in multi-label mode.

Softmax always crowns a winner, even for a clip that matches nothing in the list. Rejection
compares the winner's probability (or its raw cosine, which does not depend on what else is in
the list) with a per-taxonomy threshold. Thresholds are data, not constants: `fit_threshold`
picks one from scores of clips that do and do not belong, and the taxonomy stores it.
"""

from __future__ import annotations

import numpy as np

from openvid.errors import UnknownChoice, UsageError

REJECT_ON = ("probability", "cosine")
STABLE_PER_SIDE = 5
"""Videos per side below which a fitted threshold mostly reflects the few videos it saw: with one
accept and one reject video any cut between their two scores separates them perfectly, so the one
chosen says little about the next video."""


def is_rejected(top_probability: float, top_cosine: float, threshold: float | None, on: str = "probability",
                logit_scale: float = 1.0, logit_bias: float | None = None) -> bool:
    """True when the best label is not convincing enough to name.

    `top_probability` is the highest label probability, `top_cosine` the highest label cosine;
    with a sigmoid-trained encoder (`logit_bias` given) "probability" is its own yes-probability
    for the best label (`rejection_score`).
    """
    score = rejection_score(top_probability, top_cosine, on, logit_scale, logit_bias)
    return threshold is not None and score < threshold


def sigmoid_threshold(logit_scale: float, logit_bias: float) -> float:
    """The cosine at which a sigmoid-trained model's own yes-probability, sigmoid(scale · cos + bias),
    is exactly 0.5: where SigLIP itself says a text starts to describe an image."""
    return -float(logit_bias) / float(logit_scale)


def multi_label_threshold(taxonomy_threshold: float, logit_scale: float, logit_bias: float | None) -> float:
    """The cosine from which a label is on in multi-label mode.

    A sigmoid-trained encoder (SigLIP: it has a learned bias) was trained to answer each text
    yes or no on its own, so its own 0.5 point decides; the taxonomy's threshold is a cosine for
    softmax-trained encoders (CLIP), whose scores only rank labels against each other.
    """
    return taxonomy_threshold if logit_bias is None else sigmoid_threshold(logit_scale, logit_bias)


def top_yes_probability(top_cosine: float, logit_scale: float, logit_bias: float) -> float:
    """A sigmoid-trained encoder's own probability that the best label applies (rejection reads it
    instead of the softmax winner's probability, which depends on what else is in the list)."""
    z = float(logit_scale) * float(top_cosine) + float(logit_bias)
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))))


def rejection_score(top_probability: float, top_cosine: float, on: str, logit_scale: float,
                    logit_bias: float | None) -> float:
    """The number a "none of these" threshold is compared with (and fitted on): the best label's
    cosine, or its probability: the softmax winner's, or with a sigmoid-trained encoder its own
    yes-probability."""
    if on not in REJECT_ON:
        raise UnknownChoice("reject_on", on, list(REJECT_ON))
    if on == "cosine":
        return float(top_cosine)
    if logit_bias is not None:
        return top_yes_probability(top_cosine, logit_scale, logit_bias)
    return float(top_probability)


def multi_label_on(cosine: np.ndarray, threshold: float) -> np.ndarray:
    """Independent per-label decisions: each label is on when its cosine reaches the threshold."""
    return np.asarray(cosine) >= threshold


def fit_threshold(accept_scores: np.ndarray, reject_scores: np.ndarray) -> float:
    """The threshold that best separates scores that should pass from scores that should not.

    Tries a cut at every observed score (pass when score >= cut) and keeps the one with the best
    balanced accuracy (the mean of the two hit rates, i.e. Youden's J); ties go to the lower cut,
    which rejects less. The threshold returned lies halfway between that cut and the next lower
    observed score, so scores that wobble in the last bits (another batch, another machine) fall
    on the same side as in calibration.
    """
    accept = np.asarray(accept_scores, np.float64)
    reject = np.asarray(reject_scores, np.float64)
    if len(accept) == 0 or len(reject) == 0:
        raise UsageError("fitting a threshold needs scores on both sides")
    observed = np.unique(np.concatenate([accept, reject]))
    best_index, best_score = 0, -1.0
    for index, cut in enumerate(observed):
        score = ((accept >= cut).mean() + (reject < cut).mean()) / 2
        if score > best_score + 1e-12:
            best_index, best_score = index, score
    cut = observed[best_index]
    if best_index == 0:
        return float(cut - 1e-6)
    return float((cut + observed[best_index - 1]) / 2)


def sample_size_warning(n_accept: int, n_reject: int, per_side: int = STABLE_PER_SIDE) -> str | None:
    """A warning when a threshold was fitted on fewer than `per_side` scores on either side (None: enough)."""
    if n_accept >= per_side and n_reject >= per_side:
        return None
    return (f"the threshold was fitted on {n_accept} accept and {n_reject} reject video(s); it depends mostly on "
            f"those few scores: give at least {per_side} of each (more is better) for a stable threshold")
