"""One taxonomy as YAML, JSON or CSV text, and back; export -> import -> export gives the same text.

YAML and JSON hold one mapping::

    name: sports
    description: Ball games
    templates: ["a video of {}."]
    settings: {reject_threshold: null, reject_on: probability, multi_label_threshold: 0.25, aggregate: mean}
    labels:
    - name: ball game
    - name: football
      parent: ball game
      description: association football
      enabled: false
      prompts: [people kicking a ball on a pitch]
      synonyms: [soccer]

A label needs only `name`; export leaves out what is at its default (no parent, no description,
enabled, no prompts or synonyms). Taxonomy-level keys may be left out on import too (defaults;
the name then comes from the `name=` argument or the file's stem).

CSV holds one row per label under the header `label,parent,description,enabled,prompts,synonyms`
(only `label` is required, columns in any order). `prompts` and `synonyms` cells are JSON lists
(`["a", "b"]`; an empty cell is an empty list), so any text survives, commas and `|` included;
`enabled` is true/false (empty: true); empty parent/description cells mean none. Taxonomy-level
fields come first, in comment lines `# key: value`: `name` and `description` as plain text (or a
JSON string when the text needs it: line breaks, surrounding spaces, a leading quote),
`templates` and `settings` as JSON.

A malformed file is refused as a whole: the message names the line (CSV, YAML) and the field path
(JSON, YAML, e.g. `labels[3].prompts`) that is wrong.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from openvid.errors import TaxonomyError, render
from openvid.store.models import (
    DEFAULT_TEMPLATES,
    InvalidField,
    Label,
    Taxonomy,
    TaxonomySettings,
    check_description,
    check_labels,
    check_name,
    check_taxonomy_name,
    check_templates,
    check_texts,
    format_path,
    kind_of,
)

FORMATS = ("yaml", "json", "csv")
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".csv": "csv"}
TAXONOMY_KEYS = ("name", "description", "templates", "settings", "labels")
LABEL_KEYS = ("name", "parent", "description", "enabled", "prompts", "synonyms")
CSV_COLUMNS = ("label", "parent", "description", "enabled", "prompts", "synonyms")

Locate = Callable[[Sequence[Any]], str]


def format_for(path: Path | str | None, fmt: str | None = None) -> str:
    """The format to use: `fmt` when given, else the file's suffix."""
    if fmt is not None:
        if fmt.lower() not in FORMATS:
            raise TaxonomyError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
        return fmt.lower()
    suffix = Path(path).suffix.lower() if path is not None else ""
    if suffix not in SUFFIXES:
        raise TaxonomyError(f"cannot tell the format of {str(path)!r} from its suffix; give the file one of the "
                            f"suffixes {', '.join(SUFFIXES)}, or say which format it is "
                            f"({', '.join(FORMATS)})")
    return SUFFIXES[suffix]


