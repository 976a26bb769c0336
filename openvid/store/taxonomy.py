"""`TaxonomyStore`: prompt sets in SQLite, every edit versioned and kept in history.

Every write runs in one `write_transaction` (BEGIN IMMEDIATE): it reads the taxonomy, applies the
edit in memory (`edits.py`), checks the whole result, then writes the changed label rows, bumps
the version by one and records a history entry (who, when, what, and the full snapshot, so
`get(name, version=N)` can show any older version). Any error rolls the whole write back.
An edit that changes nothing (e.g. disabling a disabled label) writes nothing and keeps the version.

Built-in label lists (`builtin_names()`) are installed from the package's data files the first
time `get` or `copy` names them; they stay as shipped: copy one to edit it. Deleting an installed
built-in resets it (the next `get` installs it again).
"""

from __future__ import annotations

import dataclasses
import getpass
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from openvid.errors import TaxonomyError, opt
from openvid.store import builtin_sets, edits
from openvid.store import io as formats
from openvid.store.db import open_database, read_transaction, utcnow, write_transaction
from openvid.store.models import (
    DEFAULT_TEMPLATES,
    HistoryEntry,
    Label,
    Taxonomy,
    TaxonomySettings,
    TaxonomySummary,
    check_description,
    check_labels,
    check_name,
    check_templates,
    did_you_mean,
)
from openvid.store.schema import labels as labels_t
from openvid.store.schema import taxonomies as taxonomies_t
from openvid.store.schema import taxonomy_history as history_t


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (some containers)
        return "unknown"


