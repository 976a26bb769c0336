"""`ExampleStore`: few-shot example clips of a taxonomy's labels, as vectors per encoder, and probes.

An example is a clip (a file, optionally a time range) embedded by one encoder. The same clip
may have one row per encoder identity, so switching models means re-embedding the same clips
(`sources` lists them) rather than mixing vector spaces. Rows point at the label by id: renaming
a label keeps its examples, removing it (or the taxonomy) drops them, by foreign-key cascade.

A probe is one fitted linear classifier per (taxonomy, encoder), saved with the label names of
its rows and the taxonomy version it was fitted at, so a caller can tell when it is stale.
Adding or removing examples of a (taxonomy, encoder) drops that pair's probe in the same
transaction: a stored probe always describes the examples stored with it.

This module knows nothing of models: vectors come in and go out as float32 numpy arrays. Creating
a missing label is `TaxonomyStore.add_label`'s job; `add` refuses an unknown one. To create a label
and store its examples all or nothing, do both in one `TaxonomyStore.transaction()`: an
ExampleStore made from that store (`tx.examples`) runs in the same transaction.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from sqlalchemy import Connection, Engine, and_, delete, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from openvid.errors import OpenvidError, UnknownLabel, UsageError
from openvid.scoring.adapters import Probe
from openvid.store import builtin_sets
from openvid.store.db import utcnow
from openvid.store.example_checks import FLOAT32 as _FLOAT32
from openvid.store.example_checks import check_encoder, check_item, describe, vector_of
from openvid.store.models import did_you_mean
from openvid.store.schema import fewshot_examples as examples_t
from openvid.store.schema import fewshot_probes as probes_t
from openvid.store.schema import labels as labels_t
from openvid.store.taxonomy import TaxonomyStore

_CHUNK = 500  # ids per query, under SQLite's bound-parameter limit on any build

ExampleItem = tuple[str, "float | None", "float | None", np.ndarray]
"""(source_path, start_s, end_s, vector): one clip to store as an example."""


@dataclass(frozen=True, eq=False)
class ExampleRecord:
    """One stored example: a clip of `label`, embedded by `encoder`."""

    id: int
    label: str
    encoder: str
    source_path: str
    start_s: float | None
    end_s: float | None
    vector: np.ndarray
    created_at: datetime


@dataclass(frozen=True)
class ExampleSource:
    """A clip that is an example of `label` under one or more encoders (`encoders`, sorted).

    One clip is one example however many encoders embedded it; `ids` are its rows (one per
    encoder, oldest first), and `id`, the first of them, names the clip (`remove(ids, clips=True)`).
    """

    label: str
    source_path: str
    start_s: float | None
    end_s: float | None
    encoders: tuple[str, ...]
    ids: tuple[int, ...] = ()

    @property
    def id(self) -> int | None:
        return self.ids[0] if self.ids else None


@dataclass(frozen=True)
class StoredProbe:
    """A saved probe: its rows are `labels`, fitted at `taxonomy_version` of the taxonomy."""

    encoder: str
    labels: list[str]
    taxonomy_version: int
    probe: Probe
    created_at: datetime

    @property
    def meta(self) -> dict[str, Any]:
        return self.probe.meta

    def stale_reason(self, labels: Sequence[str], taxonomy_version: int) -> str | None:
        """Why this probe no longer fits the taxonomy as it is now (None: it does)."""
        if list(labels) != self.labels:
            return "the taxonomy's labels changed since it was fitted"
        if taxonomy_version != self.taxonomy_version:
            return (f"it was fitted at taxonomy version {self.taxonomy_version}, the taxonomy is at version "
                    f"{taxonomy_version}")
        return None


class ExampleStore:
    """Few-shot examples and probes in the database of an Engine (the one TaxonomyStore uses)."""

    def __init__(self, engine: Engine | TaxonomyStore) -> None:
        """On a database (each call its own transaction), or on a TaxonomyStore: then in its transaction
        when it is one that `TaxonomyStore.transaction()` handed out."""
        self._taxonomies = engine if isinstance(engine, TaxonomyStore) else TaxonomyStore(engine)
        self.engine = self._taxonomies.engine

    def _reading(self) -> AbstractContextManager[Connection]:
        return self._taxonomies._reading()

    def _writing(self) -> AbstractContextManager[Connection]:
        return self._taxonomies._writing()

    # ---- examples -------------------------------------------------------------------------------

    def add(self, taxonomy: str, label: str, encoder: str, items: Sequence[ExampleItem]) -> list[ExampleRecord]:
        """Store clips as examples of `label` under `encoder`, all or none, in one transaction.

        Refused whole (TaxonomyError / OpenvidError, nothing stored) when the taxonomy or label is
        unknown, a vector is not a finite 1-D vector, the dimensions differ from each other or from
        this encoder's stored examples, a time range is not 0 <= start < end, or a clip is already
        an example of this label under this encoder (or named twice). Drops the probe of
        (taxonomy, encoder).
        """
        encoder = check_encoder(encoder)
        rows = [check_item(item, index) for index, item in enumerate(items)]
        if not rows:
            raise UsageError("no example clips given; name at least one video file")
        dims = sorted({row["dim"] for row in rows})
        if len(dims) > 1:
            raise OpenvidError(f"the example vectors have different dimensions {dims}; one encoder gives one "
                               "dimension: embed every clip with the same model")
        now = utcnow()
        with self._writing() as conn:
            taxonomy_id = self._resolve(conn, taxonomy, install=True).id
            label_id = self._label_id(conn, taxonomy, taxonomy_id, label)
            stored = conn.execute(select(examples_t.c.dim).where(examples_t.c.encoder == encoder).limit(1)).scalar()
            if stored is not None and stored != dims[0]:
                raise OpenvidError(f"examples embedded by {encoder!r} have dimension {stored}, these {dims[0]}; "
                                   "the vectors come from another model: embed them with this encoder, or store "
                                   "them under that model's identity")
            self._check_new(conn, label_id, label, encoder, rows)
            records = []
            for row in rows:
                example_id = conn.execute(insert(examples_t).values(
                    taxonomy_id=taxonomy_id, label_id=label_id, encoder=encoder, created_at=now, **row,
                )).inserted_primary_key[0]
                records.append(ExampleRecord(
                    id=example_id, label=label, encoder=encoder, source_path=row["source_path"],
                    start_s=row["start_s"], end_s=row["end_s"],
                    vector=np.frombuffer(row["vector"], _FLOAT32).astype(np.float32), created_at=now))
            self._drop_probes(conn, taxonomy_id, [encoder])
        return records

    def list(self, taxonomy: str, encoder: str | None = None, label: str | None = None) -> list[ExampleRecord]:
        """Examples of the taxonomy (of one encoder, of one label), in label order, then oldest first."""
        with self._reading() as conn:
            taxonomy_id = self._existing_id(conn, taxonomy)
            if taxonomy_id is None:
                return []
            query = self._query(taxonomy_id, encoder)
            if label is not None:
                query = query.where(examples_t.c.label_id == self._label_id(conn, taxonomy, taxonomy_id, label))
            rows = conn.execute(query).all()
        return [ExampleRecord(id=r.id, label=r.label, encoder=r.encoder, source_path=r.source_path,
                              start_s=r.start_s, end_s=r.end_s, vector=vector_of(r.vector, r.dim),
                              created_at=r.created_at) for r in rows]

    def vectors(self, taxonomy: str, encoder: str) -> tuple[list[str], np.ndarray]:
        """(label name of each row, float32 vectors [n, dim]) of this encoder's examples, as `list` orders
        them; ([], an empty [0, 0] array) when there are none."""
        records = self.list(taxonomy, encoder=encoder)
        if not records:
            return [], np.zeros((0, 0), np.float32)
        return [r.label for r in records], np.stack([r.vector for r in records])

    def counts(self, taxonomy: str) -> dict[tuple[str, str], int]:
        """{(label, encoder): number of examples}, for a summary."""
        with self._reading() as conn:
            taxonomy_id = self._existing_id(conn, taxonomy)
            if taxonomy_id is None:
                return {}
            rows = conn.execute(
                select(labels_t.c.name, examples_t.c.encoder, func.count())
                .join(labels_t, labels_t.c.id == examples_t.c.label_id)
                .where(examples_t.c.taxonomy_id == taxonomy_id)
                .group_by(labels_t.c.name, examples_t.c.encoder)
                .order_by(func.min(labels_t.c.position), examples_t.c.encoder)).all()
        return {(name, encoder): int(count) for name, encoder, count in rows}

    def sources(self, taxonomy: str, label: str | None = None) -> list[ExampleSource]:
        """Every distinct (label, clip) with the encoders that hold it, in label order then oldest first:
        the examples as people count them (one clip, one example), what to re-embed for a new
        encoder (and, by checking the files, which clips are gone)."""
        with self._reading() as conn:
            taxonomy_id = self._existing_id(conn, taxonomy)
            if taxonomy_id is None:
                return []
            query = self._query(taxonomy_id, None, with_vectors=False)
            if label is not None:
                query = query.where(examples_t.c.label_id == self._label_id(conn, taxonomy, taxonomy_id, label))
            rows = conn.execute(query).all()
        grouped: dict[tuple[str, str, float | None, float | None], dict[str, int]] = {}
        for r in rows:
            grouped.setdefault((r.label, r.source_path, r.start_s, r.end_s), {})[r.encoder] = r.id
        return [ExampleSource(label, path, start, end, tuple(sorted(by_encoder)), tuple(sorted(by_encoder.values())))
                for (label, path, start, end), by_encoder in grouped.items()]

    def remove(self, taxonomy: str, ids: Iterable[int] | None = None, label: str | None = None,
               encoder: str | None = None, *, everything: bool = False, clips: bool = False) -> int:
        """Delete examples matching every filter given (ids, label, encoder); returns how many rows.

        With no filter nothing is deleted unless `everything` (then all of the taxonomy's examples
        are). Ids that are not this taxonomy's examples are refused, naming them, and nothing is
        deleted. With `clips`, an id stands for its clip: the clip's rows under every encoder go
        (otherwise the next classification with another encoder would re-embed it from the file).
        Drops the probes of the encoders whose examples changed.
        """
        id_list = None if ids is None else sorted({int(i) for i in ids})
        if id_list is None and label is None and encoder is None and not everything:
            raise UsageError("say which examples to remove: by id, by label, by encoder, or all of them")
        with self._writing() as conn:
            taxonomy_id = self._resolve(conn, taxonomy, install=False).id
            where = [examples_t.c.taxonomy_id == taxonomy_id]
            if id_list is not None:
                found: set[int] = set()
                for start in range(0, len(id_list), _CHUNK):
                    chunk = id_list[start:start + _CHUNK]
                    found.update(conn.execute(select(examples_t.c.id).where(
                        examples_t.c.taxonomy_id == taxonomy_id, examples_t.c.id.in_(chunk))).scalars())
                missing = [i for i in id_list if i not in found]
                if missing:
                    shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
                    raise OpenvidError(f"taxonomy {taxonomy!r} has no example with id {shown}; nothing removed "
                                       f"(`openvid fewshot list {taxonomy}` shows the ids)")
            if label is not None:
                where.append(examples_t.c.label_id == self._label_id(conn, taxonomy, taxonomy_id, label))
            if encoder is not None:
                where.append(examples_t.c.encoder == encoder)
            doomed = [(int(i), str(e)) for i, e in conn.execute(
                select(examples_t.c.id, examples_t.c.encoder).where(and_(*where)))]
            if id_list is not None:
                wanted = set(id_list) if not clips else self._same_clips(conn, taxonomy_id, id_list)
                doomed = [(i, e) for i, e in doomed if i in wanted]
            doomed_ids = [i for i, _ in doomed]
            for start in range(0, len(doomed_ids), _CHUNK):
                conn.execute(delete(examples_t).where(examples_t.c.id.in_(doomed_ids[start:start + _CHUNK])))
            self._drop_probes(conn, taxonomy_id, sorted({e for _, e in doomed}))
        return len(doomed_ids)

    # ---- probes ---------------------------------------------------------------------------------

    def save_probe(self, taxonomy: str, encoder: str, labels: Sequence[str], taxonomy_version: int, probe: Probe,
                   meta: Mapping[str, Any] | None = None) -> StoredProbe:
        """Save (replacing) the probe of (taxonomy, encoder); its rows are `labels`, in order.

        The stored meta is the probe's own, the logit scale, and `meta` (e.g. the alpha/beta
        cross-validation); it must be JSON-serialisable.
        """
        encoder = check_encoder(encoder)
        labels = [str(label) for label in labels]
        if len(labels) != probe.n_labels or len(set(labels)) != len(labels):
            raise OpenvidError(f"a probe with {probe.n_labels} rows needs as many distinct label names; got "
                               f"{len(labels)} ({len(set(labels))} distinct)")
        merged = {**probe.meta, **(dict(meta) if meta else {}), "logit_scale": probe.logit_scale}
        try:
            merged = json.loads(json.dumps(merged, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise OpenvidError(f"probe meta must be JSON-serialisable (numbers, text, lists, mappings): {exc}") from None
        now = utcnow()
        values = {"labels": labels, "taxonomy_version": int(taxonomy_version), "dim": probe.dim,
                  "weight": probe.weight.astype(_FLOAT32).tobytes(), "bias": probe.bias.astype(_FLOAT32).tobytes(),
                  "meta": merged, "created_at": now}
        with self._writing() as conn:
            taxonomy_id = self._resolve(conn, taxonomy, install=True).id
            statement = sqlite_insert(probes_t).values(taxonomy_id=taxonomy_id, encoder=encoder, **values)
            conn.execute(statement.on_conflict_do_update(index_elements=[probes_t.c.taxonomy_id, probes_t.c.encoder],
                                                         set_=values))
        return StoredProbe(encoder, labels, int(taxonomy_version), Probe(probe.weight, probe.bias, probe.logit_scale,
                                                                         merged), now)

    def load_probe(self, taxonomy: str, encoder: str) -> StoredProbe | None:
        """The saved probe of (taxonomy, encoder), or None."""
        with self._reading() as conn:
            taxonomy_id = self._existing_id(conn, taxonomy)
            if taxonomy_id is None:
                return None
            row = conn.execute(select(probes_t).where(probes_t.c.taxonomy_id == taxonomy_id,
                                                      probes_t.c.encoder == encoder)).first()
        if row is None:
            return None
        n = len(row.labels)
        if len(row.weight) != n * row.dim * _FLOAT32.itemsize or len(row.bias) != n * _FLOAT32.itemsize:
            raise OpenvidError(f"the saved probe of {taxonomy!r} for {encoder!r} is damaged; fit it again "
                               f"(`openvid fewshot fit {taxonomy}`)")
        weight = np.frombuffer(row.weight, _FLOAT32).reshape(n, row.dim).astype(np.float32)
        bias = np.frombuffer(row.bias, _FLOAT32).astype(np.float32)
        meta = dict(row.meta)
        probe = Probe(weight, bias, float(meta.get("logit_scale", 1.0)), meta)
        return StoredProbe(row.encoder, list(row.labels), int(row.taxonomy_version), probe, row.created_at)

    def drop_probe(self, taxonomy: str, encoder: str | None = None) -> int:
        """Delete the probe of (taxonomy, encoder), or every probe of the taxonomy; returns how many."""
        with self._writing() as conn:
            taxonomy_id = self._resolve(conn, taxonomy, install=False).id
            return self._drop_probes(conn, taxonomy_id, None if encoder is None else [encoder])

    # ---- internals ------------------------------------------------------------------------------

    def _resolve(self, conn: Connection, name: str, *, install: bool) -> Any:
        return self._taxonomies._resolve(conn, name, install=install)

    def _existing_id(self, conn: Connection, name: str) -> int | None:
        """The taxonomy's id; None for a built-in not installed yet (it has no examples); unknown: raise."""
        row = self._taxonomies._row(conn, name)
        if row is not None:
            return row.id
        if name in builtin_sets.BUILTINS:
            return None
        self._resolve(conn, name, install=False)  # raises TaxonomyStore's error, naming close matches
        return None  # pragma: no cover

    def _label_id(self, conn: Connection, taxonomy: str, taxonomy_id: int, label: str) -> int:
        label_id = conn.execute(select(labels_t.c.id).where(labels_t.c.taxonomy_id == taxonomy_id,
                                                            labels_t.c.name == label)).scalar()
        if label_id is not None:
            return int(label_id)
        names = list(conn.execute(select(labels_t.c.name).where(labels_t.c.taxonomy_id == taxonomy_id)).scalars())
        hint = did_you_mean(label, names)
        add = (f" add it first: `openvid taxonomy add-label {taxonomy} {label!r}`"
               if taxonomy not in builtin_sets.BUILTINS else
               f" {taxonomy!r} is built in: copy it to add labels (`openvid taxonomy copy {taxonomy} my-{taxonomy}`)")
        raise UnknownLabel(f"taxonomy {taxonomy!r} has no label {label!r};{hint or ''}{add}")

    def _check_new(self, conn: Connection, label_id: int, label: str, encoder: str,
                   rows: list[dict[str, Any]]) -> None:
        existing = {(r.source_path, r.start_s, r.end_s): r.id for r in conn.execute(
            select(examples_t.c.id, examples_t.c.source_path, examples_t.c.start_s, examples_t.c.end_s)
            .where(examples_t.c.label_id == label_id, examples_t.c.encoder == encoder))}
        seen: set[tuple[Any, ...]] = set()
        for row in rows:
            key = (row["source_path"], row["start_s"], row["end_s"])
            where = describe(*key)
            if key in seen:
                raise UsageError(f"{where} is given twice; name each clip once")
            seen.add(key)
            if key in existing:
                raise OpenvidError(f"{where} is already an example of {label!r} for this model (id {existing[key]}); "
                                   "leave it out, or remove the stored one first")

    @staticmethod
    def _same_clips(conn: Connection, taxonomy_id: int, ids: Sequence[int]) -> set[int]:
        """The ids of every row (any encoder) of the clips that rows `ids` hold."""
        rows = conn.execute(select(examples_t.c.id, examples_t.c.label_id, examples_t.c.source_path,
                                   examples_t.c.start_s, examples_t.c.end_s)
                            .where(examples_t.c.taxonomy_id == taxonomy_id)).all()
        wanted = set(ids)
        keys = {(r.label_id, r.source_path, r.start_s, r.end_s) for r in rows if r.id in wanted}
        return {r.id for r in rows if (r.label_id, r.source_path, r.start_s, r.end_s) in keys}

    def _drop_probes(self, conn: Connection, taxonomy_id: int, encoders: Sequence[str] | None) -> int:
        statement = delete(probes_t).where(probes_t.c.taxonomy_id == taxonomy_id)
        if encoders is not None:
            if not encoders:
                return 0
            statement = statement.where(probes_t.c.encoder.in_(list(encoders)))
        return int(conn.execute(statement).rowcount or 0)

    @staticmethod
    def _query(taxonomy_id: int, encoder: str | None, with_vectors: bool = True) -> Any:
        columns = [examples_t.c.id, labels_t.c.name.label("label"), examples_t.c.encoder, examples_t.c.source_path,
                   examples_t.c.start_s, examples_t.c.end_s, examples_t.c.created_at]
        if with_vectors:
            columns += [examples_t.c.vector, examples_t.c.dim]
        query = (select(*columns).join(labels_t, labels_t.c.id == examples_t.c.label_id)
                 .where(examples_t.c.taxonomy_id == taxonomy_id)
                 .order_by(labels_t.c.position, labels_t.c.id, examples_t.c.id))
        return query if encoder is None else query.where(examples_t.c.encoder == encoder)


__all__ = ["ExampleItem", "ExampleRecord", "ExampleSource", "ExampleStore", "StoredProbe"]
