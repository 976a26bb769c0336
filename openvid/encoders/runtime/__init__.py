"""What runs an encoder's network forward: torch, ONNX Runtime or OpenVINO, behind one callable.

An encoder keeps its own preprocessing, tokenisation, pooling over frames and normalisation; only
the tower's forward (`image_tower(pixels)`, `text_tower(tokens[, mask])`) goes through a `Tower`.
A non-torch tower is exported once per checkpoint and versions (`cache`), verified against torch
at export (`export`), and loaded from the home folder's `exports/` afterwards. Anything that keeps
the asked runtime from working (the library missing, the exporter failing, a mismatch with torch)
leaves the tower on torch with one warning saying why: the answers never change, only the speed.

Runtimes (`Settings.runtime`, `--runtime`, `OPENVID_RUNTIME`):

- `torch`: the module itself.
- `onnx`: ONNX Runtime's CPUExecutionProvider, `intra_op_num_threads` = `runtime_threads(settings)`.
  The CPU default ("auto"): exact (cosine 1.00000 to torch on every family). Measured here on 2
  cores (docs/benchmarks.md): text towers 1.5-2x torch; image and video towers 0.8-1.0x torch on
  an idle machine and 1.1-1.5x under load (ONNX Runtime's pool suffers less from busy cores).
- `openvino`: OpenVINO's CPU plugin on the IR converted from the same ONNX, float32 inference
  precision set explicitly (the plugin would otherwise pick bf16 on CPUs that have it).
- `openvino-int8`: the same with weights compressed to int8 by nncf's `compress_weights`. Opt-in
  only: OpenVINO/optimum-intel publish 63.30 vs 63.37 top-1 for real CLIP B/32 at 1.61x vision
  speed, but nothing here measured its accuracy on real weights.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Sequence

import torch

from openvid.encoders.runtime.cache import ExportSlot, slot
from openvid.encoders.runtime.export import (
    EXPORTERS,
    MIN_COSINE,
    MIN_COSINE_INT8,
    ExportRefused,
    TowerSpec,
    as_numpy,
    describe_probe,
    export_onnx,
    min_cosine,
    onnx_key,
    openvino_key,
    save_openvino,
)

_WARNED: set[tuple[str, str, str]] = set()
_WARN_LOCK = threading.Lock()


class Tower:
    """A tower's forward on one runtime: called with torch tensors, answers torch tensors (CPU)."""

    runtime: str = "torch"
    reason: str = ""  # why this is not the runtime asked for ("" when it is)
    min_cosine: float | None = None  # measured against torch at export (None for torch itself)

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        raise NotImplementedError


class TorchTower(Tower):
    def __init__(self, module: torch.nn.Module, reason: str = "") -> None:
        self.module, self.reason = module, reason

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        with torch.inference_mode():
            return self.module(*inputs)


class OnnxTower(Tower):
    runtime = "onnx"

    def __init__(self, path: Path, inputs: Sequence[str], threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 4  # a failed probe run is reported by the export check, not logged
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = list(inputs)

    def run(self, *inputs: torch.Tensor) -> list:
        return self.session.run(None, dict(zip(self.inputs, as_numpy(inputs))))

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return _tensors(self.run(*inputs))


class OpenVinoTower(Tower):
    def __init__(self, path: Path, inputs: Sequence[str], threads: int, int8: bool) -> None:
        import openvino as ov

        self.runtime = "openvino-int8" if int8 else "openvino"
        # f32: the plugin would pick bf16 where the CPU has it; no pinning: on cores shared with the
        # decoder (and other processes) pinned threads wait on each other instead of moving
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
                  "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False}
        self.compiled = ov.Core().compile_model(str(path), "CPU", config)
        self.inputs = list(inputs)

    def run(self, *inputs: torch.Tensor) -> list:
        request = self.compiled.create_infer_request()  # one per call: safe from many threads
        results = request.infer(dict(zip(self.inputs, as_numpy(inputs))))
        return [results[output] for output in self.compiled.outputs]

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return _tensors(self.run(*inputs))


def _tensors(outputs: list) -> torch.Tensor | tuple[torch.Tensor, ...]:
    tensors = tuple(torch.from_numpy(x.copy()) for x in outputs)
    return tensors[0] if len(tensors) == 1 else tensors


def build_tower(spec: TowerSpec, identity: str, runtime: str, home: Path, threads: int) -> Tower:
    """`spec`'s forward on `runtime`, exported and verified on first use; torch (warned once) when that fails."""
    if runtime == "torch":
        return TorchTower(spec.module)
    try:
        return _runtime_tower(spec, identity, runtime, Path(home), threads)
    except (ExportRefused, ImportError, OSError, RuntimeError) as exc:
        reason = str(exc) if isinstance(exc, ExportRefused) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ImportError):
            package = "onnxruntime" if runtime == "onnx" else "openvino and nncf"
            reason = f"{package} is not installed (pip install 'openvid[{'onnx' if runtime == 'onnx' else 'openvino'}]')"
        warn_fallback(identity, spec.name, runtime, reason)
        return TorchTower(spec.module, reason)