def read_file(path: Path) -> str:
    """The text of a taxonomy file, or a TaxonomyError that says why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaxonomyError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot be read ({exc.strerror})") from None


# ---- Taxonomy <-> plain mapping -----------------------------------------------------------------


def label_mapping(label: Label, compact: bool = True) -> dict[str, Any]:
    full = {"name": label.name, "parent": label.parent, "description": label.description,
            "enabled": label.enabled, "prompts": list(label.prompts), "synonyms": list(label.synonyms)}
    if not compact:
        return full
    defaults = {"parent": None, "description": None, "enabled": True, "prompts": [], "synonyms": []}
    return {key: value for key, value in full.items() if key == "name" or value != defaults[key]}


def to_mapping(taxonomy: Taxonomy, compact: bool = True) -> dict[str, Any]:
    """The plain-data form that YAML/JSON export write and the history snapshots keep."""
    return {
        "name": taxonomy.name,
        "description": taxonomy.description,
        "templates": list(taxonomy.templates),
        "settings": taxonomy.settings.to_mapping(),
        "labels": [label_mapping(label, compact) for label in taxonomy.labels],
    }


def from_snapshot(data: dict[str, Any]) -> Taxonomy:
    """A stored snapshot back as a Taxonomy (trusted: it was checked when it was written)."""
    return Taxonomy(
        name=data["name"], description=data["description"], templates=list(data["templates"]),
        settings=TaxonomySettings(**data["settings"]),
        labels=[Label(**{**label, "prompts": list(label.get("prompts", [])),
                         "synonyms": list(label.get("synonyms", []))}) for label in data["labels"]],
    )


def from_mapping(data: Any) -> Taxonomy:
    """A checked Taxonomy (version 0, no times) from plain data; `InvalidField` names the bad field.

    A missing name gives name "" (the caller names it).
    """
    if not isinstance(data, dict):
        raise InvalidField(f"expected a mapping with the keys {', '.join(TAXONOMY_KEYS)}; got {kind_of(data)}")
    _no_unknown_keys(data, TAXONOMY_KEYS, "field", ())
    name = _at(("name",), lambda: "" if data.get("name") is None else check_taxonomy_name(data["name"]))
    description = _at(("description",), lambda: check_description(data.get("description")) or "")
    templates = _at(("templates",), lambda: check_templates(data.get("templates", list(DEFAULT_TEMPLATES))))
    settings = _at(("settings",), lambda: TaxonomySettings.from_mapping(data.get("settings") or {}))
    items = data.get("labels") or []
    if not isinstance(items, list):
        raise InvalidField(f"labels must be a list of mappings; got {kind_of(items)}", ("labels",))
    labels = [_at(("labels", index), lambda item=item: _label_from_mapping(item)) for index, item in enumerate(items)]
    check_labels(labels)
    return Taxonomy(name=name, description=description, templates=templates, settings=settings, labels=labels)


def _label_from_mapping(item: Any) -> Label:
    if not isinstance(item, dict):
        raise InvalidField(f"a label must be a mapping with at least a name; got {kind_of(item)}")
    _no_unknown_keys(item, LABEL_KEYS, "label field", ())
    if "name" not in item:
        raise InvalidField("this label has no name", ("name",))
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidField(f"enabled must be true or false; got {enabled!r}", ("enabled",))
    parent = item.get("parent")
    return Label(
        name=_at(("name",), lambda: check_name(item["name"], "label name")),
        parent=None if parent is None else _at(("parent",), lambda: check_name(parent, "parent name")),
        description=_at(("description",), lambda: check_description(item.get("description"))),
        enabled=enabled,
        prompts=_at(("prompts",), lambda: check_texts(item.get("prompts") or [], "prompt")),
        synonyms=_at(("synonyms",), lambda: check_texts(item.get("synonyms") or [], "synonym")),
    )


def _at(prefix: tuple, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except InvalidField as exc:
        raise exc.under(*prefix) from None


def _no_unknown_keys(data: dict, valid: Sequence[str], what: str, path: tuple) -> None:
    for key in data:
        if key not in valid:
            raise InvalidField(f"unknown {what} {key!r}; valid: {', '.join(valid)}", (*path, key))


# ---- text formats -------------------------------------------------------------------------------


def dumps(taxonomy: Taxonomy, fmt: str) -> str:
    fmt = format_for(None, fmt)
    if fmt == "json":
        return json.dumps(to_mapping(taxonomy), indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(to_mapping(taxonomy), sort_keys=False, allow_unicode=True, width=100)
    return _dump_csv(taxonomy)


def loads(text: str, fmt: str, source: str = "<text>") -> Taxonomy:
    """Parse and check; any problem raises TaxonomyError naming `source` and the line or field."""
    fmt = format_for(None, fmt)
    text = text.removeprefix("\ufeff")
    if fmt == "json":
        data, locate = _parse_json(text, source)
    elif fmt == "yaml":
        data, locate = _parse_yaml(text, source)
    else:
        data, locate = _parse_csv(text, source)
    try:
        return from_mapping(data)
    except InvalidField as exc:  # a file names fields, not options: the Python spelling reads as the field
        raise TaxonomyError(f"{source}: {locate(exc.path)}: {render(exc.reason, 'api')}") from None


def _parse_json(text: str, source: str) -> tuple[Any, Locate]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
        keys = [key for key, _ in pairs]
        for key in keys:
            if keys.count(key) > 1:
                raise TaxonomyError(f"{source}: the key {key!r} appears twice in one object; keep one")
        return dict(pairs)

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise TaxonomyError(f"{source}: line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})") from None
    return data, lambda path: format_path(path) or "the top level"


def _parse_yaml(text: str, source: str) -> tuple[Any, Locate]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_yaml_keys(root, source)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        raise TaxonomyError(f"{source}: {where}not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{source}: not valid YAML ({exc})") from None

    def locate(path: Sequence[Any]) -> str:
        node, line = root, (root.start_mark.line if root is not None else 0)
        for part in path:
            step = _yaml_child(node, part)
            if step is None:
                break
            node, line = step
        return f"line {line + 1}, {format_path(path)}" if path else f"line {line + 1}"

    return data, locate


def _yaml_child(node: Any, part: Any) -> tuple[Any, int] | None:
    """The child node at `part` and the line that names it (a mapping key's line, a list item's)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == part:
                return value, key.start_mark.line
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part], node.value[part].start_mark.line
    return None


def _check_yaml_keys(node: Any, source: str) -> None:
    """PyYAML keeps the last of two equal keys silently; refuse them instead."""
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise TaxonomyError(f"{source}: line {key.start_mark.line + 1}: the key {key.value!r} "
                                        "appears twice in one mapping; keep one")
                seen.add(key.value)
            _check_yaml_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_yaml_keys(item, source)


# ---- CSV ----------------------------------------------------------------------------------------


