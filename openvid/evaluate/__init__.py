"""The evaluate job: how good a taxonomy is on the user's own labelled clips (`openvid eval`).

`run.run_eval` embeds and scores through the one classify preparation; the modules below it know
nothing of models: labelled clip sets and k-shot splits (`dataset`), metrics, plots.

    >>> data = read_dataset("ucf-sample/", known_labels=taxonomy_label_names)   # doctest: +SKIP
    >>> split = kshot_split(data, k=4, seed=0)                                  # doctest: +SKIP
    >>> report = evaluate(truth, scores, labels)                                # doctest: +SKIP
    >>> plot_confusion(report.confusion, report.confusion_labels, "confusion.png")  # doctest: +SKIP

"""

from openvid.evaluate.dataset import CSV_COLUMNS, Dataset, Item, Split, kshot_split, read_dataset
from openvid.evaluate.metrics import TOP_K, Report, confusion_matrix, evaluate, top_k_accuracy
from openvid.evaluate.plots import plot_confusion, plot_kshot_curve

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
