"""Setting closed-set heads up to vote in a classification: weights and label maps.

The glue between `openvid.heads` (models, no storage), `openvid.store.head_maps` (the user's
overrides) and `openvid.scoring` (mapping and fusion math). What heads need from the decoder is
`openvid.heads.inputs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

from openvid.classify.classifier import HeadVoter
from openvid.errors import UsageError, opt
from openvid.scoring.head_mapping import DEFAULT_MAP_THRESHOLD, HeadMapping, identity_mapping, map_labels

if TYPE_CHECKING:  # pragma: no cover
    from openvid.context import RunContext
    from openvid.heads import Head, HeadChoice
    from openvid.store.models import Taxonomy


def head_weights(heads: Sequence["Head"], stored: Mapping[str, float], given: Mapping[str, float] | None) -> dict[str, float]:
    """Each head's weight: the call's (`head_weights`) over the taxonomy's over the head's default."""
    given = dict(given or {})
    unknown = sorted(set(given) - {head.name for head in heads})
    if unknown:
        raise UsageError(f"{opt('head_weights')} names {', '.join(unknown)}, which is not among the heads asked for "
                         f"({', '.join(h.name for h in heads) or 'none'}); add it with {opt('heads', 'NAME')}")
    return {head.name: float(given.get(head.name, stored.get(head.name, head.spec.default_weight))) for head in heads}


def mapping_for(name: str, head_labels: Sequence[str] | None, labels: Sequence[str],
                embed: Callable[[list[str]], np.ndarray], synonyms: Mapping[str, Sequence[str]],
                overrides: Mapping[str, str | None], threshold: float = DEFAULT_MAP_THRESHOLD) -> HeadMapping:
    """Where a head's labels vote among `labels`; `head_labels=None` is an open-vocabulary head,
    which scores `labels` themselves."""
    if head_labels is None:
        return identity_mapping(name, labels)
    return map_labels(name, head_labels, labels, embed, synonyms=synonyms, overrides=overrides, threshold=threshold)


def voters(heads: Sequence["Head"], mappings: Sequence[HeadMapping], weights: Mapping[str, float]) -> list[HeadVoter]:
    return [HeadVoter(head, mapping, weights[head.name]) for head, mapping in zip(heads, mappings)]


def head_mapping(ctx: "RunContext", spec: "Taxonomy", head: "str | HeadChoice | Head", *,
                 threshold: float | None = None, labels: Sequence[str] | None = None) -> HeadMapping:
    """Where `head`'s labels vote in the taxonomy `spec`: overrides, same names, then text similarity.

    `head` may be a loaded head, or a name / choice whose labels are read without loading the
    weights where they are known offline (the Kinetics-400 heads).
    """
    from openvid.heads import Head, HeadChoice, get_head_spec
    from openvid.heads.base import labels_without_loading

    leaves = spec.leaves()
    labels = list(labels) if labels is not None else [label.name for label in leaves]
    if isinstance(head, Head):
        name, head_labels = head.name, (None if head.open_vocabulary else head.labels)
        if head.open_vocabulary:
            head.set_labels(labels)
    else:
        choice = HeadChoice(head) if isinstance(head, str) else head
        name, head_labels = choice.name, labels_without_loading(choice)
        if head_labels is None and not get_head_spec(choice.name).open_vocabulary:
            head_labels = ctx.load_heads([choice])[0].labels
    synonyms = {label.name: list(label.synonyms) for label in leaves}
    return mapping_for(name, head_labels, labels, ctx.text_features, synonyms,
                       ctx.head_maps.overrides(spec.name, name),
                       threshold=DEFAULT_MAP_THRESHOLD if threshold is None else threshold)


__all__ = ["head_mapping", "head_weights", "mapping_for", "voters"]
