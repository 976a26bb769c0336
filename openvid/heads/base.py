"""The Head contract and the registry of closed-set heads.

A head is a fine-tuned classifier with a fixed label space (Kinetics-400, AudioSet...). openvid
lets it vote beside the open-vocabulary encoder: its labels are mapped onto a taxonomy's labels
(`openvid.scoring.head_mapping`) and its probabilities fused with the zero-shot ones
(`openvid.scoring.fusion`). Heads never see SQLite or FAISS.

Named heads are data: one entry each in `openvid/data/models/heads.json` (read by
`openvid.registry`; listing them imports no model library), in listing order: video heads by
library, then audio, then audio-visual. A checkpoint of a known family is one entry there and no
code (family-specific facts, such as a torchvision builder, go in its "options"). A new family is
one module: subclass `Head`, implement `load` (and `predict`), decorate it with
`@register_head_family("name")`, and name the module under "families" in heads.json so it is
imported when one of its heads is loaded. `register_head(HeadSpec(...))` adds a head from code.

Input: heads get the same `Clip` objects the encoder gets. A head reads its own frame count with
`clip.frames_for(self.frames_per_clip, self.clip_seconds)` (sampled by time from the same decode
when the engine asked for it, see `Engine.iter_clips`) and resizes and crops them with its own transform; audio
heads read `clip.audio_at(self.sample_rate)`, which is None for a video without an audio track.

Output: `predict(clips)` is float32 [n, len(labels)] probabilities. A row of NaN means the head
has nothing to say about that clip (an audio head on a clip without audio); fusion leaves the head
out there. Never raise for that case.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from openvid.errors import ModelUnavailable, OpenvidError, UsageError, opt
from openvid.registry import Figure, Registry, spec_from_entry

if TYPE_CHECKING:  # pragma: no cover
    from openvid.config import Settings
    from openvid.media import Clip


HEAD_CPU_RUNTIMES = ("torch", "onnx")  # what a head's `cpu_runtime` may say


@dataclass(frozen=True)
class HeadSpec:
    """A named, registered head: its default checkpoint and what it was trained on, plainly."""

    name: str
    family: str
    checkpoint: str | None  # default weights (hub id, weights enum name, URL); None: bring your own
    frames: int  # frames per clip it was trained with (0: audio only)
    image_size: int  # crop size (0: audio only)
    trained_on: str  # e.g. "Kinetics-400 (400 classes)"
    note: str = ""
    needs_audio: bool = False
    sample_rate: int | None = None  # audio heads: the rate the model expects
    default_weight: float = 1.0  # its vote in fusion, relative to the zero-shot encoder's 1.0
    # The seconds of video its training clips covered (frames × sampling stride / fps). Its frames
    # are sampled over the window's central clip_seconds, so it sees motion at the speed it learned;
    # None (or a window shorter than this): over the whole window.
    clip_seconds: float | None = None
    open_vocabulary: bool = False  # labels come from the taxonomy (CLAP), not from the checkpoint
    gflops: float | None = None  # cost per `cost_unit` ("clip", "view"); None: not published
    cost_unit: str = ""
    published: tuple[Figure, ...] = ()  # its authors' figures, with their source; () when none are known
    # What `--runtime auto` runs its network on, on a CPU in float32 (openvid.heads.runtime): "onnx"
    # where scripts/bench_heads.py --runtimes measured ONNX Runtime faster than torch in every run at
    # full size, "torch" elsewhere (no faster, or slower: MViT 0.17x). An explicit runtime overrides it.
    cpu_runtime: str = "torch"
    # What the family's module needs beyond the fields above to build this checkpoint (a torchvision
    # builder and classifier key...), so that a new checkpoint of a known family is data only.
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.cpu_runtime not in HEAD_CPU_RUNTIMES:
            raise UsageError(f"head {self.name!r}: cpu_runtime must be one of {', '.join(HEAD_CPU_RUNTIMES)}, "
                             f"not {self.cpu_runtime!r}")

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> "HeadSpec":
        """The spec one entry of heads.json describes."""
        return spec_from_entry(cls, entry)


class Head(ABC):
    """A closed-set classifier over clips (see docs/architecture.md, "Contracts")."""

    spec: HeadSpec
    labels: list[str]
    identity: str  # changes whenever the weights do (name + checkpoint or local fingerprint)
    frames_per_clip: int = 0  # 0: needs no frames
    resize_to: int = 0  # the short side it wants decoded frames at, at least (0: no frames)
    sample_rate: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def needs_audio(self) -> bool:
        return self.spec.needs_audio

    @property
    def clip_seconds(self) -> float | None:
        return self.spec.clip_seconds

    @property
    def open_vocabulary(self) -> bool:
        return self.spec.open_vocabulary

    @abstractmethod
    def predict(self, clips: Sequence["Clip"]) -> np.ndarray:
        """float32 [n, len(labels)] probabilities; a NaN row where the head has nothing to say."""

    def set_labels(self, labels: Sequence[str]) -> None:
        """Open-vocabulary heads (CLAP) score whatever labels they are given; closed ones refuse."""
        raise UsageError(f"head {self.name!r} has a fixed label space and cannot take new labels")

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def load(cls, spec: HeadSpec, settings: "Settings", checkpoint: str | None = None,
             labels: Sequence[str] | None = None) -> "Head":
        """Build the head on the device and dtype `settings` pick.

        `checkpoint`: the user's own weights (a folder or file) instead of `spec.checkpoint`;
        `labels`: the label names of those weights, in output order (default: the checkpoint's own).
        Raises ModelUnavailable, naming the checkpoint and how to get it, when it cannot load.
        """

    @classmethod
    def known_labels(cls, spec: HeadSpec) -> list[str] | None:
        """The default checkpoint's label names, when they are known without loading it (torchvision
        and PyTorchVideo: Kinetics-400). None: they are only known by loading the checkpoint."""
        return None

    @classmethod
    @abstractmethod
    def is_cached(cls, spec: HeadSpec) -> bool:
        """True when the default checkpoint loads without a network."""

    @classmethod
    @abstractmethod
    def pull(cls, spec: HeadSpec) -> str:
        """Download the default checkpoint into the local cache; returns where it landed."""


@dataclass
class HeadChoice:
    """What the user asked for: a registered head, optionally with their own weights and labels."""

    name: str
    checkpoint: str | None = None
    labels_file: str | None = None
    extra: dict = field(default_factory=dict)


HEADS: Registry[HeadSpec] = Registry("head", "heads.json", HeadSpec.from_entry)
"""The heads: the shipped heads.json, then whatever code registers (`HEADS.scoped()` in tests)."""


def register_head(spec: HeadSpec) -> HeadSpec:
    """Add a head from code (the data file is the usual place)."""
    return HEADS.register(spec)


def register_head_family(name: str) -> Callable[[type[Head]], type[Head]]:
    """Class decorator: this `Head` subclass loads the heads of family `name`."""
    return HEADS.register_family(name)


def list_heads() -> list[HeadSpec]:
    """Every named head, in the data file's order (then those registered from code)."""
    return HEADS.specs()


