"""Vector index layer: FAISS vectors with stable int64 ids (`VectorIndex`), and the rule that picks
their index type (`choose_index_type`, `IndexSpec`). The SQLite catalog of videos and segments
lives beside it in ``catalog.py``."""

from openvid.vectors.faiss_index import IndexInfo, VectorIndex
from openvid.vectors.kinds import IndexSpec, choose_index_type

__all__ = ["VectorIndex", "IndexSpec", "IndexInfo", "choose_index_type"]
