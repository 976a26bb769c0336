"""Each edit as a pure function: the current Taxonomy in, the changed one out.

An edit returns `Change(taxonomy, detail, renames)`: the new content (checked again as a whole by
the store before it is written), what the history entry should say, and which labels changed
name (so their rows, and anything that refers to them, keep their identity).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from openvid.errors import TaxonomyError, UsageError, opt
from openvid.store.models import (
    Label,
    Taxonomy,
    TaxonomySettings,
    check_description,
    check_name,
    check_templates,
    check_texts,
    did_you_mean,
)


@dataclass(frozen=True)
class Change:
    taxonomy: Taxonomy
    detail: dict[str, Any]
    renames: dict[str, str] = field(default_factory=dict)


def _with_label(taxonomy: Taxonomy, name: str, **changes: Any) -> Taxonomy:
    taxonomy.label(name)  # unknown -> TaxonomyError with "did you mean"
    labels = [replace(label, **changes) if label.name == name else label for label in taxonomy.labels]
    return replace(taxonomy, labels=labels)


def _check_enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TaxonomyError(f"enabled must be True or False; got {value!r}")
    return value


def add_label(taxonomy: Taxonomy, name: str, *, prompts: Iterable[str] = (), synonyms: Iterable[str] = (),
              description: str | None = None, parent: str | None = None, enabled: bool = True) -> Change:
    label = Label(
        name=check_name(name, "label name"),
        description=check_description(description),
        parent=None if parent is None else check_name(parent, "parent label name"),
        prompts=check_texts(list(prompts) if not isinstance(prompts, str) else prompts, "prompt"),
        synonyms=check_texts(list(synonyms) if not isinstance(synonyms, str) else synonyms, "synonym"),
        enabled=_check_enabled(enabled),
    )
    detail = {"label": label.name}
    detail.update({key: value for key, value in (("parent", label.parent), ("description", label.description),
                                                 ("prompts", label.prompts), ("synonyms", label.synonyms))
                   if value})
    if not label.enabled:
        detail["enabled"] = False
    return Change(replace(taxonomy, labels=[*taxonomy.labels, label]), detail)


def rename_label(taxonomy: Taxonomy, old: str, new: str) -> Change:
    taxonomy.label(old)
    new = check_name(new, "new label name")
    labels = [
        replace(label, name=new if label.name == old else label.name,
                parent=new if label.parent == old else label.parent)
        for label in taxonomy.labels
    ]
    return Change(replace(taxonomy, labels=labels), {"label": old, "new_name": new}, {old: new} if old != new else {})


def descendants(taxonomy: Taxonomy, name: str) -> list[str]:
    """Every label below `name`, in the taxonomy's order."""
    below: set[str] = set()
    frontier = {name}
    while frontier:
        frontier = {label.name for label in taxonomy.labels if label.parent in frontier} - below - {name}
        below |= frontier
    return [label.name for label in taxonomy.labels if label.name in below]


def remove_label(taxonomy: Taxonomy, name: str, *, cascade: bool = False) -> Change:
    taxonomy.label(name)
    below = descendants(taxonomy, name)
    if below and not cascade:
        shown = ", ".join(repr(n) for n in below[:5]) + (f" and {len(below) - 5} more" if len(below) > 5 else "")
        raise TaxonomyError(
            f"label {name!r} in {taxonomy.name!r} has children ({shown}); move them elsewhere first "
            f"(`openvid taxonomy set-label`), or remove them too ({opt('cascade', True)})")
    gone = {name, *below}
    detail: dict[str, Any] = {"label": name}
    if below:
        detail["also_removed"] = below
    return Change(replace(taxonomy, labels=[l for l in taxonomy.labels if l.name not in gone]), detail)


