"""Availability and identity from facts, not from loading: what `models list`, `heads list` and
opening an index read instead of importing torch must say what the libraries themselves would."""

from __future__ import annotations

import os

import pytest

from openvid.encoders import get_spec, identity_of, list_encoders, load_encoder, parse_model_ref
from openvid.heads import list_heads
from openvid.heads.availability import CACHE_CHECKS, is_cached, torch_hub_dir, torch_hub_file
from openvid.heads.base import head_family


def test_every_shipped_family_is_checked_without_its_library():
    assert {spec.family for spec in list_heads()} <= set(CACHE_CHECKS)


def test_the_recorded_facts_equal_the_libraries_own():
    import open_clip
    import torchvision.models.video as video

    for spec in list_encoders():
        if spec.family == "clip" and spec.hf_hub:
            arch, _, tag = spec.checkpoint.partition("/")
            assert spec.hf_hub == open_clip.get_pretrained_cfg(arch, tag)["hf_hub"].strip("/")
            # a text tower that reads a hub tokenizer says so, so the cache check asks for it too
            tokenizer = (open_clip.get_model_config(arch)["text_cfg"].get("hf_tokenizer_name") or "")
            assert spec.tokenizer_hub == tokenizer, spec.name
    for spec in list_heads():
        if spec.family == "torchvision":
            enum, _, member = spec.checkpoint.partition(".")
            assert torch_hub_file(getattr(video, enum)[member].url).name == spec.options["weights_file"]


@pytest.mark.parametrize("env", [{}, {"TORCH_HOME": "/th"}, {"XDG_CACHE_HOME": "/xdg"}])
def test_torch_hub_folder_is_torchs_own_rule(env, monkeypatch):
    import torch

    for name in ("TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert str(torch_hub_dir()) == os.path.expanduser(torch.hub.get_dir())


def test_a_cached_torch_hub_file_is_seen_by_both_checks(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    heads = {spec.name: spec for spec in list_heads()}
    for name in ("r2plus1d_18", "x3d_m"):
        assert not is_cached(heads[name]) and not head_family(heads[name]).is_cached(heads[name])
        target = torch_hub_file(heads[name].options.get("weights_file") or heads[name].checkpoint)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
        assert is_cached(heads[name]) and head_family(heads[name]).is_cached(heads[name])


def test_identity_without_loading_equals_the_loaded_encoders(tiny_model_dirs):
    for name in ("clip", "xclip"):
        path = str(tiny_model_dirs[name])
        assert identity_of(path) == load_encoder(path).identity
    assert identity_of("xclip") == f"xclip:{get_spec('xclip').checkpoint}"
    assert identity_of(parse_model_ref("clip")) == f"clip:{get_spec('clip').checkpoint}"
