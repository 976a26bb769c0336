"""Classification metrics from true label indices and a score matrix, in plain numpy.

Definitions (each equal to scikit-learn's where it has one; the tests check that):

- top-1: the share of items whose highest score is the true label (ties: the first label, as
  `argmax`). `accuracy_score(y, argmax)`.
- top-k (k = 5): the share whose true label is among the k highest scores; with k >= the number
  of labels it is 1. `top_k_accuracy_score(y, scores, k=5, labels=range(L))` (ties aside).
- per-class accuracy: for each label with items, the share of its items predicted as it (recall);
  None for a label with no items. `recall_score(average=None)` on those labels.
- macro-F1: the mean F1 over the labels that are true or predicted at least once (a label never
  involved says nothing), F1 0 where precision and recall are both 0.
  `f1_score(average="macro", zero_division=0)` (whose default labels are exactly those).
- confusion: counts[true, predicted] over those same labels, in taxonomy order
  (`confusion_matrix(y, pred, labels=those)`): a 400-label taxonomy evaluated on 10 classes
  gives a readable matrix, not a 400 x 400 one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from openvid.errors import OpenvidError

TOP_K = 5


@dataclass(eq=False)
class Report:
    """One evaluation's numbers; `to_dict()` is JSON-serialisable."""

    labels: list[str]
    n: int
    top1: float
    top5: float
    macro_f1: float
    per_class: dict[str, float | None]  # label -> accuracy on its items (None: no items)
    support: dict[str, int]  # label -> number of items
    confusion_labels: list[str]  # the labels true or predicted at least once, in taxonomy order
    confusion: np.ndarray  # [len(confusion_labels)]^2 counts, rows true, columns predicted
    extra: dict[str, Any] = field(default_factory=dict)  # the caller's: model, taxonomy, k, timings

    @property
    def mean_class_accuracy(self) -> float:
        """The mean of per-class accuracy over labels with items (balanced accuracy)."""
        values = [v for v in self.per_class.values() if v is not None]
        return float(np.mean(values)) if values else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "top1": self.top1,
            "top5": self.top5,
            "macro_f1": self.macro_f1,
            "mean_class_accuracy": self.mean_class_accuracy,
            "labels": list(self.labels),
            "per_class": {label: {"accuracy": self.per_class[label], "support": self.support[label]}
                          for label in self.labels if self.support[label]},
            "confusion": {"labels": list(self.confusion_labels), "counts": self.confusion.astype(int).tolist()},
            **self.extra,
        }


def top_k_accuracy(truth: Sequence[int], scores: np.ndarray, k: int) -> float:
    """The share of rows whose true label is among the k highest scores (ties counted in its favour)."""
    y, s = _check(truth, scores, None)
    if not len(y):
        return 0.0
    true_scores = s[np.arange(len(y)), y]
    rank = (s > true_scores[:, None]).sum(axis=1)  # labels strictly above the true one
    return float(np.mean(rank < k))


def confusion_matrix(truth: Sequence[int], predicted: Sequence[int], n_labels: int) -> np.ndarray:
    """counts[true, predicted] over all n_labels labels."""
    out = np.zeros((n_labels, n_labels), np.int64)
    np.add.at(out, (np.asarray(truth, np.int64), np.asarray(predicted, np.int64)), 1)
    return out


def evaluate(truth: Sequence[int], scores: np.ndarray, labels: Sequence[str], top_k: int = TOP_K) -> Report:
    """Every metric of the module docstring for items with true label indices `truth` and scores
    [n, L] over `labels` (higher is better: probabilities, logits or cosines alike)."""
    labels = list(labels)
    y, s = _check(truth, scores, len(labels))
    n_labels = len(labels)
    predicted = s.argmax(axis=1) if len(y) else np.zeros(0, np.int64)
    full = confusion_matrix(y, predicted, n_labels)
    support = full.sum(axis=1)
    predicted_count = full.sum(axis=0)
    correct = np.diag(full)
    per_class = {label: (float(correct[i] / support[i]) if support[i] else None) for i, label in enumerate(labels)}
    involved = np.flatnonzero((support > 0) | (predicted_count > 0))
    f1 = []
    for i in involved:
        denominator = support[i] + predicted_count[i]  # 2TP / (2TP + FP + FN)
        f1.append(2.0 * correct[i] / denominator if denominator else 0.0)
    return Report(
        labels=labels,
        n=len(y),
        top1=float(np.mean(predicted == y)) if len(y) else 0.0,
        top5=top_k_accuracy(y, s, top_k),
        macro_f1=float(np.mean(f1)) if f1 else 0.0,
        per_class=per_class,
        support={label: int(support[i]) for i, label in enumerate(labels)},
        confusion_labels=[labels[i] for i in involved],
        confusion=full[np.ix_(involved, involved)],
    )


def _check(truth: Sequence[int], scores: np.ndarray, n_labels: int | None) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(truth).reshape(-1)
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise OpenvidError(f"true labels must be integer label indices; got {y.dtype}")
    y = y.astype(np.int64)
    s = np.asarray(scores, np.float64)
    if s.ndim != 2 or s.shape[0] != len(y) or (n_labels is not None and s.shape[1] != n_labels):
        raise OpenvidError(f"scores must be [items, labels] = [{len(y)}, {n_labels if n_labels is not None else 'L'}]; "
                           f"got {list(s.shape)}")
    if len(y) and (y.min() < 0 or y.max() >= s.shape[1]):
        raise OpenvidError(f"true label indices must lie in 0..{s.shape[1] - 1}; got {y.min()}..{y.max()}")
    if not np.all(np.isfinite(s)):
        raise OpenvidError("scores include NaN or infinity; the model's output is broken for some items")
    return y, s


__all__ = ["TOP_K", "Report", "confusion_matrix", "evaluate", "top_k_accuracy"]
