"""Naming and loading models: every spelling resolves, and what cannot load says how to fix it."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from openvid.config import Settings
from openvid.encoders import (
    EncoderSpec,
    get_spec,
    is_cached,
    list_encoders,
    load_encoder,
    parse_model_ref,
    register_encoder,
    register_family,
)
from openvid.encoders.base import ENCODERS, get_family
from openvid.errors import ModelUnavailable, OpenvidError, UnknownChoice, UsageError
from openvid.heads import get_head_spec, list_heads

ROOT = Path(__file__).resolve().parents[1]


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
        assert checkpoint in message  # the checkpoint itself, not only the name the hint repeats
        assert f"openvid models pull {name}" in message
        assert "model='/path/to" in message  # the API's spelling of the option
        assert "--model /path/to" in info.value.cli_message()  # the command line's
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


# -- the registry: models are data ----------------------------------------------------------------

def _shipped(file: str) -> dict:
    return json.loads(importlib.resources.files("openvid").joinpath("data", "models", file).read_text())


@pytest.mark.parametrize("file, listing", [("encoders.json", list_encoders), ("heads.json", list_heads)])
def test_specs_are_the_shipped_data_field_by_field_and_in_its_order(file, listing):
    entries = _shipped(file)["models"]
    specs = listing()
    assert [spec.name for spec in specs] == [entry["name"] for entry in entries]
    for entry, spec in zip(entries, specs):
        for key, value in entry.items():
            if key == "comment":  # for maintainers, not part of the spec
                continue
            got = getattr(spec, key)
            if key == "published":
                assert [dataclasses.asdict(figure) for figure in got] == [{"setting": "", **f} for f in value]
            elif isinstance(value, dict) and "fps" in value:  # a clip span given as frames, stride, fps
                assert got == value["frames"] * value.get("stride", 1) / value["fps"], (spec.name, key)
            else:
                assert got == value, (spec.name, key)


def test_published_figures_carry_their_source():
    zero_shot = {(f.benchmark, f.metric): f for f in get_spec("xclip-zs").published}
    assert {key: f.value for key, f in zero_shot.items()} == {
        ("HMDB-51", "top-1 %"): 44.6, ("UCF-101", "top-1 %"): 72.0, ("Kinetics-600", "top-1 %"): 65.2}
    assert all("X-CLIP paper" in f.source and f.setting == "zero-shot" for f in zero_shot.values())
    for spec in [*list_encoders(), *list_heads()]:
        assert all(f.source for f in spec.published), spec.name
    assert get_head_spec("clap").published == ()  # none known: left empty, never guessed


def test_heads_list_video_heads_by_library_then_audio_then_audio_visual():
    assert [spec.name for spec in list_heads()] == [
        "videomae", "timesformer",  # transformers
        "swin3d_t", "mvit_v2_s", "r2plus1d_18",  # torchvision
        "x3d_m", "slowfast_r50",  # pytorchvideo
        "ast", "clap",  # audio
        "avslowfast",  # audio-visual
    ]
    with pytest.raises(UnknownChoice) as info:
        get_head_spec("videomea")
    assert "videomae" in str(info.value) and "avslowfast" in str(info.value)


def _tiny_entry(family: str, folder: Path) -> dict:
    checkpoint = f"local-dir:{folder}" if family == "clip" else str(folder)
    return {"name": f"tiny-{family}", "family": family, "checkpoint": checkpoint, "frames": 4, "image_size": 224,
            "window_s": 2.0, "gflops": 0.1, "cost_unit": "clip", "trained_on": "nothing: random weights",
            "note": "a test entry"}


@pytest.mark.parametrize("family, how", [("clip", "entry"), ("xclip", "file")])
def test_a_data_entry_of_a_known_family_loads_by_name_with_no_code(family, how, tiny_model_dirs, tiny_clip,
                                                                   tiny_xclip, tmp_path):
    entry = _tiny_entry(family, tiny_model_dirs[family])
    with ENCODERS.scoped():
        if how == "entry":
            ENCODERS.register_entry(entry)
        else:
            models = tmp_path / "models.json"
            models.write_text(json.dumps({"models": [entry]}))
            ENCODERS.read(models)
        assert list_encoders()[-1].name == entry["name"]
        encoder = load_encoder(entry["name"], Settings(device="cpu"))
        assert (encoder.name, encoder.window_s) == (entry["name"], 2.0)
        assert encoder.identity.startswith(f"{family}:") and "#" in encoder.identity  # a local folder's fingerprint
        if family == "clip":
            assert encoder.frames_per_clip == 4  # the entry's frame count
        reference = tiny_clip if family == "clip" else tiny_xclip
        texts = ["a red ball", "a dog"]
        np.testing.assert_allclose(encoder.encode_text(texts), reference.encode_text(texts), atol=1e-6)
    assert entry["name"] not in [spec.name for spec in list_encoders()]
    with pytest.raises(UnknownChoice):
        get_spec(entry["name"])


def test_scoped_registrations_from_code_are_undone():
    before = list_encoders()

    class StubEncoder:  # only its identity matters here
        pass

    with ENCODERS.scoped():
        register_family("test-family")(StubEncoder)
        register_encoder(EncoderSpec("test-encoder", "test-family", "x", 1, 32, 0.0, "clip", "a stub"))
        assert get_family("test-family") is StubEncoder
        assert list_encoders()[-1].name == "test-encoder" and parse_model_ref("test-encoder").family == "test-family"
    assert list_encoders() == before
    with pytest.raises(UnknownChoice) as info:
        get_family("test-family")
    assert "xclip" in str(info.value)  # the families that exist


def test_a_family_imported_inside_a_scope_stays_registered(tmp_path, monkeypatch):
    """Its module runs once per process, so its decorator could not register the class again."""
    module = "openvid_test_family_module"
    (tmp_path / f"{module}.py").write_text(
        "from openvid.encoders import register_family\n\n"
        "@register_family('test-lazy')\nclass LazyEncoder:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    with ENCODERS.scoped():
        ENCODERS.read({"families": {"test-lazy": module}, "models": []})
        assert module not in sys.modules  # named, not imported
        with ENCODERS.scoped():
            lazy = get_family("test-lazy")
        assert module in sys.modules and get_family("test-lazy") is lazy
    sys.modules.pop(module, None)


def test_entries_with_unknown_or_missing_fields_are_refused():
    entry = _tiny_entry("clip", Path("/nowhere"))
    with ENCODERS.scoped():
        with pytest.raises(UsageError, match="unknown field.*gflop\\b"):
            ENCODERS.register_entry({**entry, "gflop": 1.0})
        with pytest.raises(UsageError, match="lacks checkpoint"):
            ENCODERS.register_entry({k: v for k, v in entry.items() if k != "checkpoint"})
        with pytest.raises(UsageError, match="published figure"):
            ENCODERS.register_entry({**entry, "published": [{"benchmark": "UCF-101", "value": 1.0}]})
        assert "tiny-clip" not in ENCODERS


def test_the_registry_takes_registrations_from_many_threads():
    entry = _tiny_entry("clip", Path("/nowhere"))
    with ENCODERS.scoped():
        def register(i: int) -> None:
            ENCODERS.register_entry({**entry, "name": f"thread-{i}"})
            assert f"thread-{i}" in [spec.name for spec in list_encoders()]

        threads = [threading.Thread(target=register, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {f"thread-{i}" for i in range(16)} <= set(ENCODERS.names())


def test_listing_models_imports_no_model_library_and_loading_imports_only_its_family():
    code = (
        "import sys\n"
        "import openvid.encoders, openvid.heads\n"
        "openvid.encoders.list_encoders(); openvid.heads.list_heads(); openvid.encoders.get_spec('xclip')\n"
        "openvid.encoders.parse_model_ref('xclip-zs'); openvid.heads.get_head_spec('videomae')\n"
        "heavy = [m for m in ('torch', 'transformers', 'open_clip', 'torchvision') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from openvid.encoders.base import get_family\n"
        "get_family('xclip')\n"
        "assert 'openvid.encoders.xclip' in sys.modules and 'openvid.encoders.clip_pool' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
