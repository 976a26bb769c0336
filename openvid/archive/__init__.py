"""The archive job: a searchable index of videos (`openvid index / search / remove / prune / compact /
info / check`).

walk: which files a command means (folders walked for videos), shared with `openvid classify`
ingest: skip content already indexed (copies too), embed the rest (reader → encoder → writer),
stop cleanly on request; remove and prune videos
video_index: one named index, the SQLite catalog and the FAISS copy kept in step
search: text or example-clip queries, filters, merged moments, X-CLIP re-ranking

Names load lazily, so `openvid.archive.walk` costs no FAISS or SQLAlchemy import. (The search
function is `openvid.archive.search.search`: `openvid.archive.search` is its module.)
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "IndexReport": "ingest", "content_hash": "ingest", "index_videos": "ingest", "prune_videos": "ingest",
    "remove_videos": "ingest",
    "expand_folders": "walk", "find_videos": "walk", "videos_under": "walk", "VIDEO_SUFFIXES": "walk",
    "SearchHit": "search", "merge_moments": "search", "search_index": "search",
    "Consistency": "video_index", "VideoIndex": "video_index",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'openvid.archive' has no attribute {name!r}")
    return getattr(importlib.import_module(f"openvid.archive.{_HOMES[name]}"), name)
