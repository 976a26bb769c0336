"""What one call of a job runs with, handed to it explicitly: settings, encoder, stores, heads.

Jobs (archive, classify, few-shot, evaluate) never reach back into the `Engine`: the facade builds
a `RunContext` for each call and passes it down. A context is frozen, so nothing a job does can
change what a later call sees; everything in it is safe to share between threads (the encoder
runs under `torch.inference_mode()`, the stores open one database connection per transaction,
`ModelCache` loads each model once under a lock, the text cache locks its own memory).

The settings inside are the ones *this call* runs under: opening an index puts that index's model,
window and stride here, for this call only.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

from openvid.config import Settings

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from openvid.encoders import Encoder
    from openvid.encoders.text_cache import CachedTextFeatures
    from openvid.heads import Head, HeadChoice
    from openvid.media import Clip
    from openvid.store import ExampleStore, TaxonomyStore
    from openvid.store.catalog import Catalog
    from openvid.store.head_maps import HeadMapStore


class ModelCache:
    """Models loaded once and shared by every call: encoders by name, their text caches, heads.

    Loading happens under a lock (two threads asking for one model load it once); a loaded model
    is only read afterwards. Models load on the device and dtype of the `settings` given here.
    """

    def __init__(self, settings: Settings, taxonomies: "Callable[[], TaxonomyStore]") -> None:
        self.settings = settings
        self._taxonomies = taxonomies
        self._lock = threading.RLock()
        self.encoders: dict[str, "Encoder"] = {}
        self._text: dict[int, "CachedTextFeatures"] = {}
        self._heads: dict[tuple, "Head"] = {}

    def encoder(self, model: str) -> "Encoder":
        from openvid.encoders import load_encoder

        with self._lock:
            if model not in self.encoders:
                self.encoders[model] = load_encoder(model, self.settings)
            return self.encoders[model]

    def loaded(self, model: str) -> "Encoder | None":
        """The encoder for `model` if it is loaded already (nothing is loaded here)."""
        with self._lock:
            return self.encoders.get(model)

    def text_features(self, encoder: "Encoder") -> "CachedTextFeatures":
        """`encoder`'s text features behind the memory and SQLite caches (one cache per encoder)."""
        from openvid.encoders.text_cache import CachedTextFeatures
        from openvid.store import EmbeddingCache

        with self._lock:
            if id(encoder) not in self._text:
                self._text[id(encoder)] = CachedTextFeatures(encoder, EmbeddingCache(self._taxonomies().engine))
            return self._text[id(encoder)]

    def heads(self, choices: Sequence["str | HeadChoice"]) -> list["Head"]:
        """Each head loaded once (a later call reuses it); a head asked for twice is refused."""
        from openvid.errors import UsageError
        from openvid.heads import HeadChoice, load_head

        loaded = []
        with self._lock:
            for choice in choices:
                choice = HeadChoice(choice) if isinstance(choice, str) else choice
                key = (choice.name, choice.checkpoint, choice.labels_file)
                if key not in self._heads:
                    self._heads[key] = load_head(choice, self.settings)
                loaded.append(self._heads[key])
        names = [head.name for head in loaded]
        if len(set(names)) != len(names):
            raise UsageError(f"a head was asked for twice ({', '.join(names)}); give each head once")
        return loaded


