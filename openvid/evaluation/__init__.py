"""Evaluation: labelled clip sets, k-shot splits, metrics and plots, knowing nothing of models.

    >>> data = read_dataset("ucf-sample/", known_labels=taxonomy_label_names)   # doctest: +SKIP
    >>> split = kshot_split(data, k=4, seed=0)                                  # doctest: +SKIP
    >>> report = evaluate(truth, scores, labels)                                # doctest: +SKIP
    >>> plot_confusion(report.confusion, report.confusion_labels, "confusion.png")  # doctest: +SKIP

The engine embeds and scores; this package reads the set, splits it, and turns scores into numbers
and pictures.
"""

from openvid.evaluation.dataset import CSV_COLUMNS, Dataset, Item, Split, kshot_split, read_dataset
from openvid.evaluation.metrics import TOP_K, Report, confusion_matrix, evaluate, top_k_accuracy
from openvid.evaluation.plots import plot_confusion, plot_kshot_curve

__all__ = [
    "CSV_COLUMNS",
    "TOP_K",
    "Dataset",
    "Item",
    "Report",
    "Split",
    "confusion_matrix",
    "evaluate",
    "kshot_split",
    "plot_confusion",
    "plot_kshot_curve",
    "read_dataset",
    "top_k_accuracy",
]
