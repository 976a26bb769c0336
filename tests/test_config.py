"""Settings precedence and the one place that decides device and dtype."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from openvid.config import Settings, resolve_device, resolve_dtype
from openvid.errors import OpenvidError, UnknownChoice


def test_precedence_defaults_then_environment_then_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert Settings.from_env({}).home == tmp_path / "data" / "openvid"  # the home rule: tests/test_config_home.py
    env = {"OPENVID_HOME": "/tmp/ov", "OPENVID_DEVICE": "cpu", "OPENVID_BATCH_SIZE": "4", "OPENVID_MODEL": "xclip"}
    from_env = Settings.from_env(env)
    assert (from_env.home, from_env.device, from_env.batch_size, from_env.model) == (Path("/tmp/ov"), "cpu", 4, "xclip")
    flagged = Settings.from_env(env, home="/elsewhere", batch_size=None, model="clip")
    assert flagged.home == Path("/elsewhere")
    assert flagged.batch_size == 4  # None means "flag not given"
    assert flagged.model == "clip"


def test_replace_returns_a_new_object_and_ignores_none():
    base = Settings()
    derived = base.replace(window_s=2.0, stride_s=None)
    assert derived.window_s == 2.0 and derived.stride_s is None and base.window_s is None


@pytest.mark.parametrize("field, value", [("device", "tpu"), ("dtype", "int8"), ("decoder", "opencv")])
def test_unknown_choices_list_the_valid_ones(field, value):
    with pytest.raises(UnknownChoice) as info:
        Settings(**{field: value})
    assert "auto" in str(info.value)


def test_bad_numbers_are_refused():
    with pytest.raises(OpenvidError):
        Settings(batch_size=0)
    with pytest.raises(OpenvidError):
        Settings(window_s=-1)
    with pytest.raises(OpenvidError, match="OPENVID_BATCH_SIZE"):
        Settings.from_env({"OPENVID_BATCH_SIZE": "many"})


def test_cpu_gets_float32_and_refuses_float16():
    cpu = torch.device("cpu")
    assert resolve_dtype(cpu, "auto") == torch.float32
    assert resolve_dtype(cpu, "bfloat16") == torch.bfloat16
    with pytest.raises(OpenvidError, match="float16"):
        resolve_dtype(cpu, "float16")


def test_cuda_gets_float16_by_default():
    assert resolve_dtype(torch.device("cuda"), "auto") == torch.float16


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU answer")
def test_auto_device_without_gpu_is_cpu_and_cuda_request_is_refused():
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(OpenvidError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_every_default_encoder_is_registered_and_listed_as_default(capsys):
    import json

    from openvid.cli import run
    from openvid.config import DEFAULT_MODELS, default_model
    from openvid.encoders.base import is_registered

    assert all(is_registered(name) for name in DEFAULT_MODELS.values())
    assert default_model("index", "cuda:1") == DEFAULT_MODELS[("index", "cuda")]
    assert default_model("classify", "auto") == DEFAULT_MODELS[("classify", "cpu")]
    assert run(["models", "list", "--json"]) == 0
    listed = {row["name"]: row.get("default_for") for row in json.loads(capsys.readouterr().out) if row["kind"] == "encoder"}
    for (job, device), name in DEFAULT_MODELS.items():
        assert f"{job} ({device})" in listed[name]
