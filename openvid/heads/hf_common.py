"""What every transformers-backed head shares: where its weights come from, and what to do when
they cannot load.

A head's checkpoint is its registered hub id, another hub id the user names, or a local folder
written by `save_pretrained`. Loading never asks the hub for a checkpoint the cache already holds
(offline machines would only wait on retries), and every library failure becomes one
`ModelUnavailable` that names the checkpoint and says how to get it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

from openvid.encoders.hub import local_fingerprint
from openvid.errors import ModelUnavailable, OpenvidError, UsageError
from openvid.heads.availability import HF_WEIGHT_FILES
from openvid.heads.base import checkpoint_opt, labels_opt

if TYPE_CHECKING:  # pragma: no cover
    from openvid.encoders.preprocess import FrameTransform
    from openvid.heads.base import HeadSpec

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
WEIGHT_FILES = HF_WEIGHT_FILES


@dataclass(frozen=True)
class HFSource:
    """A resolved head checkpoint: a hub id or an absolute local folder."""

    head: str  # the registered head name (what `openvid models pull` takes)
    checkpoint: str
    local: bool
    default: bool  # the head's own registered checkpoint


def resolve_source(spec: "HeadSpec", checkpoint: str | None) -> HFSource:
    """The user's checkpoint (a folder or a hub id) or the head's default one."""
    if checkpoint is None:
        if spec.checkpoint is None:  # load_head refuses this first; kept for direct callers
            raise ModelUnavailable(spec.name, "this head has no default weights",
                                   f"Pass a checkpoint folder with {checkpoint_opt(spec.name, '/path/to/folder')}.")
        return HFSource(spec.name, spec.checkpoint, local=False, default=True)
    path = Path(checkpoint).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelUnavailable(str(path), "a transformers checkpoint is a folder, not a single file",
                                   _local_hint(spec.name))
        return HFSource(spec.name, str(path.resolve()), local=True, default=False)
    if _HUB_ID.match(checkpoint):
        return HFSource(spec.name, checkpoint, local=False, default=checkpoint == spec.checkpoint)
    raise ModelUnavailable(checkpoint, "no such folder, and it is not a hub id like 'org/name'",
                           _local_hint(spec.name))


def _local_hint(head: str) -> str:
    return (f"Pass {checkpoint_opt(head, '/path/to/folder')}, a folder written by transformers' save_pretrained "
            "(config.json, the weights and the processor's config).")


def pull_hint(source: HFSource) -> str:
    """The instruction every ModelUnavailable for a hub checkpoint carries."""
    if source.default:
        how = f"run `openvid models pull {source.head}`"
    else:
        how = (f"run `hf download {source.checkpoint}` (`huggingface-cli download` with huggingface_hub "
               "older than 0.34)")
    return (f"Either {how} where there is internet access (it fills the Hugging Face cache, "
            "~/.cache/huggingface; copy that folder here if this machine is offline), or use a checkpoint on "
            f"this machine: {checkpoint_opt(source.head, '/path/to/its/folder')}.")


@contextlib.contextmanager
def load_errors(source: HFSource) -> Iterator[None]:
    """Re-raise whatever transformers throws while loading as ModelUnavailable with the fix (the
    libraries' own logging and warnings held back meanwhile: one message, not several)."""
    from openvid.encoders.hub import quiet_loading

    try:
        with quiet_loading():
            yield
    except OpenvidError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        hint = _local_hint(source.head) if source.local else pull_hint(source)
        raise ModelUnavailable(source.checkpoint, reason, hint) from exc


def load_model(source: HFSource, model_class: str, model_type: str, local_only: bool):
    """(config, model in eval mode) of `model_class`, refusing a checkpoint of another architecture
    or one whose weights lack part of the model (a pre-training checkpoint has no classifier:
    transformers would fill it with random numbers and only warn)."""
    if not local_only:
        ensure_downloadable(source)
    import transformers
    from transformers import AutoConfig

    with load_errors(source):
        config = AutoConfig.from_pretrained(source.checkpoint, local_files_only=local_only)
        if config.model_type != model_type:
            raise ModelUnavailable(
                source.checkpoint, f"its config says model_type={config.model_type!r}; the {source.head} head "
                f"reads {model_type!r}", f"Pass a checkpoint whose config.json says model_type={model_type!r}, or "
                f"pick the head made for {config.model_type!r} (see `openvid models list`).")
        model, info = getattr(transformers, model_class).from_pretrained(
            source.checkpoint, config=config, local_files_only=local_only, output_loading_info=True)
    missing = list(info.get("missing_keys") or [])
    if missing:
        raise ModelUnavailable(
            source.checkpoint, f"its weights lack {len(missing)} of the {model_class}'s tensors (first: {missing[0]})",
            f"Pass a complete {model_class} checkpoint (a fine-tuned classifier has its classifier layer).")
    return config, model.eval()


def is_cached(repo_id: str, processor_files: Sequence[str] = ("preprocessor_config.json",)) -> bool:
    """True when the hub cache holds the config, the processor's files and one weights file."""
    from openvid.heads.availability import hf_head_cached

    return hf_head_cached(repo_id, list(processor_files))


def ensure_downloadable(source: HFSource) -> None:
    """Before fetching a checkpoint the cache lacks: fail in seconds, with one message, when the hub
    cannot be reached or is switched off (`openvid.encoders.hub`), instead of minutes of retries."""
    from openvid.encoders.hub import ensure_downloadable as ensure
    from openvid.encoders.hub import hub_endpoint

    if not source.local:
        ensure(source.checkpoint, hub_endpoint(), pull_hint(source))


def pull(source: HFSource) -> str:
    """Download a checkpoint's configs, tokenizer files and one weights file (safetensors if published)."""
    from huggingface_hub import list_repo_files, snapshot_download

    repo_id = source.checkpoint
    ensure_downloadable(source)
    with load_errors(source):
        files = set(list_repo_files(repo_id))
        weights = next((name for name in WEIGHT_FILES if name in files), None)
        if weights is None:
            raise ModelUnavailable(repo_id, f"the repository has none of {', '.join(WEIGHT_FILES)}",
                                   "Pick a checkpoint saved with transformers' save_pretrained.")
        return snapshot_download(repo_id, allow_patterns=["*.json", "*.txt", weights])


def identity(family: str, source: HFSource) -> str:
    """Stable for a hub checkpoint; for a local folder, changes when its files change."""
    if not source.local:
        return f"{family}:{source.checkpoint}"
    return f"{family}:{source.checkpoint}#{local_fingerprint(Path(source.checkpoint))}"


def config_labels(id2label: Mapping, head: str = "NAME") -> list[str]:
    """A transformers config's label names in output order (its keys may be ints or strings)."""
    try:
        ordered = sorted((int(key), str(name)) for key, name in (id2label or {}).items())
    except (TypeError, ValueError) as exc:
        raise OpenvidError(f"the checkpoint's id2label has a key that is not a number: {exc}") from None
    if [key for key, _ in ordered] != list(range(len(ordered))):
        raise OpenvidError("the checkpoint's id2label does not number its labels 0..n-1; "
                           f"pass the label names with {labels_opt(head)}")
    return [name for _, name in ordered]


def choose_labels(head: str, checkpoint: str, own: list[str], given: Sequence[str] | None) -> list[str]:
    """The user's label names (one per output, in order) or the checkpoint's own."""
    if given is None:
        return own
    given = [str(label) for label in given]
    if len(given) != len(own):
        raise UsageError(f"{len(given)} labels were given for {head} but the weights at {checkpoint} have "
                         f"{len(own)} outputs; give one label per output, in the model's output order")
    return given


def frame_transform(image_processor: object) -> "FrameTransform":
    """The batched FrameTransform equal to a transformers image/video processor's resize-crop-normalise.

    Everything comes from the checkpoint's processor config: the size (a shortest edge, or an exact
    height and width), crop, mean, std, interpolation.
    """
    from openvid.encoders.preprocess import FrameTransform, interpolation_of

    size = _as_dict(getattr(image_processor, "size", None))
    crop = _as_dict(getattr(image_processor, "crop_size", None)) or size
    exact = None  # a height x width size: resized to exactly that, aspect ratio not kept
    if size.get("shortest_edge"):
        resize_to = int(size["shortest_edge"])
    elif size.get("height") and size.get("width"):
        exact = (int(size["height"]), int(size["width"]))
        resize_to = min(exact)
    else:
        raise OpenvidError(f"the checkpoint's processor config has no usable size ({size}); "
                           "give it a shortest_edge or a height and width")
    crop_size = int(crop.get("height") or crop.get("shortest_edge") or resize_to)
    if getattr(image_processor, "do_normalize", True):
        mean = _triple(image_processor.image_mean)
        std = _triple(image_processor.image_std)
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    return FrameTransform(
        resize_to=resize_to,
        crop_size=crop_size,
        mean=mean,
        std=std,
        interpolation=interpolation_of(getattr(image_processor, "resample", None)),
        crop_rounding="floor",
        resize_size=exact,
    )


def _as_dict(size: object) -> dict:
    if size is None:
        return {}
    if isinstance(size, int):
        return {"shortest_edge": size, "height": size, "width": size}
    if isinstance(size, Mapping):
        return {k: v for k, v in size.items() if v is not None}
    # transformers 5's SizeDict: a dataclass with the same keys
    names = ("shortest_edge", "height", "width", "longest_edge")
    return {name: getattr(size, name) for name in names if getattr(size, name, None) is not None}


def _triple(values: object) -> tuple[float, float, float]:
    if isinstance(values, (int, float)):
        return (float(values),) * 3
    out = tuple(float(v) for v in values)  # type: ignore[union-attr]
    if len(out) != 3:
        raise OpenvidError(f"expected 3 channel values in the processor config, got {out}")
    return out  # type: ignore[return-value]
