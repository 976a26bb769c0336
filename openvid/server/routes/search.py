"""Search: a text query or a moment like another (an indexed segment or an uploaded clip)."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from openvid.server import deps
from openvid.server.uploads import received

router = APIRouter(tags=["search"])


def hit_json(hit) -> dict:
    """A moment as the page shows it: where, how good, and the URLs of its thumbnail and video."""
    out = deps.plain(hit)
    out["name"] = os.path.basename(hit.path)
    out["thumbnail"] = f"/api/v1/media/thumbnails/{hit.segment_id}.jpg" if hit.segment_id is not None else None
    out["video"] = f"/api/v1/media/videos/{hit.video_id}" if hit.video_id is not None else None
    return out


class SearchFilters:
    """The filters both searches take (query parameters, or form fields next to an upload)."""

    def __init__(self, index: str = "default", k: Annotated[int, Query(ge=1, le=500)] = 20, per_video: bool = False,
                 path: str | None = None, min_duration: Annotated[float | None, Query(ge=0)] = None,
                 taxonomy: str | None = None, label: str | None = None,
                 rerank: Annotated[int, Query(ge=0, le=500)] = 0) -> None:
        self.index, self.k, self.per_video, self.path = index, k, per_video, path or None
        self.min_duration, self.taxonomy, self.label, self.rerank = min_duration, taxonomy or None, label or None, rerank

    def kwargs(self) -> dict:
        return {"index": self.index, "k": self.k, "per_video": self.per_video, "path_glob": self.path,
                "min_duration_s": self.min_duration, "taxonomy": self.taxonomy, "label": self.label,
                "rerank": self.rerank}


@router.get("/search")
def search(request: Request, q: str | None = None, like: Annotated[int | None, Query(
        description="an indexed segment id: moments like it")] = None,
        filters: SearchFilters = Depends()) -> dict:
    """Top moments for a text query `q`, or `like` an indexed segment (its own segment left out)."""
    engine = deps.engine(request)
    like_ref = None
    if like is not None:
        segment = deps.segment(request, like)
        like_ref = deps.clip_ref(segment.path, segment.start_s, segment.end_s)
    hits = engine.search(q or None, like=like_ref, **filters.kwargs())
    return {"query": q, "like": like, "index": filters.index, "hits": [hit_json(h) for h in hits]}


@router.post("/search/like")
def search_like_upload(request: Request, file: Annotated[UploadFile, File(description="a video clip")],
                       index: Annotated[str, Form()] = "default", k: Annotated[int, Form(ge=1, le=500)] = 20,
                       per_video: Annotated[bool, Form()] = False) -> dict:
    """Moments like an uploaded clip (the whole clip; the upload is deleted afterwards)."""
    engine = deps.engine(request)
    with received(file, deps.home(request), deps.config(request).upload_limit) as path:
        hits = engine.search(None, like=str(path), index=index, k=k, per_video=per_video)
    return {"query": None, "like": file.filename, "index": index, "hits": [hit_json(h) for h in hits]}
