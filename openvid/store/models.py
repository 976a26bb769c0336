"""The store's public result types, and the checks every way into the store shares.

The dataclasses are frozen: an edit is a store call that returns a new `Taxonomy`, never a change
to one in memory. Two `Taxonomy` objects compare equal when their content is equal (name,
description, templates, settings, labels); `version`, `created_at` and `updated_at` take no part,
so an exported and re-imported taxonomy equals the original.

The checks (`check_name`, `check_templates`, `check_labels`, ...) raise `InvalidField`, a
`TaxonomyError` that also knows which field is wrong (`("labels", 3, "prompts")`), so an import
can name the line or field and a store call can say the same thing without the path.
"""

from __future__ import annotations

import difflib
import math
import numbers
import string
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Iterable, Sequence

from openvid.errors import Conflict, NotFound, TaxonomyError, UnknownLabel, opt

DEFAULT_TEMPLATES = ("a video of {}.",)
REJECT_ON = ("probability", "cosine")
AGGREGATES = ("mean", "max")
_SETTING_KEYS = ("reject_threshold", "reject_on", "multi_label_threshold", "aggregate", "fewshot_alpha",
                 "fewshot_beta")  # settings named in messages as options (opt): they are flags of `taxonomy set`

Path_ = tuple[Any, ...]  # a field path: ("labels", 3, "prompts")


class InvalidField(TaxonomyError):
    """A TaxonomyError that knows the field it is about, for imports to point at."""

    def __init__(self, reason: str, path: Sequence[Any] = ()) -> None:
        self.reason = reason
        self.path: Path_ = tuple(path)
        super().__init__(reason)

    def under(self, *prefix: Any) -> "InvalidField":
        return InvalidField(self.reason, (*prefix, *self.path))


class DuplicateLabel(InvalidField, Conflict):
    """A label name the taxonomy already has (names ignore case)."""

    def under(self, *prefix: Any) -> "InvalidField":
        return DuplicateLabel(self.reason, (*prefix, *self.path))


class UnknownParent(InvalidField, NotFound):
    """A parent label that is not in the taxonomy."""

    def under(self, *prefix: Any) -> "InvalidField":
        return UnknownParent(self.reason, (*prefix, *self.path))


def format_path(path: Sequence[Any]) -> str:
    """("labels", 3, "prompts") -> "labels[3].prompts"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def close_matches(name: str, candidates: Iterable[str]) -> list[str]:
    """Up to three candidates spelled like `name` (case-blind), closest first; [] when none is close."""
    by_fold: dict[str, str] = {}
    for candidate in candidates:
        by_fold.setdefault(candidate.casefold(), candidate)
    return [by_fold[c] for c in difflib.get_close_matches(name.casefold(), list(by_fold), n=3, cutoff=0.6)]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' did you mean 'x'?' (closest by spelling, case-blind), or '' when nothing is close."""
    close = close_matches(name, candidates)
    if not close:
        return ""
    return " did you mean " + " or ".join(repr(c) for c in close) + "?"


