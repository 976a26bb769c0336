"""`fewshot fit`: tune the example cache's alpha/beta by leave-one-out and fit the linear probe.

Everything that can fail (tuning, the probe's fit) runs before anything is written, and what is
written (the tuned alpha/beta as taxonomy settings, the probe) goes in one transaction: a fit that
fails, or finds the taxonomy or its examples changed under it, leaves the store as it was. Bringing
the examples to the current encoder first (`sync`) is not undone: classification would write the
same vectors on its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openvid.errors import OpenvidError
from openvid.fewshot.examples import SyncReport, sync
from openvid.fewshot.state import prompts_digest

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext


@dataclass
class FitReport:
    """What `fewshot fit` did: the tuned cache weights and the fitted probe."""

    taxonomy: str
    encoder: str
    examples: int
    labels_with_examples: list[str]
    alpha: float
    beta: float
    tuning: dict[str, Any]
    probe: dict[str, Any]
    sync: SyncReport | None = None


def fit(ctx: "RunContext", taxonomy: str, *, tune: bool = True) -> FitReport:
    """Tune alpha/beta by leave-one-out (stored as taxonomy settings), fit and store the probe."""
    from openvid.classify.classifier import TaxonomyClassifier
    from openvid.encoders.base import label_matrix
    from openvid.scoring.adapters import align_examples, fit_probe, tune_alpha_beta

    report_sync = sync(ctx, taxonomy)
    spec = ctx.taxonomies.get(taxonomy)
    classifier = TaxonomyClassifier(ctx.encoder, spec, ctx.text_features)
    labels = classifier.labels
    names, vectors = ctx.examples.vectors(taxonomy, ctx.encoder.identity)
    examples, example_labels, _ = align_examples(names, vectors, labels)
    if not len(example_labels):
        raise OpenvidError(f"taxonomy {taxonomy!r} has no examples for this encoder; add some with "
                           f"`openvid fewshot add {taxonomy} LABEL FILE...`")
    text = label_matrix(classifier.prompt_groups, ctx.text_features)
    scale = ctx.encoder.logit_scale
    tuning: dict[str, Any] = {}
    alpha, beta = spec.settings.fewshot_alpha, spec.settings.fewshot_beta
    if tune:
        result = tune_alpha_beta(examples, example_labels, text, scale)
        alpha, beta, tuning = result.alpha, result.beta, result.to_dict()
    probe = fit_probe(examples, example_labels, text, scale, labels=labels)
    with ctx.taxonomies.transaction() as tx:  # the tuned settings and the probe fitted with them, or neither
        now = tx.get(taxonomy)
        if now.version != spec.version or tx.examples.vectors(taxonomy, ctx.encoder.identity)[0] != names:
            raise OpenvidError(f"taxonomy {taxonomy!r} or its examples changed while the probe was being fitted "
                               f"(version {spec.version} then, {now.version} now); nothing was stored: run "
                               f"`openvid fewshot fit {taxonomy}` again")
        if tune:
            spec = tx.update_settings(taxonomy, fewshot_alpha=alpha, fewshot_beta=beta)
        tx.examples.save_probe(taxonomy, ctx.encoder.identity, labels, spec.version, probe,
                               meta={"alpha": alpha, "beta": beta, "prompts_sha": prompts_digest(spec, labels)})
    with_examples = sorted({labels[i] for i in example_labels})
    return FitReport(taxonomy, ctx.encoder.identity, len(example_labels), with_examples, alpha, beta, tuning,
                     dict(probe.meta), report_sync)


__all__ = ["FitReport", "fit"]
