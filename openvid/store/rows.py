"""The row-level writes behind `TaxonomyStore`: label rows, a taxonomy's row values, history entries,
and what a copy takes along. Each runs on a connection the caller holds inside one transaction.

Kept apart from `taxonomy.py` so the store's public methods stay readable; nothing here opens a
transaction of its own, so several of these writes are always all or nothing together.
"""

from __future__ import annotations

import dataclasses
import getpass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from openvid.store import io as formats
from openvid.store.models import Label, Taxonomy
from openvid.store.schema import labels as labels_t
from openvid.store.schema import taxonomy_history as history_t


def who() -> str:
    """The login name a history entry records ("unknown" where the environment has none)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (some containers)
        return "unknown"


def taxonomy_values(taxonomy: Taxonomy) -> dict[str, Any]:
    """The `taxonomies` row of `taxonomy` (without id and created_at)."""
    return {"name": taxonomy.name, "description": taxonomy.description, "templates": list(taxonomy.templates),
            "settings": taxonomy.settings.to_mapping(), "version": taxonomy.version,
            "updated_at": taxonomy.updated_at}


def record(conn: Connection, taxonomy_id: int, taxonomy: Taxonomy, action: str, detail: dict[str, Any]) -> None:
    """The history entry of `taxonomy`'s version: who, when, what, and the full snapshot."""
    conn.execute(insert(history_t).values(
        taxonomy_id=taxonomy_id, version=taxonomy.version, at=taxonomy.updated_at, who=who(), action=action,
        detail=detail, snapshot=formats.to_mapping(taxonomy, compact=False)))


def sync_labels(conn: Connection, taxonomy_id: int, current: Taxonomy, ids: dict[str, int],
                new_labels: list[Label], renames: dict[str, str]) -> None:
    """Write only what differs; rows of kept (and renamed) labels keep their ids, so what points at
    them (examples, head-label overrides) stays with them."""
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


def copy_label_data(conn: Connection, source_id: int, target_id: int) -> None:
    """Examples, probes and head-label overrides of `source_id`, re-pointed at `target_id`'s labels (by name)."""
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


__all__ = ["copy_label_data", "record", "sync_labels", "taxonomy_values", "who"]
