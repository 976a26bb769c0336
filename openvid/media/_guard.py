"""Turning bad input and library exceptions into MediaError with a reason a person can act on.

PyAV and decord fail with terse messages ("Invalid data found when processing input", a C++ check
with a source line) that say nothing about what the user should do. Every media entry point runs
`check_file` before touching a library, and turns library exceptions into MediaError through
`open_failure` and `reading`, so the same broken file gets the same explanation whichever backend
met it first.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from openvid.errors import MediaError

NOT_A_VIDEO = "is not a {kind} file ffmpeg can read; check that it really is one (not text, an image or a partial download)"
TRUNCATED_MP4 = (
    "looks like an MP4/MOV file but its index (the 'moov' atom) is missing: the file is probably "
    "truncated or still being written; re-download or re-export it"
)
CORRUPT = "could not be decoded: the file is probably truncated or corrupt; re-download or re-export it"


def check_file(path: str | os.PathLike[str]) -> Path:
    """Fail early, before any library sees the path, on the cases a person can fix at once."""
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "no such file; check the path")
    if p.is_dir():
        raise MediaError(p, "is a directory, not a video file")
    try:
        size = p.stat().st_size
        with p.open("rb"):
            pass
    except PermissionError as exc:
        raise MediaError(p, "permission denied; check the file's permissions") from exc
    except OSError as exc:
        raise MediaError(p, f"cannot be opened: {exc.strerror or exc}") from exc
    if size == 0:
        raise MediaError(p, "file is empty (0 bytes); the download or export probably failed")
    return p


def _looks_like_mp4(path: Path) -> bool:
    """MP4/MOV files start with an 'ftyp' box; text or random bytes do not."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[4:8] == b"ftyp"


def clean_library_message(exc: BaseException) -> str:
    """The useful first line of a library message, without decord's timestamp and C++ source line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # decord: "[03:39:02] /github/workspace/src/video/video_reader.cc:486: Error: av_read_frame failed"
    text = re.sub(r"^\[[0-9:]+\]\s+\S+:\d+:\s*", "", text)
    return text[:200]


def open_failure(path: Path, exc: BaseException, kind: str = "video") -> MediaError:
    """The MediaError for a file a library refused to open; `kind` says what was expected."""
    import av

    if isinstance(exc, av.error.FileNotFoundError):
        return MediaError(path, "no such file; check the path")
    if isinstance(exc, av.error.PermissionError):
        return MediaError(path, "permission denied; check the file's permissions")
    if isinstance(exc, (av.error.InvalidDataError, av.error.EOFError)):
        return MediaError(path, TRUNCATED_MP4 if _looks_like_mp4(path) else NOT_A_VIDEO.format(kind=kind))
    return MediaError(path, f"{NOT_A_VIDEO.format(kind=kind)} ({clean_library_message(exc)})")


def decode_failure(path: Path, exc: BaseException, where: str = "") -> MediaError:
    """The MediaError for a file that opened but broke while frames or samples were read."""
    detail = clean_library_message(exc)
    at = f" {where}" if where else ""
    return MediaError(path, f"{CORRUPT}{at} ({detail})")


def library_errors() -> tuple[type[BaseException], ...]:
    """The exception types PyAV and decord raise for bad media.

    decord raises DECORDError from its C++ checks and plain RuntimeError when ffmpeg cannot open a
    file; PyAV raises FFmpegError subclasses, some of which are also OSError or ValueError. decord is
    never imported just to name its error: importing it loads its own FFmpeg 4 and libvpx into the
    process's global symbol scope, and if it was not imported it cannot have raised anything.
    """
    import av

    types: list[type[BaseException]] = [av.error.FFmpegError, OSError, RuntimeError]
    decord_base = sys.modules.get("decord._ffi.base")
    if decord_base is not None:
        types.append(decord_base.DECORDError)
    return tuple(types)


@contextlib.contextmanager
def reading(path: Path, where: str = "") -> Iterator[None]:
    """Wrap a block that decodes: library exceptions leave as MediaError, our own pass through.

    Only library error types are translated, so a programming error in openvid still shows up as
    what it is instead of being blamed on the file.
    """
    try:
        yield
    except MediaError:
        raise
    except library_errors() as exc:
        raise decode_failure(path, exc, where) from exc


__all__ = [
    "CORRUPT",
    "NOT_A_VIDEO",
    "TRUNCATED_MP4",
    "check_file",
    "clean_library_message",
    "decode_failure",
    "library_errors",
    "open_failure",
    "reading",
]
