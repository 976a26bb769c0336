"""`openvid eval`: how good a taxonomy is on the user's own labelled clips, and how examples help.

Every clip of the set is decoded and embedded once. From those vectors:

- the taxonomy as it is (its prompts, its stored examples or fitted probe) gives top-1/top-5,
  per-class accuracy, macro-F1 and a confusion matrix (`openvid.evaluate`);
- with `shots`, a k-shot curve: for each k, k clips per label are drawn from the set as examples
  (nested: the 2-shot draw is inside the 4-shot one) and the rest are classified, with the
  example cache (the taxonomy's alpha/beta) and, where there are enough examples, a fitted
  linear probe. The taxonomy's own stored examples are left out of the curve, so k = 0 is text
  alone and every point is measured on the same held-out clips.

A clip that cannot be read is skipped and counted; the numbers cover the clips that could.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from openvid.classify.classifier import ClipScores, TaxonomyClassifier
from openvid.classify.prepare import prepare
from openvid.evaluate.dataset import Dataset, kshot_split, read_dataset
from openvid.evaluate.metrics import Report, evaluate
from openvid.evaluate.plots import plot_confusion, plot_kshot_curve
from openvid.results import Failure, ToDict
from openvid.scoring.adapters import FewShot

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext
    from openvid.heads import HeadChoice


@dataclass
class EvalResult(ToDict):
    taxonomy: str
    model: str
    report: Report  # the taxonomy as it is
    kshot: list[dict[str, Any]] = field(default_factory=list)  # one point per k
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # what was written: report, confusion, kshot

    def to_dict(self) -> dict[str, Any]:
        return {"taxonomy": self.taxonomy, "model": self.model, **self.report.to_dict(), "kshot": self.kshot,
                "skipped": [{"path": f.path, "error": f.error} for f in self.failures],
                "warnings": self.warnings, "files": self.files}


def run_eval(
    ctx: "RunContext",
    taxonomy: str,
    data: str | Path,
    *,
    shots: Sequence[int] = (),
    out_dir: str | Path | None = None,
    seed: int = 0,
    heads: Sequence["str | HeadChoice"] = (),
    head_weights: Mapping[str, float] | None = None,
    on_progress: Callable[[str, bool], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> EvalResult:
    """Evaluate `taxonomy` on `data` (a folder of label folders, or a CSV); write the report and plots.

    With `heads`, the numbers are those of the fused answer (the encoder and the heads' votes), as
    `classify` with the same heads would give it.
    """
    spec = ctx.taxonomies.get(taxonomy)
    known = {label.name: label.name for label in spec.leaves()}
    for label in spec.leaves():
        if label.description and label.description not in known:
            known[label.description] = label.name  # built-ins: the data set's official spelling
    dataset = read_dataset(data, known_labels=known)  # bad CSV rows / unknown labels: raised before any decoding
    prepared = prepare(ctx, taxonomy, heads=heads, head_weights_given=head_weights)
    classifier = prepared.classifier
    labels = classifier.labels
    warnings = list(dataset.warnings) + prepared.warnings
    if on_planned:
        on_planned(len(dataset.items))

    rows_of: dict[int, list[ClipScores]] = {}
    failures: list[Failure] = []
    items = dataset.items

    def source(key: str):
        item = items[int(key)]
        if item.start_s is None and item.end_s is None:
            return prepared.clips(str(item.path))
        return ctx.range_clips(str(item.path), item.start_s, item.end_s)

    def done(index: int, key: str, clips, rows) -> None:
        rows_of[index] = rows
        if on_progress:
            on_progress(str(items[index].path), True)

    def failed(index: int, key: str, error: Exception) -> None:
        failures.append(Failure(str(items[index].path), str(error)))
        if on_progress:
            on_progress(str(items[index].path), False)

    prepared.run([str(i) for i in range(len(items))], source, done, failed)
    scored = sorted(rows_of)
    if not scored:
        raise_all_failed(failures)
    position = {label: i for i, label in enumerate(labels)}
    truth = np.array([position[items[i].label] for i in scored])
    probs = np.stack([classifier.probabilities(rows_of[i]) for i in scored])
    report = evaluate(truth, probs, labels)
    report.extra.update({"skipped_files": len(failures), "examples_used": classifier.fewshot is not None,
                         "heads": [head.name for head in prepared.heads]})
    result = EvalResult(taxonomy, ctx.encoder.identity, report, failures=failures, warnings=warnings)

    if shots:
        kept = Dataset([items[i] for i in scored], source=dataset.source)
        index_of = {id(items[i]): i for i in scored}
        result.kshot = _kshot_curve(classifier, kept, index_of, rows_of, sorted(set(shots)), seed, warnings)

    if out_dir is not None:
        out = Path(out_dir).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        result.files["confusion"] = str(plot_confusion(report.confusion, report.confusion_labels,
                                                       out / "confusion.png", title=f"{taxonomy} on {Path(data).name}"))
        if result.kshot:
            series = {"example cache": [(p["k"], p["cache_top1"]) for p in result.kshot if p["cache_top1"] is not None],
                      "linear probe": [(p["k"], p["probe_top1"]) for p in result.kshot if p["probe_top1"] is not None]}
            zero = next((p["cache_top1"] for p in result.kshot if p["k"] == 0), None)
            result.files["kshot"] = str(plot_kshot_curve(series, out / "kshot.png", zero_shot=zero,
                                                         title=f"{taxonomy}: accuracy against examples per label"))
        report_path = out / "report.json"
        result.files["report"] = str(report_path)
        report_path.write_text(json.dumps(result.to_dict(), indent=2, default=_jsonable) + "\n", encoding="utf-8")
    return result


def _kshot_curve(classifier: TaxonomyClassifier, dataset: Dataset, index_of: dict[int, int],
                 rows_of: dict[int, list[ClipScores]], shots: list[int], seed: int, warnings: list[str]) -> list[dict]:
    """Top-1 on the same held-out clips for each k, with the cache and (where it can be fitted) the probe."""
    from openvid.encoders.base import label_matrix
    from openvid.errors import OpenvidError
    from openvid.fewshot.examples import example_vector
    from openvid.scoring.adapters import fit_probe

    labels = classifier.labels
    position = {label: i for i, label in enumerate(labels)}
    settings = classifier.taxonomy.settings
    text = label_matrix(classifier.prompt_groups, classifier.text_features)
    scale = classifier.encoder.logit_scale
    points = []
    for k in shots:
        split = kshot_split(dataset, k, seed=seed, max_k=max(shots))
        warnings.extend(w for w in split.warnings if w not in warnings)
        if not split.query:
            continue
        support = [index_of[id(item)] for item in split.support]
        query = [index_of[id(item)] for item in split.query]
        examples = (np.stack([example_vector([row.video for row in rows_of[i]]) for i in support]) if support
                    else np.zeros((0, text.shape[1])))
        example_labels = np.array([position[item.label] for item in split.support], np.int64)
        truth = np.array([position[item.label] for item in split.query])
        point: dict[str, Any] = {"k": k, "n_query": len(query), "labels": len({item.label for item in split.query}),
                                 "cache_top1": None, "probe_top1": None}
        cache = FewShot(examples, example_labels, settings.fewshot_alpha, settings.fewshot_beta)
        point["cache_top1"] = _top1(classifier, cache, [rows_of[i] for i in query], truth)
        if k >= 2:
            try:
                probe = fit_probe(examples, example_labels, text, scale, labels=labels)
            except OpenvidError as exc:
                warnings.append(f"{k}-shot: no probe ({exc})")
            else:
                point["probe_top1"] = _top1(classifier, FewShot(examples, example_labels, 0.0, 0.0, probe),
                                            [rows_of[i] for i in query], truth)
        points.append(point)
    return points


def _top1(classifier: TaxonomyClassifier, state: FewShot, rows: list[list[ClipScores]], truth: np.ndarray) -> float:
    scored = classifier.with_fewshot(state)
    predicted = np.array([int(np.argmax(scored.probabilities(r))) for r in rows])
    return float(np.mean(predicted == truth))


def raise_all_failed(failures: list[Failure]) -> None:
    from openvid.errors import OpenvidError

    shown = "; ".join(f"{f.path}: {f.error}" for f in failures[:5])
    raise OpenvidError(f"none of the {len(failures)} clips could be read ({shown}); check the paths and files")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return str(value)


__all__ = ["EvalResult", "run_eval"]
