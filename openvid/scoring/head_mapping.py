"""Mapping a closed-set head's labels onto a taxonomy's labels.

Each head label goes to at most one taxonomy label (many head labels may share one):

1. an explicit override kept in SQLite wins (`openvid heads map`), including "ignore this one";
2. otherwise the same name (case, `_` and `-` ignored), against the label's name or a synonym;
3. otherwise the taxonomy label whose name (or synonym) is most similar under the active
   encoder's text tower, when that cosine reaches `threshold`.

Taxonomy labels nothing maps onto get no vote from the head; head labels that map to nothing are
ignored (their probability mass counts as "something else", see `openvid.scoring.fusion`).

The default threshold (0.9) is deliberately strict: text towers put short unrelated phrases at
cosines of 0.6-0.8 of each other, and a wrong mapping does more harm than a missing one. It was
not tuned on real checkpoints here (none can be downloaded on this machine); check a mapping with
`openvid heads show-map` and fix it with `openvid heads map`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

DEFAULT_MAP_THRESHOLD = 0.9

OVERRIDE = "override"
IGNORED = "ignored"
EXACT = "same name"
SIMILAR = "similar"
UNMAPPED = "unmapped"


def normalise_name(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[_\-]+", " ", name)).strip().casefold()


@dataclass
class HeadMapping:
    """Where each head label votes: `targets[i]` indexes `labels`, -1 for nowhere."""

    head: str
    head_labels: list[str]
    labels: list[str]
    targets: np.ndarray  # int64 [H]
    how: list[str]  # per head label: override / ignored / same name / similar / unmapped
    similarity: np.ndarray  # float [H]: the best cosine found (NaN where no text similarity was needed)

    def target(self, head_label: str) -> str | None:
        index = self.targets[self.head_labels.index(head_label)]
        return None if index < 0 else self.labels[index]

    @property
    def covered(self) -> list[str]:
        """Taxonomy labels with at least one head label voting for them."""
        return [self.labels[i] for i in sorted(set(int(t) for t in self.targets if t >= 0))]

    def rows(self, everything: bool = False) -> list[dict]:
        """One row per head label (only the mapped and overridden ones unless `everything`)."""
        out = []
        for i, head_label in enumerate(self.head_labels):
            if not everything and self.targets[i] < 0 and self.how[i] != IGNORED:
                continue
            similarity = self.similarity[i]
            out.append({
                "head_label": head_label,
                "label": None if self.targets[i] < 0 else self.labels[self.targets[i]],
                "how": self.how[i],
                "similarity": None if np.isnan(similarity) else round(float(similarity), 4),
            })
        return out


def identity_mapping(head: str, labels: Sequence[str]) -> HeadMapping:
    """For open-vocabulary heads (CLAP), which score the taxonomy's own labels."""
    n = len(labels)
    return HeadMapping(head, list(labels), list(labels), np.arange(n, dtype=np.int64), [EXACT] * n,
                       np.full(n, np.nan))


def map_labels(
    head: str,
    head_labels: Sequence[str],
    labels: Sequence[str],
    embed: Callable[[list[str]], np.ndarray],
    *,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    overrides: Mapping[str, str | None] | None = None,
    threshold: float = DEFAULT_MAP_THRESHOLD,
) -> HeadMapping:
    """Map `head_labels` onto `labels` (see the module docstring).

    `embed` turns texts into vectors under the active encoder (normalised here); it is called once,
    with every name that needs a similarity. `overrides` maps a head label to a taxonomy label name,
    or to None for "ignore"; an override naming a label that is not in `labels` (removed, disabled)
    leaves that head label unmapped.
    """
    synonyms = synonyms or {}
    overrides = overrides or {}
    labels = list(labels)
    head_labels = list(head_labels)
    position = {name: i for i, name in enumerate(labels)}
    names: list[tuple[int, str]] = []  # (taxonomy label index, a name it goes by)
    for i, label in enumerate(labels):
        for name in dict.fromkeys([label, *synonyms.get(label, ())]):
            names.append((i, name))
    by_name: dict[str, int] = {}
    for i, name in names:
        by_name.setdefault(normalise_name(name), i)

    targets = np.full(len(head_labels), -1, np.int64)
    how = [UNMAPPED] * len(head_labels)
    similarity = np.full(len(head_labels), np.nan)
    pending = []
    for h, head_label in enumerate(head_labels):
        if head_label in overrides:
            target = overrides[head_label]
            if target is None:
                how[h] = IGNORED
            elif target in position:
                targets[h], how[h] = position[target], OVERRIDE
            continue
        exact = by_name.get(normalise_name(head_label))
        if exact is not None:
            targets[h], how[h] = exact, EXACT
        else:
            pending.append(h)
    if pending and names:
        vectors = np.asarray(embed([head_labels[h] for h in pending] + [name for _, name in names]), np.float64)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        cosine = vectors[: len(pending)] @ vectors[len(pending):].T  # [pending, names]
        owner = np.array([i for i, _ in names])
        best = cosine.argmax(axis=1)
        for row, h in enumerate(pending):
            similarity[h] = cosine[row, best[row]]
            if similarity[h] >= threshold:
                targets[h], how[h] = owner[best[row]], SIMILAR
    return HeadMapping(head, head_labels, labels, targets, how, similarity)


__all__ = ["DEFAULT_MAP_THRESHOLD", "HeadMapping", "identity_mapping", "map_labels", "normalise_name"]
