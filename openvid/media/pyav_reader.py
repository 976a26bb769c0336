"""Frames through PyAV: slower than decord, but it opens whatever the installed FFmpeg can.

It is the fallback for files decord refuses (AV1, some MPEG-TS, still images) and for machines
without decord. It decodes forward and keeps only the requested frames; it jumps ahead by seeking
to a keyframe only when one lies between the current position and the next wanted frame, and it
identifies every decoded frame by its timestamp, so a seek that lands somewhere unexpected is
noticed and answered by decoding from the start instead of returning the wrong frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openvid.errors import MediaError
from openvid.media._guard import reading
from openvid.media._packets import scan_packets
from openvid.media.probe import VideoInfo, open_container, video_stream
from openvid.media.reader import VideoReader, output_size, settle_info


class PyAVReader(VideoReader):
    """Sequential PyAV decoding with keyframe seeks, scaled with `reformat`, rotated like decord."""

    backend = "pyav"

    def __init__(self, path: str | Path, info: VideoInfo, short_side: int | None = None) -> None:
        self._path = Path(path)
        container = open_container(self._path)
        try:
            self._index = scan_packets(self._path, container, video_stream(self._path, container))
        finally:
            container.close()
        self._timestamps = self._index.seconds
        self.info = settle_info(info, self._timestamps)
        self.size = output_size(info.width, info.height, short_side)
        self._turns = info.rotation // 90  # counter-clockwise quarter turns, as np.rot90 counts them
        height, width = self.size
        # reformat works on the stored (unrotated) picture, so its target is the rotated-back size
        self._stored_hw = (width, height) if self._turns % 2 else (height, width)
        self._key_frames = np.searchsorted(self._index.pts, self._index.key_pts)
        self._container = None
        self._stream = None
        self._decoder = None
        self._last = -1  # display index of the last frame the decoder produced
        self._seek_ok = True  # cleared when a seek lands somewhere unexpected

    # -- decoding position -------------------------------------------------------------------

    def _start(self, target: int | None) -> None:
        """Position the decoder so the next frames lead up to `target` (None: from the very start)."""
        key = 0 if target is None or not self._seek_ok else self._key_before(target)
        if key == 0 or self._container is None:
            self._reopen()
        if key == 0:
            return
        with reading(self._path, f"while seeking to {self._timestamps[key]:.2f} s"):
            self._container.seek(int(self._index.pts[key]), stream=self._stream, backward=True, any_frame=False)
            self._decoder = self._container.decode(self._stream)
        self._last = key - 1

    def _key_before(self, target: int) -> int:
        """Display index of the last keyframe at or before `target`."""
        return int(self._key_frames[max(np.searchsorted(self._key_frames, target, side="right") - 1, 0)])

    def _reopen(self) -> None:
        self.close()
        self._container = open_container(self._path)
        stream = video_stream(self._path, self._container)
        stream.thread_type = "AUTO"
        self._stream = stream
        self._decoder = self._container.decode(stream)
        self._last = -1

    def _needs_start(self, target: int) -> bool:
        if self._decoder is None or target <= self._last:
            return True
        if not self._seek_ok:
            return False
        return self._key_before(target) > self._last + 1  # a keyframe lies ahead: jumping there skips decoding

    def _index_of(self, frame) -> int:
        if frame.pts is None:
            return self._last + 1
        pts = self._index.pts
        i = int(np.searchsorted(pts, frame.pts))
        if i >= len(pts):
            return len(pts) - 1
        if i > 0 and frame.pts - pts[i - 1] < pts[i] - frame.pts:
            return i - 1
        return i

    def _advance_to(self, target: int):
        """Decode until the frame at display index >= target; None when the stream ends first."""
        where = f"near {self._timestamps[min(target, len(self) - 1)]:.2f} s"
        with reading(self._path, where):
            for frame in self._decoder:
                self._last = self._index_of(frame)
                if self._last >= target:
                    return frame
        self._decoder = None
        return None

    # -- fetching ----------------------------------------------------------------------------

    def _fetch(self, indices: np.ndarray) -> np.ndarray:
        height, width = self.size
        out = np.empty((len(indices), height, width, 3), dtype=np.uint8)
        j = 0
        from_start = False
        while j < len(indices):
            target = int(indices[j])
            if self._needs_start(target):
                self._start(target)
            frame = self._advance_to(target)
            if frame is not None and self._last == target:
                out[j] = self._to_rgb(frame)
                j += 1
                continue
            if frame is None and self._last < target and from_start:
                raise MediaError(
                    self._path,
                    f"ends after frame {self._last} although its packets list {len(self)} frames; "
                    "it is probably truncated or corrupt, re-download or re-export it",
                )
            if from_start:
                raise MediaError(
                    self._path,
                    f"frame {target} ({self._timestamps[target]:.2f} s) could not be decoded; "
                    "the file is probably corrupt, re-export it",
                )
            # the frame was skipped (a seek landed past it) or never came: decode from the start
            from_start = True
            self._seek_ok = False
            self._start(None)
        return out

    def _to_rgb(self, frame) -> np.ndarray:
        stored_h, stored_w = self._stored_hw
        if frame.width != stored_w or frame.height != stored_h or frame.format.name != "rgb24":
            # bilinear is what decord's scaler uses; it keeps the two backends within ~0.1 grey levels
            frame = frame.reformat(width=stored_w, height=stored_h, format="rgb24", interpolation="BILINEAR")
        rgb = frame.to_ndarray()
        return np.rot90(rgb, self._turns) if self._turns else rgb

    def close(self) -> None:
        self._decoder = None
        if self._container is not None:
            self._container.close()
            self._container = None


__all__ = ["PyAVReader"]
