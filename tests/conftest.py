"""Shared fixtures live in plugin modules, one per concern, so each stays small.

No test may reach a model hub: the hub is put in offline mode and pointed at an empty cache
before any library reads those variables, so a missing checkpoint fails at once, as it would on
an offline machine, instead of retrying the network.
"""

import atexit
import os
import shutil
import tempfile

_EMPTY_HF_HOME = tempfile.mkdtemp(prefix="openvid-test-hf-")
_EMPTY_TORCH_HOME = tempfile.mkdtemp(prefix="openvid-test-torch-")
_DATA_HOME = tempfile.mkdtemp(prefix="openvid-test-data-")
atexit.register(shutil.rmtree, _EMPTY_HF_HOME, ignore_errors=True)
atexit.register(shutil.rmtree, _EMPTY_TORCH_HOME, ignore_errors=True)
atexit.register(shutil.rmtree, _DATA_HOME, ignore_errors=True)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = _EMPTY_HF_HOME
os.environ["TORCH_HOME"] = _EMPTY_TORCH_HOME  # torchvision / pytorchvideo weights: an empty cache
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# A `Settings()` built without a home uses the user's data folder (an export cache, a catalog): in
# tests that is a throw-away folder, never the real ~/.local/share/openvid.
os.environ["XDG_DATA_HOME"] = _DATA_HOME
# What reads the environment (`Settings.from_env`: the CLI, the server, the engine's default) runs the
# towers and heads on torch unless a test asks for a runtime: an ONNX export costs seconds per tiny
# model, and tests/test_encoders_runtime.py holds every runtime (and "auto") to torch's numbers. A
# `Settings(...)` built directly has runtime "auto" (ONNX Runtime on this CPU).
os.environ.setdefault("OPENVID_RUNTIME", "torch")

pytest_plugins = [
    "fixtures_media", "fixtures_models", "fixtures_store",
    "fixtures_heads_vision", "fixtures_heads_hf", "fixtures_fewshot",
]
