"""What a set of heads needs from the decoder: frame counts and spans per window, the short side, audio rates.

One decoded window serves the encoder and every head: each model's frame count is sampled by time
from the same decode, at the largest short side any of them needs (`Clip.views`), and each
window's audio is cut from one read of the track per sample rate (`openvid.media.window_audio`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from openvid.heads.base import Head


def frame_needs(heads: Sequence["Head"]) -> tuple[list[tuple[int, float | None]], int]:
    """(each head's (frame count, seconds of the window) to sample, the largest short side they want)."""
    views = sorted({(head.frames_per_clip, head.clip_seconds) for head in heads if head.frames_per_clip},
                   key=lambda view: (view[0], view[1] or 0.0))
    short_side = max([head.resize_to for head in heads if head.frames_per_clip] or [0])
    return views, short_side


def sample_rates(heads: Sequence["Head"]) -> list[int]:
    return sorted({int(head.sample_rate) for head in heads if head.needs_audio and head.sample_rate})


__all__ = ["frame_needs", "sample_rates"]