def get_head_spec(name: str) -> HeadSpec:
    """The named head, or UnknownChoice listing the names that exist."""
    return HEADS.get(name)


def head_family(spec: HeadSpec) -> type[Head]:
    """The Head class of the spec's family (its module is imported here, on first use)."""
    return HEADS.family(spec.family)


def checkpoint_opt(head: str, path: str = "/path/to/weights") -> str:
    """The option that gives `head` the user's own weights, for error messages (see `openvid.errors.opt`):
    `HeadChoice(head, checkpoint=...)` in the API, `--head-checkpoint HEAD=PATH` at the command line."""
    return opt("checkpoint", f"{head}={path}")


def labels_opt(head: str, path: str = "/path/to/labels.txt") -> str:
    """The option that names the labels of `head`'s own weights (`labels_file`; `--head-labels HEAD=FILE`)."""
    return opt("labels_file", f"{head}={path}")


def read_labels_file(path: str | Path) -> list[str]:
    """One label per line (blank lines and `#` comments skipped), in the model's output order."""
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the labels file {path}: {exc.strerror or exc}; pass a text file "
                         "with one label per line, in the model's output order") from None
    labels = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not labels:
        raise OpenvidError(f"the labels file {path} has no labels; write one label per line")
    if len(set(labels)) != len(labels):
        seen, dupes = set(), []
        for label in labels:
            if label in seen:
                dupes.append(label)
            seen.add(label)
        raise OpenvidError(f"the labels file {path} repeats {', '.join(sorted(set(dupes))[:5])}; labels must be unique")
    return labels


