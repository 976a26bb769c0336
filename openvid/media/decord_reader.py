"""Frames through decord: fast random access, scaled while decoding, rotation already applied.

decord is asked for the target size when the file is opened (`width=`, `height=`), which decodes
about 3x faster than full size (BENCHMARKS.md: 472 vs 152 frames/s) and never holds full-size RGB
frames in memory. Its sizes are the displayed ones: on a rotated file it scales, then rotates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openvid.errors import MediaError
from openvid.media._guard import clean_library_message, library_errors, reading
from openvid.media.probe import VideoInfo
from openvid.media.reader import VideoReader, output_size, settle_info

_QUIETED = False


def import_decord():
    """decord, with its bundled FFmpeg's log output silenced.

    Without this decord's FFmpeg prints decoder warnings ("co located POCs unavailable", "moov atom
    not found") straight to stderr; openvid reports problems as MediaError instead.
    """
    global _QUIETED
    import decord

    if not _QUIETED:
        decord.logging.set_level(decord.logging.QUIET)
        _QUIETED = True
    return decord


def decord_width_ok(width: int) -> bool:
    """Whether decord 0.6 returns well-formed frames at this output width.

    decord pads each RGB row to a multiple of 96 bytes and then guesses the channel count as
    row_bytes / width when that divides evenly: widths 2, 3, 4, 6, 8, 12, 16, 24, 48 and 72 come
    back with 4-48 "channels" or raise a size check. No width above 96 is affected.
    """
    row = 3 * width
    padded = -(-row // 96) * 96
    return row == padded or padded % width != 0


class DecordReader(VideoReader):
    """A decord.VideoReader opened at the output size; fetches with one get_batch per call."""

    backend = "decord"

    def __init__(self, path: str | Path, info: VideoInfo, short_side: int | None = None) -> None:
        self._path = Path(path)
        try:
            decord = import_decord()
        except Exception as exc:  # ImportError, or a broken native library
            raise MediaError(
                path, f"decord is not available ({exc}); install decord or decode with backend='pyav'"
            ) from exc
        height, width = output_size(info.width, info.height, short_side)
        if not decord_width_ok(width):
            raise MediaError(
                path,
                f"decord returns malformed frames at width {width}; decode with backend='pyav' "
                "or pick another short_side",
            )
        size_args = {"width": width, "height": height} if short_side is not None else {}
        try:
            self._vr = decord.VideoReader(str(self._path), ctx=decord.cpu(0), num_threads=0, **size_args)
        except library_errors() as exc:
            raise MediaError(
                path, f"decord cannot open it ({clean_library_message(exc)}); decode with backend='pyav'"
            ) from exc
        with reading(self._path, "while reading frame times with decord"):
            n = len(self._vr)
            if n <= 0:
                raise MediaError(path, "decord finds no frames in it; decode with backend='pyav'")
            stamps = np.asarray(self._vr.get_frame_timestamp(np.arange(n)), dtype=np.float64)
        self._timestamps = np.ascontiguousarray(stamps.reshape(n, -1)[:, 0])
        self.info = settle_info(info, self._timestamps)
        self.size = (height, width)

    def _fetch(self, indices: np.ndarray) -> np.ndarray:
        if self._vr is None:
            raise ValueError(f"{self!r} is closed")
        try:
            frames = self._vr.get_batch(indices.tolist()).asnumpy()
            # Reset decord's decoder after every fetch: left running between calls it keeps decoded
            # frames and buffers in native memory (outside numpy's accounting) that grow with the
            # video's length (1.9 GB after an hour of 640x272 at 4 fps; decord issues #197, #208).
            # The next fetch seeks to its keyframe anyway, so this costs at most one GOP of decoding.
            self._vr.seek(0)
            return frames
        except library_errors() as exc:
            raise MediaError(
                self._path,
                f"decord could not decode it ({clean_library_message(exc)}); decode it with "
                "backend='pyav' (if that fails too, the file is truncated or corrupt)",
            ) from exc

    def close(self) -> None:
        # decord has no close(); dropping the last reference frees the demuxer and decoder
        self._vr = None


__all__ = ["DecordReader", "decord_width_ok", "import_decord"]