@dataclass(frozen=True)
class ClipPlan:
    """How to cut a video into the encoder's windows (and the heads' frame counts), as plain values:
    what `RunContext.clips` decodes, and what a Ray worker unpickles to decode the same windows (the
    context itself holds the store and the loaded model, which do not travel)."""

    window_s: float
    stride_s: float
    frames_per_window: int
    short_side: int
    backend: str
    extra_frame_counts: tuple = ()  # the heads' (frames, seconds) views (`openvid.heads.inputs.frame_needs`)

    @classmethod
    def of(cls, ctx: "RunContext", heads: Sequence["Head"] = ()) -> "ClipPlan":
        """The encoder's frames per clip at the largest short side the encoder or any head needs."""
        from openvid.heads.inputs import frame_needs

        views, short_side = frame_needs(heads)
        encoder = ctx.encoder
        return cls(ctx.window_s, ctx.stride_s, encoder.frames_per_clip, max(encoder.resize_to, short_side),
                   ctx.settings.decoder, tuple(views))

    def window_bytes(self) -> int:
        """About the frames of one window (16:9 at the short side): sizes the blocks in flight."""
        return self.frames_per_window * self.short_side * (self.short_side * 16 // 9) * 3

    def __call__(self, path: str) -> Iterator["Clip"]:
        from openvid.media import iter_clips

        return iter_clips(path, window_s=self.window_s, stride_s=self.stride_s,
                          frames_per_window=self.frames_per_window, short_side=self.short_side,
                          backend=self.backend, extra_frame_counts=list(self.extra_frame_counts))


@dataclass(frozen=True)
class RunContext:
    """The explicit state of one call (see the module docstring).

    The encoder loads on first use, so a call that fails on its arguments or its taxonomy fails
    before any model is loaded.
    """

    settings: Settings
    taxonomies: "TaxonomyStore"
    models: ModelCache
    job: str = "index"  # which default encoder applies when none is chosen ("index" or "classify")

    @property
    def encoder(self) -> "Encoder":
        return self.models.encoder(self.settings.model_for(self.job))

    @property
    def text_features(self) -> "CachedTextFeatures":
        return self.models.text_features(self.encoder)

    def load_heads(self, heads: Sequence["str | HeadChoice"]) -> list["Head"]:
        return self.models.heads(heads)

    @property
    def window_s(self) -> float:
        return self.settings.window_s or self.encoder.window_s

    @property
    def stride_s(self) -> float:
        return self.settings.stride_s or self.window_s

    @property
    def catalog(self) -> "Catalog":
        from openvid.store.catalog import Catalog

        return Catalog(self.taxonomies.engine)

    @property
    def examples(self) -> "ExampleStore":
        from openvid.store import ExampleStore

        return ExampleStore(self.taxonomies.engine)

    @property
    def head_maps(self) -> "HeadMapStore":
        from openvid.store.head_maps import HeadMapStore

        return HeadMapStore(self.taxonomies)

    def clips(self, path: str, heads: Sequence["Head"] = ()) -> Iterator["Clip"]:
        """The video's segments as the encoder wants them (its frames per clip, its image size).

        With `heads`, one decode serves them all: each head's frame count is sampled by time over
        the central seconds of each window that its training clips covered (`Clip.views`), at the
        largest short side anyone needs, and audio heads get each window's audio (`Clip.audio`).
        """
        from openvid.heads.inputs import sample_rates
        from openvid.media.window_audio import with_audio

        clips = ClipPlan.of(self, heads)(str(path))
        rates = sample_rates(heads)
        return with_audio(str(path), clips, rates) if rates else clips

    def range_clips(self, path: str, start_s: float | None, end_s: float | None) -> Iterator["Clip"]:
        """The encoder's windows over [start_s, end_s] of a video, each decoded with `load_clip`.

        A range that does not fit the video is a MediaError saying which range would
        (`openvid.media.clip_ref.check_range`), raised before anything is yielded.
        """
        from openvid.media import load_clip

        window = self.window_s
        start, end = self.check_range(path, start_s, end_s)
        count = max(1, math.ceil((end - start) / window - 1e-9))
        bounds = [(start + i * window, min(start + (i + 1) * window, end)) for i in range(count)]
        encoder, backend = self.encoder, self.settings.decoder

        def clips() -> Iterator["Clip"]:
            for index, (a, b) in enumerate(bounds):
                clip = load_clip(path, a, b, encoder.frames_per_clip, short_side=encoder.resize_to, backend=backend)
                clip.index = index
                yield clip

        return clips()

    def check_range(self, path: str, start_s: float | None, end_s: float | None) -> tuple[float, float]:
        """[start_s, end_s] (None: the video's own start / end) checked against the video's duration."""
        from openvid.media import probe
        from openvid.media.clip_ref import check_range

        return check_range(path, start_s, end_s, probe(path).duration_s)

    def load_clip(self, path: str, start_s: float | None, end_s: float | None) -> "Clip":
        """One clip of `path` as the encoder wants it (a search `like` query, a re-ranked hit)."""
        from openvid.media import load_clip

        if start_s is not None or end_s is not None:
            start_s, end_s = self.check_range(path, start_s, end_s)
        return load_clip(path, start_s, end_s, frames=self.encoder.frames_per_clip,
                         short_side=self.encoder.resize_to, backend=self.settings.decoder)


__all__ = ["ModelCache", "RunContext"]
