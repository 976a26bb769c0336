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
from openvid.fewshot.examples import sync, sync_warnings
from openvid.fewshot.state import state
from openvid.media.batches import StageTimes, run_batched
from openvid.results import ClassifyResult, Failure, Prediction

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext
    from openvid.heads import Head, HeadChoice
    from openvid.media import Clip


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


def prepare(ctx: "RunContext", taxonomy: str, *, heads: Sequence["str | HeadChoice"] = (),
            head_weights_given: Mapping[str, float] | None = None, map_threshold: float | None = None,
            with_examples: bool = True) -> PreparedClassifier:
    """Everything classification of `taxonomy` needs, under `ctx`'s encoder.

    `with_examples=False` leaves the few-shot examples out (search's label filter is zero-shot).
    """
    spec = ctx.taxonomies.get(taxonomy)
    loaded = ctx.load_heads(heads)
    weights = head_weights(loaded, spec.settings.head_weights, head_weights_given)
    classifier = TaxonomyClassifier(ctx.encoder, spec, ctx.text_features)
    warnings: list[str] = []
    if with_examples:
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
    return ClassifyResult([predictions[i] for i in sorted(predictions)], failures, list(prepared.warnings))


__all__ = ["PreparedClassifier", "classify_videos", "prepare"]
