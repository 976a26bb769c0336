"""`TaxonomyStore`: prompt sets in SQLite, every edit versioned and kept in history.

Every write runs in one `write_transaction` (BEGIN IMMEDIATE): it reads the taxonomy, applies the
edit in memory (`edits.py`), checks the whole result, then writes the changed label rows, bumps
the version by one and records a history entry (who, when, what, and the full snapshot, so
`get(name, version=N)` can show any older version). Any error rolls the whole write back.
An edit that changes nothing (e.g. disabling a disabled label) writes nothing and keeps the version.
A command that writes in several steps runs them in one `transaction()`, so it is all or nothing.
`revert` makes an old version's content the next version; `diff` compares two versions.

Built-in label lists (`builtin_names()`) are installed from the package's data files the first
time `get` or `copy` names them; they stay as shipped: copy one to edit it. Deleting an installed
built-in resets it (the next `get` installs it again).
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from openvid.errors import NotFound, TaxonomyError, TaxonomyExists, UnknownTaxonomy, UsageError, opt
from openvid.store import builtin_sets, edits, rows, versions
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
    check_taxonomy_name,
    check_templates,
    did_you_mean,
)
from openvid.store.schema import labels as labels_t
from openvid.store.schema import taxonomies as taxonomies_t
from openvid.store.schema import taxonomy_history as history_t

if TYPE_CHECKING:  # pragma: no cover
    from openvid.store.examples import ExampleStore


class TaxonomyStore:
    """Prompt sets in `<home>/openvid.db` (or in the database of a given Engine).

    Each call is its own transaction, unless the store is one that `transaction()` handed out: then
    every call on it (and on its `examples`) runs inside that one transaction, all or nothing.
    """

    def __init__(self, home: Path | str | Engine) -> None:
        if isinstance(home, Engine):
            self.engine = home
        else:
            self.engine = open_database(Path(home))
        self._conn: Connection | None = None  # set on the store `transaction()` yields

    # ---- transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator["TaxonomyStore"]:
        """A store whose calls all run in one write transaction: committed when the block ends, rolled
        back whole if it raises. A command that writes in several steps (a label and its examples,
        tuned settings and the probe fitted with them) uses it, so a failure leaves nothing behind.

            >>> with store.transaction() as tx:                       # doctest: +SKIP
            ...     tx.add_label("sports", "kickflip")
            ...     tx.examples.add("sports", "kickflip", encoder, items)
        """
        with self._writing() as conn:
            bound = TaxonomyStore(self.engine)
            bound._conn = conn
            yield bound

    @property
    def examples(self) -> "ExampleStore":
        """The few-shot examples and probes of this database (inside this store's transaction, if any)."""
        from openvid.store.examples import ExampleStore

        return ExampleStore(self)

    def _reading(self) -> AbstractContextManager[Connection]:
        return nullcontext(self._conn) if self._conn is not None else read_transaction(self.engine)

    def _writing(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._conn if self._conn is not None else self.engine)

    # ---- reading --------------------------------------------------------------------------------

    def builtin_names(self) -> list[str]:
        """The label lists that ship with openvid: kinetics400, kinetics600, ucf101, hmdb51."""
        return builtin_sets.builtin_names()

    def list(self) -> list[TaxonomySummary]:
        """Every taxonomy in the database, by name (built-ins only once installed)."""
        count = select(func.count()).where(labels_t.c.taxonomy_id == taxonomies_t.c.id).scalar_subquery()
        query = select(taxonomies_t, count.label("label_count")).order_by(taxonomies_t.c.name)
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [TaxonomySummary(r.name, r.description, r.version, r.label_count, r.updated_at) for r in rows]

    def get(self, name: str, version: int | None = None, *, install: bool = True) -> Taxonomy:
        """The taxonomy now, or as it was at `version`. A built-in name is installed on first use;
        with `install=False` one not installed yet is read from the package data (version 0) and
        nothing is written, for checks before a write that may still fail."""
        with self._reading() as conn:
            row = self._row(conn, name)
            if row is None and name not in builtin_sets.BUILTINS:
                self._resolve(conn, name, install=False)  # raises, naming close matches
            if row is not None:
                return self._load(conn, row)[0] if version is None else self._at_version(conn, row, version)
        if not install and version is None:
            return builtin_sets.builtin_taxonomy(name)
        with self._writing() as conn:
            row = self._resolve(conn, name, install=True)
            return self._load(conn, row)[0] if version is None else self._at_version(conn, row, version)

    def history(self, taxonomy: str) -> list[HistoryEntry]:
        """Every version's entry, oldest first."""
        with self._reading() as conn:
            row = self._resolve(conn, taxonomy, install=False)
            rows = conn.execute(select(history_t).where(history_t.c.taxonomy_id == row.id)
                                .order_by(history_t.c.version)).all()
        return [HistoryEntry(r.version, r.at, r.who, r.action, r.detail) for r in rows]

    def diff(self, name: str, old: int, new: int | None = None) -> versions.TaxonomyDiff:
        """What changed from version `old` to version `new` (default: now); renames are followed."""
        with self._reading() as conn:
            row = self._resolve(conn, name, install=False)
            new = row.version if new is None else new
            before, after = self._at_version(conn, row, old), self._at_version(conn, row, new)
            renames = self._renames(conn, row, min(old, new), max(old, new))
        if old > new:
            renames = {then: now for now, then in renames.items()}
        return versions.TaxonomyDiff(row.name, old, new, versions.diff(before, after, renames))

    def revert(self, name: str, version: int) -> Taxonomy:
        """Make the content of `version` the next version (history keeps everything in between).

        Labels renamed since get their old names back and keep their examples; labels removed since
        come back without the examples they had (those went with them). Reverting to content equal
        to the current one writes nothing.
        """
        with self._writing() as conn:
            self.check_editable(name)
            row = self._resolve(conn, name, install=False)
            old = self._at_version(conn, row, version)
            current, ids = self._load(conn, row)
            forward = self._renames(conn, row, version, row.version)
            back = {now: then for then, now in forward.items() if then not in ids}  # skip names taken again
            return self._write(conn, row, current, ids, edits.revert(current, old, version, back), "revert")

    def _renames(self, conn: Connection, row: Any, start: int, end: int) -> dict[str, str]:
        entries = [HistoryEntry(r.version, r.at, r.who, r.action, r.detail) for r in conn.execute(
            select(history_t).where(history_t.c.taxonomy_id == row.id, history_t.c.version > start,
                                    history_t.c.version <= end))]
        names = {v: {label.name for label in self._at_version(conn, row, v).labels} for v in (start, end)}
        return versions.renames_between(entries, start, end, names[start], names[end])

    # ---- whole taxonomies -----------------------------------------------------------------------

    def create(self, name: str, description: str = "", templates: Iterable[str] | None = None) -> Taxonomy:
        """A new, empty taxonomy at version 1 (default templates: ["a video of {}."])."""
        name = check_taxonomy_name(name)
        templates = check_templates(list(DEFAULT_TEMPLATES) if templates is None else
                                    (list(templates) if not isinstance(templates, str) else templates))
        taxonomy = Taxonomy(name=name, description=check_description(description) or "", templates=templates)
        with self._writing() as conn:
            self._check_new_name(conn, name)
            detail = {"templates": templates, **({"description": taxonomy.description} if taxonomy.description else {})}
            return self._insert(conn, taxonomy, "create", detail)

    def copy(self, source: str, new_name: str, version: int | None = None) -> Taxonomy:
        """A new taxonomy (version 1) with the content of `source` (at `version`, default now).

        What belongs to the source's labels comes along, for the labels the copy has (by name):
        few-shot examples under every encoder, fitted probes, and head-label overrides.
        """
        new_name = check_taxonomy_name(new_name)
        with self._writing() as conn:
            row = self._resolve(conn, source, install=True)
            original = self._load(conn, row)[0] if version is None else self._at_version(conn, row, version)
            self._check_new_name(conn, new_name)
            detail = {"source": original.name, "source_version": original.version}
            copied = self._insert(conn, dataclasses.replace(original, name=new_name), "copy", detail)
            rows.copy_label_data(conn, row.id, self._row(conn, new_name).id)
            return copied

    def delete(self, name: str) -> None:
        """Delete a taxonomy, its labels and its history."""
        with self._writing() as conn:
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
                  parent: Any = ..., new_name: str | None = None, add_prompts: Iterable[str] = (),
                  remove_prompts: Iterable[str] = (), add_synonyms: Iterable[str] = (),
                  remove_synonyms: Iterable[str] = ()) -> Taxonomy:
        """Change a label, all in one version: None (parent: `...`) leaves a field as it is;
        description "" clears it; parent None makes it a root; `new_name` renames it (its rows,
        examples and children follow); prompts and synonyms are removed, then added."""
        return self._edit(taxonomy, "set_label", lambda t: edits.set_label(
            t, name, enabled=enabled, description=description, parent=parent, new_name=new_name,
            add_prompts=add_prompts, remove_prompts=remove_prompts, add_synonyms=add_synonyms,
            remove_synonyms=remove_synonyms))

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
        """Change some of the settings (`TaxonomySettings.keys()`); naming none is a UsageError."""
        if not changes:
            raise UsageError(f"say which settings of {taxonomy!r} to change: {', '.join(TaxonomySettings.keys())}")
        return self._edit(taxonomy, "update_settings", lambda t: edits.update_settings(t, changes))

    def set_head_weight(self, taxonomy: str, head: str, weight: float | None) -> Taxonomy:
        """Store `head`'s weight in fusion (None: back to the head's default), read and written in
        one transaction, so two concurrent weight changes never lose one another."""
        return self._edit(taxonomy, "update_settings", lambda t: edits.set_head_weight(t, head, weight))

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
        return self._import(formats.read_file(path), fmt, name, replace, str(path), fallback_name=path.stem)

    def _import(self, text: str, fmt: str, name: str | None, replace: bool, source: str,
                fallback_name: str | None) -> Taxonomy:
        draft = formats.loads(text, fmt, source)
        target = name if name is not None else (draft.name or fallback_name)
        if target is None:
            raise TaxonomyError(f"{source}: the text names no taxonomy; add a name field or pass "
                                f"{opt('name', 'NAME')}")
        target = check_taxonomy_name(target)
        draft = dataclasses.replace(draft, name=target)
        detail = {"source": source, "format": formats.format_for(None, fmt), "labels": len(draft.labels)}
        with self._writing() as conn:
            row = self._row(conn, target)
            if row is None or not replace:
                self._check_new_name(conn, target, hint=f" or replace it ({opt('replace', True)})")
                return self._insert(conn, draft, "import", detail)
            self.check_editable(target)
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
        raise UnknownTaxonomy(f"unknown taxonomy {name!r};{hint}")

    def _check_new_name(self, conn: Connection, name: str, hint: str = "") -> None:
        if name in builtin_sets.BUILTINS:
            raise TaxonomyError(f"{name!r} is the name of a built-in label list; choose another name")
        row = self._row(conn, name)
        if row is not None:
            raise TaxonomyExists(f"taxonomy {name!r} already exists (version {row.version}); choose another name, "
                                f"delete it first{hint}")

    def check_editable(self, name: str) -> None:
        """Refuse to edit a built-in list (it stays as shipped; the message says how to copy it)."""
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
            raise UnknownVersion(f"taxonomy {row.name!r} has versions 1 to {row.version}; there is no version "
                                f"{version!r} (`openvid taxonomy history {row.name}` lists them)")
        return dataclasses.replace(formats.from_snapshot(entry.snapshot), version=version,
                                   created_at=row.created_at, updated_at=entry.at)

    def _edit(self, name: str, action: str, change: Callable[[Taxonomy], edits.Change]) -> Taxonomy:
        with self._writing() as conn:
            self.check_editable(name)
            row = self._resolve(conn, name, install=False)
            current, ids = self._load(conn, row)
            return self._write(conn, row, current, ids, change(current), action)

    def _insert(self, conn: Connection, taxonomy: Taxonomy, action: str, detail: dict[str, Any]) -> Taxonomy:
        check_labels(taxonomy.labels)
        now = utcnow()
        result = dataclasses.replace(taxonomy, version=1, created_at=now, updated_at=now)
        inserted = conn.execute(insert(taxonomies_t).values(**rows.taxonomy_values(result), created_at=now))
        taxonomy_id = inserted.inserted_primary_key[0]
        rows.sync_labels(conn, taxonomy_id, Taxonomy(name=result.name), {}, result.labels, {})
        rows.record(conn, taxonomy_id, result, action, detail)
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
        conn.execute(update(taxonomies_t).where(taxonomies_t.c.id == row.id).values(**rows.taxonomy_values(result)))
        rows.sync_labels(conn, row.id, current, ids, result.labels, change.renames)
        rows.record(conn, row.id, result, action, change.detail)
        return result


__all__ = ["TaxonomyStore"]


class UnknownVersion(TaxonomyError, NotFound):
    """A version the taxonomy never had."""
