"""The store: prompt sets (taxonomies) and cached text vectors in one SQLite file, `<home>/openvid.db`.

    >>> store = TaxonomyStore(home)                              # doctest: +SKIP
    >>> store.create("sports")                                   # doctest: +SKIP
    >>> store.add_label("sports", "pole vault", prompts=["an athlete vaulting over a bar"])  # doctest: +SKIP
    >>> store.copy("ucf101", "my-ucf")                           # doctest: +SKIP

Few-shot examples (clip vectors per encoder) and fitted probes: `ExampleStore(store.engine)`, or
`store.examples`. Writes in several steps that must be all or nothing: `with store.transaction() as tx:`.

It knows nothing of models: vectors come in and go out as numpy arrays.
"""

from openvid.store.db import open_database, read_transaction, write_transaction
from openvid.store.embedding_cache import EmbeddingCache
from openvid.store.examples import ExampleRecord, ExampleSource, ExampleStore, StoredProbe
from openvid.store.io import FORMATS
from openvid.store.models import (
    HistoryEntry,
    Label,
    Taxonomy,
    TaxonomySettings,
    TaxonomySummary,
)
from openvid.store.taxonomy import TaxonomyStore
from openvid.store.versions import Difference, TaxonomyDiff

__all__ = [
    "FORMATS",
    "Difference",
    "EmbeddingCache",
    "ExampleRecord",
    "ExampleSource",
    "ExampleStore",
    "HistoryEntry",
    "Label",
    "StoredProbe",
    "Taxonomy",
    "TaxonomyDiff",
    "TaxonomySettings",
    "TaxonomyStore",
    "TaxonomySummary",
    "open_database",
    "read_transaction",
    "write_transaction",
]