@dataclass(frozen=True)
class TaxonomySettings:
    """How a taxonomy decides; stored with it, versioned with it.

    reject_threshold: answer "none of these" when the best label's score is below it (None: never).
    reject_on: which score the threshold reads, "probability" (0..1) or "cosine" (-1..1).
    multi_label_threshold: the cosine at which a label is on in multi-label mode (above 1: never), for
        softmax-trained encoders (CLIP); a sigmoid-trained encoder (SigLIP) says yes from its own
        learned bias instead.
    aggregate: a whole video's score from its segments', "mean" or "max".
    head_weights: closed-set head name -> its vote in fusion (the zero-shot encoder's is 1.0);
        heads not named here use their registered default weight.
    fewshot_alpha, fewshot_beta: few-shot example cache (Tip-Adapter) weight and sharpness.
    """

    reject_threshold: float | None = None
    reject_on: str = "probability"
    multi_label_threshold: float = 0.25
    aggregate: str = "mean"
    head_weights: dict[str, float] = field(default_factory=dict)
    fewshot_alpha: float = 1.0
    fewshot_beta: float = 5.5

    def __post_init__(self) -> None:
        _check_choice("reject_on", self.reject_on, REJECT_ON)
        _check_choice("aggregate", self.aggregate, AGGREGATES)
        if self.reject_threshold is not None:
            probability = self.reject_on == "probability"
            value = _number("reject_threshold", self.reject_threshold, probability)
            object.__setattr__(self, "reject_threshold", value)
        object.__setattr__(self, "multi_label_threshold", _number("multi_label_threshold", self.multi_label_threshold))
        if not isinstance(self.head_weights, dict):
            raise InvalidField(f"head_weights must be a mapping of head name to weight; got {kind_of(self.head_weights)}",
                               ("head_weights",))
        weights = {}
        for name, weight in self.head_weights.items():
            value = _number(f"head_weights.{name}", weight)
            if value < 0:
                raise InvalidField(f"head_weights.{name} must be 0 or more (0 turns the head off); got {weight!r}",
                                   ("head_weights", name))
            weights[str(name)] = value
        object.__setattr__(self, "head_weights", weights)
        for key in ("fewshot_alpha", "fewshot_beta"):
            value = _number(key, getattr(self, key))
            if value < 0:
                raise InvalidField(f"{opt(key)} must be 0 or more; got {value!r}", (key,))
            object.__setattr__(self, key, value)

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_mapping(cls, data: Any) -> "TaxonomySettings":
        """From a mapping of some or all of the keys; unknown keys are refused, naming the valid ones."""
        if not isinstance(data, dict):
            raise InvalidField(f"settings must be a mapping of {', '.join(cls.keys())}; got {kind_of(data)}")
        for key in data:
            if key not in cls.keys():
                raise InvalidField(f"unknown setting {key!r}; valid settings: {', '.join(cls.keys())}", (key,))
        return cls(**data)

    def to_mapping(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.keys()}

    def describe(self) -> list[str]:
        """The settings in words, one line each, for people (`taxonomy show`)."""
        if self.reject_threshold is None:
            reject = "never answer 'none of these' (no rejection threshold)"
        else:
            reject = f"answer 'none of these' when the best {self.reject_on} is below {self.reject_threshold:g}"
        weights = ", ".join(f"{name} {weight:g}" for name, weight in sorted(self.head_weights.items()))
        return [
            reject,
            f"multi-label: a label is on from cosine {self.multi_label_threshold:g}",
            f"a video's score: the {self.aggregate} over its segments",
            f"few-shot cache: alpha {self.fewshot_alpha:g}, beta {self.fewshot_beta:g}",
            "head weights: " + (weights or "each head's default"),
        ]


def _check_choice(kind: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidField(f"{opt(kind, value)} is not valid; valid values: {', '.join(choices)}", (kind,))


def _number(kind: str, value: Any, probability: bool = False) -> float:
    """A finite number; a probability lies in 0..1. A cosine threshold outside -1..1 is allowed: it
    means "always" or "never"."""
    named = opt(kind) if kind in _SETTING_KEYS else kind  # "head_weights.x" is no option of its own
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidField(f"{named} must be a number; got {value!r}", (kind,))
    if probability and not 0.0 <= value <= 1.0:
        raise InvalidField(f"{opt(kind, value)} is out of range: a probability threshold lies from 0 to 1 "
                           f"(or threshold the cosine: {opt('reject_on', 'cosine')})", (kind,))
    return float(value)


@dataclass(frozen=True)
class Label:
    """One label. `parent` is the parent label's name (None: a root); disabled labels are kept
    but not classified. Prompts are the label's own full sentences; synonyms are other names,
    filled into the taxonomy's templates like the name is."""

    name: str
    description: str | None = None
    parent: str | None = None
    prompts: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)
    enabled: bool = True


@dataclass(frozen=True)
class Taxonomy:
    """A named, versioned prompt set. Equality ignores version and times (see the module doc)."""

    name: str
    description: str = ""
    templates: list[str] = field(default_factory=lambda: list(DEFAULT_TEMPLATES))
    settings: TaxonomySettings = field(default_factory=TaxonomySettings)
    version: int = field(default=0, compare=False)
    labels: list[Label] = field(default_factory=list)
    created_at: datetime | None = field(default=None, compare=False)
    updated_at: datetime | None = field(default=None, compare=False)

    def label(self, name: str) -> Label:
        """The label called `name`; an unknown name says which ones are close."""
        for label in self.labels:
            if label.name == name:
                return label
        raise UnknownLabel(unknown_label_message(self, name))

    def children(self, name: str) -> list[Label]:
        """The direct children of label `name`, in the taxonomy's order."""
        self.label(name)
        return [label for label in self.labels if label.parent == name]

    def leaves(self) -> list[Label]:
        """Enabled labels without enabled children: the ones classification scores."""
        enabled_parents = {label.parent for label in self.labels if label.enabled}
        return [label for label in self.labels if label.enabled and label.name not in enabled_parents]


def unknown_label_message(taxonomy: Taxonomy, name: str) -> str:
    names = [label.name for label in taxonomy.labels]
    hint = did_you_mean(name, names) or (
        f" it has no labels yet; add one with `openvid taxonomy add-label {taxonomy.name} LABEL`"
        if not names else f" `openvid taxonomy show {taxonomy.name}` lists its {len(names)} labels"
    )
    return f"taxonomy {taxonomy.name!r} has no label {name!r};{hint}"


