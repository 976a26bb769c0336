"""Labelled evaluation sets: a folder of label folders, or a CSV; and k-shot support/query splits.

Two layouts, read before anything is embedded so mistakes surface at once:

- a folder with one sub-folder per label, video files (by suffix, at any depth) inside:
  `data/pole vault/clip1.mp4`. A label folder without videos is a warning, not an error; files
  directly in the top folder belong to no label and are left out (a warning).
- a CSV with the header `path,label` and optionally `start` and `end` (seconds, may be empty).
  Relative paths resolve against the CSV's folder. Every bad row is named by its line number, and
  all are reported together.

Label names are matched to `known_labels` (the taxonomy's) exactly, else through `known_labels`
aliases when it is a mapping (e.g. a built-in's official names: "ApplyEyeMakeup" -> "apply eye
makeup"), else case-blind with "_" and "-" read as spaces when that picks out one label. A name
that matches nothing is an error listing the closest labels, raised before anything runs.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from openvid.archive.ingest import VIDEO_SUFFIXES
from openvid.errors import OpenvidError, TaxonomyError

CSV_COLUMNS = ("path", "label", "start", "end")
_MAX_LISTED = 10


@dataclass(frozen=True)
class Item:
    """One labelled clip: a video file, or the [start_s, end_s) part of it (None: from the start / to the end)."""

    path: Path
    label: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class Dataset:
    """The items, in a fixed order (folder: label, then path; CSV: file order), and what was odd."""

    items: list[Item]
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def labels(self) -> list[str]:
        """The labels that have items, in first-seen order."""
        return list(dict.fromkeys(item.label for item in self.items))

    def by_label(self) -> dict[str, list[Item]]:
        grouped: dict[str, list[Item]] = {}
        for item in self.items:
            grouped.setdefault(item.label, []).append(item)
        return grouped


@dataclass
class Split:
    """k-shot support (k items of each label kept), query (the rest of those labels), and the labels
    left out because they had too few items."""

    k: int
    support: list[Item]
    query: list[Item]
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_dataset(path: str | Path, known_labels: Iterable[str] | Mapping[str, str] | None = None) -> Dataset:
    """Read a folder of label folders or a labelled CSV (module docstring); raise before anything runs.

    known_labels: the taxonomy's label names, or a mapping {accepted spelling: label name}. Given,
    every label must resolve to one of them (TaxonomyError otherwise, with close matches).
    """
    root = Path(path).expanduser()
    if root.is_dir():
        dataset = _read_folder(root)
    elif root.is_file():
        if root.suffix.lower() != ".csv":
            raise OpenvidError(f"{root}: an evaluation set is a folder with one sub-folder per label, or a .csv file "
                               "with the columns path,label[,start,end]")
        dataset = _read_csv(root)
    else:
        raise OpenvidError(f"{root}: no such file or folder; give a folder of label folders or a .csv file")
    if known_labels is not None:
        dataset = _resolve_labels(dataset, known_labels)
    if not dataset.items:
        raise OpenvidError(f"{root}: no labelled videos found" + (f" ({'; '.join(dataset.warnings)})"
                                                                   if dataset.warnings else ""))
    return dataset


def kshot_split(dataset: Dataset, k: int, seed: int = 0, max_k: int | None = None) -> Split:
    """Per label, k items as support and the rest as query; deterministic in (items, k, seed).

    Each label's items are put in a seeded order that depends only on the seed, the label and the
    items themselves (not on the other labels or on k), so the support sets are nested: the
    2-shot support is in the 4-shot one. With `max_k`, the query is the same for every k <= max_k
    (the items after the first max_k), so a k-shot curve compares like with like. A label with no
    more than k items (max_k, if given) has nothing left to ask: it is skipped, with a warning.
    """
    if not isinstance(k, int) or k < 0:
        raise OpenvidError(f"shots must be a whole number, 0 or more; got {k!r}")
    held = k if max_k is None else max_k
    if held < k:
        raise OpenvidError(f"max_k ({max_k}) must be at least k ({k})")
    support: list[Item] = []
    query: list[Item] = []
    skipped: list[str] = []
    warnings: list[str] = []
    for label, items in dataset.by_label().items():
        if len(items) <= held:
            skipped.append(label)
            warnings.append(f"label {label!r} has {len(items)} item(s), needs more than {held} ({k} to learn from and "
                            f"at least one to test); left out of the {k}-shot point")
            continue
        ordered = _seeded_order(items, label, seed)
        support.extend(ordered[:k])
        query.extend(ordered[held:])
    return Split(k=k, support=support, query=query, skipped=skipped, warnings=warnings)


# ---- reading ------------------------------------------------------------------------------------


def _read_folder(root: Path) -> Dataset:
    items: list[Item] = []
    warnings: list[str] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        videos = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                        and not any(part.startswith(".") for part in p.relative_to(folder).parts))
        if not videos:
            warnings.append(f"label folder {folder.name!r} has no video files ({', '.join(sorted(VIDEO_SUFFIXES))}); "
                            "skipped")
        items.extend(Item(video, folder.name) for video in videos)
    loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    if loose:
        warnings.append(f"{len(loose)} video file(s) directly in {root} belong to no label folder; left out")
    if not folders:
        raise OpenvidError(f"{root}: no label folders; put each label's videos in a sub-folder named after the label, "
                           "or give a .csv file with the columns path,label[,start,end]")
    return Dataset(items, warnings, str(root))


def _read_csv(path: Path) -> Dataset:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OpenvidError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise OpenvidError(f"{path}: cannot be read ({exc.strerror})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise OpenvidError(f"{path}: empty; the first line must be the header path,label[,start,end]")
    columns = [name.strip().lower() for name in header]
    for required in ("path", "label"):
        if required not in columns:
            raise OpenvidError(f"{path}: line 1: the header {','.join(header)!r} has no {required!r} column; the "
                               "first line must be path,label[,start,end]")
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise OpenvidError(f"{path}: line 1: the column(s) {', '.join(duplicated)} appear more than once")
    warnings: list[str] = []
    extra = [c for c in columns if c not in CSV_COLUMNS]
    if extra:
        warnings.append(f"{path.name}: column(s) {', '.join(map(repr, extra))} ignored (read: {', '.join(CSV_COLUMNS)})")
    where = {name: columns.index(name) for name in CSV_COLUMNS if name in columns}
    items: list[Item] = []
    errors: list[str] = []
    seen: dict[tuple, int] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are allowed
        try:
            item = _csv_item(row, where, len(columns), path.parent)
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
            continue
        key = (item.path, item.label, item.start_s, item.end_s)
        if key in seen:
            warnings.append(f"{path.name}: line {line} repeats line {seen[key]}; counted once")
            continue
        seen[key] = line
        items.append(item)
    if errors:
        shown = "\n  ".join(errors[:_MAX_LISTED])
        more = f"\n  ... and {len(errors) - _MAX_LISTED} more" if len(errors) > _MAX_LISTED else ""
        raise OpenvidError(f"{path}: {len(errors)} bad row(s); fix them and run again:\n  {shown}{more}")
    return Dataset(items, warnings, str(path))


def _csv_item(row: Sequence[str], where: dict[str, int], width: int, base: Path) -> Item:
    if len(row) > width:
        raise ValueError(f"{len(row)} fields, the header has {width} (quote a path or label with a comma in it)")
    cells = {name: (row[index].strip() if index < len(row) else "") for name, index in where.items()}
    if not cells["path"]:
        raise ValueError("no path")
    if not cells["label"]:
        raise ValueError("no label")
    file = Path(cells["path"]).expanduser()
    file = file if file.is_absolute() else base / file
    start, end = _seconds(cells.get("start", ""), "start"), _seconds(cells.get("end", ""), "end")
    if start is not None and end is not None and not start < end:
        raise ValueError(f"start {start:g} s is not before end {end:g} s")
    if not file.is_file():
        raise ValueError(f"{file}: no such file")
    return Item(file, cells["label"], start, end)


def _seconds(cell: str, what: str) -> float | None:
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} {cell!r} is not a number of seconds, 0 or more")
    return value


# ---- labels -------------------------------------------------------------------------------------


def _fold(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.casefold()).strip()


def _resolve_labels(dataset: Dataset, known: Iterable[str] | Mapping[str, str]) -> Dataset:
    aliases = dict(known) if isinstance(known, Mapping) else {name: name for name in known}
    names = list(dict.fromkeys(aliases.values()))
    aliases.update({name: name for name in names})
    folded: dict[str, set[str]] = {}
    for alias, name in aliases.items():
        folded.setdefault(_fold(alias), set()).add(name)
    resolved: dict[str, str] = {}
    unknown: list[str] = []
    for label in dataset.labels:
        if label in aliases:
            resolved[label] = aliases[label]
        elif len(folded.get(_fold(label), ())) == 1:
            resolved[label] = next(iter(folded[_fold(label)]))
        else:
            unknown.append(label)
    if unknown:
        lines = []
        for label in unknown[:_MAX_LISTED]:
            close = difflib.get_close_matches(_fold(label), list(folded), n=3, cutoff=0.6)
            suggestions = list(dict.fromkeys(name for c in close for name in sorted(folded[c])))
            hint = f" (did you mean {' or '.join(map(repr, suggestions))}?)" if suggestions else ""
            lines.append(f"{label!r}{hint}")
        more = f" and {len(unknown) - _MAX_LISTED} more" if len(unknown) > _MAX_LISTED else ""
        raise TaxonomyError(f"{dataset.source}: {len(unknown)} label(s) the taxonomy does not have: "
                            f"{', '.join(lines)}{more}. Rename them to the taxonomy's labels, or add them to it "
                            "(`openvid taxonomy add-label`)")
    items = [Item(i.path, resolved[i.label], i.start_s, i.end_s) for i in dataset.items]
    return Dataset(items, list(dataset.warnings), dataset.source)


def _seeded_order(items: list[Item], label: str, seed: int) -> list[Item]:
    ordered = sorted(items, key=lambda i: (str(i.path), -1.0 if i.start_s is None else i.start_s,
                                           -1.0 if i.end_s is None else i.end_s))
    digest = hashlib.sha256(f"{seed}\x00{label}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return [ordered[i] for i in rng.permutation(len(ordered))]


__all__ = ["CSV_COLUMNS", "Dataset", "Item", "Split", "kshot_split", "read_dataset"]
