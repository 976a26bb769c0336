"""One Settings object, and the one place that decides device and dtype.

Precedence is defaults < environment < explicit arguments (CLI flags or keyword arguments):
`Settings.from_env(**overrides)` builds it in that order, and `dataclasses.replace` derives variants.
This module imports torch only inside the functions that need it, so the store and the CLI's
fast paths stay light.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openvid.errors import OpenvidError, UnknownChoice, UsageError, opt

if TYPE_CHECKING:  # pragma: no cover
    import torch

DEFAULT_MODEL = "clip"
DEVICE_CHOICES = ("auto", "cpu", "cuda")
DTYPE_CHOICES = ("auto", "float32", "float16", "bfloat16")
DECODER_CHOICES = ("auto", "decord", "pyav")

# environment variable -> (field name, parser)
_ENV: dict[str, tuple[str, Any]] = {
    "OPENVID_HOME": ("home", Path),
    "OPENVID_DEVICE": ("device", str),
    "OPENVID_DTYPE": ("dtype", str),
    "OPENVID_MODEL": ("model", str),
    "OPENVID_BATCH_SIZE": ("batch_size", int),
    "OPENVID_DECODER": ("decoder", str),
}


@dataclass(frozen=True)
class Settings:
    """Everything a run can be told; frozen so a derived copy never changes the original."""

    home: Path = field(default_factory=lambda: Path("indexes"))
    # None: not chosen. A call then uses the index's own model, or DEFAULT_MODEL where no index
    # says otherwise; a chosen model (argument, Settings, OPENVID_MODEL) is always the one used.
    model: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 32
    decoder: str = "auto"
    window_s: float | None = None
    stride_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser())
        _check_choice("device", self.device.split(":")[0], DEVICE_CHOICES)
        _check_choice("dtype", self.dtype, DTYPE_CHOICES)
        _check_choice("decoder", self.decoder, DECODER_CHOICES)
        if self.batch_size < 1:
            raise UsageError(f"{opt('batch_size')} must be at least 1, got {self.batch_size}")
        for name in ("window_s", "stride_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UsageError(f"{opt(name)} must be positive, got {value}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then OPENVID_* variables, then the non-None keyword overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for variable, (name, parse) in _ENV.items():
            raw = environ.get(variable)
            if raw:
                try:
                    values[name] = parse(raw)
                except ValueError as exc:
                    raise OpenvidError(f"{variable}={raw!r} is not valid: {exc}") from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def model_name(self) -> str:
        """The model a call uses when no index names one: the chosen model, else DEFAULT_MODEL."""
        return self.model or DEFAULT_MODEL

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _check_choice(kind: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UnknownChoice(kind, value, list(choices))


def resolve_device(requested: str = "auto") -> "torch.device":
    """CUDA when present (or asked for), else CPU; asking for CUDA without one is an error."""
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"device 'cuda' was asked for but no CUDA GPU is visible; use {opt('device', 'cpu')}")
    return torch.device(requested)


def resolve_dtype(device: "torch.device", requested: str = "auto") -> "torch.dtype":
    """The compute dtype for model weights on `device`.

    auto: float16 on CUDA (tensor cores; CLIP-family towers are trained with mixed precision and
    their embeddings agree with fp32 to ~1e-3 cosine), float32 on CPU (bf16 matmul is slower than
    fp32 on CPUs without AMX, and fp16 CPU kernels are slow or missing).
    """
    import torch

    if requested == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[requested]
    if device.type == "cpu" and dtype == torch.float16:
        raise UsageError("float16 is not supported on CPU; use the dtype float32 or bfloat16 (OPENVID_DTYPE)")
    return dtype


def device_and_dtype(settings: Settings) -> tuple["torch.device", "torch.dtype"]:
    """The device and compute dtype a model is built on: every encoder and head asks here, so they
    all decide the same way from the same `settings.device` and `settings.dtype`."""
    device = resolve_device(settings.device)
    return device, resolve_dtype(device, settings.dtype)


__all__ = ["DEFAULT_MODEL", "Settings", "device_and_dtype", "resolve_device", "resolve_dtype"]
