"""What the torchvision, PyTorchVideo and AVSlowFast heads share: torch hub checkpoints, the
user's own weight files, and batched prediction.

A default checkpoint is one file at a URL, kept where torch hub keeps downloads
(`torch.hub.get_dir()/checkpoints`, ~/.cache/torch/hub/checkpoints unless TORCH_HOME says
otherwise), so a copied cache folder is all an offline machine needs. A missing file is downloaded
on first use; without a network that fails at once (the server is asked for a connection with a
short timeout first, since torch hub's own download has none) and becomes a `ModelUnavailable`
that names the file and how to get it.

The user's own weights (`--head-checkpoint NAME=file`) are a state_dict saved with `torch.save`, or a
PyTorchVideo/PySlowFast `.pyth` checkpoint ({"model_state": ...}); they are read with
`weights_only=True`, so a file cannot run code. The number of classes comes from the final layer.
A checkpoint of a smaller or otherwise different variant of the architecture carries a sidecar
`<stem>.arch.json` next to it (weights.pth -> weights.arch.json): a JSON object of the architecture builder's keyword arguments
(each head documents which builder). Standard-architecture checkpoints need no sidecar.
"""

from __future__ import annotations

import json
import os
import socket
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlparse

import numpy as np
import torch

from openvid.encoders.hub import local_fingerprint
from openvid.encoders.preprocess import batches
from openvid.errors import ModelUnavailable, OpenvidError, UsageError
from openvid.heads.base import Head, HeadSpec, checkpoint_opt, labels_opt, read_labels_file, softmax
from openvid.heads.runtime import RuntimeNetwork, blank_clip

KINETICS400_FILE = Path(__file__).resolve().parents[1] / "data" / "kinetics400.txt"
MAX_BATCH = 8  # clips per forward pass on a GPU: a 32-frame 256 px clip is 25 MB of input alone
# On a CPU, 3D convolutions gain nothing from batching and lose cache: X3D-M took 4.45 s for 8 clips
# one at a time and 6.95 s as one batch of 8 (2 cores; scripts/bench_heads.py, docs/benchmarks.md).
CPU_BATCH = 1
_CONNECT_TIMEOUT_S = 5.0
ARCH_SUFFIX = ".arch.json"


def kinetics400_labels() -> list[str]:
    """The 400 Kinetics class names in class-index order (alphabetical, as torchvision and
    PyTorchVideo number them; see openvid/data/SOURCES.md)."""
    return read_labels_file(KINETICS400_FILE)


# -- default checkpoints: one file in torch hub's cache ------------------------------------------
def hub_file(url: str) -> Path:
    """Where torch hub keeps (or would keep) the download of `url`."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def hub_cached(url: str) -> bool:
    return hub_file(url).is_file()


def pull_hint(head: str) -> str:
    """The instruction every ModelUnavailable for a default checkpoint carries."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    return (f"To get it: run `openvid models pull {head}` on a machine with internet access (it saves the file "
            "in torch hub's checkpoint folder, ~/.cache/torch/hub/checkpoints; copy the file into that folder on "
            f"this machine, here {folder}), or pass your own weights with "
            f"{checkpoint_opt(head, '/path/to/state_dict.pth')} (and {labels_opt(head, 'labels.txt')} if they do not "
            "have the 400 Kinetics classes).")


def fetch(url: str, checkpoint: str, head: str, check_hash: bool = False) -> Path:
    """The cached file of `url`, downloading it first when missing (fails fast offline)."""
    path = hub_file(url)
    if path.is_file():
        return path
    host = urlparse(url)
    try:
        port = host.port or (80 if host.scheme == "http" else 443)
        socket.create_connection((host.hostname, port), timeout=_CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ModelUnavailable(checkpoint, f"it is not in {path.parent} and {host.hostname} cannot be reached "
                               f"({exc.strerror or exc})", pull_hint(head)) from None
    hash_prefix = None
    if check_hash:  # torch hub's convention: the file name ends in -<first hex digits of its sha256>
        found = torch.hub.HASH_REGEX.search(path.name)
        hash_prefix = found.group(1) if found else None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(path), hash_prefix=hash_prefix, progress=True)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a hash mismatch a RuntimeError
        raise ModelUnavailable(checkpoint, f"downloading {url} failed: {_first_line(exc)}", pull_hint(head)) from None
    return path


