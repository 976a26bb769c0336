"""The one classify preparation: taxonomy → classifier → few-shot state → head voters → a batched run.

`classify`, `evaluate`, `calibrate` and search's label filter all start here, so each of them
classifies the same way: the same labels and prompts, the same examples (brought to the current
encoder first), the same heads with the same weights and label maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from openvid.classify.classifier import ClassifyOptions, ClipScores, TaxonomyClassifier
from openvid.classify.voting import head_mapping, head_weights, voters
from openvid.errors import UsageError, opt
from openvid.fewshot.examples import sync, sync_warnings
from openvid.fewshot.state import state
from openvid.media.batches import StageTimes, run_batched
from openvid.results import ClassifyResult, Failure, Prediction

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext
    from openvid.heads import Head, HeadChoice
    from openvid.media import Clip
    from openvid.store.models import Taxonomy

ADHOC_TAXONOMY = "(labels)"  # the name predictions carry for labels given for one call (never stored)


@dataclass
class PreparedClassifier:
    """A classifier ready to run, with what its set-up had to say (warnings for the user)."""

    ctx: "RunContext"
    classifier: TaxonomyClassifier
    heads: list["Head"] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return self.classifier.labels

    def clips(self, path: str) -> Iterable["Clip"]:
        """One decode of `path` for the encoder and every head."""
        return self.ctx.clips(path, heads=self.heads)

    def run(self, keys: Sequence[str], source: Callable[[str], Iterable["Clip"]],
            on_done: Callable[[int, str, list["Clip"], list[ClipScores]], None],
            on_failed: Callable[[int, str, Exception], None]) -> StageTimes:
        """Score every clip of every source in shared batches (`run_batched`)."""
        return run_batched(list(keys), source, self.classifier.compute, on_done, on_failed,
                           batch_size=self.ctx.settings.batch_size)


def labels_taxonomy(labels: str | Sequence[str]) -> "Taxonomy":
    """A taxonomy that lives for one call: these labels, the default templates, default settings.

    What `classify(..., labels=[...])` runs with, as the transformers zero-shot pipelines take
    `candidate_labels`: nothing is written to the store (no history, no examples; text vectors
    are cached as for any label). A string is split on commas, as the pipelines do.
    """
    from openvid.store.models import Label, Taxonomy, check_labels, check_name

    names = [part for part in labels.split(",")] if isinstance(labels, str) else list(labels)
    names = [check_name(name, "label name") for name in names if not isinstance(name, str) or name.strip()]
    if not names:
        raise UsageError(f"{opt('labels')} is empty: give the label names, e.g. {opt('labels', 'surfing,cooking')}")
    chosen = [Label(name) for name in names]
    check_labels(chosen)
    return Taxonomy(name=ADHOC_TAXONOMY, description="labels given for one call", labels=chosen)


def prepare(ctx: "RunContext", taxonomy: "str | Taxonomy", *, heads: Sequence["str | HeadChoice"] = (),
            head_weights_given: Mapping[str, float] | None = None, map_threshold: float | None = None,
            with_examples: bool = True) -> PreparedClassifier:
    """Everything classification of `taxonomy` needs, under `ctx`'s encoder.

    `taxonomy` is a stored taxonomy's name, or a `Taxonomy` for this call only (`labels_taxonomy`),
    which has no examples. `with_examples=False` leaves the few-shot examples out (search's label
    filter is zero-shot).
    """
    stored = isinstance(taxonomy, str)
    spec = ctx.taxonomies.get(taxonomy) if stored else taxonomy
    loaded = ctx.load_heads(heads)
    weights = head_weights(loaded, spec.settings.head_weights, head_weights_given)
    classifier = TaxonomyClassifier(ctx.encoder, spec, ctx.text_features)
    warnings: list[str] = []
    if with_examples and stored:
        warnings += sync_warnings(sync(ctx, taxonomy))
        classifier.fewshot = state(ctx, spec, classifier.labels, warnings)
    if loaded:
        mappings = [head_mapping(ctx, spec, head, threshold=map_threshold, labels=classifier.labels)
                    for head in loaded]
        classifier.voters = voters(loaded, mappings, weights)
    return PreparedClassifier(ctx, classifier, loaded, warnings)


def classify_videos(prepared: PreparedClassifier, paths: Sequence[str], options: ClassifyOptions,
                    on_progress: Callable[[str, bool], None] | None = None) -> ClassifyResult:
    """Classify whole videos; a file that cannot be read is a `Failure`, and the others go on."""
    classifier = prepared.classifier
    predictions: dict[int, Prediction] = {}
    failures: list[Failure] = []

    def done(index: int, path: str, clips: list["Clip"], rows: list[ClipScores]) -> None:
        predictions[index] = classifier.predict(path, clips, rows, options)
        if on_progress:
            on_progress(path, True)

    def failed(index: int, path: str, error: Exception) -> None:
        failures.append(Failure(path, str(error)))
        if on_progress:
            on_progress(path, False)

    prepared.run(paths, prepared.clips, done, failed)
    warnings = list(prepared.warnings)
    if options.multi_label and prepared.heads:
        warnings.append(f"the heads ({', '.join(head.name for head in prepared.heads)}) do not vote in multi-label "
                        "mode: each label's yes/no is the encoder's cosine against the taxonomy's multi-label "
                        "threshold")
    return ClassifyResult([predictions[i] for i in sorted(predictions)], failures, warnings)


__all__ = ["ADHOC_TAXONOMY", "PreparedClassifier", "classify_videos", "labels_taxonomy", "prepare"]
