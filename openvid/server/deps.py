"""What every route reads from the app: the one Engine, the server's config, the job list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request

from openvid.errors import NotFound
from openvid.results import to_jsonable
from openvid.server.files import indexed_folders


def engine(request: Request):
    return request.app.state.engine


def config(request: Request):
    return request.app.state.config


def jobs(request: Request):
    return request.app.state.jobs


def home(request: Request) -> Path:
    return Path(request.app.state.engine.settings.home)


def readable_folders(request: Request) -> list[Path]:
    """Folders whose files classify and few-shot may read: those of indexed videos, and the allowed roots."""
    return [*indexed_folders(request.app.state.engine.catalog), *request.app.state.config.allow_roots]


def segment(request: Request, segment_id: int):
    found = request.app.state.engine.catalog.segments([segment_id]).get(int(segment_id))
    if found is None:
        raise NotFound(f"no indexed segment {segment_id}; search results name the segments that exist")
    return found


def video(request: Request, video_id: int):
    found = request.app.state.engine.catalog.get_video(video_id)
    if found is None:
        raise NotFound(f"no indexed video {video_id}; GET /api/v1/indexes/NAME/videos lists them")
    return found


def plain(value: Any) -> Any:
    """Results as JSON types (dataclasses, numpy, paths, dates)."""
    return to_jsonable(value)


def clip_ref(path: str, start_s: float, end_s: float) -> str:
    """The `path@start-end` spelling the engine takes for a moment of a video."""
    return f"{path}@{start_s:.3f}-{end_s:.3f}"