def _header_value(key: str, value: Any) -> str:
    if key in ("templates", "settings"):
        return json.dumps(value, ensure_ascii=False)
    plain = value == value.strip() and not value.startswith('"') and value.isprintable()
    return value if plain else json.dumps(value, ensure_ascii=False)


def _dump_csv(taxonomy: Taxonomy) -> str:
    buffer = io.StringIO()
    header = {"name": taxonomy.name, "description": taxonomy.description,
              "templates": list(taxonomy.templates), "settings": taxonomy.settings.to_mapping()}
    for key, value in header.items():
        buffer.write(f"# {key}: {_header_value(key, value)}".rstrip() + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for label in taxonomy.labels:
        writer.writerow([
            label.name, label.parent or "", label.description or "", "true" if label.enabled else "false",
            json.dumps(label.prompts, ensure_ascii=False) if label.prompts else "",
            json.dumps(label.synonyms, ensure_ascii=False) if label.synonyms else "",
        ])
    return buffer.getvalue()


def _parse_csv(text: str, source: str) -> tuple[dict, Locate]:
    lines = text.splitlines(keepends=True)
    data: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    start = 0
    while start < len(lines) and (lines[start].startswith("#") or not lines[start].strip()):
        line = lines[start].strip()
        start += 1
        if line in ("", "#"):
            continue
        key, sep, value = line[1:].partition(":")
        key, value = key.strip(), value.strip()
        if not sep or key not in TAXONOMY_KEYS[:4]:
            raise TaxonomyError(f"{source}: line {start}: a comment line before the header must be "
                                f"`# key: value` with key one of {', '.join(TAXONOMY_KEYS[:4])}")
        if key in data:
            raise TaxonomyError(f"{source}: line {start}: {key} is given twice; keep one")
        if key in ("templates", "settings") or value.startswith('"'):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise TaxonomyError(f"{source}: line {start}: {key} is not valid JSON ({exc.msg})") from None
        data[key], key_lines[key] = value, start
    reader = csv.reader(lines[start:], strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise TaxonomyError(f"{source}: line {start + 1}: the header row is missing; the first line after "
                                f"the comments names the columns: {','.join(CSV_COLUMNS)}")
        header = [column.strip() for column in header]
        for column in header:
            if column not in CSV_COLUMNS or header.count(column) > 1:
                problem = "is given twice" if column in CSV_COLUMNS else "is not a known column"
                raise TaxonomyError(f"{source}: line {start + 1}: column {column!r} {problem}; "
                                    f"valid columns: {','.join(CSV_COLUMNS)}")
        if "label" not in header:
            raise TaxonomyError(f"{source}: line {start + 1}: the header has no 'label' column; "
                                f"valid columns: {','.join(CSV_COLUMNS)}")
        labels, row_lines = [], []
        line_before = start + 1
        for row in reader:
            row_line, line_before = line_before + 1, start + reader.line_num
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise TaxonomyError(f"{source}: line {row_line}: {len(row)} cells under {len(header)} columns; "
                                    "quote cells that hold commas")
            labels.append(_csv_label(dict(zip(header, row)), f"{source}: line {row_line}"))
            row_lines.append(row_line)
    except csv.Error as exc:
        raise TaxonomyError(f"{source}: line {start + reader.line_num}: not valid CSV ({exc})") from None
    data["labels"] = labels

    def locate(path: Sequence[Any]) -> str:
        if len(path) >= 2 and path[0] == "labels":
            column = {"name": "label"}.get(path[2], path[2]) if len(path) > 2 else "label"
            return f"line {row_lines[path[1]]}, column {column}"
        if path and path[0] in key_lines:
            return f"line {key_lines[path[0]]}, {format_path(path)}"
        return format_path(path) or "the header"

    return data, locate


def _csv_label(cells: dict[str, str], where: str) -> dict[str, Any]:
    label: dict[str, Any] = {"name": cells["label"]}
    for key in ("parent", "description"):
        if cells.get(key, "").strip():
            label[key] = cells[key]
    enabled = cells.get("enabled", "").strip().lower()
    if enabled:
        if enabled not in ("true", "false"):
            raise TaxonomyError(f"{where}, column enabled: {cells['enabled']!r} is not true or false")
        label["enabled"] = enabled == "true"
    for key in ("prompts", "synonyms"):
        cell = cells.get(key, "").strip()
        if cell:
            try:
                label[key] = json.loads(cell)
            except json.JSONDecodeError:
                raise TaxonomyError(f"{where}, column {key}: {cell!r} is not a JSON list; write it as "
                                    '["first", "second"]') from None
            if not isinstance(label[key], list):
                raise TaxonomyError(f"{where}, column {key}: {cell!r} is not a JSON list; write it as "
                                    '["first", "second"]')
    return label


__all__ = ["FORMATS", "dumps", "format_for", "from_mapping", "loads", "to_mapping"]
