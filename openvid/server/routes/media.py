"""Media: a thumbnail per segment, and indexed video files with HTTP Range so the browser can seek."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

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


@router.head("/videos/{video_id}", include_in_schema=False, response_model=None)
@router.get("/videos/{video_id}", response_model=None)
def video_file(request: Request, video_id: int) -> FileResponse | JSONResponse:
    """The indexed file itself; `Range: bytes=a-b` gets 206 Partial Content (Starlette's FileResponse)."""
    engine = deps.engine(request)
    record = deps.video(request, video_id)
    path = check_path(record.path, indexed_folders(engine.catalog))
    refused = range_refused(request.headers.get("range"), request.headers.get("if-range"), path.stat().st_size)
    if refused is not None:
        return refused
    return FileResponse(path, media_type=VIDEO_TYPES.get(path.suffix.lower(), "application/octet-stream"))


def range_refused(header: str | None, if_range: str | None, size: int) -> JSONResponse | None:
    """A JSON 400 / 416 for a Range header FileResponse would refuse in plain text; None when it is fine.

    Parsed by FileResponse's own parser, so both agree; with If-Range it may serve the whole file
    instead, so that is left to it.
    """
    parse = getattr(FileResponse, "_parse_range_header", None)
    if header is None or if_range is not None or parse is None:
        return None
    try:
        parse(header, size)
    except MalformedRangeHeader as exc:
        return JSONResponse({"error": f"Range header {header!r} is not valid: {exc.content}",
                             "hint": "ask for bytes=START-END (or bytes=START-)"}, status_code=400)
    except RangeNotSatisfiable:
        return JSONResponse({"error": f"Range header {header!r} is past the end of the file ({size} bytes)",
                             "hint": "ask for bytes from 0 to the size minus one"}, status_code=416,
                            headers={"Content-Range": f"bytes */{size}"})
    return None
