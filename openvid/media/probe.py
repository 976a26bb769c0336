"""What a video file is, read once with PyAV before any frame is decoded.

Probing is also the gate in front of decord: decord prints to stderr and raises C++ check failures
on input it does not understand, so only files PyAV has opened, found a video stream in and decoded
one frame of are handed to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from openvid.errors import MediaError
from openvid.media._guard import check_file, library_errors, open_failure, reading
from openvid.media._packets import check_complete, scan_packets


@dataclass(frozen=True)
class VideoInfo:
    """A video's shape in time and space.

    width/height are as displayed, i.e. after `rotation` is applied. rotation is the angle in
    degrees (0, 90, 180, 270) the stored picture is turned counter-clockwise to display it, as
    FFmpeg's display matrix and PyAV's `VideoFrame.rotation` define it (270 is what phones write
    for "rotate 90 clockwise").
    """

    path: str
    duration_s: float
    fps: float
    frame_count: int
    width: int
    height: int
    has_audio: bool
    rotation: int


def open_container(path: str | os.PathLike[str], kind: str = "video"):
    """`av.open` behind the bad-input checks; the caller closes the container."""
    import av

    p = check_file(path)
    try:
        return av.open(str(p), mode="r")
    except library_errors() as exc:
        raise open_failure(p, exc, kind) from exc


def video_stream(path: Path, container):
    """The first real video stream; cover art in audio files is a 'video' stream but not a video."""
    from av.stream import Disposition

    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    if container.streams.audio:
        raise MediaError(path, "has no video stream (it is an audio-only file); use load_audio for it")
    raise MediaError(path, "has no video stream; check that it really is a video file")


def normalise_rotation(degrees: float | int | None) -> int:
    """Nearest multiple of 90 in [0, 360): odd angles from broken metadata are not worth honouring."""
    if not degrees:
        return 0
    return int(round(float(degrees) / 90.0)) * 90 % 360


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Duration, rate, frame count, displayed size, audio presence and rotation of a video file.

    The frame count comes from the header when it has one (mp4/mov) and from counting packets when
    it does not (mkv/webm say 0): counting without decoding is exact and cheap. One frame is decoded,
    because PyAV exposes the display rotation only on decoded frames, and because a file whose
    first frame cannot be decoded is better rejected here than half way through indexing. An MP4
    whose sample table points past the end of the file is rejected as truncated.
    """
    container = open_container(path)
    p = Path(path)
    try:
        return _probe_open(p, container)
    finally:
        container.close()


def _probe_open(p: Path, container) -> VideoInfo:
    stream = video_stream(p, container)
    check_complete(p, container)
    time_base = stream.time_base or Fraction(1, 1_000_000)

    frame_count = int(stream.frames or 0)
    scanned = None
    if frame_count <= 0:
        scanned = scan_packets(p, container, stream)
        frame_count = len(scanned.pts)
        with reading(p, "while rewinding"):
            container.seek(0)

    with reading(p, "in its first frame"):
        stream.thread_type = "AUTO"
        first = next(iter(container.decode(stream)), None)
    if first is None:
        raise MediaError(p, "has a video stream but no decodable frames; it is probably truncated or corrupt")
    rotation = normalise_rotation(getattr(first, "rotation", 0))  # PyAV < 14 has no frame.rotation
    coded_w, coded_h = first.width, first.height
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)

    if scanned is not None:
        duration = scanned.duration_s
    elif stream.duration:
        duration = float(stream.duration * time_base)
    elif container.duration:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else (frame_count / duration if duration > 0 else 0.0)
    if duration <= 0 and fps > 0:
        duration = frame_count / fps

    return VideoInfo(
        path=str(p),
        duration_s=float(duration),
        fps=fps,
        frame_count=frame_count,
        width=int(width),
        height=int(height),
        has_audio=len(container.streams.audio) > 0,
        rotation=rotation,
    )


__all__ = ["VideoInfo", "normalise_rotation", "open_container", "probe", "video_stream"]
