"""Setting closed-set heads up to vote in a classification: weights, label maps, and their input.

The engine's glue between `openvid.heads` (models, no storage), `openvid.store.head_maps` (the
user's overrides) and `openvid.scoring` (mapping and fusion math). One decoded window serves the
encoder and every head: each model's frame count is sampled by time from the same decode, at the
largest short side any of them needs, and each window's audio is cut from one read of the track
per sample rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from openvid.classify import HeadVoter
from openvid.errors import MediaError, OpenvidError
from openvid.media import Clip, load_audio
from openvid.scoring.head_mapping import DEFAULT_MAP_THRESHOLD, HeadMapping, identity_mapping, map_labels

if TYPE_CHECKING:  # pragma: no cover
    from openvid.heads import Head


def head_weights(heads: Sequence["Head"], stored: Mapping[str, float], given: Mapping[str, float] | None) -> dict[str, float]:
    """Each head's weight: the call's (`--head-weight`) over the taxonomy's over the head's default."""
    given = dict(given or {})
    unknown = sorted(set(given) - {head.name for head in heads})
    if unknown:
        raise OpenvidError(f"--head-weight names {', '.join(unknown)}, which is not among the heads asked for "
                           f"({', '.join(h.name for h in heads) or 'none'}); add it with --head NAME")
    return {head.name: float(given.get(head.name, stored.get(head.name, head.spec.default_weight))) for head in heads}


def mapping_for(name: str, head_labels: Sequence[str] | None, labels: Sequence[str],
                embed: Callable[[list[str]], np.ndarray], synonyms: Mapping[str, Sequence[str]],
                overrides: Mapping[str, str | None], threshold: float = DEFAULT_MAP_THRESHOLD) -> HeadMapping:
    """Where a head's labels vote among `labels`; `head_labels=None` is an open-vocabulary head,
    which scores `labels` themselves."""
    if head_labels is None:
        return identity_mapping(name, labels)
    return map_labels(name, head_labels, labels, embed, synonyms=synonyms, overrides=overrides, threshold=threshold)


def voters(heads: Sequence["Head"], mappings: Sequence[HeadMapping], weights: Mapping[str, float]) -> list[HeadVoter]:
    return [HeadVoter(head, mapping, weights[head.name]) for head, mapping in zip(heads, mappings)]


def frame_needs(heads: Sequence["Head"]) -> tuple[list[tuple[int, float | None]], int]:
    """(each head's (frame count, seconds of the window) to sample, the largest short side they want)."""
    views = sorted({(head.frames_per_clip, head.clip_seconds) for head in heads if head.frames_per_clip},
                   key=lambda view: (view[0], view[1] or 0.0))
    short_side = max([head.resize_to for head in heads if head.frames_per_clip] or [0])
    return views, short_side


def sample_rates(heads: Sequence["Head"]) -> list[int]:
    return sorted({int(head.sample_rate) for head in heads if head.needs_audio and head.sample_rate})


WHOLE_TRACK_S = 600.0  # up to 10 minutes the track is read once (48 kHz: ~115 MB); longer, window by window


def with_audio(path: str, clips: Iterable[Clip], rates: Sequence[int]) -> Iterator[Clip]:
    """Attach each window's audio at every rate; a video without an audio track gets `audio=None`.

    An audio track that does not decode is treated like a missing one: audio heads fall silent for
    this video, the encoder and the video heads still answer. Up to `WHOLE_TRACK_S` the track is
    read once per rate and each window's slice taken from it; a longer video's audio is read window
    by window (seeking), so memory stays bounded (an hour at 48 kHz would be ~0.7 GB).
    """
    from openvid.media import probe

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


__all__ = ["WHOLE_TRACK_S", "frame_needs", "head_weights", "mapping_for", "sample_rates", "voters", "with_audio"]
