"""What runs a head's network forward: torch, ONNX Runtime or OpenVINO, as for the encoders' towers.

A head keeps its own input making (frames, spectrograms) and its own output reading (softmax,
sigmoid, CLAP's cosine with the labels); only the network's forward goes through a `Tower` of
`openvid.encoders.runtime`: exported under HOME/exports on its first batch (a head's input shapes
come from its checkpoint and the clips, so the first batch is what tells them), verified against
torch on probes shaped like that batch, and cached by the head's checkpoint identity. A refused
export leaves the head on torch with one warning saying why: the answers never change.

Which runtime: an explicit `--runtime onnx|openvino|openvino-int8` moves every head that runs here.
`auto` takes the head's `cpu_runtime` (heads.json) on a CPU in float32, where ONNX Runtime is
installed: "onnx" for the heads `scripts/bench_heads.py --runtimes` measured faster there than torch
in every run at full size (X3D-M 1.11-1.25x, Swin3D-T 1.24-1.55x, R(2+1)D 1.04-1.10x, CLAP's audio
tower 1.05x), "torch" for the others: no faster, or slower (MViT's pooled attention 0.17x, VideoMAE
0.92x, TimeSformer 0.79-1.11x; docs/benchmarks.md). On CUDA, `auto` is torch.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:  # pragma: no cover
    from openvid.config import Settings
    from openvid.encoders.runtime import Tower, TowerSpec

def head_runtime(requested: str, cpu_runtime: str, device: torch.device, dtype: torch.dtype) -> str:
    """The runtime a head's network asks for: an explicit runtime as for the encoders (an error off a
    CPU in float32), `auto` as the head's measured `cpu_runtime` where the encoders' `auto` would be
    ONNX Runtime, torch elsewhere."""
    from openvid.config import resolve_runtime

    if requested != "auto":
        return resolve_runtime(requested, device, dtype)
    return cpu_runtime if resolve_runtime("auto", device, dtype) == "onnx" else "torch"


class RuntimeNetwork:
    """Mixin for a `Head` whose network can run on a CPU runtime (`load_head` calls `use_runtime`).

    The head implements `network(count)`: a module taking its `count` input tensors positionally and
    answering one tensor (named `network_output` in the exported graph); it calls `run_network`
    where it would call its model. Before `use_runtime`, or on torch, `run_network` is that
    module's forward.
    """

    runtime: str = "torch"
    network_output: str = "logits"
    device: torch.device
    dtype: torch.dtype
    identity: str

    def network(self, count: int) -> torch.nn.Module:  # pragma: no cover - each head says its own
        raise NotImplementedError

    def example_inputs(self) -> tuple[torch.Tensor, ...]:  # pragma: no cover - each head says its own
        """The network's inputs for one blank clip, shaped as a real batch of one (`export_network`)."""
        raise NotImplementedError

    def export_network(self) -> dict[str, object]:
        """Build the network on its runtime now (export and verify, or load the cached file) instead of on
        the first batch, from a blank clip shaped like a real one (`openvid models export HEAD`): what it
        runs on, its cosine to torch at export, and why it is not the runtime asked for ("" when it is)."""
        with torch.inference_mode():
            self.run_network(*self.example_inputs())
        tower = self.__dict__.get("_tower")
        return {"runtime": self.runtimes()["head"], "min_cosine": getattr(tower, "min_cosine", None),
                "reason": getattr(tower, "reason", "")}

    def use_runtime(self, settings: "Settings") -> None:
        """Run the network on what `settings.runtime` resolves to for this head (see the module notes)."""
        from openvid.config import runtime_threads

        self.runtime = head_runtime(settings.runtime, self.spec.cpu_runtime, self.device, self.dtype)  # type: ignore[attr-defined]
        self._runtime_home = Path(settings.home)
        self._runtime_threads = runtime_threads(settings) if self.runtime != "torch" else 0
        self._tower: Tower | None = None
        self._tower_lock = threading.Lock()

    def run_network(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The network's output for these inputs, on the head's runtime (built on the first call)."""
        if self.runtime == "torch":
            return self.network(len(inputs))(*inputs)
        with self._tower_lock:
            if self._tower is None:
                from openvid.encoders.runtime import build_tower

                self._tower = build_tower(self._tower_spec(inputs), self.identity, self.runtime,
                                          self._runtime_home, self._runtime_threads)
        out = self._tower(*inputs)
        return out[0] if isinstance(out, tuple) else out

    def _tower_spec(self, inputs: tuple[torch.Tensor, ...]) -> "TowerSpec":
        """The network as one exported forward: probes of batch 1 and 2 shaped like the first batch (the
        batch axis free), so a graph that fixed the batch at export is refused by its verification."""
        from openvid.encoders.runtime import TowerSpec

        generator = torch.Generator().manual_seed(0)
        probes = [tuple(torch.randn(n, *a.shape[1:], generator=generator, dtype=a.dtype) for a in inputs)
                  for n in (1, 2)]
        names = tuple(f"input{i}" for i in range(len(inputs)))
        dynamic = {name: {0: "batch"} for name in (*names, self.network_output)}
        return TowerSpec("head", self.network(len(inputs)), names, (self.network_output,), probes, dynamic)

    def runtimes(self) -> dict[str, str]:
        """What the network runs on: the runtime asked for until its first batch, then what it really runs
        (as `Encoder.runtimes`; a head's export needs a batch's shapes, so it is built on its first one)."""
        tower = self.__dict__.get("_tower")
        return {"head": tower.runtime if tower is not None else self.runtime}


def blank_clip(frames: int, side: int, sample_rate: int | None, seconds: float = 10.0):
    """A Clip of black frames (short side `side`, 4:3) and silence at `sample_rate`: what a head's
    `example_inputs` is made from (its own transform crops and resizes it as it would a video's)."""
    from openvid.media import Clip

    pixels = np.zeros((max(1, frames), max(side, 8), max(side * 4 // 3, 8), 3), np.uint8)
    audio = {sample_rate: np.zeros(int(seconds * sample_rate), np.float32)} if sample_rate else None
    return Clip("blank", 0, 0.0, seconds, pixels, np.arange(len(pixels), dtype=np.int64), audio=audio)


class KeywordForward(torch.nn.Module):
    """A transformers model called with one keyword input, answering one field of its output
    (`model(pixel_values=x).logits`), as a module of one positional input for the exporter."""

    def __init__(self, model: torch.nn.Module, keyword: str, field: str = "logits") -> None:
        super().__init__()
        self.model, self.keyword, self.field = model, keyword, field

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.model(**{self.keyword: x}), self.field)
