"""PNG plots of an evaluation: the confusion matrix and the k-shot curve.

Drawn with matplotlib's object API on an Agg canvas (`Figure` + `FigureCanvasAgg`), never pyplot:
no display is needed, no global backend is switched for the caller, and figures are not kept in
pyplot's registry (a long eval run does not leak them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from openvid.errors import OpenvidError

CurvePoint = tuple  # (shots, top1) or (shots, top1, spread): spread is drawn as an error bar


def plot_confusion(confusion: np.ndarray, labels: Sequence[str], path: str | Path, *, normalize: bool = True,
                   title: str = "") -> Path:
    """Write the confusion matrix (rows true, columns predicted) as a PNG; returns the path.

    Colour is each row's share (recall) when `normalize`, so rare and common labels read alike;
    cells hold counts while they fit (up to 30 labels). The figure grows with the labels (0.3 inch
    each) and tick labels shrink (down to 5 pt) and turn, so 50 labels stay readable.
    """
    counts = np.asarray(confusion, np.float64)
    n = len(labels)
    if counts.shape != (n, n):
        raise OpenvidError(f"a confusion matrix over {n} labels must be {n} x {n}; got {list(counts.shape)}")
    if n == 0:
        raise OpenvidError("nothing to plot: the confusion matrix has no labels")
    rows = counts.sum(axis=1, keepdims=True)
    shown = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0) if normalize else counts
    side = float(np.clip(2.5 + 0.3 * n, 5.0, 45.0))
    fontsize = float(np.clip(400.0 / max(n, 1), 5.0, 10.0))
    longest = max(len(str(label)) for label in labels)
    margin = min(0.09 * longest * fontsize / 10.0, side * 0.5)  # inches for the tick labels
    figure = Figure(figsize=(side + margin + 1.5, side + margin), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(shown, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else max(shown.max(), 1.0),
                        interpolation="nearest", aspect="equal")
    axes.set_xticks(range(n))
    axes.set_yticks(range(n))
    axes.set_xticklabels([str(label) for label in labels], rotation=90, fontsize=fontsize)
    axes.set_yticklabels([str(label) for label in labels], fontsize=fontsize)
    axes.set_xlabel("predicted", fontsize=max(fontsize, 8))
    axes.set_ylabel("true", fontsize=max(fontsize, 8))
    if title:
        axes.set_title(title, fontsize=max(fontsize + 2, 10))
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if counts[i, j]:
                    dark = shown[i, j] > (0.5 if normalize else shown.max() / 2)
                    axes.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=fontsize * 0.9,
                              color="white" if dark else "black")
    colorbar = figure.colorbar(image, ax=axes, fraction=0.04, pad=0.02)
    colorbar.set_label("share of the true label's items" if normalize else "items", fontsize=8)
    return _save(figure, path)


def plot_kshot_curve(series: Mapping[str, Sequence[CurvePoint]], path: str | Path, *,
                     zero_shot: float | None = None, title: str = "") -> Path:
    """Write top-1 accuracy against shots per label as a PNG; returns the path.

    series: name -> points (shots, top1) or (shots, top1, spread), e.g. {"cache": [...], "probe":
    [...]}; accuracies are fractions (0..1). zero_shot: the text-only top-1, drawn dashed across.
    """
    if not series or not any(series.values()):
        raise OpenvidError("nothing to plot: no k-shot points")
    figure = Figure(figsize=(7.0, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    shots: set[int] = set()
    for name, points in series.items():
        if not points:
            continue
        ordered = sorted(points, key=lambda p: p[0])
        x = [p[0] for p in ordered]
        y = [100.0 * p[1] for p in ordered]
        shots.update(int(v) for v in x)
        if all(len(p) >= 3 for p in ordered):
            axes.errorbar(x, y, yerr=[100.0 * p[2] for p in ordered], marker="o", capsize=3, label=name)
        else:
            axes.plot(x, y, marker="o", label=name)
    if zero_shot is not None:
        axes.axhline(100.0 * zero_shot, linestyle="--", color="grey", label="0-shot (text only)")
    axes.set_xticks(sorted(shots))
    axes.set_xlabel("examples per label (shots)")
    axes.set_ylabel("top-1 accuracy (%)")
    axes.set_ylim(0, 100)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def _save(figure: Figure, path: str | Path) -> Path:
    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, format="png")
    except OSError as exc:
        raise OpenvidError(f"{target}: cannot write the plot ({exc.strerror}); choose another output folder") from None
    return target


__all__ = ["plot_confusion", "plot_kshot_curve"]
