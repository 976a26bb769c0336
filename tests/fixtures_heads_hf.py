"""Fixtures for the transformers heads (VideoMAE, TimeSformer, AST, CLAP): tiny random-weight
checkpoints from scripts/make_tiny_models.py, loaded through `load_head` as users load theirs, and
clips cut from real or synthetic videos with their audio attached as the engine attaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

HF_HEADS = ("videomae", "timesformer", "ast", "clap")


@pytest.fixture(scope="session")
def tiny_hf_heads(tiny_model_dirs) -> dict:
    """name -> Head loaded on CPU from the tiny checkpoint folder (`--head-checkpoint NAME=FOLDER`)."""
    from openvid.config import Settings
    from openvid.heads import HeadChoice, load_head

    settings = Settings(device="cpu", runtime="torch", batch_size=2)  # small batches cross batch boundaries
    return {name: load_head(HeadChoice(name, checkpoint=str(tiny_model_dirs[name])), settings) for name in HF_HEADS}


@pytest.fixture(scope="session")
def clips_of() -> Callable[..., list]:
    """clips_of(path, rates=(), window_s=2.0, frames=4, extra_frame_counts=(), short_side=64, limit=None):
    the video's windows as Clips, each with its audio at every rate in `rates` (None when the video
    has no audio track), as the engine hands them to heads."""
    from openvid.errors import NoAudioError
    from openvid.media import iter_clips, load_audio

    def make(path: Path, rates: Sequence[int] = (), window_s: float = 2.0, frames: int = 4,
             extra_frame_counts: Sequence[int] = (), short_side: int = 64, limit: int | None = None) -> list:
        clips = []
        for clip in iter_clips(path, window_s=window_s, stride_s=window_s, frames_per_window=frames,
                               short_side=short_side, extra_frame_counts=extra_frame_counts):
            if limit is not None and len(clips) >= limit:
                break
            if rates:
                try:
                    clip.audio = {rate: load_audio(path, rate, clip.start_s, clip.end_s) for rate in rates}
                except NoAudioError:
                    clip.audio = None
            clips.append(clip)
        return clips

    return make


def audio_clip(rate: int, wave) -> object:
    """A Clip holding only audio (one black frame) at `rate`; `wave=None`: a clip without audio."""
    import numpy as np

    from openvid.media import Clip

    audio = None if wave is None else {rate: np.asarray(wave, np.float32)}
    return Clip("synthetic", 0, 0.0, 1.0, np.zeros((1, 8, 8, 3), np.uint8), np.zeros(1, np.int64), audio=audio)


def tone(rate: int, seconds: float, hz: float = 440.0, amplitude: float = 0.5):
    import numpy as np

    t = np.arange(int(round(rate * seconds))) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)
