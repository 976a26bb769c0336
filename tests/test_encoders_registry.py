"""Naming and loading models: every spelling resolves, and what cannot load says how to fix it."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from openvid.config import Settings
from openvid.encoders import get_spec, is_cached, list_encoders, load_encoder, parse_model_ref
from openvid.errors import ModelUnavailable, OpenvidError, UnknownChoice


def test_registry_holds_the_documented_checkpoints():
    specs = {spec.name: spec for spec in list_encoders()}
    assert specs["xclip"].checkpoint == "microsoft/xclip-base-patch32"
    assert (specs["xclip"].frames, specs["xclip"].image_size) == (8, 224)
    assert specs["xclip-zs"].checkpoint == "microsoft/xclip-base-patch16-zero-shot"
    assert specs["xclip-zs"].frames == 32
    assert specs["clip"].checkpoint == "ViT-B-32/laion2b_s34b_b79k"
    assert "not zero-shot" in specs["xclip"].note


def test_unknown_registered_name_lists_the_valid_ones():
    with pytest.raises(UnknownChoice) as info:
        get_spec("xclp")
    assert "xclip" in str(info.value) and "clip" in str(info.value)


@pytest.mark.parametrize(
    "spelling, family, checkpoint, source",
    [
        ("clip", "clip", "ViT-B-32/laion2b_s34b_b79k", "registry"),
        ("xclip-zs", "xclip", "microsoft/xclip-base-patch16-zero-shot", "registry"),
        ("microsoft/xclip-large-patch14", "xclip", "microsoft/xclip-large-patch14", "hub"),
        ("hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "clip", "hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "hub"),
        ("clip:ViT-L-14/openai", "clip", "ViT-L-14/openai", "hub"),
        ("xclip:microsoft/xclip-base-patch16", "xclip", "microsoft/xclip-base-patch16", "hub"),
    ],
)
def test_parse_model_ref_spellings(spelling, family, checkpoint, source):
    ref = parse_model_ref(spelling)
    assert (ref.family, ref.checkpoint, ref.source) == (family, checkpoint, source)


def test_local_folders_are_recognised_by_their_config(tiny_model_dirs):
    xclip = parse_model_ref(str(tiny_model_dirs["xclip"]))
    clip = parse_model_ref(str(tiny_model_dirs["clip"]))
    assert (xclip.family, xclip.source) == ("xclip", "local")
    assert (clip.family, clip.checkpoint) == ("clip", f"local-dir:{tiny_model_dirs['clip']}")
    assert is_cached(str(tiny_model_dirs["xclip"]))


def test_local_weights_file_loads_with_an_explicit_architecture(tiny_model_dirs, tmp_path, tiny_clip):
    """`clip:ARCH//file` builds ARCH from open_clip's configs and loads the file into it."""
    import open_clip
    import torch

    config = json.loads((tiny_model_dirs["clip"] / "open_clip_config.json").read_text())
    model_dir = tmp_path / "configs"
    model_dir.mkdir()
    (model_dir / "tiny-test-arch.json").write_text(json.dumps(config["model_cfg"]))
    open_clip.add_model_config(model_dir)
    weights = tmp_path / "weights.pt"
    torch.save(tiny_clip.model.state_dict(), weights)
    encoder = load_encoder(f"clip:tiny-test-arch/{weights}", Settings(device="cpu"))
    assert encoder.identity.startswith("clip:tiny-test-arch/")
    texts = ["a red ball"]
    np.testing.assert_allclose(encoder.encode_text(texts), tiny_clip.encode_text(texts), atol=1e-6)


def test_missing_default_checkpoint_names_it_and_says_how_to_get_it():
    start = time.monotonic()
    for name, checkpoint in [("xclip", "microsoft/xclip-base-patch32"), ("clip", "ViT-B-32/laion2b_s34b_b79k")]:
        with pytest.raises(ModelUnavailable) as info:
            load_encoder(name, Settings(device="cpu"))
        message = str(info.value)
        assert checkpoint in message or name in message
        assert f"openvid models pull {name}" in message
        assert "--model /path/to" in message
    assert time.monotonic() - start < 60  # offline mode: no network retries


def test_missing_hub_id_is_model_unavailable():
    with pytest.raises(ModelUnavailable) as info:
        load_encoder("someone/no-such-xclip", Settings(device="cpu"))
    assert "someone/no-such-xclip" in str(info.value)


def test_folder_without_a_checkpoint_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelUnavailable) as info:
        load_encoder(str(tmp_path))
    assert "open_clip_config.json" in str(info.value)


def test_folder_with_weights_missing_is_model_unavailable(tiny_model_dirs, tmp_path):
    broken = tmp_path / "xclip"
    shutil.copytree(tiny_model_dirs["xclip"], broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailable) as info:
        load_encoder(str(broken), Settings(device="cpu"))
    assert str(broken) in str(info.value)


def test_nonsense_spelling_says_what_spellings_exist():
    with pytest.raises(OpenvidError) as info:
        parse_model_ref("not a model at all")
    assert "registered name" in str(info.value) and "openvid models list" in str(info.value)


def test_encoder_settings_come_from_the_checkpoint(tiny_xclip, tiny_clip):
    assert tiny_xclip.frames_per_clip == tiny_xclip.model.config.vision_config.num_frames
    assert tiny_xclip.transform.mean == (0.485, 0.456, 0.406)  # what its processor config says
    assert tiny_clip.transform.crop_size == 224
    assert tiny_clip.dim == tiny_xclip.dim == 32
