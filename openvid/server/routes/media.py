"""Media: a thumbnail per segment, and indexed video files with HTTP Range so the browser can seek."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from openvid.server import deps
from openvid.server.files import check_path, indexed_folders
from openvid.server.thumbnails import thumbnail

router = APIRouter(prefix="/media", tags=["media"])
VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
               ".mkv": "video/x-matroska", ".avi": "video/x-msvideo", ".ts": "video/mp2t", ".mpg": "video/mpeg",
               ".mpeg": "video/mpeg", ".ogv": "video/ogg"}


@router.get("/thumbnails/{segment_id}.jpg")
def segment_thumbnail(request: Request, segment_id: int) -> FileResponse:
    """The frame at the segment's middle as a JPEG (made once, then served from the home folder)."""
    engine = deps.engine(request)
    segment = deps.segment(request, segment_id)
    path = check_path(segment.path, indexed_folders(engine.catalog))
    video = deps.video(request, segment.video_id)
    image = thumbnail(engine.settings.home, video.content_hash, str(path), segment.start_s, segment.end_s,
                      backend=engine.settings.decoder)
    return FileResponse(image, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@router.get("/videos/{video_id}")
def video_file(request: Request, video_id: int) -> FileResponse:
    """The indexed file itself; `Range: bytes=a-b` gets 206 Partial Content (Starlette's FileResponse)."""
    engine = deps.engine(request)
    record = deps.video(request, video_id)
    path = check_path(record.path, indexed_folders(engine.catalog))
    return FileResponse(path, media_type=VIDEO_TYPES.get(path.suffix.lower(), "application/octet-stream"))
