"""The one interface every decoding backend offers: sparse frame fetch by index, plus frame times.

Callers pick frames by time (segments.py) and fetch them by index; they never learn which library
decoded them. Both backends return the same size, orientation and dtype for the same request, so
an index built with decord can be searched with frames PyAV decoded, and the other way round.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType

import numpy as np

from openvid.errors import MediaError, UsageError
from openvid.media.probe import VideoInfo


def output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """(H, W) of frames scaled so the shorter side is `short_side`, aspect kept.

    The long side is rounded to an even number: encoders crop or resize anyway, and even sizes keep
    yuv420 scalers on their fast paths. Small videos are scaled up too, since encoders need their
    input size whatever the source.
    """
    if short_side is None:
        return int(height), int(width)
    if short_side < 2:
        raise UsageError(f"short_side must be at least 2 pixels, got {short_side}")
    if width <= height:
        long_side = height * short_side / width
        return _even(long_side), int(short_side)
    long_side = width * short_side / height
    return int(short_side), _even(long_side)


def _even(x: float) -> int:
    return max(2, 2 * int(round(x / 2)))


def settle_info(info: VideoInfo, timestamps: np.ndarray) -> VideoInfo:
    """The probe's info made consistent with the frames the reader really has.

    Headers can be off by a frame or two (edit lists, a last sample without a duration); windows
    are planned from this info, so its count must equal len(timestamps) and its duration must reach
    past the last frame.
    """
    n = len(timestamps)
    duration = info.duration_s
    if n:
        gap = float(timestamps[-1] - timestamps[-2]) if n > 1 else (1.0 / info.fps if info.fps > 0 else 0.0)
        reach = float(timestamps[-1]) + max(gap, 0.0)
        if reach > duration + 1e-6:  # ignore float noise, extend only for a real shortfall
            duration = reach
    if n == info.frame_count and duration == info.duration_s:
        return info
    return dataclasses.replace(info, frame_count=n, duration_s=duration)


class VideoReader(ABC):
    """An open video: `timestamps` says when each frame is shown, `get_frames` fetches some of them.

    Subclasses set `backend`, `info`, `size` and `_timestamps`, and implement `_fetch` for sorted,
    unique, in-range indices; this base class handles ordering, duplicates and validation once.
    """

    backend: str
    info: VideoInfo
    size: tuple[int, int]
    _timestamps: np.ndarray

    @property
    def timestamps(self) -> np.ndarray:
        """Presentation time in seconds of every frame, in display order, from the stream's start."""
        return self._timestamps

    def __len__(self) -> int:
        return len(self._timestamps)

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """uint8 [n, H, W, 3] RGB frames at `indices` (any order, duplicates allowed)."""
        wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
        height, width = self.size
        if wanted.size == 0:
            return np.empty((0, height, width, 3), dtype=np.uint8)
        n = len(self)
        bad = wanted[(wanted < 0) | (wanted >= n)]
        if bad.size:
            raise IndexError(f"frame index {int(bad[0])} is out of range: {self.info.path} has {n} frames (0..{n - 1})")
        unique, inverse = np.unique(wanted, return_inverse=True)
        frames = self._fetch(unique)
        expected = (len(unique), height, width, 3)
        if frames.shape != expected or frames.dtype != np.uint8:
            raise MediaError(
                self.info.path,
                f"{self.backend} returned malformed frames (shape {frames.shape}, expected {expected}); "
                "decode it with backend='pyav' instead",
            )
        return frames if len(unique) == len(wanted) and np.array_equal(unique, wanted) else frames[inverse]

    @abstractmethod
    def _fetch(self, indices: np.ndarray) -> np.ndarray:
        """Frames at sorted, unique, valid indices, shape [len(indices), H, W, 3] uint8."""

    def close(self) -> None:  # noqa: B027 - optional: a backend with nothing to release keeps it
        """Release the decoder; the reader cannot be used afterwards."""

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.path!r}, frames={len(self)}, size={self.size})"


__all__ = ["VideoReader", "output_size", "settle_info"]
