"""Cutting a video into time windows and picking the frames each window is represented by.

Windows and frames are chosen by time, never by index, so a variable-frame-rate phone video is cut
into the same seconds as a constant-rate one. Planning is a pure function of the frame timestamps;
fetching is batched across windows so one decode pass serves many windows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from openvid.errors import MediaError, UsageError, opt
from openvid.media.decode import open_video
from openvid.media.reader import VideoReader

# Windows decoded per get_frames call, and at most this many distinct frames (~45 MB at 224x528),
# whichever is first. Small, because the group's frames and its clips' copies are alive together:
# it is part of the fixed memory a run holds, and a 1-minute video (15 windows of 4 s) fills one.
_FETCH_WINDOWS = 16
_FETCH_FRAMES = 128


@dataclass(frozen=True)
class Window:
    """One time range of a video and the frames chosen to represent it."""

    index: int
    start_s: float
    end_s: float
    frame_indices: np.ndarray  # int64 [frames_per_window], into the reader's timestamps


@dataclass
class Clip:
    """What the encoders see: T frames of one window, with where they came from."""

    path: str
    index: int
    start_s: float
    end_s: float
    frames: np.ndarray  # uint8 [T, H, W, 3] RGB
    frame_indices: np.ndarray  # int64 [T]
    # Other frame samplings of the same window from the same decode, for models that want another
    # number of frames than the encoder (closed-set heads): count -> frames over the whole window,
    # (count, span_s) -> frames over the central span_s seconds of it.
    views: dict[int | tuple[int, float], np.ndarray] = field(default_factory=dict)
    # Mono float32 audio of this window by sample rate; None when the video has no audio track
    # (or nobody asked for audio).
    audio: dict[int, np.ndarray] | None = None

    def frames_for(self, count: int, span_s: float | None = None) -> np.ndarray:
        """`count` frames of this window, or of its central `span_s` seconds: the exact by-time
        sample when it was decoded (`views`), otherwise an even resample of the frames at hand."""
        key = view_key(count, span_s)
        if key in self.views:
            return self.views[key]
        duration = self.end_s - self.start_s
        part = 1.0 if span_s is None or duration <= 0 else min(span_s / duration, 1.0)
        if len(self.frames) == count and part == 1.0:
            return self.frames
        positions = (0.5 - part / 2 + (np.arange(count) + 0.5) * part / count) * len(self.frames)
        return self.frames[np.minimum(positions.astype(np.int64), len(self.frames) - 1)]

    def audio_at(self, sample_rate: int) -> np.ndarray | None:
        """This window's audio at `sample_rate`, or None when there is none."""
        if self.audio is None:
            return None
        return self.audio.get(sample_rate)

    def drop_pixels(self) -> None:
        """Free the frames, views and audio once every model has seen them (results keep the times).

        The frames become a new empty array, not a slice: `frames[:0]` is a view whose `base` is the
        whole decoded buffer, so it would keep every pixel alive for as long as the clip lives.
        """
        self.frames = np.empty((0, *self.frames.shape[1:]), dtype=self.frames.dtype)
        self.views = {}
        self.audio = None


def view_key(count: int, span_s: float | None = None) -> int | tuple[int, float]:
    """How `Clip.views` names a sampling: the count alone for the whole window, else (count, span)."""
    return int(count) if span_s is None else (int(count), float(span_s))


def central_range(start_s: float, end_s: float, span_s: float | None) -> tuple[float, float]:
    """The central `span_s` seconds of [start_s, end_s] (all of it when shorter or None)."""
    if span_s is None or span_s >= end_s - start_s:
        return start_s, end_s
    middle = (start_s + end_s) / 2
    return middle - span_s / 2, middle + span_s / 2


