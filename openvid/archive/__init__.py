"""The archive job: a searchable index of videos (`openvid index / search / remove / info / check`).

ingest: walk folders, skip content already indexed, embed the rest (reader → encoder → writer)
video_index: one named index, the SQLite catalog and the FAISS copy kept in step
search: text or example-clip queries, filters, merged moments, X-CLIP re-ranking
"""

from openvid.archive.ingest import IndexReport, content_hash, find_videos, index_videos, remove_videos
from openvid.archive.search import SearchHit, merge_moments, search, search_index
from openvid.archive.video_index import Consistency, VideoIndex

__all__ = ["Consistency", "IndexReport", "SearchHit", "VideoIndex", "content_hash", "find_videos", "index_videos",
           "merge_moments", "remove_videos", "search", "search_index"]
