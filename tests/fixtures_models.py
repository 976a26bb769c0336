"""Fixtures for encoders: tiny random-weight models built once per session.

They are written by scripts/make_tiny_models.py and loaded through `load_encoder`, the same code
path a real checkpoint takes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _make_tiny_models_module():
    spec = importlib.util.spec_from_file_location("make_tiny_models", ROOT / "scripts" / "make_tiny_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_tiny_models"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory) -> dict[str, Path]:
    return _make_tiny_models_module().make_all(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory):
    """Factory: tiny_encoder_dir(key) -> the folder of that family's tiny model (keys: the
    `TINY_ENCODERS` of scripts/make_tiny_models.py), built once per session on first use."""
    module = _make_tiny_models_module()
    folder = tmp_path_factory.mktemp("tiny-encoders")
    made: dict[str, Path] = {}

    def make(key: str) -> Path:
        if key not in made:
            made[key] = module.make_tiny_encoder(key, folder / key)
        return made[key]

    return make


@pytest.fixture(scope="session")
def tiny_xclip(tiny_model_dirs):
    from openvid.config import Settings
    from openvid.encoders import load_encoder

    return load_encoder(str(tiny_model_dirs["xclip"]), Settings(device="cpu"))


@pytest.fixture(scope="session")
def tiny_clip(tiny_model_dirs):
    from openvid.config import Settings
    from openvid.encoders import load_encoder

    return load_encoder(str(tiny_model_dirs["clip"]), Settings(device="cpu"))