def nearest_frames(timestamps: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the frame whose timestamp is closest to each target time (ties: the earlier one)."""
    ts = np.asarray(timestamps, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if len(ts) == 1:
        return np.zeros(t.shape, dtype=np.int64)
    right = np.clip(np.searchsorted(ts, t), 1, len(ts) - 1)
    left = right - 1
    take_left = (t - ts[left]) <= (ts[right] - t)
    return np.where(take_left, left, right).astype(np.int64)


def sample_indices(timestamps: np.ndarray, start_s: float, end_s: float, count: int) -> np.ndarray:
    """`count` frames at the centres of `count` equal slices of [start_s, end_s].

    Centres rather than edges, so two adjacent windows never pick the same boundary frame and a
    one-frame sample lands mid-window. A window holding fewer frames than `count` repeats frames:
    encoders want exactly `count` of them.
    """
    if count < 1:
        raise UsageError(f"frames per window must be at least 1, got {count}")
    targets = start_s + (np.arange(count) + 0.5) * ((end_s - start_s) / count)
    return nearest_frames(timestamps, targets)


def plan_windows(
    timestamps: np.ndarray,
    duration_s: float,
    window_s: float,
    stride_s: float,
    frames_per_window: int,
) -> list[Window]:
    """Windows at 0, stride, 2*stride, ... until one reaches the end of the video.

    The window that reaches `duration_s` is the last one and ends exactly there, so the tail of the
    video is covered once, by a shorter window, instead of by several windows hanging past the end.
    A video shorter than one window gives one window over all of it. When the window after one
    would be a sliver shorter than two frame intervals (at most half a window), like the 4 ms left
    of a 4.004 s video, that sliver holds a frame or two, too little to be a segment of its own:
    the window before it is stretched to the end instead (with gaps between windows, the sliver is
    left out).
    """
    if window_s <= 0 or stride_s <= 0:
        raise UsageError(f"{opt('window_s')} and {opt('stride_s')} must be positive, got {window_s} and {stride_s}")
    if frames_per_window < 1:
        raise UsageError(f"frames_per_window must be at least 1, got {frames_per_window}")
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.ndim != 1 or len(ts) == 0:
        raise UsageError("timestamps must be a non-empty 1-D array of frame times")
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise UsageError(f"duration_s must be positive, got {duration_s}")
    eps = 1e-9 * max(1.0, duration_s)
    frame_s = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0
    tail = max(eps, min(2 * frame_s, window_s / 2))  # a last window shorter than this joins the one before
    windows: list[Window] = []
    k = 0
    while True:
        start = k * stride_s  # multiplied, not accumulated, so float error does not drift
        if windows and start >= duration_s - tail:  # only when stride > window leaves a gap at the end
            break
        end = start + window_s
        sliver_next = (k + 1) * stride_s >= duration_s - tail and end >= duration_s - tail
        last = end >= duration_s - eps or sliver_next
        if last:
            end = float(duration_s)
        windows.append(Window(k, float(start), float(end), sample_indices(ts, start, end, frames_per_window)))
        if last:
            break
        k += 1
    return windows


def iter_clips(
    path: str | os.PathLike[str],
    *,
    window_s: float,
    stride_s: float,
    frames_per_window: int,
    short_side: int | None = 224,
    backend: str = "auto",
    extra_frame_counts: Sequence[int | tuple[int, float | None]] = (),
) -> Iterator[Clip]:
    """Every window of a video as a Clip, in order, decoding the file once.

    The file is opened and checked here, not at the first `next()`, so a bad path fails where the
    caller asked for it. Frames of up to 32 windows (and at most 256 distinct frames) are fetched in
    one call, so overlapping windows share decoded frames and memory stays bounded.

    `extra_frame_counts`: other models' frame counts, each a count (sampled over the whole window)
    or (count, span_s) (over the window's central span_s seconds: a model trained on 2 s clips
    sees 2 s of motion at its own frame spacing); sampled by time and fetched in the same decode
    call, into `Clip.views` (see `view_key`).
    """
    reader = open_video(path, short_side=short_side, backend=backend)
    try:
        windows = plan_windows(
            reader.timestamps, reader.info.duration_s, window_s, stride_s, frames_per_window
        )
        wanted = {view_key(*c) if isinstance(c, tuple) else view_key(c) for c in extra_frame_counts}
        wanted.discard(frames_per_window)
        extra = [{key: _sample_view(reader.timestamps, w, key) for key in wanted} for w in windows]
    except BaseException:
        reader.close()
        raise
    return _clips(str(path), reader, windows, extra)


def _sample_view(timestamps: np.ndarray, window: Window, key: int | tuple[int, float]) -> np.ndarray:
    count, span = (key, None) if isinstance(key, int) else key
    return sample_indices(timestamps, *central_range(window.start_s, window.end_s, span), count)


def _clips(path: str, reader: VideoReader, windows: list[Window], extra: list[dict]) -> Iterator[Clip]:
    with reader:
        for group in _fetch_groups(windows, extra):
            wanted = np.unique(np.concatenate(
                [w.frame_indices for w in group] + [i for w in group for i in extra[w.index].values()]))
            frames = reader.get_frames(wanted)
            for window in group:
                rows = np.searchsorted(wanted, window.frame_indices)
                views = {c: frames[np.searchsorted(wanted, i)] for c, i in extra[window.index].items()}
                yield Clip(path, window.index, window.start_s, window.end_s, frames[rows], window.frame_indices,
                           views=views)


def _fetch_groups(windows: list[Window], extra: list[dict]) -> Iterator[list[Window]]:
    group: list[Window] = []
    distinct = 0
    for window in windows:
        size = len(window.frame_indices) + sum(len(i) for i in extra[window.index].values())
        if group and (len(group) >= _FETCH_WINDOWS or distinct + size > _FETCH_FRAMES):
            yield group
            group, distinct = [], 0
        group.append(window)
        distinct += size
    if group:
        yield group


def load_clip(
    path: str | os.PathLike[str],
    start_s: float | None,
    end_s: float | None,
    frames: int,
    short_side: int | None = 224,
    backend: str = "auto",
) -> Clip:
    """One clip of `frames` frames over [start_s, end_s] (None: from the start / to the end).

    An end past the video's end is clamped to it (a range "0 to 60 s" of a 59.9 s video means all of
    it); a range that starts outside the video, or is empty, is a MediaError naming the duration.
    """
    if frames < 1:
        raise UsageError(f"frames must be at least 1, got {frames}")
    with open_video(path, short_side=short_side, backend=backend) as reader:
        duration = reader.info.duration_s
        start = 0.0 if start_s is None else float(start_s)
        end = duration if end_s is None else float(end_s)
        if start < 0 or start >= duration or end <= start:
            raise MediaError(
                path,
                f"the range {start:.2f}-{end:.2f} s is outside the video, which lasts {duration:.2f} s; "
                f"pick a range within 0-{duration:.2f} s",
            )
        end = min(end, duration)
        indices = sample_indices(reader.timestamps, start, end, frames)
        return Clip(str(path), 0, start, end, reader.get_frames(indices), indices)


__all__ = ["Clip", "Window", "central_range", "iter_clips", "load_clip", "nearest_frames", "plan_windows",
           "sample_indices", "view_key"]
