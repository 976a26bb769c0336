"""Scoring math on constructed cases: prompts, probabilities, aggregation, rejection, hierarchy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from openvid.errors import UnknownChoice
from openvid.scoring.calibration import fit_threshold, is_rejected, multi_label_on
from openvid.scoring.hierarchy import ancestors, roll_up
from openvid.scoring.zero_shot import aggregate, label_prompts, softmax, zero_shot_scores


@dataclass
class _Label:
    name: str
    prompts: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)


def test_label_prompts_fill_templates_with_name_and_synonyms_then_own_prompts():
    label = _Label("pole vault", prompts=["an athlete vaulting over a bar", "a video of pole vault."],
                   synonyms=["vaulting"])
    assert label_prompts(label, ["a video of {}.", "a person doing {}."]) == [
        "a video of pole vault.", "a person doing pole vault.", "a video of vaulting.",
        "a person doing vaulting.", "an athlete vaulting over a bar",
    ]
    assert label_prompts(_Label("x"), []) == ["x"]


def test_zero_shot_scores_equal_direct_computation():
    rng = np.random.default_rng(0)
    cosine = rng.uniform(-0.2, 0.4, size=(5, 7))
    scores = zero_shot_scores(cosine, [f"l{i}" for i in range(7)], logit_scale=100.0)
    logits = 100.0 * cosine
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(scores.segment_probs, expected, rtol=1e-10)
    np.testing.assert_allclose(scores.probs, expected.mean(0), rtol=1e-10)
    np.testing.assert_allclose(scores.cosine, cosine.mean(0))
    assert scores.probs.sum() == pytest.approx(1.0)
    maxed = zero_shot_scores(cosine, [f"l{i}" for i in range(7)], 100.0, how="max")
    np.testing.assert_allclose(maxed.probs, expected.max(0))


def test_softmax_is_stable_for_large_logits():
    out = softmax(np.array([[1000.0, 1001.0]]))
    np.testing.assert_allclose(out, [[1 / (1 + np.e), np.e / (1 + np.e)]])


def test_unknown_aggregate_lists_choices():
    with pytest.raises(UnknownChoice, match="mean"):
        aggregate(np.zeros((2, 2)), "median")


def test_rejection_on_probability_and_on_cosine():
    assert not is_rejected(0.9, 0.1, None)
    assert is_rejected(0.3, 0.9, 0.5, "probability")
    assert not is_rejected(0.5, 0.0, 0.5, "probability")  # equal to the threshold passes
    assert is_rejected(0.99, 0.12, 0.2, "cosine")
    with pytest.raises(UnknownChoice):
        is_rejected(0.5, 0.5, 0.1, "logit")


def test_multi_label_is_independent_per_label():
    on = multi_label_on(np.array([0.31, 0.1, 0.25, 0.24]), 0.25)
    assert on.tolist() == [True, False, True, False]


def test_fit_threshold_separates_and_balances():
    assert fit_threshold([0.6, 0.7, 0.8], [0.1, 0.2, 0.3]) == pytest.approx(0.45)  # halfway across the gap
    # overlapping: the best balanced cut keeps most positives while rejecting most negatives
    cut = fit_threshold([0.25, 0.5, 0.6, 0.7], [0.1, 0.2, 0.3, 0.35, 0.55])
    assert cut == pytest.approx((0.5 + 0.35) / 2)
    assert fit_threshold([0.9], [0.95]) < 0.9  # nothing separates: keep everything
    with pytest.raises(ValueError):
        fit_threshold([], [0.1])


def test_roll_up_sums_children_into_parents_at_each_level():
    parent_of = {"sport": None, "ball": "sport", "dunk": "ball", "layup": "ball", "swim": "sport", "cook": None}
    leaves = ["dunk", "layup", "swim", "cook"]
    probs = np.array([0.4, 0.3, 0.2, 0.1])
    assert ancestors("dunk", parent_of) == ["dunk", "ball", "sport"]
    names, totals = roll_up(leaves, probs, parent_of, level=0)
    assert dict(zip(names, totals)) == pytest.approx({"sport": 0.9, "cook": 0.1})
    names, totals = roll_up(leaves, probs, parent_of, level=1)
    assert dict(zip(names, totals)) == pytest.approx({"ball": 0.7, "swim": 0.2, "cook": 0.1})
    names, best = roll_up(leaves, np.array([0.2, 0.35, 0.1, 0.3]), parent_of, level=0, how="max")
    assert dict(zip(names, best)) == pytest.approx({"sport": 0.35, "cook": 0.3})
