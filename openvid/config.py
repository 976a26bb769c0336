"""One Settings object, the one place that decides device and dtype, and where the home folder is.

Precedence is defaults < environment < explicit arguments (CLI flags or keyword arguments):
`Settings.from_env(**overrides)` builds it in that order, and `dataclasses.replace` derives variants.
This module imports torch only inside the functions that need it, so the store and the CLI's
fast paths stay light.

The home folder (the SQLite file and every index) is found by one rule a user can predict from
where they stand, whatever the current directory (`resolve_home`):

1. the `home` argument (`--home DIR`);
2. else `OPENVID_HOME`;
3. else the nearest `indexes/` folder that already holds `openvid.db`, in the current directory or
   one of its parents (the home of openvid before this rule, so a project's store keeps working
   from its subfolders; an `indexes/` folder without the database is someone else's and ignored);
4. else the user's data folder: `$XDG_DATA_HOME/openvid` or `~/.local/share/openvid` on Linux,
   `~/Library/Application Support/openvid` on macOS, `%LOCALAPPDATA%\\openvid` on Windows (where
   platformdirs' `user_data_dir("openvid")` puts it; openvid does not depend on platformdirs).

`openvid config` (and `openvid info`) print the home in use and which step chose it.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from openvid.errors import OpenvidError, UnknownChoice, UsageError, opt

if TYPE_CHECKING:  # pragma: no cover
    import torch

DEFAULT_MODELS: Mapping[tuple[str, str], str] = {
    # (job, device type) -> the encoder a call uses when none is chosen and no index names one.
    # Chosen from published quality against the cost measured here (README, "Choosing an encoder"):
    # an archive on a CPU is frames by the hour, so the fastest encoder that is also better than
    # ViT-B/32 (MobileCLIP2-S0: 1.3x its frames/s here, ImageNet zero-shot 71.5 vs 66.6); classify
    # reads few videos, so the best published video retrieval for the cost (PE-Core B/16: MSR-VTT
    # R@1 47.6, K400 65.6); a GPU affords the next step up in each.
    ("index", "cpu"): "mobileclip2-s0",
    ("classify", "cpu"): "pe-core-b16",
    ("index", "cuda"): "pe-core-b16",
    ("classify", "cuda"): "pe-core-l14",
}
JOBS = ("index", "classify")
DEFAULT_MODEL = DEFAULT_MODELS[("index", "cpu")]
HOME_FOLDER = "indexes"  # the folder name step 3 of the home rule looks for
DB_FILENAME = "openvid.db"  # the store's file (openvid.store.db names the same file)
DEVICE_CHOICES = ("auto", "cpu", "cuda")
DTYPE_CHOICES = ("auto", "float32", "float16", "bfloat16")
DECODER_CHOICES = ("auto", "decord", "pyav")
# What runs an encoder's network forward (openvid.encoders.runtime): "auto" is ONNX Runtime on a CPU
# where onnxruntime is installed and the export verifies against torch, torch elsewhere (CUDA keeps
# torch fp16); "openvino-int8" (weight-only int8) is opt-in only: its accuracy on real weights was
# not measured here.
RUNTIME_CHOICES = ("auto", "torch", "onnx", "openvino", "openvino-int8")

# environment variable -> (field name, parser)
_ENV: dict[str, tuple[str, Any]] = {
    "OPENVID_HOME": ("home", Path),
    "OPENVID_DEVICE": ("device", str),
    "OPENVID_DTYPE": ("dtype", str),
    "OPENVID_MODEL": ("model", str),
    "OPENVID_BATCH_SIZE": ("batch_size", int),
    "OPENVID_DECODER": ("decoder", str),
    "OPENVID_RUNTIME": ("runtime", str),
    "OPENVID_THREADS": ("threads", int),
}


@dataclass(frozen=True)
class HomeChoice:
    """The home folder in use and the step of the rule that chose it (see the module docstring)."""

    path: Path
    reason: str  # said to the user: "OPENVID_HOME", "found /p/indexes/openvid.db", ...
    source: str  # "argument" | "environment" | "found" | "data folder"


def user_data_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The user's data folder for openvid (step 4 of the home rule)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        base = Path(environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "openvid"


def find_home(cwd: Path | str | None = None, environ: Mapping[str, str] | None = None) -> HomeChoice:
    """Steps 3 and 4 of the home rule: the nearest `indexes/openvid.db` upwards, else the data folder."""
    start = Path.cwd() if cwd is None else Path(cwd)
    for folder in (start, *start.parents):
        if (folder / HOME_FOLDER / DB_FILENAME).is_file():
            return HomeChoice(folder / HOME_FOLDER, f"found {folder / HOME_FOLDER / DB_FILENAME}", "found")
    return HomeChoice(user_data_dir(environ), f"the user data folder: no {HOME_FOLDER}/{DB_FILENAME} in "
                      f"{start} or its parents, and OPENVID_HOME is not set", "data folder")


def resolve_home(given: Path | str | None = None, environ: Mapping[str, str] | None = None,
                 cwd: Path | str | None = None) -> HomeChoice:
    """The home folder a call with `home=given` uses, and why (the whole rule of the module docstring)."""
    environ = os.environ if environ is None else environ
    if given is not None and str(given):
        return HomeChoice(_absolute(given), "given", "argument")
    if environ.get("OPENVID_HOME"):
        return HomeChoice(_absolute(environ["OPENVID_HOME"]), "OPENVID_HOME", "environment")
    return find_home(cwd, environ)


def _absolute(path: Path | str) -> Path:
    return Path(path).expanduser().absolute()


@dataclass(frozen=True)
class Settings:
    """Everything a run can be told; frozen so a derived copy never changes the original.

    `home` left out (None) is found by the home rule's steps 3-4 (`find_home`); `from_env` reads
    OPENVID_HOME first. `home_source` says which step chose it (`openvid config` prints it).
    """

    home: Path = None  # type: ignore[assignment]  # always a Path once built
    # None: not chosen. A call then uses the index's own model, or DEFAULT_MODEL where no index
    # says otherwise; a chosen model (argument, Settings, OPENVID_MODEL) is always the one used.
    model: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 32
    decoder: str = "auto"
    runtime: str = "auto"
    # Intra-op threads of an ONNX Runtime / OpenVINO encoder or head; None: torch's count (torch.get_num_threads(),
    # which follows OMP_NUM_THREADS), so both runtimes use the cores the same way.
    threads: int | None = None
    window_s: float | None = None
    stride_s: float | None = None
    home_source: str = field(default="", compare=False)  # how `home` was chosen (HomeChoice.reason)

    def __post_init__(self) -> None:
        if self.home is None or not str(self.home):
            found = find_home()
            object.__setattr__(self, "home", found.path)
            object.__setattr__(self, "home_source", found.reason)
        else:
            object.__setattr__(self, "home", _absolute(self.home))
            if not self.home_source:
                object.__setattr__(self, "home_source", "given")
        _check_choice("device", self.device.split(":")[0], DEVICE_CHOICES)
        _check_choice("dtype", self.dtype, DTYPE_CHOICES)
        _check_choice("decoder", self.decoder, DECODER_CHOICES)
        _check_choice("runtime", self.runtime, RUNTIME_CHOICES)
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"{opt('threads')} must be at least 1, got {self.threads}")
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
        if "home" in values:
            values["home_source"] = "OPENVID_HOME"
        values.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("home") is not None:
            values["home_source"] = overrides.get("home_source") or "given"
        return cls(**values)

    @property
    def model_name(self) -> str:
        """The model an indexing call uses when no index names one: the chosen model, else the default."""
        return self.model_for("index")

    def model_for(self, job: str) -> str:
        """The chosen model, else the default for `job` ("index": archives, embed; "classify":
        classify, eval, few-shot, calibration) on this device (`default_model`)."""
        if self.model:
            return self.model
        device = self.device
        if device == "auto" and default_model(job, "cpu") != default_model(job, "cuda"):
            device = resolve_device("auto").type  # imports torch only when the answer depends on it
        return default_model(job, device)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with the non-None `changes`; a new `home` is marked as given."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "home" in changes and "home_source" not in changes:
            changes["home_source"] = "given"
        return dataclasses.replace(self, **changes)


def _defaults_line() -> str:
    cpu = ", ".join(f"{default_model(job, 'cpu')} to {job}" for job in JOBS)
    gpu = ", ".join(f"{default_model(job, 'cuda')} to {job}" for job in JOBS)
    return f"{cpu} (on a GPU: {gpu})"


def default_model(job: str, device: str = "cpu") -> str:
    """The default encoder for `job` on `device` ("cpu", "cuda", "cuda:1", "auto" reads as cpu)."""
    if job not in JOBS:
        raise UnknownChoice("job", job, list(JOBS))
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return DEFAULT_MODELS[(job, kind)]


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


_DISTRIBUTIONS = ("openvid", "torch", "torchvision", "transformers", "open_clip_torch", "huggingface_hub",
                  "faiss-cpu", "faiss-gpu-cu12", "faiss", "sqlalchemy", "numpy", "av", "decord", "typer")


def versions() -> dict[str, str]:
    """Installed versions of openvid and what it runs on, read from package metadata (nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version
    from platform import python_version

    found = {"python": python_version()}
    for name in _DISTRIBUTIONS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def describe(settings: Settings, resolve: bool = False, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What a call with `settings` runs with, and where each value came from (`openvid config`).

    Torch is imported only with `resolve`, to say which device and dtype "auto" becomes here.
    """
    environ = os.environ if environ is None else environ

    def origin(variable: str, value: object, default: object) -> str:
        if environ.get(variable) and str(value) == environ[variable]:
            return variable
        return "default" if value == default else "given"

    info: dict[str, Any] = {
        "home": str(settings.home),
        "home_chosen_by": settings.home_source,
        "model": settings.model or _defaults_line(),
        "model_chosen_by": origin("OPENVID_MODEL", settings.model, None)
        if settings.model else "the defaults; a call on an index uses the model the index was built with",
        "device": settings.device,
        "device_chosen_by": origin("OPENVID_DEVICE", settings.device, "auto"),
        "dtype": settings.dtype,
        "dtype_chosen_by": origin("OPENVID_DTYPE", settings.dtype, "auto"),
        "batch_size": settings.batch_size,
        "decoder": settings.decoder,
        "runtime": settings.runtime,
        "runtime_chosen_by": origin("OPENVID_RUNTIME", settings.runtime, "auto"),
        "runtime_plan": runtime_plan(settings.runtime),
        "threads": settings.threads,
        "hub_offline": environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"),
        "hub_cache": _hub_cache(environ),
        "environment": {k: v for k, v in sorted(environ.items()) if k.startswith("OPENVID_")},
        "versions": versions(),
    }
    if resolve:
        device, dtype = device_and_dtype(settings)
        info["device_resolved"], info["dtype_resolved"] = str(device), str(dtype).removeprefix("torch.")
        info["runtime_resolved"] = resolve_runtime(settings.runtime, device, dtype)
    return info


def _hub_cache(environ: Mapping[str, str]) -> str:
    """Where Hugging Face checkpoints are looked for (huggingface_hub's own rule, without importing it)."""
    if environ.get("HF_HUB_CACHE"):
        return str(Path(environ["HF_HUB_CACHE"]).expanduser())
    hf_home = environ.get("HF_HOME") or str(Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface")
    return str(Path(hf_home).expanduser() / "hub")


def device_and_dtype(settings: Settings) -> tuple["torch.device", "torch.dtype"]:
    """The device and compute dtype a model is built on: every encoder and head asks here, so they
    all decide the same way from the same `settings.device` and `settings.dtype`."""
    device = resolve_device(settings.device)
    return device, resolve_dtype(device, settings.dtype)


def onnxruntime_installed() -> bool:
    """True when onnxruntime can be imported (checked without importing it)."""
    from importlib.util import find_spec

    return find_spec("onnxruntime") is not None


def resolve_runtime(requested: str, device: "torch.device", dtype: "torch.dtype") -> str:
    """The runtime an encoder's forward asks for on `device` with `dtype` (the export may still be
    refused at verification: the encoder then runs torch and says why, once).

    auto: ONNX Runtime on a CPU in float32 where onnxruntime is installed (exact: cosine 1.00000 to
    torch; text towers 1.5-2x torch here, image towers about even on an idle machine and faster
    under load), torch on CUDA (fp16 there) and for other dtypes. An
    explicit ONNX or OpenVINO runtime is a CPU float32 runtime: asking for it elsewhere is an error.
    """
    import torch

    _check_choice("runtime", requested, RUNTIME_CHOICES)
    cpu_fp32 = device.type == "cpu" and dtype == torch.float32
    if requested == "auto":
        return "onnx" if cpu_fp32 and onnxruntime_installed() else "torch"
    if requested != "torch" and not cpu_fp32:
        raise UsageError(f"the runtime {requested!r} runs float32 on a CPU, not {str(dtype).removeprefix('torch.')} "
                         f"on {device}; use {opt('runtime', 'torch')} there (OPENVID_RUNTIME)")
    return requested


def runtime_plan(requested: str) -> str:
    """What `requested` runs in words, without importing torch (`openvid info` stays light)."""
    if requested != "auto":
        return requested
    if not onnxruntime_installed():
        return "torch (onnxruntime is not installed)"
    return "onnx on a CPU (a head: its measured cpu_runtime, `openvid heads list --json`), torch on CUDA"


def runtime_threads(settings: Settings) -> int:
    """Intra-op threads for an ONNX Runtime / OpenVINO forward: `settings.threads`, else torch's count."""
    if settings.threads:
        return settings.threads
    import torch

    return torch.get_num_threads()


__all__ = ["DEFAULT_MODEL", "RUNTIME_CHOICES", "resolve_runtime", "runtime_threads", "DEFAULT_MODELS", "default_model", "HomeChoice", "Settings", "describe", "device_and_dtype", "find_home", "resolve_device",
           "resolve_dtype", "resolve_home", "user_data_dir"]
