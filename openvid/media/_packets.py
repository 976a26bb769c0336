"""What the container knows without decoding: packet timestamps, keyframes, and whether it is whole.

Demuxing reads packets but never decodes them, so it is cheap and exact: it gives the frame count
that mkv/webm headers leave at 0, the presentation time of every frame (so variable-frame-rate
files are handled by time, not by index), and the keyframes a reader may seek to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from openvid.errors import MediaError
from openvid.media._guard import reading


@dataclass(frozen=True)
class PacketIndex:
    """Presentation timestamps of one stream's packets, in its time_base, sorted (display order)."""

    pts: np.ndarray  # int64 [n]
    key_pts: np.ndarray  # int64 [k], pts of packets that start a GOP
    start_pts: int  # the stream's time zero: first frame shown at 0.0 s
    end_pts: int  # when the last frame stops being shown
    time_base: Fraction

    @property
    def seconds(self) -> np.ndarray:
        """Frame times in seconds from the stream's start, float64."""
        return (self.pts - self.start_pts).astype(np.float64) * float(self.time_base)

    @property
    def duration_s(self) -> float:
        return float((self.end_pts - self.start_pts) * self.time_base)


def scan_packets(path: Path, container, stream) -> PacketIndex:
    """Demux every packet of `stream` (from the current position, normally the start).

    Packets without a pts (some AVI and raw streams) fall back to their dts; a stream with neither
    gets an even grid at its nominal rate, the best that can be said without decoding.
    """
    time_base = stream.time_base or Fraction(1, 1_000_000)
    stamps: list[int] = []
    keys: list[int] = []
    durations: list[int] = []
    unstamped = 0
    with reading(path, "while reading packets"):
        for packet in container.demux(stream):
            if packet.size == 0 or getattr(packet, "is_discard", False):  # the final flush packet; frames an edit list cuts
                continue
            t = packet.pts if packet.pts is not None else packet.dts
            if t is None:
                unstamped += 1
                continue
            stamps.append(t)
            durations.append(packet.duration or 0)
            if packet.is_keyframe:
                keys.append(t)
    if unstamped and not stamps:
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        step = int(round(1 / (rate * time_base))) or 1
        stamps = [i * step for i in range(unstamped)]
        durations = [step] * unstamped
        keys = [0]
    if not stamps:
        raise MediaError(path, "has a video stream but no video frames in it")
    pts = np.asarray(stamps, dtype=np.int64)
    order = np.argsort(pts, kind="stable")
    pts = pts[order]
    dur = np.asarray(durations, dtype=np.int64)[order]
    if dur[-1] <= 0 and len(pts) > 1:  # last packet without a duration: assume the typical gap
        dur[-1] = int(np.median(np.diff(pts)))
    start = int(stream.start_time) if stream.start_time is not None else int(pts[0])
    start = min(start, int(pts[0]))
    return PacketIndex(
        pts=pts,
        key_pts=np.unique(np.asarray(keys or [int(pts[0])], dtype=np.int64)),
        start_pts=start,
        end_pts=int((pts + dur).max()),
        time_base=time_base,
    )


def check_complete(path: Path, container) -> None:
    """Raise when the file is shorter than its own sample index says (a cut-off download).

    MP4/MOV keep a table with the byte position and size of every sample. A file whose 'moov' sits
    at the front opens fine even when the data after it is cut off, and would only fail half way
    through decoding; comparing the table with the file size catches it up front, for free.
    """
    size = os.path.getsize(path)
    needed = 0
    for stream in container.streams:
        if stream.type not in ("video", "audio"):
            continue
        entries = getattr(stream, "index_entries", None)  # PyAV >= 14
        if not entries:
            continue
        needed = max(needed, _last_byte(entries))
    if needed > size:
        raise MediaError(
            path,
            f"is truncated: its index needs {needed} bytes but the file has {size}; "
            "the download or export was cut off, re-download or re-export it",
        )


def _last_byte(entries) -> int:
    end = 0
    for entry in entries:
        if entry.size > 0 and entry.pos >= 0:
            end = max(end, entry.pos + entry.size)
    return end


__all__ = ["PacketIndex", "check_complete", "scan_packets"]
