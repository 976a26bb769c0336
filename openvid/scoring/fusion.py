"""Fusing closed-set head votes with the zero-shot probabilities: a weighted linear opinion pool.

Each voter v (the zero-shot encoder, and every head that has something to say about the video)
gives a probability distribution r_v over the taxonomy's labels, and the answer is

    p = Σ_v w_v · r_v / Σ_v w_v

with the zero-shot encoder's weight fixed at 1 and each head's weight relative to it (its
registered default, or the taxonomy's `head_weights` setting, or `--head-weight`). Why linear and
not log-linear: a head only knows the labels mapped onto it. A log-linear pool needs every voter
to have an opinion on every label (a zero or a missing vote vetoes a label), a linear pool can
leave a head silent where it knows nothing, and each voter's share of each label's probability
(`w_v · r_v / Σ w`) is then an exact, additive explanation of the answer.

A head's distribution over the taxonomy (`head_vote`) is built from its own distribution d over
its label space and the mapping of its labels onto taxonomy labels (many-to-one, some unmapped):

- a covered taxonomy label j (at least one head label maps to it) gets Q_j = Σ d_i over the head
  labels i mapped to j;
- the head's remaining mass 1 − Σ_j Q_j (on head labels that map to nothing: "something other
  than the labels I know here") is spread over the uncovered taxonomy labels in the zero-shot
  proportions, so the head has no opinion among the labels it does not know;
- when every taxonomy label is covered, Q is renormalised to sum to 1.

Multi-label heads (AST's sigmoids) are first normalised to a distribution over their labels.
A head with nothing to say about a video (an audio head on a silent video: NaN scores) is left out
of the pool for that video, and the other weights are renormalised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ZERO_SHOT = "zero-shot"


def as_distribution(scores: np.ndarray) -> np.ndarray | None:
    """A head's scores [H] as a distribution; None when they are missing (NaN) or all zero."""
    scores = np.asarray(scores, np.float64)
    if scores.size == 0 or not np.all(np.isfinite(scores)):
        return None
    scores = np.clip(scores, 0.0, None)
    total = scores.sum()
    if total <= 0:
        return None
    return scores / total


def head_vote(head_scores: np.ndarray, targets: np.ndarray, zero_shot: np.ndarray) -> np.ndarray | None:
    """The head's distribution over the taxonomy's labels (see the module docstring).

    `targets[i]` is the taxonomy label index head label i maps to, or -1 when it maps to none;
    `zero_shot` is the zero-shot distribution, whose proportions fill the uncovered labels.
    Returns None when the head has nothing to say (missing scores, or no label mapped).
    """
    d = as_distribution(head_scores)
    targets = np.asarray(targets, np.int64)
    zero_shot = np.asarray(zero_shot, np.float64)
    n_labels = len(zero_shot)
    if d is None or not np.any(targets >= 0):
        return None
    mapped = targets >= 0
    q = np.bincount(targets[mapped], weights=d[mapped], minlength=n_labels)
    covered = np.zeros(n_labels, bool)
    covered[targets[mapped]] = True
    vote = np.where(covered, q, 0.0)
    rest = max(1.0 - q.sum(), 0.0)
    uncovered_mass = zero_shot[~covered].sum()
    if (~covered).any() and uncovered_mass > 0:
        vote[~covered] = zero_shot[~covered] * (rest / uncovered_mass)
    elif q.sum() > 0:
        vote = vote / vote.sum()
    else:
        return None
    return vote / vote.sum()  # exact 1 despite rounding


@dataclass
class Fused:
    """The pooled distribution and each voter's additive share of it."""

    probs: np.ndarray  # [L], sums to 1
    contributions: dict[str, np.ndarray] = field(default_factory=dict)  # voter -> [L], summing to probs
    weights: dict[str, float] = field(default_factory=dict)  # voter -> normalised weight (present voters)


def fuse(zero_shot: np.ndarray, votes: dict[str, np.ndarray | None], weights: dict[str, float]) -> Fused:
    """Linear pool of the zero-shot distribution (weight 1) and the heads' votes.

    `votes[name]` is a head's distribution over the taxonomy (`head_vote`) or None when it has
    nothing to say; `weights[name]` its weight. Heads with weight 0 or no vote are left out.
    """
    zero_shot = np.asarray(zero_shot, np.float64)
    present = {ZERO_SHOT: (1.0, zero_shot)}
    for name, vote in votes.items():
        weight = float(weights.get(name, 1.0))
        if vote is not None and weight > 0:
            present[name] = (weight, np.asarray(vote, np.float64))
    total = sum(weight for weight, _ in present.values())
    contributions = {name: weight / total * vote for name, (weight, vote) in present.items()}
    probs = np.sum(list(contributions.values()), axis=0)
    return Fused(probs=probs, contributions=contributions,
                 weights={name: weight / total for name, (weight, _) in present.items()})


__all__ = ["Fused", "ZERO_SHOT", "as_distribution", "fuse", "head_vote"]