def set_label(taxonomy: Taxonomy, name: str, *, enabled: bool | None = None, description: str | None = None,
              parent: Any = ..., new_name: str | None = None, add_prompts: Iterable[str] = (),
              remove_prompts: Iterable[str] = (), add_synonyms: Iterable[str] = (),
              remove_synonyms: Iterable[str] = ()) -> Change:
    """Several changes to one label as one edit (one version, all or none).

    enabled/description/new_name None and parent `...` leave that field as it is; description ""
    clears it, parent None makes the label a root. Prompts and synonyms are removed, then added; a
    new name is given last, so the label's children follow it.
    """
    current = taxonomy.label(name)
    final_name = name if new_name is None else check_name(new_name, "new label name")
    changes: dict[str, Any] = {}
    if enabled is not None:
        changes["enabled"] = _check_enabled(enabled)
    if description is not None:
        changes["description"] = check_description(description)
    if parent is not ...:
        changes["parent"] = None if parent is None else check_name(parent, "parent label name")
    for kind, removed, added in (("prompt", remove_prompts, add_prompts), ("synonym", remove_synonyms, add_synonyms)):
        texts = list(getattr(current, kind + "s"))
        for text in _texts(removed):
            texts = _without(current, texts, text, kind)
        for text in _texts(added):  # the old name may become a synonym of the new one
            texts = _with(current, texts, check_name(text, kind), kind, final_name)
        changes[kind + "s"] = texts
    changes = {key: value for key, value in changes.items() if getattr(current, key) != value}
    result = Change(_with_label(taxonomy, name, **changes), {"label": name, **changes})
    if final_name != name:
        renamed = rename_label(result.taxonomy, name, new_name)
        result = Change(renamed.taxonomy, {**result.detail, **renamed.detail}, renamed.renames)
    return result


def _texts(values: Iterable[str]) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def _with(label: Label, texts: list[str], text: str, kind: str, own_name: str | None = None) -> list[str]:
    if text in texts:
        raise TaxonomyError(f"label {label.name!r} already has the {kind} {text!r}")
    if kind == "synonym" and text == (own_name or label.name):
        raise TaxonomyError(f"{text!r} is the label's own name; a synonym is another name for it")
    return [*texts, text]


def _without(label: Label, texts: list[str], text: str, kind: str) -> list[str]:
    if text not in texts:
        have = f"its {kind}s: " + "; ".join(repr(t) for t in texts) if texts else f"it has no {kind}s"
        raise TaxonomyError(f"label {label.name!r} has no {kind} {text!r};{did_you_mean(text, texts) or ''} ({have})")
    return [t for t in texts if t != text]


def add_text(taxonomy: Taxonomy, name: str, text: str, kind: str) -> Change:
    """kind: "prompt" or "synonym"."""
    label = taxonomy.label(name)
    text = check_name(text, kind)
    texts = _with(label, list(getattr(label, kind + "s")), text, kind)
    return Change(_with_label(taxonomy, name, **{kind + "s": texts}), {"label": name, kind: text})


def remove_text(taxonomy: Taxonomy, name: str, text: str, kind: str) -> Change:
    label = taxonomy.label(name)
    texts = _without(label, list(getattr(label, kind + "s")), text, kind)
    return Change(_with_label(taxonomy, name, **{kind + "s": texts}), {"label": name, kind: text})


def set_templates(taxonomy: Taxonomy, templates: Iterable[str]) -> Change:
    templates = check_templates(list(templates) if not isinstance(templates, str) else templates)
    return Change(replace(taxonomy, templates=templates), {"templates": templates})


def update_settings(taxonomy: Taxonomy, changes: dict[str, Any]) -> Change:
    """Some settings changed; naming none is a wrong call (it would silently do nothing)."""
    if not changes:
        raise UsageError(f"say which settings to change: {', '.join(TaxonomySettings.keys())}")
    for key in changes:
        if key not in TaxonomySettings.keys():
            raise TaxonomyError(f"unknown setting {key!r}; valid settings: {', '.join(TaxonomySettings.keys())}")
    settings = replace(taxonomy.settings, **changes)
    changed = {key: value for key, value in settings.to_mapping().items() if getattr(taxonomy.settings, key) != value}
    return Change(replace(taxonomy, settings=settings), changed)


def set_head_weight(taxonomy: Taxonomy, head: str, weight: float | None) -> Change:
    """`head`'s weight in fusion (None: back to the head's default), read and written in one edit."""
    weights = dict(taxonomy.settings.head_weights)
    if weight is None:
        weights.pop(head, None)
    else:
        weights[head] = weight
    return update_settings(taxonomy, {"head_weights": weights})


def revert(taxonomy: Taxonomy, old: Taxonomy, version: int, renames: dict[str, str]) -> Change:
    """The content of `old` (version `version`) as the next version; `renames` ({now: then}) gives
    renamed labels their old names back, keeping their rows (and examples)."""
    return Change(replace(old, name=taxonomy.name), {"to_version": version, **({"renames": renames} if renames else {})},
                  renames)
