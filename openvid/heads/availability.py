"""Whether a head's default checkpoint is on this machine, answered without torch or the head's library.

Why: `openvid heads list` and `openvid models list` show availability for every head. Asking each
family class imported torch, torchvision, transformers and pytorchvideo (seconds) only to look at
a few files. The shipped families keep their checkpoints in one of two caches, both plain folders:

- the Hugging Face cache (videomae, timesformer, ast, clap): the config, a weights file and the
  processor's files of the hub repository;
- torch hub's checkpoint folder (torchvision, PyTorchVideo): one file, named after the download
  URL (`spec.checkpoint` for PyTorchVideo; the registry's `options.weights_file` for torchvision,
  whose URL lives in its weights enum).

The family modules answer `is_cached` with these same functions. A family not listed here (a
plugin) is asked itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlparse

from openvid.encoders.hub import hf_cached

if TYPE_CHECKING:  # pragma: no cover
    from openvid.heads.base import HeadSpec

HF_WEIGHT_FILES = ["model.safetensors", "pytorch_model.bin"]
VIDEO_PROCESSOR_FILES = ["preprocessor_config.json"]
AUDIO_PROCESSOR_FILES = ["preprocessor_config.json"]
CLAP_PROCESSOR_FILES = ["preprocessor_config.json", "tokenizer_config.json"]


def torch_hub_dir() -> Path:
    """`torch.hub.get_dir()` without torch: $TORCH_HOME/hub, else $XDG_CACHE_HOME/torch/hub, else
    ~/.cache/torch/hub (torch's own rule; `torch.hub.set_dir` in the same process is not seen)."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "torch")
    return Path(os.path.expanduser(torch_home)) / "hub"


def torch_hub_file(url_or_name: str) -> Path:
    """Where torch hub keeps (or would keep) the download of a URL, or a file of that name."""
    return torch_hub_dir() / "checkpoints" / os.path.basename(urlparse(url_or_name).path)


def hf_head_cached(repo_id: str, processor_files: list[str]) -> bool:
    """The hub cache holds the config, the processor's files and one weights file."""
    return hf_cached(repo_id, ["config.json", *HF_WEIGHT_FILES]) and hf_cached(repo_id, list(processor_files))


def _hf(processor_files: list[str]) -> Callable[["HeadSpec"], bool]:
    return lambda spec: spec.checkpoint is not None and hf_head_cached(spec.checkpoint, processor_files)


def _torchvision(spec: "HeadSpec") -> bool:
    name = spec.options.get("weights_file")
    if not name:  # an entry without it: only torchvision's weights enum knows the file
        from openvid.heads.torchvision_heads import weights_of

        name = weights_of(spec).url
    return torch_hub_file(str(name)).is_file()


def _zoo(spec: "HeadSpec") -> bool:
    return spec.checkpoint is not None and torch_hub_file(spec.checkpoint).is_file()


CACHE_CHECKS: dict[str, Callable[["HeadSpec"], bool]] = {
    "videomae": _hf(VIDEO_PROCESSOR_FILES),
    "timesformer": _hf(VIDEO_PROCESSOR_FILES),
    "ast": _hf(AUDIO_PROCESSOR_FILES),
    "clap": _hf(CLAP_PROCESSOR_FILES),
    "torchvision": _torchvision,
    "x3d": _zoo,
    "slowfast": _zoo,
    "avslowfast": lambda spec: False,  # no published weights: always the user's own file
}
"""Family -> its cache check, for the shipped families."""


def is_cached(spec: "HeadSpec") -> bool:
    """True when the head's default checkpoint loads without a network."""
    check = CACHE_CHECKS.get(spec.family)
    if check is not None:
        return check(spec)
    from openvid.heads.base import head_family

    return head_family(spec).is_cached(spec)


__all__ = ["CACHE_CHECKS", "hf_head_cached", "is_cached", "torch_hub_dir", "torch_hub_file"]
