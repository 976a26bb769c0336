"""One registry for every kind of named model: models are data, families are modules.

Why: encoders and heads used to keep two copies of the same registry, and every checkpoint was
written as Python calls inside the module that implements its family, so merely listing models
imported torch, and adding a checkpoint meant editing code. Here a model is an entry in a JSON file
shipped with the package (`openvid/data/models/encoders.json`, `heads.json`; the format is in
`openvid/data/models/README.md`), and a family is the module that implements it, named once in the
same file and imported only when a model of that family is loaded:

    {"families": {"xclip": "openvid.encoders.xclip"},
     "models": [{"name": "xclip", "family": "xclip", "checkpoint": "microsoft/xclip-base-patch32", ...}]}

- A checkpoint of a known family is one entry in "models": no code.
- A new family is one module whose class is decorated with `registry.register_family("name")`
  (`openvid.encoders.register_family`, `openvid.heads.register_head_family`), plus one line in
  "families" naming that module, so that loading a model of the family imports it.

Code can register too (a plugin, the stand-in heads of tests): `register(spec)`,
`register_entry({...})` (an entry in the data format), `read(path)` (a whole file of entries);
`with registry.scoped(): ...` undoes whatever was registered inside it.

The registry is safe to share between threads: reads and writes take one lock, and a family's
module is imported outside it (its decorators take the lock themselves).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.resources
import json
import threading
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, Mapping, Protocol, TypeVar

from openvid.errors import OpenvidError, UnknownChoice, UsageError

DATA_PACKAGE = "openvid"
DATA_FOLDER = ("data", "models")
COMMENT = "comment"  # a key any entry may carry for maintainers; it is not part of the spec


class Spec(Protocol):
    name: str
    family: str


S = TypeVar("S", bound=Spec)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Figure:
    """One published result of a checkpoint, with where it was published (openvid did not measure it)."""

    benchmark: str  # e.g. "HMDB-51"
    metric: str  # e.g. "top-1 %", "mAP"
    value: float
    source: str  # paper, model card or library docs that publish it
    setting: str = ""  # how it was measured, e.g. "zero-shot", "30 views"

    def __str__(self) -> str:
        setting = f", {self.setting}" if self.setting else ""
        return f"{self.benchmark} {self.metric} {self.value:g} ({self.source}{setting})"


def clip_span(value: Any) -> float | None:
    """Seconds of video a model's clip covers: a number, or {"frames", "stride" (default 1), "fps"}.

    The structured form keeps the derivation next to the number (16 frames, stride 4, at 30 fps)."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    if isinstance(value, Mapping) and {"frames", "fps"} <= set(value):
        return value["frames"] * value.get("stride", 1) / value["fps"]
    raise UsageError(f"a clip span is seconds or {{\"frames\": N, \"stride\": S, \"fps\": F}}, got {value!r}")


