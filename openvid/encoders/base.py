"""The Encoder contract and the registry of named encoders.

An encoder maps clips and texts into one space. Everything downstream (index, scoring) relies on
two promises: vectors are float32 and L2-normalised, and `identity` changes whenever the weights
do, so caches and indexes can refuse vectors from another model.

Named checkpoints are data: one entry each in `openvid/data/models/encoders.json` (read by
`openvid.registry`; listing them imports no model library). A checkpoint of a known family is one
entry there and no code. A new family is one module: subclass `Encoder` (implementing `load`,
`is_cached` and `pull` for its checkpoints), decorate it with `@register_family("name")`, and name
the module under "families" in encoders.json so it is imported when one of its models is loaded.
`register_encoder(EncoderSpec(...))` adds a checkpoint from code.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from openvid.registry import Figure, Registry, spec_from_entry

if TYPE_CHECKING:  # pragma: no cover
    from openvid.config import Settings
    from openvid.encoders.resolve import ModelRef
    from openvid.encoders.runtime import Tower, TowerSpec


@dataclass(frozen=True)
class EncoderSpec:
    """A named, registered checkpoint: what it is, what it costs, and what it was trained on."""

    name: str
    family: str
    checkpoint: str  # what the family's loader takes: a hub id, ARCH/TAG (open_clip), a folder
    frames: int  # frames per clip it was trained with
    image_size: int  # crop size
    gflops: float
    cost_unit: str  # what `gflops` is per: "frame" or "clip"
    note: str
    window_s: float = 4.0  # default segment length; `frames` are sampled from each
    trained_on: str = ""
    published: tuple[Figure, ...] = ()  # its authors' figures, with their source; () when none are known
    # The Hugging Face repository an open_clip ARCH/TAG downloads from ("" when the checkpoint names
    # its own repository): lets the cache be checked without importing open_clip (and torch).
    hf_hub: str = ""
    # The repository of a Hugging Face tokenizer the text tower reads (SigLIP's Gemma tokenizer;
    # "" for open_clip's bundled BPE): it must be cached too before loading can be offline.
    tokenizer_hub: str = ""
    # False when the checkpoint was trained supervised on a label set (X-CLIP on Kinetics-400):
    # scores on those labels are then not zero-shot.
    zero_shot: bool = True
    # What scripts/bench_encoders.py measured on this project's reference machine, full size with
    # random weights: {"cpu_fp32_per_s": units/s, "cpu_frames_per_s", "vs_clip": ratio to ViT-B/32 in
    # the same run, "text_ms": one query's p50, "machine", "date"; "gpu_fp16_per_s" where measured}.
    measured: Mapping[str, Any] | None = None

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> "EncoderSpec":
        """The spec one entry of encoders.json describes."""
        return spec_from_entry(cls, entry)


TextFeatures = Callable[[Sequence[str]], np.ndarray]


@dataclass
class LabelSimilarity:
    """Per-clip video vectors [n, dim] and cosine with each label [n, n_labels]."""

    video: np.ndarray
    cosine: np.ndarray


def label_matrix(prompt_groups: Sequence[Sequence[str]], text_features: TextFeatures) -> np.ndarray:
    """[n_labels, dim] unit vectors: each label the normalised mean of its prompts' unit vectors.

    All prompts of all labels go through `text_features` in one call, so a cache sees one batch.
    """
    flat = [text for group in prompt_groups for text in group]
    if any(not group for group in prompt_groups):
        raise ValueError("every label needs at least one prompt")
    vectors = np.asarray(text_features(flat), np.float32)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    out, start = [], 0
    for group in prompt_groups:
        mean = vectors[start : start + len(group)].mean(axis=0)
        out.append(mean / np.linalg.norm(mean))
        start += len(group)
    return np.stack(out) if out else np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)


class Encoder(ABC):
    """Video and text into one normalised vector space (see docs/architecture.md, "Contracts")."""

    name: str
    identity: str
    dim: int
    frames_per_clip: int
    image_size: int
    resize_to: int
    window_s: float = 4.0  # default segment length; frames_per_clip frames are sampled from each
    text_feature_kind: str = "unit"  # what text_features returns; part of a text cache's key
    # The runtime the towers were asked to run on (`use_runtime`; "torch" until then). A tower whose
    # export fails or differs from torch runs torch instead: `runtimes()` says what each one runs.
    runtime: str = "torch"

    def __init__(self, model, tokenizer, transform, identity: str, name: str, device, dtype,
                 batch_size: int = 8, spec: EncoderSpec | None = None) -> None:
        """What every encoder holds; subclasses add `dim` and `frames_per_clip` from their model."""
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.transform = transform
        self.identity = identity
        self.name = name
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.image_size = transform.crop_size
        self.resize_to = transform.resize_to
        self.window_s = spec.window_s if spec else 4.0

    @property
    @abstractmethod
    def logit_scale(self) -> float:
        """Multiplier turning cosine similarity into logits (exp of the learned log-scale)."""

    @property
    def logit_bias(self) -> float | None:
        """The learned bias of a sigmoid-trained model (SigLIP), else None.

        With it, "does this label apply?" has the model's own answer, sigmoid(scale · cosine + bias),
        independent of the other labels: multi-label mode and rejection use it (softmax ranking
        still orders labels). None: the model was trained with a softmax over a batch (CLIP), and
        yes/no answers need a threshold chosen by the user.
        """
        return None

    @abstractmethod
    def encode_video(self, clips: Sequence, batch_size: int | None = None) -> np.ndarray:
        """[n, dim] float32 unit vectors; `clips` are uint8 T×H×W×3 arrays or objects with `.frames`."""

    @abstractmethod
    def encode_text(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """[n, dim] float32 unit vectors."""

    @classmethod
    @abstractmethod
    def load(cls, ref: "ModelRef", settings: "Settings") -> "Encoder":
        """Build the encoder from a resolved reference, raising ModelUnavailable when it cannot."""

    @classmethod
    @abstractmethod
    def is_cached(cls, ref: "ModelRef") -> bool:
        """True when loading needs no network (local folder, file, or a filled hub cache)."""

    @classmethod
    @abstractmethod
    def pull(cls, ref: "ModelRef") -> str:
        """Download the checkpoint into the local cache; returns where it landed."""

    # -- runtimes (openvid.encoders.runtime) -------------------------------------------------------
    def tower_specs(self) -> dict[str, Callable[[], "TowerSpec"]]:
        """The forwards a runtime other than torch can run, by tower name ("image", "video", "text"),
        each built on demand. A family that exports none returns {} and always runs torch."""
        return {}

    def use_runtime(self, settings: "Settings") -> None:
        """Run the towers on `settings.runtime` (resolved for this encoder's device and dtype), with
        exports kept under `settings.home`. Towers are built on first use (a search never exports
        the video tower)."""
        from openvid.config import resolve_runtime, runtime_threads

        runtime = resolve_runtime(settings.runtime, self.device, self.dtype)
        if runtime != "torch" and not self.tower_specs():
            from openvid.encoders.runtime import warn_fallback

            warn_fallback(self.identity, "every", runtime, f"the {type(self).__name__} family exports no tower yet")
            runtime = "torch"
        self.runtime = runtime
        self._runtime_home = Path(settings.home)
        self._runtime_threads = runtime_threads(settings) if runtime != "torch" else 0
        self._towers: dict[str, "Tower"] = {}

    def tower(self, name: str) -> "Tower":
        """The named tower on this encoder's runtime, built (exported, verified) once, thread-safely."""
        towers = self.__dict__.setdefault("_towers", {})
        if name in towers:
            return towers[name]
        lock = self.__dict__.setdefault("_tower_lock", threading.Lock())
        with lock:
            if name not in towers:
                from openvid.encoders.runtime import build_tower

                spec = self.tower_specs()[name]()
                towers[name] = build_tower(spec, self.identity, self.runtime, getattr(self, "_runtime_home", Path(".")),
                                           getattr(self, "_runtime_threads", 1))
            return towers[name]

    def runtimes(self, build: bool = False) -> dict[str, str]:
        """What each tower runs on: the runtime asked for until it is built, then what it really runs
        (`build=True` builds them all now: `openvid models export`, `openvid info`)."""
        out = {}
        for name in self.tower_specs():
            if build or name in self.__dict__.get("_towers", {}):
                out[name] = self.tower(name).runtime
            else:
                out[name] = self.runtime
        return out or {"every": "torch"}

    def text_features(self, texts: Sequence[str]) -> np.ndarray:
        """What a text cache stores for this encoder: by default the unit text vectors.

        Encoders whose exact score needs more than the unit vector (X-CLIP's prompt generator
        reads the unnormalised projection) override this together with `label_similarity`.
        """
        return self.encode_text(texts)

    def label_similarity(
        self,
        clips: Sequence,
        prompt_groups: Sequence[Sequence[str]],
        text_features: TextFeatures | None = None,
    ) -> LabelSimilarity:
        """Cosine of each clip with each label, a label being the normalised mean of its prompts.

        `text_features` (default: `self.text_features`) lets a caller put a cache in front of the
        text tower without the encoder knowing about it.
        """
        text_features = text_features or self.text_features
        video = self.encode_video(clips)
        labels = label_matrix(prompt_groups, text_features)
        return LabelSimilarity(video=video, cosine=video @ labels.T)

    def similarity(self, text_vectors: np.ndarray, video_vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity matrix [n_text, n_video] of unit vectors."""
        return np.asarray(text_vectors, np.float32) @ np.asarray(video_vectors, np.float32).T


ENCODERS: Registry[EncoderSpec] = Registry("encoder", "encoders.json", EncoderSpec.from_entry)
"""The encoders: the shipped encoders.json, then whatever code registers (`ENCODERS.scoped()` in tests)."""


def register_encoder(spec: EncoderSpec) -> EncoderSpec:
    """Add a named checkpoint from code (the data file is the usual place)."""
    return ENCODERS.register(spec)


def register_family(name: str) -> Callable[[type[Encoder]], type[Encoder]]:
    """Class decorator: this `Encoder` subclass loads the checkpoints of family `name`."""
    return ENCODERS.register_family(name)


def list_encoders() -> list[EncoderSpec]:
    """Every named encoder, in the data file's order (then those registered from code)."""
    return ENCODERS.specs()


def get_spec(name: str) -> EncoderSpec:
    """The named encoder, or UnknownChoice listing the names that exist."""
    return ENCODERS.get(name)


def get_family(name: str) -> type[Encoder]:
    """The Encoder class of family `name` (its module is imported here, on first use)."""
    return ENCODERS.family(name)


def is_registered(name: str) -> bool:
    return name in ENCODERS


def family_names() -> list[str]:
    return ENCODERS.family_names()
