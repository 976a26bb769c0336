"""Export a tower with torch's own exporter, convert it for OpenVINO, and prove it equals torch.

The exporter is `torch.onnx.export`. On this torch (2.14) both of its paths give exact graphs of
the open_clip, X-CLIP and VideoPrism towers; the TorchScript path (`dynamo=False`, deprecated but
shipped) exports a tiny CLIP tower in 0.65 s against 6 s for the torch.export path (`dynamo=True`,
the default since 2.9), and PE-Core's timm tower in 20 s against 50 s, so it is tried first and the
torch.export path is the fallback (a torch without the TorchScript exporter uses that one).

Every export is checked on probe batches before it is kept: each output row's cosine to torch's
forward of the same inputs must reach `MIN_COSINE` (0.99999 for float32; `MIN_COSINE_INT8` for
weight-only int8, which is not exact by construction), on a second batch size (and text length,
where that axis is dynamic) than the one exported with, so a shape baked into the graph is caught.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from openvid.encoders.runtime.cache import ExportSlot, commit, temporary_path
from openvid.errors import OpenvidError

OPSET = 17  # LayerNormalization is one op from 17; the TorchScript exporter's tested range
OPSET_DYNAMO = 18  # the torch.export path's lowest
MIN_COSINE = 0.99999
MIN_COSINE_INT8 = 0.99
WRAPPERS_VERSION = 1  # bump when a family's exported forward changes: old files are then not read


class ExportRefused(OpenvidError):
    """An export that could not be made or did not match torch: the encoder runs torch instead."""


@dataclass
class TowerSpec:
    """One network forward to export: the torch module (also the reference) and how to call it.

    `probes[0]` is what the export traces; every probe is compared against torch. Axes named in
    `dynamic` (input or output name -> {axis: name}) stay free in the graph; the others are fixed.
    """

    name: str  # "image", "video", "text": the file's name in the cache
    module: torch.nn.Module
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    probes: list[tuple[torch.Tensor, ...]]
    dynamic: dict[str, dict[int, str]] = field(default_factory=dict)


def onnx_key() -> str:
    """The ONNX files' folder name: every version an exported graph depends on."""
    return f"onnx-opset{OPSET}-torch{torch.__version__}-w{WRAPPERS_VERSION}"


def openvino_key(int8: bool) -> str:
    import openvino

    key = f"openvino-{openvino.get_version().split('-')[0]}-torch{torch.__version__}-w{WRAPPERS_VERSION}"
    if int8:
        from importlib.metadata import version

        key += f"-int8-nncf{version('nncf')}"
    return key


EXPORTERS = ("torchscript", "dynamo")


def export_onnx(spec: TowerSpec, target: ExportSlot, exporter: str) -> None:
    """Write `spec`'s ONNX graph to `target.path` (atomically) with one of torch's two exporters."""
    temporary = temporary_path(target.path)
    try:
        _export(spec, temporary, exporter)
        commit(temporary, target.path)
    finally:
        temporary.unlink(missing_ok=True)


def _export(spec: TowerSpec, path: Path, exporter: str) -> None:
    module = spec.module.eval()
    args = spec.probes[0]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        if exporter == "torchscript":
            buffer = io.BytesIO()
            # nn.MultiheadAttention's fused inference op has no ONNX form: the traced graph takes the
            # plain path (the same arithmetic), as the torch.export path does by itself
            fastpath = torch.backends.mha.get_fastpath_enabled()
            torch.backends.mha.set_fastpath_enabled(False)
            try:
                torch.onnx.export(module, args, buffer, dynamo=False, opset_version=OPSET,
                                  input_names=list(spec.inputs), output_names=list(spec.outputs),
                                  dynamic_axes=spec.dynamic, do_constant_folding=True)
            finally:
                torch.backends.mha.set_fastpath_enabled(fastpath)
            path.write_bytes(buffer.getvalue())
        else:
            program = torch.onnx.export(module, args, None, dynamo=True, opset_version=OPSET_DYNAMO,
                                        input_names=list(spec.inputs), output_names=list(spec.outputs),
                                        dynamic_axes=spec.dynamic, optimize=True, verify=False, report=False,
                                        verbose=False)
            program.save(str(path))


def save_openvino(onnx_path: Path, target: ExportSlot, int8: bool) -> None:
    """OpenVINO IR from the verified ONNX file (`convert_model`), weights int8 with nncf's
    `compress_weights` when asked; saved without fp16 compression (save_model's default halves
    the weights, which is not the float32 runtime)."""
    import openvino as ov

    model = ov.convert_model(str(onnx_path))
    if int8:
        import logging

        import nncf

        nncf.set_log_level(logging.ERROR)  # its statistics table and progress bar are not openvid's output
        model = nncf.compress_weights(model)  # INT8_ASYM weight-only, activations stay float32
    temporary = temporary_path(target.path)
    try:
        ov.save_model(model, str(temporary), compress_to_fp16=False)
        commit(temporary.with_suffix(".bin"), target.path.with_suffix(".bin"))
        commit(temporary, target.path)
    finally:
        temporary.unlink(missing_ok=True)
        temporary.with_suffix(".bin").unlink(missing_ok=True)


def min_cosine(spec: TowerSpec, run: Callable[..., Sequence[torch.Tensor]]) -> float:
    """The lowest cosine, over every probe, output and row, between `run` and the torch module."""
    worst = 1.0
    for probe in spec.probes:
        with torch.inference_mode():
            expected = spec.module(*probe)
        expected = expected if isinstance(expected, (tuple, list)) else (expected,)
        got = run(*probe)
        for want, have in zip(expected, got):
            want = want.float().reshape(want.shape[0], -1).numpy()
            have = np.asarray(have, np.float32).reshape(want.shape[0], -1)
            if want.shape != have.shape:
                return float("-inf")
            norms = np.linalg.norm(want, axis=1) * np.linalg.norm(have, axis=1)
            cosine = (want * have).sum(1) / np.maximum(norms, 1e-30)
            worst = min(worst, float(cosine.min()))
    return worst


def as_numpy(inputs: Sequence[torch.Tensor]) -> list[np.ndarray]:
    return [np.ascontiguousarray(x.detach().cpu().numpy()) for x in inputs]


def describe_probe(spec: TowerSpec) -> list[Any]:
    return [[list(x.shape) for x in probe] for probe in spec.probes]
