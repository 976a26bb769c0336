"""The layout rules of docs/architecture.md, checked on the source: jobs over libraries, one direction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "openvid"
JOBS = {"archive", "classify", "fewshot", "evaluate"}
LIBRARIES = {"media", "encoders", "heads", "vectors", "scoring", "store"}
EDGES = {"cli", "server"}  # callers of the facade


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in the file, function-level ones included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "openvid":  # `from openvid import fewshot`
            out.extend((f"openvid.{alias.name}", []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [alias.name for alias in node.names]))
    return out


def _area(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "openvid" else None


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module):
    area = _area(module)
    for imported, names in _imports(MODULES[module]):
        target = _area(imported)
        if target is None:
            continue
        if target == "engine":
            assert module in {"openvid", "openvid.engine"} or area in EDGES, f"{module} imports the facade"
        if area in LIBRARIES:
            assert target not in JOBS | {"context", "engine"}, f"library {module} imports {imported}"
        if area in JOBS and target in JOBS and target != area:
            private = [name for name in names if name.startswith("_")] or (
                [imported] if any(part.startswith("_") for part in imported.split(".")[2:]) else [])
            assert not private, f"{module} imports private {private} of the {target} job"


@pytest.mark.parametrize("library, forbidden", [
    ("media", {"encoders", "heads", "store", "vectors", "scoring"}),
    ("encoders", {"store", "vectors"}),
    ("store", {"encoders", "heads", "vectors"}),
    ("scoring", {"store", "vectors", "media"}),
])
def test_libraries_keep_their_seams(library, forbidden):
    for module, path in MODULES.items():
        if _area(module) != library:
            continue
        for imported, _ in _imports(path):
            assert _area(imported) not in forbidden, f"{module} imports {imported}"
            if library == "store":
                assert imported.split(".")[0] not in {"torch", "faiss"}, f"{module} imports {imported}"


def test_no_private_helper_crosses_a_package():
    for module, path in MODULES.items():
        for imported, names in _imports(path):
            if _area(imported) and _area(imported) != _area(module):
                assert not [n for n in names if n.startswith("_")], f"{module} imports {names} from {imported}"
