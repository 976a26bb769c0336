"""Classify one video (indexed, a path under an indexed folder, or an upload) against labels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from openvid.errors import MediaError, UsageError
from openvid.server import deps
from openvid.server.files import check_path
from openvid.server.uploads import received

router = APIRouter(tags=["classify"])


class ClassifyRequest(BaseModel):
    video_id: int | None = Field(None, description="an indexed video")
    path: str | None = Field(None, description="a file under a folder that holds indexed videos")
    taxonomy: str | None = None
    labels: list[str] | None = Field(None, description="ad-hoc labels instead of a taxonomy")
    top_k: int = Field(5, ge=1, le=1000)
    multi_label: bool = False
    segments: bool = True


def run(request: Request, path: str, shown_as: str, taxonomy: str | None, labels: list[str] | None, top_k: int,
        multi_label: bool, segments: bool) -> dict:
    engine = deps.engine(request)
    if not taxonomy and not labels:
        raise UsageError("give a taxonomy or labels to classify against")
    result = engine.classify([path], taxonomy or None, labels=labels or None, top_k=top_k, multi_label=multi_label,
                             segments=segments)
    if result.failures:
        failure = result.failures[0]
        reason = failure.error.replace(path, shown_as) if path != shown_as else failure.error
        raise MediaError(shown_as, reason.removeprefix(f"{shown_as}: "))
    prediction = deps.plain(result.predictions[0])
    prediction["path"] = shown_as
    return {"prediction": prediction, "warnings": list(result.warnings)}


@router.post("/classify")
def classify(request: Request, body: ClassifyRequest) -> dict:
    """Labels with scores for an indexed video (`video_id`) or a file under an indexed folder (`path`);
    with `segments`, a per-segment timeline too."""
    if (body.video_id is None) == (body.path is None):
        raise UsageError("give exactly one of video_id (an indexed video) and path")
    if body.video_id is None:
        path = str(check_path(body.path, deps.readable_folders(request)))
        return run(request, path, body.path, body.taxonomy, body.labels, body.top_k, body.multi_label, body.segments)
    video = deps.video(request, body.video_id)
    path = str(check_path(video.path, deps.readable_folders(request)))
    answer = run(request, path, video.path, body.taxonomy, body.labels, body.top_k, body.multi_label, body.segments)
    _name_indexed_segments(answer["prediction"], deps.engine(request).catalog.video_segments(video.id))
    return answer


def _name_indexed_segments(prediction: dict, indexed) -> None:
    """Each timeline segment that is an indexed segment (same start and end) gets its `segment_id`, so
    the page can add it as a few-shot example or search for moments like it."""
    by_span = {(round(s.start_s, 3), round(s.end_s, 3)): s.id for s in indexed}
    for segment in prediction.get("segments") or []:
        segment["segment_id"] = by_span.get((round(segment["start_s"], 3), round(segment["end_s"], 3)))


@router.post("/classify/upload")
def classify_upload(request: Request, file: Annotated[UploadFile, File(description="a video file")],
                    taxonomy: Annotated[str | None, Form()] = None,
                    labels: Annotated[str | None, Form(description="comma-separated ad-hoc labels")] = None,
                    top_k: Annotated[int, Form(ge=1, le=1000)] = 5, multi_label: Annotated[bool, Form()] = False,
                    segments: Annotated[bool, Form()] = True) -> dict:
    """Classify an uploaded video (deleted afterwards; over the server's limit: 413)."""
    names = [label.strip() for label in (labels or "").split(",") if label.strip()]
    with received(file, deps.home(request), deps.config(request).upload_limit) as path:
        return run(request, str(path), file.filename or "upload", taxonomy, names, top_k, multi_label, segments)
