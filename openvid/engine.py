"""The Python API: one object that holds the settings and a lazily loaded encoder.

The CLI is a thin layer over this class; anything the command line can do, `Engine` can do.
Later capabilities (index, search, classify, few-shot) add verbs here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from openvid.config import Settings
from openvid.encoders import Encoder, load_encoder
from openvid.media import Clip, iter_clips


@dataclass
class VideoEmbedding:
    """One vector per segment of a video, with the time range each covers."""

    path: str
    starts: np.ndarray  # seconds, float64 [n]
    ends: np.ndarray  # seconds, float64 [n]
    vectors: np.ndarray  # float32 [n, dim], unit norm
    model: str  # the encoder's identity


class Engine:
    """Entry point of the Python API.

        >>> engine = Engine(model="clip")                     # doctest: +SKIP
        >>> engine.encode_text(["a dog catching a frisbee"]).shape  # doctest: +SKIP
        (1, 512)
    """

    def __init__(self, model: str | None = None, settings: Settings | None = None, **overrides: Any) -> None:
        base = settings or Settings.from_env()
        self.settings = base.replace(model=model, **overrides)
        self._encoder: Encoder | None = None

    @property
    def encoder(self) -> Encoder:
        """Loaded on first use, so building an Engine is free."""
        if self._encoder is None:
            self._encoder = load_encoder(self.settings.model, self.settings)
        return self._encoder

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode_text(list(texts))

    def clips(self, path: str | Path) -> list[Clip]:
        """The video's segments as the encoder wants them (its frames per clip, its image size)."""
        encoder = self.encoder
        window = self.settings.window_s or encoder.window_s
        stride = self.settings.stride_s or window
        return list(
            iter_clips(
                str(path),
                window_s=window,
                stride_s=stride,
                frames_per_window=encoder.frames_per_clip,
                short_side=encoder.resize_to,
                backend=self.settings.decoder,
            )
        )

    def encode_video(self, path: str | Path) -> VideoEmbedding:
        """Segment a video file and embed every segment."""
        clips = self.clips(path)
        vectors = self.encoder.encode_video(clips, batch_size=self.settings.batch_size)
        return VideoEmbedding(
            path=str(path),
            starts=np.array([c.start_s for c in clips], np.float64),
            ends=np.array([c.end_s for c in clips], np.float64),
            vectors=vectors,
            model=self.encoder.identity,
        )
