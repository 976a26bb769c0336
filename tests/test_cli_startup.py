"""Commands that load no model import no model library: `--help`, `--version`, `config`, `models list`,
`heads list`, `taxonomy list`, and `info` / `check` / `remove` on an index (which check the index's
model by its identity, not by loading it). Each runs in a fresh interpreter; timings are in
docs/benchmarks.md (scripts/bench_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from openvid.engine import Engine

HEAVY = ["torch", "transformers", "open_clip", "torchvision", "pytorchvideo", "librosa", "matplotlib"]
PROBE = ("import json, sys\nfrom openvid.cli import run\ncode = run(json.loads(sys.argv[1]))\n"
         f"print(json.dumps([code, sorted(m for m in {HEAVY!r} + ['faiss'] if m in sys.modules)]), file=sys.stderr)")


@pytest.fixture(scope="module")
def home(tiny_model_dirs, sample_videos, tmp_path_factory):
    home = tmp_path_factory.mktemp("startup") / "home"
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=2.0)
    engine.index_videos([sample_videos["bikes.mp4"]], "archive")
    engine.taxonomies.create("sports")
    return home


def _imports(argv: list[str], home) -> tuple[int, list[str]]:
    env = {**os.environ, "OPENVID_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], env=env, capture_output=True, text=True,
                          timeout=300)
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return code, modules


@pytest.mark.parametrize("argv, faiss", [
    (["--help"], False), (["--version"], False), (["config"], False), (["classify", "--help"], False),
    (["models", "list"], False), (["heads", "list"], False), (["taxonomy", "list"], False),
    (["info", "--index", "archive"], True), (["check", "--index", "archive"], True),
    (["remove", "nosuch.mp4", "--index", "archive"], True),
])
def test_commands_that_load_no_model_import_no_model_library(argv, faiss, home):
    code, modules = _imports(argv, home)
    assert code in (0, 1)
    assert [m for m in modules if m != "faiss"] == [], f"{argv} imported {modules}"
    if not faiss:
        assert "faiss" not in modules, f"{argv} imported faiss"
