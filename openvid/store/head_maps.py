"""Explicit overrides of where a closed-set head's labels vote in a taxonomy (`openvid heads map`).

Only the user's decisions are stored; everything else is mapped automatically at classification
time (`openvid.scoring.head_mapping`). Overrides point at label ids, so renaming a taxonomy label
keeps them and removing the label drops them. They are not part of the taxonomy's version history:
they describe how a head is read, not the label list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.sqlite import insert

from openvid.errors import UnknownLabel
from openvid.store.db import utcnow
from openvid.store.models import did_you_mean
from openvid.store.schema import head_label_maps as maps_t
from openvid.store.schema import labels as labels_t
from openvid.store.taxonomy import TaxonomyStore


@dataclass(frozen=True)
class HeadOverride:
    head: str
    head_label: str
    label: str | None  # None: this head label is ignored


class HeadMapStore:
    """Overrides in the database of `taxonomies` (inside its transaction, when it is one that
    `TaxonomyStore.transaction()` handed out)."""

    def __init__(self, taxonomies: TaxonomyStore) -> None:
        self.taxonomies = taxonomies
        self.engine: Engine = taxonomies.engine

    def set(self, taxonomy: str, head: str, head_label: str, label: str | None) -> HeadOverride:
        """Make `head_label` of `head` vote for `label` (None: ignore it) in `taxonomy`."""
        with self.taxonomies._writing() as conn:
            row = self.taxonomies._resolve(conn, taxonomy, install=True)
            label_id = None
            if label is not None:
                label_id = conn.execute(select(labels_t.c.id).where(
                    labels_t.c.taxonomy_id == row.id, labels_t.c.name == label)).scalar()
                if label_id is None:
                    names = list(conn.execute(select(labels_t.c.name).where(labels_t.c.taxonomy_id == row.id)).scalars())
                    hint = did_you_mean(label, names) or f" add it with `openvid taxonomy add-label {taxonomy} {label!r}`"
                    raise UnknownLabel(f"taxonomy {taxonomy!r} has no label {label!r};{hint}")
            statement = insert(maps_t).values(taxonomy_id=row.id, head=head, head_label=head_label,
                                              label_id=label_id, updated_at=utcnow().isoformat())
            conn.execute(statement.on_conflict_do_update(
                index_elements=["taxonomy_id", "head", "head_label"],
                set_={"label_id": label_id, "updated_at": statement.excluded.updated_at}))
        return HeadOverride(head, head_label, label)

    def clear(self, taxonomy: str, head: str, head_label: str | None = None) -> int:
        """Forget one override (or all of a head's, when `head_label` is None); returns how many."""
        with self.taxonomies._writing() as conn:
            row = self.taxonomies._resolve(conn, taxonomy, install=False)
            condition = (maps_t.c.taxonomy_id == row.id) & (maps_t.c.head == head)
            if head_label is not None:
                condition &= maps_t.c.head_label == head_label
            return conn.execute(delete(maps_t).where(condition)).rowcount

    def overrides(self, taxonomy: str, head: str) -> dict[str, str | None]:
        """{head label: taxonomy label name, or None for ignored}."""
        with self.taxonomies._reading() as conn:
            row = self.taxonomies._row(conn, taxonomy)
            if row is None:
                return {}
            rows = conn.execute(
                select(maps_t.c.head_label, labels_t.c.name)
                .select_from(maps_t.outerjoin(labels_t, labels_t.c.id == maps_t.c.label_id))
                .where(maps_t.c.taxonomy_id == row.id, maps_t.c.head == head)
                .order_by(maps_t.c.head_label))
            return {head_label: name for head_label, name in rows}


__all__ = ["HeadMapStore", "HeadOverride"]
