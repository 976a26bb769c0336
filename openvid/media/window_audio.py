"""Each window's audio, attached to its clip: one read of the track per rate, or window by window."""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np

from openvid.errors import MediaError
from openvid.media.audio import load_audio
from openvid.media.segments import Clip

WHOLE_TRACK_S = 600.0  # up to 10 minutes the track is read once (48 kHz: ~115 MB); longer, window by window


def with_audio(path: str, clips: Iterable[Clip], rates: Sequence[int]) -> Iterator[Clip]:
    """Attach each window's audio at every rate; a video without an audio track gets `audio=None`.

    An audio track that does not decode is treated like a missing one: audio heads fall silent for
    this video, the encoder and the video heads still answer. Up to `WHOLE_TRACK_S` the track is
    read once per rate and each window's slice taken from it; a longer video's audio is read window
    by window (seeking), so memory stays bounded (an hour at 48 kHz would be ~0.7 GB).
    """
    from openvid.media.probe import probe

    try:
        info = probe(path)
        whole, has_audio = info.duration_s <= WHOLE_TRACK_S, info.has_audio
    except MediaError:
        whole, has_audio = True, True  # the video reader reports the problem; reading the audio will fail too
    tracks: dict[int, np.ndarray] | None = {} if has_audio else None
    if whole and tracks is not None:
        for rate in rates:
            try:
                tracks[rate] = load_audio(path, rate)
            except MediaError:  # no audio track, or one that does not decode: the video still counts
                tracks = None
                break
    for clip in clips:
        if tracks is None:
            clip.audio = None
        elif whole:
            clip.audio = {rate: track[int(round(clip.start_s * rate)): int(round(clip.end_s * rate))]
                          for rate, track in tracks.items()}
        else:
            clip.audio = _window_audio(path, clip, rates)
        yield clip


def _window_audio(path: str, clip: Clip, rates: Sequence[int]) -> dict[int, np.ndarray] | None:
    try:
        return {rate: load_audio(path, rate, clip.start_s, clip.end_s) for rate in rates}
    except MediaError:  # past the end of a shorter track, or undecodable: nothing to say here
        return None


__all__ = ["WHOLE_TRACK_S", "with_audio"]
