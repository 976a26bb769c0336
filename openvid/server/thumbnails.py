"""One JPEG per indexed segment: the frame at its middle, made on first request and kept.

Thumbnails live under `<home>/thumbnails/`, named by the video's content hash and the segment's
start, so a re-indexed or moved video finds its old thumbnails and a reused segment id can never
show another video's frame. Files are written to a temporary name and renamed, so two requests
for the same thumbnail at once both end with one good file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

THUMBNAIL_SIDE = 180  # short side in pixels: sharp in a grid cell on a laptop or a phone
QUALITY = 80


def thumbnail_file(home: Path, content_hash: str, start_s: float) -> Path:
    return Path(home) / "thumbnails" / content_hash[:2] / f"{content_hash}-{int(round(start_s * 1000))}.jpg"


def thumbnail(home: Path, content_hash: str, video_path: str, start_s: float, end_s: float,
              backend: str = "auto") -> Path:
    """The segment's thumbnail, made from the video the first time (a MediaError when it cannot be read)."""
    target = thumbnail_file(home, content_hash, start_s)
    if target.is_file():
        return target
    from openvid.media import load_clip

    middle = (start_s + end_s) / 2
    clip = load_clip(video_path, middle, min(end_s, middle + 0.04) if end_s > middle else None, frames=1,
                     short_side=THUMBNAIL_SIDE, backend=backend)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            Image.fromarray(clip.frames[0]).save(out, format="JPEG", quality=QUALITY)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