def load_head(choice: str | HeadChoice, settings: "Settings | None" = None) -> Head:
    """Resolve a head by name and load it (the user's checkpoint and labels file if given)."""
    from openvid.config import Settings

    choice = HeadChoice(choice) if isinstance(choice, str) else choice
    spec = get_head_spec(choice.name)
    labels = read_labels_file(choice.labels_file) if choice.labels_file else None
    if spec.checkpoint is None and choice.checkpoint is None:
        raise ModelUnavailable(
            spec.name, "this head has no published default weights",
            f"Train or obtain a {spec.name} checkpoint and pass it with {checkpoint_opt(spec.name)} "
            f"and its labels with {labels_opt(spec.name)} (one label per line).")
    from openvid.heads.runtime import RuntimeNetwork

    settings = settings or Settings.from_env()
    head = head_family(spec).load(spec, settings, checkpoint=choice.checkpoint, labels=labels)
    if isinstance(head, RuntimeNetwork):  # every shipped head: --runtime reaches its network too
        head.use_runtime(settings)
    if not head.open_vocabulary and labels is not None and len(head.labels) != len(labels):
        raise UsageError(f"{choice.labels_file} lists {len(labels)} labels but the {spec.name} weights have "
                         f"{len(head.labels)} outputs; give one label per output, in order")
    return head


def pull_head(name: str) -> str:
    """Download head `name`'s default checkpoint into its cache; returns where it landed. A head
    without published weights is refused with the options that give it the user's own."""
    spec = get_head_spec(name)
    if spec.checkpoint is None:
        raise UsageError(f"{name} has no published weights to pull; pass your own with {opt('heads', name)} "
                         f"{checkpoint_opt(name, 'PATH')} {labels_opt(name, 'FILE')}")
    return head_family(spec).pull(spec)


def labels_without_loading(choice: HeadChoice) -> list[str] | None:
    """A head's label names without loading its weights (a labels file, or labels the default
    checkpoint is known to have); None when only loading the checkpoint can tell."""
    spec = get_head_spec(choice.name)
    if choice.labels_file:
        return read_labels_file(choice.labels_file)
    if choice.checkpoint is None and not spec.open_vocabulary:
        return head_family(spec).known_labels(spec)
    return None


def head_frames(clip: object, count: int, span_s: float | None = None) -> np.ndarray:
    """`count` uint8 frames of a Clip (its by-time sample of the central `span_s` seconds when it was
    decoded, see `Clip.frames_for`) or of a bare [T, H, W, 3] frame array."""
    from openvid.encoders.preprocess import clip_frames, resample_frames

    if hasattr(clip, "frames_for"):
        return clip_frames(clip.frames_for(count, span_s))  # type: ignore[attr-defined]
    return resample_frames(clip_frames(clip), count)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, returned as float32 (heads hand back probabilities)."""
    x = np.asarray(logits, np.float64)
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def nan_rows(n: int, width: int) -> np.ndarray:
    return np.full((n, width), np.nan, np.float32)