class TaxonomyStore:
    """Prompt sets in `<home>/openvid.db` (or in the database of a given Engine)."""

    def __init__(self, home: Path | str | Engine) -> None:
        if isinstance(home, Engine):
            self.engine = home
        else:
            self.engine = open_database(Path(home))

    # ---- reading --------------------------------------------------------------------------------

    def builtin_names(self) -> list[str]:
        """The label lists that ship with openvid: kinetics400, kinetics600, ucf101, hmdb51."""
        return builtin_sets.builtin_names()

    def list(self) -> list[TaxonomySummary]:
        """Every taxonomy in the database, by name (built-ins only once installed)."""
        count = select(func.count()).where(labels_t.c.taxonomy_id == taxonomies_t.c.id).scalar_subquery()
        query = select(taxonomies_t, count.label("label_count")).order_by(taxonomies_t.c.name)
        with read_transaction(self.engine) as conn:
            rows = conn.execute(query).all()
        return [TaxonomySummary(r.name, r.description, r.version, r.label_count, r.updated_at) for r in rows]

    def get(self, name: str, version: int | None = None) -> Taxonomy:
        """The taxonomy now, or as it was at `version`. A built-in name is installed on first use."""
        with read_transaction(self.engine) as conn:
            row = self._row(conn, name)
            if row is None and name not in builtin_sets.BUILTINS:
                self._resolve(conn, name, install=False)  # raises, naming close matches
            if row is not None:
                return self._load(conn, row)[0] if version is None else self._at_version(conn, row, version)
        with write_transaction(self.engine) as conn:
            row = self._resolve(conn, name, install=True)
            return self._load(conn, row)[0] if version is None else self._at_version(conn, row, version)

    def history(self, taxonomy: str) -> list[HistoryEntry]:
        """Every version's entry, oldest first."""
        with read_transaction(self.engine) as conn:
            row = self._resolve(conn, taxonomy, install=False)
            rows = conn.execute(select(history_t).where(history_t.c.taxonomy_id == row.id)
                                .order_by(history_t.c.version)).all()
        return [HistoryEntry(r.version, r.at, r.who, r.action, r.detail) for r in rows]

    # ---- whole taxonomies -----------------------------------------------------------------------

    def create(self, name: str, description: str = "", templates: Iterable[str] | None = None) -> Taxonomy:
        """A new, empty taxonomy at version 1 (default templates: ["a video of {}."])."""
        name = check_name(name, "taxonomy name")
        templates = check_templates(list(DEFAULT_TEMPLATES) if templates is None else
                                    (list(templates) if not isinstance(templates, str) else templates))
        taxonomy = Taxonomy(name=name, description=check_description(description) or "", templates=templates)
        with write_transaction(self.engine) as conn:
            self._check_new_name(conn, name)
            detail = {"templates": templates, **({"description": taxonomy.description} if taxonomy.description else {})}
            return self._insert(conn, taxonomy, "create", detail)

    def copy(self, source: str, new_name: str, version: int | None = None) -> Taxonomy:
        """A new taxonomy (version 1) with the content of `source` (at `version`, default now).

        What belongs to the source's labels comes along, for the labels the copy has (by name):
        few-shot examples under every encoder, fitted probes, and head-label overrides.
        """
        new_name = check_name(new_name, "taxonomy name")
        with write_transaction(self.engine) as conn:
            row = self._resolve(conn, source, install=True)
            original = self._load(conn, row)[0] if version is None else self._at_version(conn, row, version)
            self._check_new_name(conn, new_name)
            detail = {"source": original.name, "source_version": original.version}
            copied = self._insert(conn, dataclasses.replace(original, name=new_name), "copy", detail)
            self._copy_label_data(conn, row.id, self._row(conn, new_name).id)
            return copied

    @staticmethod
    def _copy_label_data(conn: Connection, source_id: int, target_id: int) -> None:
        """Examples, probes and head-label overrides of `source_id`, re-pointed at `target_id`'s labels."""
        for statement in (
            """INSERT INTO fewshot_examples (taxonomy_id, label_id, encoder, source_path, start_s, end_s, vector, dim,
                                             created_at)
               SELECT :target, t.id, e.encoder, e.source_path, e.start_s, e.end_s, e.vector, e.dim, e.created_at
               FROM fewshot_examples e JOIN labels s ON s.id = e.label_id
               JOIN labels t ON t.taxonomy_id = :target AND t.name = s.name
               WHERE e.taxonomy_id = :source ORDER BY e.id""",
            """INSERT INTO fewshot_probes (taxonomy_id, encoder, labels, taxonomy_version, dim, weight, bias, meta,
                                           created_at)
               SELECT :target, encoder, labels, 1, dim, weight, bias, meta, created_at
               FROM fewshot_probes WHERE taxonomy_id = :source""",
            """INSERT INTO head_label_maps (taxonomy_id, head, head_label, label_id, updated_at)
               SELECT :target, m.head, m.head_label, t.id, m.updated_at
               FROM head_label_maps m LEFT JOIN labels s ON s.id = m.label_id
               LEFT JOIN labels t ON t.taxonomy_id = :target AND t.name = s.name
               WHERE m.taxonomy_id = :source AND (m.label_id IS NULL OR t.id IS NOT NULL)""",
        ):
            conn.exec_driver_sql(statement.replace(":target", str(int(target_id))).replace(":source", str(int(source_id))))

    def delete(self, name: str) -> None:
        """Delete a taxonomy, its labels and its history."""
        with write_transaction(self.engine) as conn:
            row = self._resolve(conn, name, install=False)
            conn.execute(delete(taxonomies_t).where(taxonomies_t.c.id == row.id))

    # ---- edits ----------------------------------------------------------------------------------

    def add_label(self, taxonomy: str, name: str, *, prompts: Iterable[str] = (), synonyms: Iterable[str] = (),
                  description: str | None = None, parent: str | None = None, enabled: bool = True) -> Taxonomy:
        return self._edit(taxonomy, "add_label", lambda t: edits.add_label(
            t, name, prompts=prompts, synonyms=synonyms, description=description, parent=parent, enabled=enabled))

    def rename_label(self, taxonomy: str, old: str, new: str) -> Taxonomy:
        """Rename a label; its children follow."""
        return self._edit(taxonomy, "rename_label", lambda t: edits.rename_label(t, old, new))

    def remove_label(self, taxonomy: str, name: str, *, cascade: bool = False) -> Taxonomy:
        """Remove a label; one with children is refused unless `cascade` (which removes them too)."""
        return self._edit(taxonomy, "remove_label", lambda t: edits.remove_label(t, name, cascade=cascade))

    def set_label(self, taxonomy: str, name: str, *, enabled: bool | None = None, description: str | None = None,
                  parent: Any = ...) -> Taxonomy:
        """Change a label: None (parent: `...`) leaves a field as it is; description "" clears it;
        parent None makes it a root."""
        return self._edit(taxonomy, "set_label", lambda t: edits.set_label(
            t, name, enabled=enabled, description=description, parent=parent))

    def add_prompt(self, taxonomy: str, label: str, prompt: str) -> Taxonomy:
        return self._edit(taxonomy, "add_prompt", lambda t: edits.add_text(t, label, prompt, "prompt"))

    def remove_prompt(self, taxonomy: str, label: str, prompt: str) -> Taxonomy:
        return self._edit(taxonomy, "remove_prompt", lambda t: edits.remove_text(t, label, prompt, "prompt"))

    def add_synonym(self, taxonomy: str, label: str, synonym: str) -> Taxonomy:
        return self._edit(taxonomy, "add_synonym", lambda t: edits.add_text(t, label, synonym, "synonym"))

    def remove_synonym(self, taxonomy: str, label: str, synonym: str) -> Taxonomy:
        return self._edit(taxonomy, "remove_synonym", lambda t: edits.remove_text(t, label, synonym, "synonym"))

    def set_templates(self, taxonomy: str, templates: Iterable[str]) -> Taxonomy:
        """Replace the taxonomy-wide templates (each with exactly one {}; an empty list: names alone)."""
        return self._edit(taxonomy, "set_templates", lambda t: edits.set_templates(t, templates))

    def update_settings(self, taxonomy: str, **changes: Any) -> Taxonomy:
        """Change some of reject_threshold, reject_on, multi_label_threshold, aggregate."""
        return self._edit(taxonomy, "update_settings", lambda t: edits.update_settings(t, changes))

    # ---- import / export ------------------------------------------------------------------------

    def import_text(self, text: str, fmt: str, name: str | None = None, replace: bool = False,
                    source: str = "<text>") -> Taxonomy:
        """Import a taxonomy from YAML/JSON/CSV text; see `import_file`."""
        return self._import(text, fmt, name, replace, source, fallback_name=None)

    def import_file(self, path: Path | str, name: str | None = None, fmt: str | None = None,
                    replace: bool = False) -> Taxonomy:
        """Import a taxonomy file (.yaml/.yml, .json, .csv, or `fmt`); refused whole if anything is wrong.

        The name is `name`, else the file's own, else the file's stem. An existing taxonomy of that
        name is refused unless `replace`, which makes the file's content its next version.
        """
        path = Path(path)
        fmt = formats.format_for(path, fmt)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TaxonomyError(f"{path}: no such file") from None
        except UnicodeDecodeError as exc:
            raise TaxonomyError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        except OSError as exc:
            raise TaxonomyError(f"{path}: cannot be read ({exc.strerror})") from None
        return self._import(text, fmt, name, replace, str(path), fallback_name=path.stem)

    def _import(self, text: str, fmt: str, name: str | None, replace: bool, source: str,
                fallback_name: str | None) -> Taxonomy:
        draft = formats.loads(text, fmt, source)
        target = name if name is not None else (draft.name or fallback_name)
        if target is None:
            raise TaxonomyError(f"{source}: the text names no taxonomy; add a name field or pass "
                                f"{opt('name', 'NAME')}")
        target = check_name(target, "taxonomy name")
        draft = dataclasses.replace(draft, name=target)
        detail = {"source": source, "format": formats.format_for(None, fmt), "labels": len(draft.labels)}
        with write_transaction(self.engine) as conn:
            row = self._row(conn, target)
            if row is None or not replace:
                self._check_new_name(conn, target, hint=f" or replace it ({opt('replace', True)})")
                return self._insert(conn, draft, "import", detail)
            self._check_editable(target)
            current, ids = self._load(conn, row)
            return self._write(conn, row, current, ids, edits.Change(draft, {**detail, "replaced": True}), "import")

    def export(self, name: str, fmt: str = "yaml", version: int | None = None) -> str:
        """The taxonomy as YAML, JSON or CSV text; importing it gives back the same taxonomy."""
        fmt = formats.format_for(None, fmt)
        return formats.dumps(self.get(name, version=version), fmt)

    def export_file(self, name: str, path: Path | str, fmt: str | None = None, version: int | None = None) -> Path:
        """Write the export to `path` (format from its suffix unless `fmt`)."""
        path = Path(path)
        text = self.export(name, formats.format_for(path, fmt), version=version)
        path.write_text(text, encoding="utf-8", newline="")
        return path

    # ---- internals ------------------------------------------------------------------------------

    def _row(self, conn: Connection, name: str) -> Any:
        return conn.execute(select(taxonomies_t).where(taxonomies_t.c.name == name)).first()

    def _resolve(self, conn: Connection, name: str, *, install: bool) -> Any:
        """The taxonomy's row; a built-in is installed when `install` (conn must then be writing)."""
        row = self._row(conn, name)
        if row is not None:
            return row
        if install and name in builtin_sets.BUILTINS:
            self._insert(conn, builtin_sets.builtin_taxonomy(name), "install", {"builtin": name})
            return self._row(conn, name)
        existing = list(conn.execute(select(taxonomies_t.c.name)).scalars())
        hint = did_you_mean(name, [*existing, *builtin_sets.BUILTINS])
        if name in builtin_sets.BUILTINS:
            hint = " it is built in and not installed, so there is nothing to delete or show history of"
        elif not hint:
            hint = (f" existing: {', '.join(sorted(existing))};" if existing else " there are none yet;") + \
                f" create it with `openvid taxonomy create {name}`"
        raise TaxonomyError(f"unknown taxonomy {name!r};{hint}")

    def _check_new_name(self, conn: Connection, name: str, hint: str = "") -> None:
        if name in builtin_sets.BUILTINS:
            raise TaxonomyError(f"{name!r} is the name of a built-in label list; choose another name")
        row = self._row(conn, name)
        if row is not None:
            raise TaxonomyError(f"taxonomy {name!r} already exists (version {row.version}); choose another name, "
                                f"delete it first{hint}")

    def _check_editable(self, name: str) -> None:
        if name in builtin_sets.BUILTINS:
            raise TaxonomyError(f"{name!r} is a built-in label list and stays as shipped; copy it to edit it: "
                                f"`openvid taxonomy copy {name} my-{name}`")

    def _load(self, conn: Connection, row: Any) -> tuple[Taxonomy, dict[str, int]]:
        rows = conn.execute(select(labels_t).where(labels_t.c.taxonomy_id == row.id)
                            .order_by(labels_t.c.position, labels_t.c.id)).all()
        names = {r.id: r.name for r in rows}
        labels = [Label(name=r.name, description=r.description, parent=names.get(r.parent_id),
                        prompts=list(r.prompts), synonyms=list(r.synonyms), enabled=bool(r.enabled)) for r in rows]
        taxonomy = Taxonomy(
            name=row.name, description=row.description, templates=list(row.templates),
            settings=TaxonomySettings(**row.settings), version=row.version, labels=labels,
            created_at=row.created_at, updated_at=row.updated_at,
        )
        return taxonomy, {r.name: r.id for r in rows}

    def _at_version(self, conn: Connection, row: Any, version: int) -> Taxonomy:
        entry = conn.execute(select(history_t.c.snapshot, history_t.c.at).where(
            history_t.c.taxonomy_id == row.id, history_t.c.version == version)).first()
        if entry is None:
            raise TaxonomyError(f"taxonomy {row.name!r} has versions 1 to {row.version}; there is no version "
                                f"{version!r} (`openvid taxonomy history {row.name}` lists them)")
        return dataclasses.replace(formats.from_snapshot(entry.snapshot), version=version,
                                   created_at=row.created_at, updated_at=entry.at)

    def _edit(self, name: str, action: str, change: Callable[[Taxonomy], edits.Change]) -> Taxonomy:
        with write_transaction(self.engine) as conn:
            self._check_editable(name)
            row = self._resolve(conn, name, install=False)
            current, ids = self._load(conn, row)
            return self._write(conn, row, current, ids, change(current), action)

    def _insert(self, conn: Connection, taxonomy: Taxonomy, action: str, detail: dict[str, Any]) -> Taxonomy:
        check_labels(taxonomy.labels)
        now = utcnow()
        result = dataclasses.replace(taxonomy, version=1, created_at=now, updated_at=now)
        inserted = conn.execute(insert(taxonomies_t).values(**_taxonomy_values(result), created_at=now))
        taxonomy_id = inserted.inserted_primary_key[0]
        self._sync_labels(conn, taxonomy_id, Taxonomy(name=result.name), {}, result.labels, {})
        self._record(conn, taxonomy_id, result, action, detail)
        return result

    def _write(self, conn: Connection, row: Any, current: Taxonomy, ids: dict[str, int], change: edits.Change,
               action: str) -> Taxonomy:
        new = change.taxonomy
        if new == current:
            return current
        check_labels(new.labels)
        now = utcnow()
        result = dataclasses.replace(new, name=row.name, version=row.version + 1, created_at=row.created_at,
                                     updated_at=now)
        conn.execute(update(taxonomies_t).where(taxonomies_t.c.id == row.id).values(**_taxonomy_values(result)))
        self._sync_labels(conn, row.id, current, ids, result.labels, change.renames)
        self._record(conn, row.id, result, action, change.detail)
        return result

    def _sync_labels(self, conn: Connection, taxonomy_id: int, current: Taxonomy, ids: dict[str, int],
                     new_labels: list[Label], renames: dict[str, str]) -> None:
        """Write only what differs; rows of kept (and renamed) labels keep their ids."""
        ids = dict(ids)
        old: dict[str, tuple[int, Label]] = {}
        for position, label in enumerate(current.labels):
            name = renames.get(label.name, label.name)
            old[name] = (position, label)
        for before, after in renames.items():
            ids[after] = ids.pop(before)
            conn.execute(update(labels_t).where(labels_t.c.id == ids[after]).values(name=after))
        keep = {label.name for label in new_labels}
        gone = [ids.pop(name) for name in list(old) if name not in keep]
        if gone:
            conn.execute(delete(labels_t).where(labels_t.c.id.in_(gone)))
        fresh = []
        for position, label in enumerate(new_labels):
            values = {"description": label.description, "prompts": list(label.prompts),
                      "synonyms": list(label.synonyms), "enabled": label.enabled, "position": position}
            if label.name not in ids:
                fresh.append({"taxonomy_id": taxonomy_id, "name": label.name, "parent_id": None, **values})
                continue
            old_position, before = old[label.name]
            if old_position != position or dataclasses.replace(before, name=label.name, parent=None) != \
                    dataclasses.replace(label, parent=None):
                conn.execute(update(labels_t).where(labels_t.c.id == ids[label.name]).values(**values))
        if fresh:
            conn.execute(insert(labels_t), fresh)
            ids.update((name, id_) for name, id_ in conn.execute(select(labels_t.c.name, labels_t.c.id).where(
                labels_t.c.taxonomy_id == taxonomy_id)))
        old_parent = {name: renames.get(label.parent, label.parent) for name, (_, label) in old.items()}
        for label in new_labels:
            if label.name not in old or old_parent[label.name] != label.parent:
                if label.parent is not None or label.name in old:
                    parent_id = None if label.parent is None else ids[label.parent]
                    conn.execute(update(labels_t).where(labels_t.c.id == ids[label.name]).values(parent_id=parent_id))

    def _record(self, conn: Connection, taxonomy_id: int, taxonomy: Taxonomy, action: str,
                detail: dict[str, Any]) -> None:
        conn.execute(insert(history_t).values(
            taxonomy_id=taxonomy_id, version=taxonomy.version, at=taxonomy.updated_at, who=_who(), action=action,
            detail=detail, snapshot=formats.to_mapping(taxonomy, compact=False)))


def _taxonomy_values(taxonomy: Taxonomy) -> dict[str, Any]:
    return {"name": taxonomy.name, "description": taxonomy.description, "templates": list(taxonomy.templates),
            "settings": taxonomy.settings.to_mapping(), "version": taxonomy.version,
            "updated_at": taxonomy.updated_at}


__all__ = ["TaxonomyStore"]