def warn_fallback(identity: str, tower: str, runtime: str, reason: str) -> None:
    """One warning per checkpoint, tower and runtime per process: the tower runs torch, and why."""
    with _WARN_LOCK:
        if (identity, tower, runtime) in _WARNED:
            return
        _WARNED.add((identity, tower, runtime))
    warnings.warn(f"openvid: the {tower} tower of {identity} runs on torch, not {runtime}: {reason}",
                  RuntimeWarning, stacklevel=3)


def _runtime_tower(spec: TowerSpec, identity: str, runtime: str, home: Path, threads: int) -> Tower:
    onnx_slot = slot(home, identity, onnx_key(), spec.name, ".onnx")
    load_onnx = lambda: OnnxTower(onnx_slot.path, spec.inputs, threads)  # noqa: E731
    makers = [(lambda e=e: export_onnx(spec, onnx_slot, e) or {"exporter": e}) for e in EXPORTERS]
    onnx_tower, cosine = _ensure(onnx_slot, spec, identity, load_onnx, makers, MIN_COSINE)
    if runtime == "onnx":
        onnx_tower.min_cosine = cosine
        return onnx_tower
    if runtime not in ("openvino", "openvino-int8"):
        raise ExportRefused(f"unknown runtime {runtime!r}")
    int8 = runtime == "openvino-int8"
    ov_slot = slot(home, identity, openvino_key(int8), spec.name, ".xml")
    load_ov = lambda: OpenVinoTower(ov_slot.path, spec.inputs, threads, int8)  # noqa: E731

    def make_ov() -> dict:
        save_openvino(onnx_slot.path, ov_slot, int8)
        return {"from": onnx_slot.path.name}

    tower, cosine = _ensure(ov_slot, spec, identity, load_ov, [make_ov], MIN_COSINE_INT8 if int8 else MIN_COSINE)
    tower.min_cosine = cosine
    return tower


def _ensure(target: ExportSlot, spec: TowerSpec, identity: str, load, makers, threshold: float):
    """(loaded tower, its recorded cosine): the cached file when whole, else made, verified and recorded.

    A file whose sidecar matches but that its runtime cannot load is made again, once.
    """
    for attempt in range(2):
        meta = target.read_meta(identity)
        if meta is None:
            with target.lock():
                meta = target.read_meta(identity)  # another process may have made it while this one waited
                if meta is None:
                    return _make(target, spec, identity, load, makers, threshold)
        try:
            return load(), float(meta["min_cosine"])
        except Exception:  # noqa: BLE001 - an unreadable file: discard it and make it again
            if attempt:
                raise
            with target.lock():
                target.discard()
    raise AssertionError("unreachable")


def _make(target: ExportSlot, spec: TowerSpec, identity: str, load, makers, threshold: float):
    """Try each way of making the file (torch's exporters, in order) until one loads and matches torch."""
    failures = []
    for make in makers:
        target.discard()
        try:
            made = make()
            tower = load()
            cosine = min_cosine(spec, tower.run)
        except Exception as exc:  # noqa: BLE001 - a failed export or run: the next exporter, else torch
            failures.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            continue
        if cosine >= threshold:
            target.write_meta(identity, min_cosine=cosine, threshold=threshold, probes=describe_probe(spec), **made)
            return tower, cosine
        failures.append(f"min cosine to torch {cosine:.6f} < {threshold} on probe batches {describe_probe(spec)}")
    target.discard()
    raise ExportRefused(f"no export of the {spec.name} tower matched torch: " + "; ".join(failures))


__all__ = ["ExportRefused", "OnnxTower", "OpenVinoTower", "TorchTower", "Tower", "TowerSpec", "build_tower",
           "warn_fallback"]