@dataclass(frozen=True)
class TaxonomySummary:
    name: str
    description: str
    version: int
    label_count: int
    updated_at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    at: datetime
    who: str
    action: str
    detail: dict[str, Any]


# ---- checks shared by the store's methods and the importers -------------------------------------


def kind_of(value: Any) -> str:
    kinds = {str: "a string", list: "a list", tuple: "a list", dict: "a mapping", bool: "true/false",
             int: "a number", float: "a number", type(None): "nothing"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def check_name(value: Any, what: str) -> str:
    """A name: a non-empty string on one line; surrounding spaces are dropped."""
    if not isinstance(value, str):
        raise InvalidField(f"the {what} must be a string; got {kind_of(value)}")
    text = value.strip()
    if not text:
        raise InvalidField(f"the {what} is empty; give it a name")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidField(f"the {what} {text!r} contains a line break or control character; keep it on one line")
    return text


def check_taxonomy_name(value: Any, what: str = "taxonomy name") -> str:
    """A taxonomy name: a name (`check_name`) without `/` or `\\`, so it is one segment of a URL or a path."""
    text = check_name(value, what)
    if "/" in text or "\\" in text:
        raise InvalidField(f"the {what} {text!r} contains a slash; taxonomy names are one word or phrase without "
                           "'/' or '\\' (a label name may have one)")
    return text


def check_description(value: Any, what: str = "description") -> str | None:
    """Free text or None; blank text is stored as None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(f"the {what} must be a string; got {kind_of(value)}")
    return value if value.strip() else None


def check_texts(values: Any, what: str) -> list[str]:
    """A list of distinct non-empty strings (prompts, synonyms)."""
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, (list, tuple)):
        raise InvalidField(f"{what}s must be a list of strings; got {kind_of(values)}")
    result: list[str] = []
    for index, value in enumerate(values):
        try:
            text = check_name(value, what)
        except InvalidField as exc:
            raise exc.under(index) from None
        if text in result:
            raise InvalidField(f"{what} {text!r} is listed twice", (index,))
        result.append(text)
    return result


def check_template(value: Any) -> str:
    """A prompt template holds exactly one `{}`, where the label's name goes."""
    if not isinstance(value, str):
        raise InvalidField(f"a template must be a string with one {{}}; got {kind_of(value)}")
    text = value.strip()
    hint = ("a template holds exactly one {} where the label goes, e.g. 'a video of {}.' "
            "(write a literal brace as {{ or }})")
    try:
        parts = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError:
        raise InvalidField(f"template {text!r} has an unmatched brace; {hint}") from None
    if len(parts) != 1 or parts[0] != ("", "", None):
        raise InvalidField(f"template {text!r} is not usable; {hint}")
    return text


def check_templates(values: Any) -> list[str]:
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, (list, tuple)):
        raise InvalidField(f"templates must be a list of strings, each with one {{}}; got {kind_of(values)}")
    result: list[str] = []
    for index, value in enumerate(values):
        try:
            text = check_template(value)
        except InvalidField as exc:
            raise exc.under(index) from None
        if text in result:
            raise InvalidField(f"template {text!r} is listed twice", (index,))
        result.append(text)
    return result


def check_labels(labels: Sequence[Label]) -> None:
    """Whole-taxonomy rules: names unique (ignoring case), parents exist, no cycles.

    Paths are ("labels", index, field) so an import can point at the row.
    """
    seen: dict[str, int] = {}
    for index, label in enumerate(labels):
        key = label.name.casefold()
        if key in seen:
            first = labels[seen[key]].name
            same = "is already" if first == label.name else f"clashes with {first!r} (names ignore case), already"
            raise DuplicateLabel(f"label {label.name!r} {same} in the taxonomy; give it another name or edit that one",
                                 ("labels", index, "name"))
        seen[key] = index
    names = {label.name: label for label in labels}
    for index, label in enumerate(labels):
        if label.parent is None:
            continue
        if label.parent not in names:
            raise UnknownParent(f"label {label.name!r} has parent {label.parent!r}, which is not a label here;"
                                f"{did_you_mean(label.parent, names) or ' add the parent label first'}",
                                ("labels", index, "parent"))
        chain = [label.name]
        current: str | None = label.parent
        while current is not None:
            chain.append(current)
            if current == label.name:
                raise InvalidField(f"parent {label.parent!r} of label {label.name!r} would make a cycle: "
                                   f"{' -> '.join(chain)}; pick a parent outside its own subtree",
                                   ("labels", index, "parent"))
            current = names[current].parent
            if len(chain) > len(labels) + 1:  # a cycle above this label; its own check reports it
                break


__all__ = [
    "AGGREGATES",
    "DEFAULT_TEMPLATES",
    "REJECT_ON",
    "HistoryEntry",
    "InvalidField",
    "Label",
    "Taxonomy",
    "TaxonomySettings",
    "TaxonomySummary",
]
