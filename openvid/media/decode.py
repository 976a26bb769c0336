"""Opening a video for frame access: decord when it can, PyAV when it cannot.

Every file is probed with PyAV first. That gives the VideoInfo both backends share, and it keeps
files that are not videos at all away from decord, which reports them with C++ check failures and
stderr noise. In "auto" mode a file decord refuses to open, or fails to decode part way (some
MPEG-TS, AV1, a still image), is decoded with PyAV instead, without the caller noticing anything but
`reader.backend`.

"auto" also decodes long files (over `LONG_VIDEO_S`) with PyAV from the start: decord's native
buffers creep by 60-90 MB an hour of video even when each window's frames are released, while
PyAV's peak memory stays flat (`scripts/bench_memory.py`). On the default 8 frames per 4 s window
PyAV delivers frames at 0.94-1.0x decord's rate (bikes.mp4, bigbuckbunny.mp4), far above what the
encoder consumes, so the choice costs long files nothing measurable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import numpy as np

from openvid.config import DECODER_CHOICES
from openvid.errors import MediaError, UnknownChoice
from openvid.media.decord_reader import DecordReader
from openvid.media.probe import probe
from openvid.media.pyav_reader import PyAVReader
from openvid.media.reader import VideoReader

log = logging.getLogger(__name__)

LONG_VIDEO_S = 120.0  # "auto" decodes files longer than this with PyAV (flat memory; see the docstring)


def open_video(
    path: str | os.PathLike[str], short_side: int | None = None, backend: str = "auto"
) -> VideoReader:
    """A reader whose frames have their shorter side scaled to `short_side` (None: native size).

    backend: "decord", "pyav", or "auto" (decord, falling back to PyAV when decord is missing or
    cannot open or decode the file; PyAV for files longer than LONG_VIDEO_S). Bad input raises
    MediaError with the path and what to do.
    """
    if backend not in DECODER_CHOICES:
        raise UnknownChoice("decoder", backend, list(DECODER_CHOICES))
    info = probe(path)
    if backend == "pyav" or (backend == "auto" and info.duration_s > LONG_VIDEO_S):
        return PyAVReader(path, info, short_side)
    if backend == "decord":
        return DecordReader(path, info, short_side)
    try:
        primary = DecordReader(path, info, short_side)
    except MediaError as exc:
        log.info("decoding %s with PyAV: %s", path, exc.reason)
        return PyAVReader(path, info, short_side)
    return _FallbackReader(primary, lambda: PyAVReader(path, info, short_side))


class _FallbackReader(VideoReader):
    """decord until it fails to decode, then PyAV for the rest of the reader's life.

    The two backends index frames the same way (display order) and return the same size, so
    windows planned from decord's timestamps are fetched correctly from PyAV after a switch.
    """

    def __init__(self, primary: VideoReader, make_secondary: Callable[[], VideoReader]) -> None:
        self._current = primary
        self._make_secondary = make_secondary
        self._switched = False

    @property
    def backend(self) -> str:  # type: ignore[override]
        return self._current.backend

    @property
    def info(self):  # type: ignore[override]
        return self._current.info

    @property
    def size(self) -> tuple[int, int]:  # type: ignore[override]
        return self._current.size

    @property
    def timestamps(self) -> np.ndarray:
        return self._current.timestamps

    def __len__(self) -> int:
        return len(self._current)

    def _fetch(self, indices: np.ndarray) -> np.ndarray:
        try:
            return self._current.get_frames(indices)
        except MediaError as exc:
            if self._switched:
                raise
            log.info("decord failed on %s (%s); switching to PyAV", self.info.path, exc.reason)
            secondary = self._make_secondary()
            if secondary.size != self._current.size:  # cannot happen: both use output_size()
                secondary.close()
                raise
            self._current.close()
            self._current, self._switched = secondary, True
            return self._current.get_frames(indices)

    def close(self) -> None:
        self._current.close()


__all__ = ["DecordReader", "PyAVReader", "VideoReader", "open_video"]
