"""Text vectors kept across runs, keyed by (encoder identity, exact text).

The identity names the checkpoint and the kind of feature (the caller builds it, e.g.
`"clip:ViT-B-32/laion2b|text"`), so one model's vectors are never served to another. Vectors are
stored as little-endian float32 blobs with their dimension; a put whose dimension differs from
what the identity already holds is refused (the identity string is then wrong, not the vector).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.dialects.sqlite import insert

from openvid.errors import OpenvidError
from openvid.store.db import read_transaction, write_transaction
from openvid.store.schema import text_embeddings

_CHUNK = 500  # texts per query, under SQLite's bound-parameter limit on any build
_FLOAT32 = np.dtype("<f4")


class EmbeddingCache:
    """`get` returns only the hits; `put` stores (or overwrites) vectors. Both take one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, identity: str, texts: list[str]) -> dict[str, np.ndarray]:
        """{text: float32 vector} for the texts stored under `identity`; misses are left out."""
        wanted = list(dict.fromkeys(texts))
        hits: dict[str, np.ndarray] = {}
        table = text_embeddings
        with read_transaction(self.engine) as conn:
            for start in range(0, len(wanted), _CHUNK):
                rows = conn.execute(select(table.c.text, table.c.dim, table.c.vector).where(
                    table.c.identity == identity, table.c.text.in_(wanted[start:start + _CHUNK])))
                for text, dim, blob in rows:
                    if len(blob) == dim * _FLOAT32.itemsize:  # anything else is damage: a miss, re-encoded
                        hits[text] = np.frombuffer(blob, dtype=_FLOAT32).astype(np.float32)
        return hits

    def put(self, identity: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store one 1-D vector per text under `identity` (replacing any stored for the same text)."""
        if not vectors:
            return
        rows = []
        dims = set()
        for text, vector in vectors.items():
            array = np.asarray(vector)
            if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.number):
                raise OpenvidError(f"the vector for {text!r} has shape {array.shape} ({array.dtype}); "
                                   "the cache stores one non-empty 1-D numeric vector per text")
            dims.add(array.size)
            rows.append({"identity": identity, "text": text, "dim": array.size,
                         "vector": np.ascontiguousarray(array, dtype=_FLOAT32).tobytes()})
        if len(dims) > 1:
            raise OpenvidError(f"vectors for {identity!r} have different dimensions {sorted(dims)}; "
                               "one identity is one encoder, with one dimension")
        table = text_embeddings
        with write_transaction(self.engine) as conn:
            stored = conn.execute(select(table.c.dim).where(table.c.identity == identity).limit(1)).scalar()
            if stored is not None and stored != rows[0]["dim"]:
                raise OpenvidError(f"the cache holds {stored}-dimensional vectors for {identity!r}, not "
                                   f"{rows[0]['dim']}; a different model needs a different identity")
            statement = insert(table)
            conn.execute(statement.on_conflict_do_update(
                index_elements=[table.c.identity, table.c.text],
                set_={"dim": statement.excluded.dim, "vector": statement.excluded.vector}), rows)


__all__ = ["EmbeddingCache"]