# -- weight files ----------------------------------------------------------------------------------
def read_state_dict(path: Path, checkpoint: str, head: str, trusted: bool = False) -> dict[str, torch.Tensor]:
    """The tensors of a state_dict file or a .pyth checkpoint, on the CPU.

    Read with weights_only=True. `trusted` (the published default checkpoints only) allows falling
    back to a full unpickle when the file holds something weights_only refuses.
    """
    if not path.is_file():
        raise ModelUnavailable(checkpoint, f"{path} is not a file", local_hint(head))
    try:
        loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, a zip error, a truncated file...
        if not trusted:
            raise ModelUnavailable(checkpoint, f"cannot read {path.name} as weights: {_first_line(exc)}",
                                   local_hint(head)) from None
        try:
            loaded = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as again:
            raise ModelUnavailable(checkpoint, f"cannot read {path}: {_first_line(again)}; the download may be "
                                   "damaged: delete it and pull again", pull_hint(head)) from None
    state = _unwrap(loaded)
    if state is None:
        raise ModelUnavailable(checkpoint, f"{path.name} holds no state_dict (a mapping of parameter names to "
                               "tensors)", local_hint(head))
    return state


def _unwrap(loaded: Any) -> dict[str, torch.Tensor] | None:
    """The parameter mapping inside the common wrappers, with DataParallel's `module.` dropped."""
    for key in ("model_state", "state_dict", "model"):  # PySlowFast / PyTorchVideo, Lightning, others
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
            break
    if not isinstance(loaded, Mapping) or not loaded:
        return None
    tensors = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if len(tensors) < len(loaded) / 2:
        return None
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors


def local_hint(head: str) -> str:
    return (f"Pass {checkpoint_opt(head)}: a state_dict saved with torch.save(model.state_dict(), "
            f"path) or a PyTorchVideo .pyth file, of the {head} architecture (a variant described by a "
            f"<stem>{ARCH_SUFFIX} file next to it).")


def arch_file(path: Path) -> Path:
    """The sidecar describing a non-standard variant: weights.pth -> weights.arch.json."""
    return path.with_name(path.stem + ARCH_SUFFIX)


def read_arch(path: Path, head: str) -> dict[str, Any]:
    """The builder keyword arguments in the checkpoint's sidecar, or {} for the standard architecture."""
    sidecar = arch_file(path)
    if not sidecar.is_file():
        return {}
    try:
        kwargs = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(str(path), f"cannot read {sidecar.name}: {_first_line(exc)}",
                               f"Write {sidecar.name} as a JSON object of the {head} builder's keyword arguments, "
                               "or remove it for the standard architecture.") from None
    if not isinstance(kwargs, dict):
        raise ModelUnavailable(str(path), f"{sidecar.name} is not a JSON object",
                               f"Write it as {{\"argument\": value, ...}} for the {head} builder.")
    return kwargs


def local_identity(head: str, path: Path) -> str:
    """Changes whenever the weights file or its architecture sidecar does."""
    files = [path, arch_file(path)]
    prints = [local_fingerprint(f) for f in files if f.is_file()]
    return f"{head}:{path.resolve()}#{'-'.join(prints)}"


@dataclass
class Checkpoint:
    """Weights read for a head: where from (`label`, for messages), the tensors, the builder's
    keyword arguments from a `.arch.json` sidecar (user files only), and the identity they give."""

    label: str
    state: dict[str, torch.Tensor]
    arch: dict[str, Any]
    identity: str


def read_checkpoint(spec: HeadSpec, checkpoint: str | None, url: str, label: str | None = None,
                    check_hash: bool = False) -> Checkpoint:
    """The default checkpoint (downloaded from `url` when missing) or the user's own file."""
    if checkpoint is None:
        label = label or url
        path = fetch(url, label, spec.name, check_hash=check_hash)
        return Checkpoint(label, read_state_dict(path, label, spec.name, trusted=True), {},
                          f"{spec.name}:{spec.checkpoint}")
    path = Path(checkpoint).expanduser()
    return Checkpoint(str(path), read_state_dict(path, str(path), spec.name), read_arch(path, spec.name),
                      local_identity(spec.name, path))


