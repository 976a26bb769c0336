"""Search: a text query or a moment like another (an indexed segment or an uploaded clip)."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

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


class SearchQuery(BaseModel):
    """What `GET /search` takes, as query parameters (validated in one pass: a search's own cost is a
    few milliseconds, and a dependency per parameter cost about as much again)."""

    q: str | None = Field(None, description="a text query")
    like: int | None = Field(None, description="an indexed segment id: moments like it")
    index: str = "default"
    k: int = Field(20, ge=1, le=500)
    per_video: bool = False
    path: str | None = Field(None, description="a glob on the video's path")
    min_duration: float | None = Field(None, ge=0)
    taxonomy: str | None = None
    label: str | None = None
    rerank: int = Field(0, ge=0, le=500)

    def kwargs(self) -> dict:
        return {"index": self.index, "k": self.k, "per_video": self.per_video, "path_glob": self.path or None,
                "min_duration_s": self.min_duration, "taxonomy": self.taxonomy or None, "label": self.label or None,
                "rerank": self.rerank}


@router.get("/search")
def search(request: Request, params: Annotated[SearchQuery, Query()]) -> dict:
    """Top moments for a text query `q`, or `like` an indexed segment (its own segment left out)."""
    engine = deps.engine(request)
    like_ref = None
    if params.like is not None:
        segment = deps.segment(request, params.like)
        like_ref = deps.clip_ref(segment.path, segment.start_s, segment.end_s)
    hits = engine.search(params.q or None, like=like_ref, **params.kwargs())
    return {"query": params.q, "like": params.like, "index": params.index, "hits": [hit_json(h) for h in hits]}


@router.post("/search/like")
def search_like_upload(request: Request, file: Annotated[UploadFile, File(description="a video clip")],
                       index: Annotated[str, Form()] = "default", k: Annotated[int, Form(ge=1, le=500)] = 20,
                       per_video: Annotated[bool, Form()] = False) -> dict:
    """Moments like an uploaded clip (the whole clip; the upload is deleted afterwards)."""
    engine = deps.engine(request)
    with received(file, deps.home(request), deps.config(request).upload_limit) as path:
        hits = engine.search(None, like=str(path), index=index, k=k, per_video=per_video)
    return {"query": None, "like": file.filename, "index": index, "hits": [hit_json(h) for h in hits]}
