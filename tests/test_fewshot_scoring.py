"""Few-shot scoring on constructed cases: the Tip-Adapter cache, leave-one-out tuning, the linear probe."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fixtures_fewshot import synthetic_task, unit_vectors

from openvid.errors import OpenvidError
from openvid.scoring.adapters import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    Probe,
    align_examples,
    cache_logits,
    cache_scores,
    check_probe_examples,
    fit_probe,
    tune_alpha_beta,
)
from openvid.scoring.zero_shot import softmax

R = math.sqrt(0.5)
TEXT = np.array([[1.0, 0.0], [0.0, 1.0], [R, R]])  # three labels in a plane


def accuracy(logits, truth):
    return float(np.mean(np.asarray(logits).argmax(axis=1) == truth))


def test_cache_logits_by_hand():
    query = np.array([[1.0, 0.0], [0.0, 1.0]])
    examples = np.array([[1.0, 0.0], [R, R], [0.0, 2.0]])  # the last is not unit: it is normalised
    got = cache_logits(query, examples, [0, 0, 1], n_labels=3, beta=2.0)
    expected = np.array([
        [math.exp(0) + math.exp(-2 * (1 - R)), math.exp(-2), 0.0],
        [math.exp(-2) + math.exp(-2 * (1 - R)), math.exp(0), 0.0],
    ])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_cache_scores_are_text_logits_plus_alpha_times_cache():
    query = np.array([[0.6, 0.8]])
    examples, labels = np.array([[0.0, 1.0]]), [1]
    scores = cache_scores(query, TEXT, examples, labels, logit_scale=10.0, alpha=0.5, beta=3.0)
    text_logits = 10.0 * np.array([0.6, 0.8, R * 1.4])
    cache = np.array([0.0, math.exp(-3.0 * (1 - 0.8)), 0.0])
    np.testing.assert_allclose(scores.logits[0], text_logits + 0.5 * cache, rtol=1e-12)
    np.testing.assert_allclose(scores.probs, softmax(scores.logits), rtol=1e-12)
    # labels without examples keep their text logit exactly
    assert scores.logits[0, 0] == pytest.approx(6.0) and scores.logits[0, 2] == pytest.approx(10 * R * 1.4)


def test_no_examples_or_alpha_zero_is_zero_shot():
    query = unit_vectors(5, 2, seed=1).astype(np.float64)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    zero_shot = softmax(7.0 * query @ TEXT.T)
    np.testing.assert_allclose(cache_scores(query, TEXT, np.zeros((0, 2)), [], 7.0).probs, zero_shot, rtol=1e-12)
    np.testing.assert_allclose(cache_scores(query, TEXT, TEXT[:1], [0], 7.0, alpha=0.0).probs, zero_shot, rtol=1e-12)


def test_one_example_already_helps():
    # a clip of "label 2" whose text is a little closer to label 0: one example of label 2 settles it
    def at(degrees):
        return np.array([[math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]])

    text_only = cache_scores(at(22), TEXT, np.zeros((0, 2)), [], logit_scale=100.0)
    assert text_only.logits.argmax() == 0
    with_one = cache_scores(at(22), TEXT, at(21), [2], logit_scale=100.0)  # default alpha and beta
    assert with_one.logits.argmax() == 2


def test_examples_raise_accuracy_where_text_is_noisy():
    text, examples, y, query, truth = synthetic_task(seed=0)
    text_only = accuracy(query @ text.T, truth)
    default = accuracy(cache_scores(query, text, examples, y, 100.0).logits, truth)
    tuning = tune_alpha_beta(examples, y, text, 100.0)
    tuned = accuracy(cache_scores(query, text, examples, y, 100.0, tuning.alpha, tuning.beta).logits, truth)
    probe = accuracy(fit_probe(examples, y, text, 100.0).scores(query).logits, truth)
    assert text_only < 0.6
    assert default > text_only
    assert tuned >= text_only + 0.1
    assert probe >= text_only + 0.25


def test_leave_one_out_matches_scoring_each_example_without_itself():
    text, examples, y, _, _ = synthetic_task(seed=1, labels=4, dim=16, shots=3)
    examples, y = examples[:-2], y[:-2]  # the last label keeps one example: it is not held out
    alphas, betas = (0.0, 1.0, 8.0), (2.0, 5.5)
    tuning = tune_alpha_beta(examples, y, text, 50.0, alphas=alphas, betas=betas)
    held = [i for i in range(len(y)) if np.sum(y == y[i]) >= 2]
    assert tuning.n_queries == len(held) == len(y) - 1 and tuning.n_examples == len(y)
    assert [(row["alpha"], row["beta"]) for row in tuning.table] == [(a, b) for b in betas for a in alphas]
    for row in tuning.table:
        right, nll = 0, 0.0
        for i in held:
            others = np.arange(len(y)) != i
            scores = cache_scores(examples[i], text, examples[others], y[others], 50.0, row["alpha"], row["beta"])
            right += int(scores.logits.argmax() == y[i])
            nll -= math.log(scores.probs[0, y[i]])
        assert row["accuracy"] == pytest.approx(right / len(held))
        assert row["nll"] == pytest.approx(nll / len(held))
    best = max(tuning.table, key=lambda r: (r["accuracy"], -r["nll"]))
    assert (tuning.alpha, tuning.beta, tuning.accuracy) == (best["alpha"], best["beta"], best["accuracy"])
    text_only = [row for row in tuning.table if row["alpha"] == 0.0]
    assert all(row["accuracy"] == tuning.text_only_accuracy for row in text_only)
    assert tuning.to_dict()["table"] == tuning.table


def test_leave_one_out_needs_a_label_with_two_examples():
    with pytest.raises(OpenvidError, match="at least 2 examples of some label.*keep the defaults"):
        tune_alpha_beta(TEXT[:2], [0, 1], TEXT, 10.0)
    assert (DEFAULT_ALPHA, DEFAULT_BETA) == (1.0, 5.5)


def test_probe_fit_is_deterministic_and_keeps_text_rows_without_examples():
    text, examples, y, query, _ = synthetic_task(seed=2, labels=5, dim=16, shots=3)
    keep = y != 4  # label 4 has no examples
    first = fit_probe(examples[keep], y[keep], text, 100.0)
    second = fit_probe(examples[keep], y[keep], text, 100.0)
    assert first.weight.tobytes() == second.weight.tobytes() and first.bias.tobytes() == second.bias.tobytes()
    assert first.weight.dtype == np.float32 and first.weight.shape == (5, 16) and first.bias.shape == (5,)
    unit_text = text.astype(np.float64) / np.linalg.norm(text.astype(np.float64), axis=1, keepdims=True)
    np.testing.assert_array_equal(first.weight[4], unit_text[4].astype(np.float32))
    assert first.bias[4] == 0.0
    assert not np.allclose(first.weight[:4], unit_text[:4])  # the others moved
    assert first.meta["optimizer"] == "lbfgs" and first.meta["labels_fitted"] == 4 and first.meta["n_examples"] == 12
    assert first.meta["train_accuracy"] == 1.0
    # persistence is bytes: float32 weight and bias back from bytes give identical predictions
    restored = Probe(np.frombuffer(first.weight.tobytes(), np.float32).reshape(5, 16),
                     np.frombuffer(first.bias.tobytes(), np.float32), first.logit_scale)
    np.testing.assert_array_equal(restored.scores(query).probs, first.scores(query).probs)
    query = query.astype(np.float64)
    logits = 100.0 * (query / np.linalg.norm(query, axis=1, keepdims=True)) @ first.weight.astype(np.float64).T
    np.testing.assert_allclose(first.scores(query).logits, logits + first.bias, rtol=1e-12)


def test_probe_needs_enough_examples_and_names_who_is_short():
    labels = ["pole vault", "archery", "rowing"]
    with pytest.raises(OpenvidError, match=r"at least 2 examples of every label.*'archery' \(1\)"):
        check_probe_examples([0, 0, 1], 3, labels)
    with pytest.raises(OpenvidError, match=r"at least 2 labels; labels with examples: 'rowing'"):
        fit_probe(TEXT[[2, 2]], [2, 2], TEXT, 10.0, labels=labels)
    check_probe_examples([0, 0, 2, 2], 3, labels)  # label 1 without examples is fine


def test_inputs_from_another_encoder_are_refused():
    with pytest.raises(OpenvidError, match="dimension 3, the text prototypes 2"):
        cache_scores(TEXT[:1], TEXT, np.ones((1, 3)), [0], 1.0)
    with pytest.raises(OpenvidError, match="label indices must lie in 0..2"):
        cache_logits(TEXT, TEXT, [0, 1, 3], 3)
    with pytest.raises(OpenvidError, match="3 example vectors but 2 example labels"):
        cache_logits(TEXT, TEXT, [0, 1], 3)
    probe = Probe(TEXT, np.zeros(3), 1.0)
    with pytest.raises(OpenvidError, match="fit it again"):
        probe.scores(np.ones((1, 4)))


def test_align_examples_keeps_scored_labels_only():
    vectors = unit_vectors(4, 3)
    e, y, left_out = align_examples(["b", "parent", "a", "b"], vectors, ["a", "b", "c"])
    np.testing.assert_array_equal(e, vectors[[0, 2, 3]])
    assert y.tolist() == [1, 0, 1] and left_out == ["parent"]
    e, y, left_out = align_examples([], np.zeros((0, 0), np.float32), ["a"])
    assert e.shape == (0, 0) and y.shape == (0,) and left_out == []
    scores = cache_scores(unit_vectors(2, 3), unit_vectors(1, 3, seed=3), np.zeros((0, 3)), y, 10.0)
    assert scores.probs.shape == (2, 1)