def build_model(head: str, checkpoint: str, build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Call a model builder, turning a variant it cannot build into a ModelUnavailable."""
    try:
        return build()
    except (TypeError, ValueError, KeyError, AssertionError) as exc:
        raise ModelUnavailable(checkpoint, f"cannot build the {head} variant its {ARCH_SUFFIX} describes: {exc}",
                               local_hint(head)) from None


def classes_in(state: Mapping[str, torch.Tensor], key: str, checkpoint: str, head: str) -> int:
    """The number of outputs: the rows of the final layer's weight `key`."""
    weight = state.get(key)
    if weight is None or weight.ndim < 2:
        raise ModelUnavailable(checkpoint, f"it has no final layer {key!r}; it is not a {head} classifier",
                               local_hint(head))
    return int(weight.shape[0])


def output_labels(head: str, outputs: int, given: Sequence[str] | None, default: Sequence[str],
                  checkpoint: str) -> list[str]:
    """The user's labels (one per output), else the default list when the sizes agree."""
    if given is not None:
        if len(given) != outputs:
            raise UsageError(f"{len(given)} labels were given for {head} but the weights at {checkpoint} have "
                             f"{outputs} outputs; give one label per output, in the model's output order")
        return [str(label) for label in given]
    if outputs == len(default):
        return list(default)
    raise OpenvidError(f"the {head} weights at {checkpoint} have {outputs} outputs, not the {len(default)} Kinetics "
                       f"classes; pass their names with {labels_opt(head)} (one per line, in output order)")


def load_weights(model: torch.nn.Module, state: Mapping[str, torch.Tensor], checkpoint: str, head: str) -> None:
    """Load strictly: a partial match would leave random layers and only warn."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        text = str(exc)
        detail = next((line.strip() for line in text.splitlines()[1:] if line.strip()), _first_line(exc))
        raise ModelUnavailable(checkpoint, f"its tensors do not fit the {head} architecture ({detail[:300]})",
                               local_hint(head)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- prediction ----------------------------------------------------------------------------------
class TorchVideoHead(RuntimeNetwork, Head):
    """A torch classifier over clips: batches, inference mode, probabilities out.

    Subclasses build each batch's model input (`inputs`) and say whether the model already ends in
    a softmax (`outputs_probabilities`). The network runs on the head's runtime (`RuntimeNetwork`).
    """

    outputs_probabilities: bool = False

    def __init__(self, spec: HeadSpec, model: torch.nn.Module, labels: list[str], identity: str,
                 device: torch.device, dtype: torch.dtype, batch_size: int, frames_per_clip: int,
                 resize_to: int) -> None:
        self.spec = spec
        self.model = model
        self.labels = labels
        self.identity = identity
        self.device = device
        self.dtype = dtype
        self.batch_size = max(1, min(int(batch_size), MAX_BATCH if device.type == "cuda" else CPU_BATCH))
        self.frames_per_clip = frames_per_clip
        self.resize_to = resize_to

    @abstractmethod
    def inputs(self, clips: Sequence) -> Any:
        """The model's input for a batch of clips, on the head's device and dtype."""

    def network(self, count: int) -> torch.nn.Module:
        """The model with its inputs as `count` positional tensors (for `RuntimeNetwork`)."""
        return _HeadForward(self.model, listed=count > 1)

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        return _listed(self.inputs([blank_clip(self.frames_per_clip, self.resize_to, self.sample_rate)]))

    @torch.inference_mode()
    def outputs(self, clips: Sequence) -> np.ndarray:
        """float32 [n, len(labels)]: the model's raw output (logits, or probabilities; see above)."""
        out = [self.run_network(*_listed(self.inputs(chunk))).float().cpu()
               for chunk in batches(list(clips), self.batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.labels)), np.float32)

    def predict(self, clips: Sequence) -> np.ndarray:
        raw = self.outputs(clips)
        if not len(raw):
            return raw
        if self.outputs_probabilities:
            return (raw / raw.sum(axis=1, keepdims=True)).astype(np.float32)
        return softmax(raw)


def _listed(inputs: Any) -> tuple[torch.Tensor, ...]:
    return tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)


class _HeadForward(torch.nn.Module):
    """A head's network with its inputs as separate tensors (SlowFast's pathways are one list to the
    model, several inputs to an exported graph)."""

    def __init__(self, model: torch.nn.Module, listed: bool) -> None:
        super().__init__()
        self.model, self.listed = model, listed

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(list(inputs) if self.listed else inputs[0])
