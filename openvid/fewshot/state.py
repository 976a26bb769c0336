"""What classification uses of a taxonomy's examples under the current encoder: the cache, or the fitted probe.

A fitted probe depends on the labels and their prompts (its text-initialised rows), not on the
settings: a settings edit bumps the version but leaves a probe valid; a label or prompt edit makes
it stale, and the example cache is used until it is fitted again.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Sequence

from openvid.scoring.adapters import FewShot

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext
    from openvid.store.models import Taxonomy


def state(ctx: "RunContext", spec: "Taxonomy", labels: Sequence[str], warnings: list[str]) -> FewShot | None:
    """The examples and probe classification uses for `spec` under the current encoder (None: none)."""
    from openvid.scoring.adapters import align_examples

    identity = ctx.encoder.identity
    names, vectors = ctx.examples.vectors(spec.name, identity)
    if not names:
        return None
    examples, example_labels, left_out = align_examples(names, vectors, labels)
    if left_out:
        warnings.append(f"examples of {', '.join(left_out)} are not used: those labels are disabled or are parents")
    probe = None
    stored = ctx.examples.load_probe(spec.name, identity)
    if stored is not None:
        # The probe depends on the labels and their prompts (its text-initialised rows), not on
        # settings: a settings edit bumps the version but leaves a probe valid.
        same_text = stored.labels == list(labels) and stored.meta.get("prompts_sha") == prompts_digest(spec, labels)
        stale = None if same_text else stored.stale_reason(labels, spec.version)
        if stale:
            warnings.append(f"the fitted probe of {spec.name!r} is not used: {stale}; run `openvid fewshot fit "
                            f"{spec.name}` again (the example cache is used meanwhile)")
        else:
            probe = stored.probe
    return FewShot(examples, example_labels, spec.settings.fewshot_alpha, spec.settings.fewshot_beta, probe)


def prompts_digest(spec: "Taxonomy", labels: Sequence[str]) -> str:
    """A digest of the scored labels' prompts: what a fitted probe's text rows were made from."""
    from openvid.scoring.zero_shot import label_prompts

    by_name = {label.name: label for label in spec.labels}
    groups = [label_prompts(by_name[name], spec.templates) for name in labels]
    return hashlib.sha1(json.dumps(groups, ensure_ascii=False).encode()).hexdigest()[:16]


__all__ = ["prompts_digest", "state"]