def spec_from_entry(cls: type[T], entry: Mapping[str, Any]) -> T:
    """Build the frozen spec dataclass `cls` from one data entry, refusing unknown or missing fields.

    Lists become tuples (specs are frozen), "published" becomes `Figure`s, and a field ending in
    `_s` or `_seconds` may be given as a clip span (see `clip_span`).
    """
    if not isinstance(entry, Mapping):
        raise UsageError(f"a model entry is a JSON object, got {type(entry).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in entry.items() if k != COMMENT}
    label = values.get("name", "?")
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UsageError(f"model entry {label!r} has unknown field(s) {', '.join(unknown)}; "
                         f"valid fields: {', '.join(fields)}")
    required = [name for name, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]  # type: ignore[misc]
    missing = [name for name in required if name not in values]
    if missing:
        raise UsageError(f"model entry {label!r} lacks {', '.join(missing)}")
    for name, value in list(values.items()):
        if name == "published":
            values[name] = tuple(_figure(label, figure) for figure in value or ())
        elif name.endswith(("_s", "_seconds")):
            values[name] = clip_span(value)
        elif isinstance(value, list):
            values[name] = tuple(value)
        elif isinstance(value, Mapping):
            values[name] = dict(value)
    return cls(**values)


def _figure(label: str, figure: Any) -> Figure:
    try:
        return figure if isinstance(figure, Figure) else Figure(**figure)
    except TypeError as exc:
        raise UsageError(f"model entry {label!r}: a published figure needs benchmark, metric, value and "
                         f"source (and may give setting): {exc}") from None


def read_data(source: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    """A data file's content: a resource name under openvid/data/models, a path, or the parsed JSON."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, Path):
        where, text = str(source), _read_text(source)
    else:
        resource = importlib.resources.files(DATA_PACKAGE).joinpath(*DATA_FOLDER, source)
        where, text = f"openvid/data/models/{source}", resource.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise OpenvidError(f"the models file {where} is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("models", []), list):
        raise OpenvidError(f"the models file {where} must be an object with a \"models\" list "
                           "(and optionally \"families\")")
    return data


def _read_text(path: Path) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the models file {path}: {exc.strerror or exc}") from None


class Registry(Generic[S]):
    """Named specs of one kind (encoders, heads) and the classes of their families.

    `kind` names an entry in messages ("encoder", "head"); `data` is the shipped file read on first
    use; `build` turns one entry into a spec (`spec_from_entry` of the spec dataclass).
    """

    def __init__(self, kind: str, data: str | None, build: Callable[[Mapping[str, Any]], S]) -> None:
        self.kind = kind
        self._data = data
        self._build = build
        self._lock = threading.RLock()
        self._loaded = data is None
        self._specs: dict[str, S] = {}
        self._modules: dict[str, str] = {}  # family -> the module that implements it
        self._classes: dict[str, type] = {}  # family -> its class, once its module registered it

    # -- adding ------------------------------------------------------------------------------
    def register(self, spec: S) -> S:
        """Add (or replace) a spec; the listing keeps the order of first registration."""
        with self._lock:
            self._ensure_loaded()
            self._specs[spec.name] = spec
        return spec

    def register_entry(self, entry: Mapping[str, Any]) -> S:
        """Add one entry in the data format (what a line in the shipped JSON says)."""
        return self.register(self._build(entry))

    def register_family(self, name: str, module: str | None = None) -> Callable[[type], type]:
        """Class decorator: `cls` implements family `name` (`module`: where to import it from later)."""

        def decorator(cls: type) -> type:
            with self._lock:
                self._classes[name] = cls
                if module:
                    self._modules[name] = module
            return cls

        return decorator

    def read(self, source: str | Path | Mapping[str, Any]) -> list[S]:
        """Add a whole models file's families and entries (a shipped resource name, a path, or parsed JSON)."""
        data = read_data(source)
        specs = [self._build(entry) for entry in data.get("models", [])]  # all parse, or none is added
        families = data.get("families") or {}
        if not isinstance(families, Mapping) or not all(isinstance(v, str) for v in families.values()):
            raise OpenvidError(f"\"families\" in {source} must map family names to module names")
        with self._lock:
            self._modules.update(families)
            for spec in specs:
                self._specs[spec.name] = spec
        return specs

    def _ensure_loaded(self) -> None:
        with self._lock:
            if not self._loaded:
                self.read(self._data)  # type: ignore[arg-type]
                self._loaded = True

    # -- reading -----------------------------------------------------------------------------
    def specs(self) -> list[S]:
        with self._lock:
            self._ensure_loaded()
            return list(self._specs.values())

    def names(self) -> list[str]:
        return [spec.name for spec in self.specs()]

    def get(self, name: str) -> S:
        with self._lock:
            self._ensure_loaded()
            spec = self._specs.get(name)
        if spec is None:
            raise UnknownChoice(self.kind, name, self.names())
        return spec

    def __contains__(self, name: object) -> bool:
        with self._lock:
            self._ensure_loaded()
            return name in self._specs

    def family_names(self) -> list[str]:
        """Every family the data names or code registered (nothing is imported to tell)."""
        with self._lock:
            self._ensure_loaded()
            return list(dict.fromkeys([*self._modules, *self._classes]))

    def family(self, name: str) -> type:
        """The class of family `name`, importing its module on first use."""
        with self._lock:
            self._ensure_loaded()
            cls, module = self._classes.get(name), self._modules.get(name)
        if cls is None and module is not None:
            importlib.import_module(module)  # outside the lock: its decorators take it
            with self._lock:
                cls = self._classes.get(name)
            if cls is None:
                raise OpenvidError(f"{module} was imported for the {self.kind} family {name!r} but registers no "
                                   f"class for it; decorate its class with register_family({name!r})")
        if cls is None:
            raise UnknownChoice(f"{self.kind} family", name, self.family_names())
        return cls

    # -- tests ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def scoped(self) -> Iterator["Registry[S]"]:
        """Whatever is registered inside the block is gone after it; the shipped models stay.

        A family class registered by importing the module the data names for it stays too: the
        module is imported once per process, so its decorator would not run again.
        """
        with self._lock:
            self._ensure_loaded()
            specs, modules, classes = dict(self._specs), dict(self._modules), dict(self._classes)
        try:
            yield self
        finally:
            with self._lock:
                imported = {name: cls for name, cls in self._classes.items()
                            if name not in classes and modules.get(name) == cls.__module__}
                self._specs, self._modules, self._classes = specs, modules, {**classes, **imported}


__all__ = ["Figure", "Registry", "clip_span", "read_data", "spec_from_entry"]
