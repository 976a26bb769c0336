"""One parser for every way a user can name a model, and the one loader every path goes through.

Accepted spellings (`--model` / `Engine(model=...)`):

- a registered name: `clip`, `xclip`, `xclip-zs`, `videoprism-b` (see `openvid models list`);
- a family and its checkpoint: `clip:ViT-L-14/openai`, `clip:ViT-B-32//path/to/weights.pt`,
  `xclip:microsoft/xclip-large-patch14`, `videoprism:google/videoprism-lvt-large-f8r288`;
- a Hugging Face hub id: `microsoft/xclip-base-patch16` (transformers X-CLIP; VideoPrism when the
  name contains "videoprism", as `google/videoprism-lvt-base-f16r288` does) or
  `hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K` (open_clip's own spelling);
- a local folder (a transformers X-CLIP or VideoPrism folder, told apart by its config.json's
  `model_type`, or an open_clip folder with `open_clip_config.json`)
  or a local open_clip weights file (`.pt`, `.bin`, `.safetensors`; architecture ViT-B-32 unless
  given as `clip:ARCH//path`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from openvid.config import Settings
from openvid.encoders.base import (
    Encoder,
    EncoderSpec,
    family_names,
    get_family,
    get_spec,
    is_registered,
    list_encoders,
)
from openvid.errors import ModelUnavailable, UsageError, opt

DEFAULT_CLIP_ARCH = "ViT-B-32"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")


@dataclass(frozen=True)
class ModelRef:
    """A resolved model reference: which family loads it, and the checkpoint string it takes."""

    family: str
    checkpoint: str
    source: str  # "registry" | "hub" | "local" (a file or folder on this machine, named or not)
    name: str | None = None
    spec: EncoderSpec | None = None

    @property
    def label(self) -> str:
        return self.name or self.checkpoint


def parse_model_ref(ref: str) -> ModelRef:
    """Turn any accepted spelling into a ModelRef, or say which spellings exist."""
    ref = ref.strip()
    if is_registered(ref):
        spec = get_spec(ref)
        return ModelRef(spec.family, spec.checkpoint, _registered_source(spec.checkpoint), ref, spec)
    family, sep, rest = ref.partition(":")
    if sep and family in family_names():
        return _ref_for_family(family, rest)
    if ref.startswith("hf-hub:"):
        return ModelRef("clip", ref, "hub")
    if ref.startswith("local-dir:"):
        return _local_ref(Path(ref[len("local-dir:") :]))
    path = Path(ref).expanduser()
    if path.exists():
        return _local_ref(path)
    if _HUB_ID.match(ref):
        family = "videoprism" if "videoprism" in ref.partition("/")[2].lower() else "xclip"
        return ModelRef(family, ref, "hub")
    names = ", ".join(spec.name for spec in list_encoders())
    raise UsageError(
        f"cannot tell what model {ref!r} is: it is not a registered name ({names}), not an existing "
        "file or folder, and not a hub id like 'org/name'. See `openvid models list`."
    )


def _registered_source(checkpoint: str) -> str:
    """"local" when a registered checkpoint is on this machine (a models entry may name an absolute
    folder or weights file: `local-dir:/models/clip`, `ViT-B-32//models/w.pt`, `/models/xclip`)."""
    candidates = (checkpoint.removeprefix("local-dir:"), checkpoint.partition("/")[2])
    return "local" if any(Path(c).is_absolute() and Path(c).exists() for c in candidates if c) else "registry"


def _ref_for_family(family: str, rest: str) -> ModelRef:
    if family == "clip":
        arch, _, weights = rest.partition("/")
        if weights and Path(weights).expanduser().is_file():
            return ModelRef("clip", f"{arch}/{Path(weights).expanduser().resolve()}", "local")
        if Path(rest).expanduser().is_dir():
            return ModelRef("clip", f"local-dir:{Path(rest).expanduser().resolve()}", "local")
        return ModelRef("clip", rest, "hub")
    path = Path(rest).expanduser()
    if path.is_dir():
        return ModelRef(family, str(path.resolve()), "local")
    return ModelRef(family, rest, "hub")


def _local_ref(path: Path) -> ModelRef:
    path = path.expanduser().resolve()
    if path.is_file():
        if path.suffix not in _WEIGHT_SUFFIXES:
            raise UsageError(
                f"{path} is not a weights file openvid can load (expected {', '.join(_WEIGHT_SUFFIXES)})"
            )
        return ModelRef("clip", f"{DEFAULT_CLIP_ARCH}/{path}", "local")
    if not path.is_dir():
        raise ModelUnavailable(str(path), "no such file or folder", _HINT_LOCAL)
    if (path / "open_clip_config.json").is_file():
        return ModelRef("clip", f"local-dir:{path}", "local")
    config = path / "config.json"
    if config.is_file():
        try:
            model_type = json.loads(config.read_text()).get("model_type")
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(str(path), f"config.json is unreadable: {exc}", _HINT_LOCAL) from exc
        if model_type in ("xclip", "videoprism"):
            return ModelRef(model_type, str(path), "local")
        raise ModelUnavailable(
            str(path), f"config.json says model_type={model_type!r}; openvid encoders read 'xclip' and 'videoprism'",
            _HINT_LOCAL,
        )
    raise ModelUnavailable(
        str(path),
        "the folder holds neither an X-CLIP checkpoint (config.json) nor an open_clip one "
        "(open_clip_config.json)",
        _HINT_LOCAL,
    )


_HINT_LOCAL = (
    f"Point {opt('model')} at a folder saved by transformers' save_pretrained (X-CLIP, VideoPrism), an open_clip "
    "folder with open_clip_config.json, or a registered name (see `openvid models list`)."
)


def pull_hint(ref: ModelRef) -> str:
    """The two ways out every ModelUnavailable for a hub checkpoint offers."""
    target = ref.name or f"{ref.family}:{ref.checkpoint}"
    return (
        f"Either run `openvid models pull {target}` where there is internet access (it fills the Hugging Face "
        "cache, ~/.cache/huggingface; copy that folder here if this machine is offline), or use a checkpoint "
        f"on this machine: {opt('model', '/path/to/its/folder')} (or OPENVID_MODEL=/path/to/its/folder)."
    )


def download_url(ref: ModelRef) -> str:
    """The address a download of `ref` would contact (the hub endpoint, or an open_clip weights URL)."""
    from openvid.encoders.hub import hub_endpoint

    if ref.family == "clip" and not ref.checkpoint.startswith("hf-hub:") and not (ref.spec and ref.spec.hf_hub):
        import open_clip  # an unregistered tag: its table says where its weights are

        arch, _, tag = ref.checkpoint.partition("/")
        cfg = open_clip.get_pretrained_cfg(arch, tag) or {}
        if not cfg.get("hf_hub") and cfg.get("url"):
            return str(cfg["url"])
    return hub_endpoint()


def load_encoder(model: str | ModelRef, settings: Settings | None = None) -> Encoder:
    """Resolve `model` and build its encoder on the device and dtype that `settings` pick.

    A hub checkpoint missing from the cache is fetched only when the hub answers; otherwise this
    fails in seconds, before any model library is imported (`openvid.encoders.hub`).
    """
    ref = model if isinstance(model, ModelRef) else parse_model_ref(model)
    if ref.source != "local" and not is_cached(ref):
        from openvid.encoders.hub import ensure_downloadable

        ensure_downloadable(ref.checkpoint, download_url(ref), pull_hint(ref))
    settings = settings or Settings.from_env()
    encoder = get_family(ref.family).load(ref, settings)
    encoder.use_runtime(settings)  # the towers' runtime (torch, ONNX Runtime, OpenVINO): one place for every family
    return encoder


def is_cached(model: str | ModelRef) -> bool:
    """True when loading needs no network; for the shipped families, without importing their libraries."""
    from openvid.encoders.hub import CACHE_CHECKS

    ref = model if isinstance(model, ModelRef) else parse_model_ref(model)
    check = CACHE_CHECKS.get(ref.family)
    return check(ref) if check is not None else get_family(ref.family).is_cached(ref)


def identity_of(model: str | ModelRef) -> str:
    """The identity `model` loads with, without loading it (shipped families; see `hub.identity_of`)."""
    from openvid.encoders import hub

    return hub.identity_of(model if isinstance(model, ModelRef) else parse_model_ref(model))


def pull(model: str | ModelRef) -> str:
    """Download `model` into the local cache; a local folder or file is already here (its path comes back)."""
    ref = model if isinstance(model, ModelRef) else parse_model_ref(model)
    if ref.source == "local":
        from openvid.encoders.hub import local_path

        return str(local_path(ref))
    from openvid.encoders.hub import ensure_downloadable

    ensure_downloadable(ref.checkpoint, download_url(ref), pull_hint(ref))
    return get_family(ref.family).pull(ref)
