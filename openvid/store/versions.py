"""Comparing two versions of a taxonomy, and following labels across renames in its history.

A label's identity is its row, not its name: renaming a label keeps its few-shot examples and
head-label overrides. Versions are snapshots, so a rename between two of them would look like one
label removed and another added; the history entries say otherwise. `renames_between` replays them
(renames, removals, additions), so `diff` can say "renamed" and `revert` can give the rows their old
names back instead of dropping them (and their examples) and making new ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from openvid.store.models import HistoryEntry, Label, Taxonomy


def _renamed(entry: HistoryEntry) -> dict[str, str]:
    """{old: new} names this history entry gave labels (a rename, a set-label with a new name, a revert)."""
    detail = entry.detail or {}
    if "new_name" in detail and "label" in detail:
        return {str(detail["label"]): str(detail["new_name"])}
    if entry.action == "revert":
        return {str(a): str(b) for a, b in (detail.get("renames") or {}).items()}
    return {}


def renames_between(entries: Sequence[HistoryEntry], start: int, end: int,
                    names_at_start: set[str], names_at_end: set[str]) -> dict[str, str]:
    """{name at version `start`: name at version `end`} of the labels renamed in between (start < end).

    A label removed (or replaced by a new one of the same name) in between is not followed.
    """
    origin: dict[str, str | None] = {}  # name now -> its name at `start`; None: a row made since

    def origin_of(name: str) -> str | None:
        return origin[name] if name in origin else name

    for entry in sorted(entries, key=lambda e: e.version):
        if not start < entry.version <= end:
            continue
        detail = entry.detail or {}
        renamed = _renamed(entry)
        if renamed:
            sources = {old: origin_of(old) for old in renamed}
            for old in renamed:
                origin[old] = None
            for old, new in renamed.items():
                origin[new] = sources[old]
        if entry.action == "remove_label":
            for name in [detail.get("label"), *(detail.get("also_removed") or [])]:
                if name is not None:
                    origin[str(name)] = None
        elif entry.action == "add_label" and "label" in detail:
            origin[str(detail["label"])] = None
    return {old: new for new, old in origin.items()
            if old is not None and old != new and old in names_at_start and new in names_at_end}


@dataclass(frozen=True)
class Difference:
    """One change between two versions, as data (`--json`) and as a line of text (`text`).

    what: "description", "templates", "setting", "label" or "label order"; change: "added",
    "removed", "renamed" or "changed"; label: the label's name (in the newer version, except for a
    removed one); field: the setting or label field that changed; before/after: its values.
    """

    what: str
    change: str
    label: str | None = None
    field: str | None = None
    before: Any = None
    after: Any = None

    def text(self) -> str:
        if self.what == "label order":
            return "~ the labels are in another order"
        if self.what == "label" and self.change in ("added", "removed"):
            return f"{'+' if self.change == 'added' else '-'} label {self.label!r}"
        if self.change == "renamed":
            return f"~ label {self.before!r} renamed to {self.after!r}"
        subject = {"description": "description", "templates": "templates",
                   "setting": f"setting {self.field}"}.get(self.what, f"label {self.label!r}: {self.field}")
        if isinstance(self.before, list) and isinstance(self.after, list) and self.what == "label":
            added = [x for x in self.after if x not in self.before]
            removed = [x for x in self.before if x not in self.after]
            parts = ([f"added {', '.join(map(repr, added))}"] if added else []) + \
                    ([f"removed {', '.join(map(repr, removed))}"] if removed else [])
            return f"~ {subject}: {'; '.join(parts) or 'reordered'}"
        return f"~ {subject}: {_shown(self.before)} -> {_shown(self.after)}"


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class TaxonomyDiff:
    """What changed from `from_version` to `to_version` of one taxonomy (empty: the same content)."""

    taxonomy: str
    from_version: int
    to_version: int
    changes: list[Difference] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [change.text() for change in self.changes]


_LABEL_FIELDS = ("description", "parent", "enabled", "prompts", "synonyms")


def diff(old: Taxonomy, new: Taxonomy, renames: dict[str, str] | None = None) -> list[Difference]:
    """The changes from `old` to `new`; `renames` ({old name: new name}) pairs labels across renames."""
    renames = dict(renames or {})
    changes: list[Difference] = []
    if old.description != new.description:
        changes.append(Difference("description", "changed", before=old.description, after=new.description))
    if old.templates != new.templates:
        changes.append(Difference("templates", "changed", before=list(old.templates), after=list(new.templates)))
    before_settings, after_settings = old.settings.to_mapping(), new.settings.to_mapping()
    for key, value in after_settings.items():
        if before_settings[key] != value:
            changes.append(Difference("setting", "changed", field=key, before=before_settings[key], after=value))
    new_by_name = {label.name: label for label in new.labels}
    paired: dict[str, Label] = {}  # new name -> old label
    for label in old.labels:
        target = renames.get(label.name, label.name)
        if target in new_by_name and target not in paired:
            paired[target] = label
        else:
            changes.append(Difference("label", "removed", label=label.name))
    for label in new.labels:
        before = paired.get(label.name)
        if before is None:
            changes.append(Difference("label", "added", label=label.name))
            continue
        if before.name != label.name:
            changes.append(Difference("label", "renamed", label=label.name, field="name", before=before.name,
                                      after=label.name))
        for key in _LABEL_FIELDS:
            was, now = getattr(before, key), getattr(label, key)
            if key == "parent" and was is not None:
                was = renames.get(was, was)
            if was != now:
                changes.append(Difference("label", "changed", label=label.name, field=key, before=was, after=now))
    kept_new = [label.name for label in new.labels if label.name in paired]
    kept_old = [renames.get(label.name, label.name) for label in old.labels
                if renames.get(label.name, label.name) in paired and paired[renames.get(label.name, label.name)] is label]
    if kept_new != kept_old:
        changes.append(Difference("label order", "changed"))
    return changes


__all__ = ["Difference", "TaxonomyDiff", "diff", "renames_between"]
