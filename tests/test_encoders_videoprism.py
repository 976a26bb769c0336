"""VideoPrism gives exactly what transformers' own processor and model give, loaded the way a
downloaded checkpoint is (a tiny random-weight folder from scripts/make_tiny_models.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from openvid.config import Settings
from openvid.encoders import load_encoder
from openvid.encoders.hub import videoprism_cached
from openvid.encoders.resolve import ModelRef, is_cached, parse_model_ref
from openvid.errors import ModelUnavailable

# Texts of very different token counts, one past the 64-token limit (words the tiny vocabulary
# lacks are spelt letter by letter), so one batch holds short, padded and truncated rows.
TEXTS = ["a dog", "a video of someone riding a bike", "cooking",
         "a very long description of somebody slowly peeling an orange at the kitchen table while a cat watches"]


def _frames(seed: int, t: int = 4, h: int = 50, w: int = 70) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (t, h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def folder(tiny_encoder_dir) -> Path:
    return tiny_encoder_dir("videoprism")


@pytest.fixture(scope="module")
def encoder(folder):
    return load_encoder(str(folder), Settings(device="cpu"))


@pytest.fixture(scope="module")
def reference(folder):
    from transformers import VideoPrismClipModel, VideoPrismProcessor

    return VideoPrismClipModel.from_pretrained(folder).eval(), VideoPrismProcessor.from_pretrained(folder)


def _processor_pixels(processor, clips) -> torch.Tensor:
    # The exact frames the encoder feeds, so the processor samples none of its own.
    return processor(videos=list(clips), do_sample_frames=False, return_tensors="pt")["pixel_values_videos"]


def test_settings_come_from_the_checkpoint(encoder, reference):
    model, processor = reference
    assert encoder.frames_per_clip == model.config.vision_config.num_frames == 4
    assert encoder.dim == 32 and encoder.image_size == 36
    assert encoder.transform.resize_size == (36, 36)  # the processor's exact height x width, no crop
    assert encoder.transform.mean == (0.0, 0.0, 0.0) and encoder.transform.std == (1.0, 1.0, 1.0)
    assert encoder.transform.interpolation == "bicubic"
    assert encoder.max_text_tokens == processor.text_kwargs["max_length"] == 64
    assert encoder.logit_scale == pytest.approx(100.0)  # the authors' temperature, 0.01


@pytest.mark.parametrize("shape", [(50, 70), (36, 36), (20, 30), (96, 128)])
def test_pixel_values_equal_processor(encoder, reference, shape):
    _, processor = reference
    clips = [_frames(0, h=shape[0], w=shape[1]), _frames(1, h=shape[0], w=shape[1])]
    expected = _processor_pixels(processor, clips)
    got = encoder.pixel_values(clips)
    assert got.shape == expected.shape == (2, 4, 3, 36, 36)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_video_vectors_equal_get_video_features(encoder, reference):
    model, processor = reference
    clips = [_frames(2), _frames(3, h=36, w=36), _frames(4, h=60, w=40)]
    pixels = torch.cat([_processor_pixels(processor, [clip]) for clip in clips])
    with torch.inference_mode():
        pooled = model.get_video_features(pixel_values_videos=pixels).pooler_output
    expected = F.normalize(pooled.reshape(len(clips), -1), dim=-1).numpy()
    got = encoder.encode_video(clips, batch_size=2)
    assert got.dtype == np.float32 and got.shape == (3, 32)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)


def test_text_vectors_equal_get_text_features_padded_to_max_length(encoder, reference):
    model, processor = reference
    inputs = processor(text=TEXTS, return_tensors="pt")  # the processor's own text kwargs: max_length 64
    assert inputs["input_ids"].shape == (len(TEXTS), 64)
    with torch.inference_mode():
        pooled = model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    got = encoder.encode_text(TEXTS, batch_size=3)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(got, F.normalize(pooled.pooler_output, dim=-1).numpy(), atol=1e-5)


def test_padding_to_the_longest_text_is_exact(encoder, reference):
    """The proof behind `text_inputs`: the CLS token sits after the tokens and sees them under a causal
    mask and the attention mask, so the padding after a text never reaches its vector."""
    model, processor = reference
    tokenizer = processor.tokenizer
    short = ["a dog", "a video of someone riding a bike", "cooking", "people playing guitar and drums"]
    lengths = [len(tokenizer(t)["input_ids"]) for t in short]
    assert len(set(lengths)) == len(short) and max(lengths) < 64  # different lengths, all padded
    for texts in (short, TEXTS):
        cut = tokenizer(texts, padding="longest", truncation=True, max_length=64, return_tensors="pt")
        full = tokenizer(texts, padding="max_length", truncation=True, max_length=64, return_tensors="pt")
        with torch.inference_mode():
            a = model.get_text_features(**cut).pooler_output
            b = model.get_text_features(**full).pooler_output
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    assert encoder.text_inputs(short)["input_ids"].shape == (len(short), max(lengths))  # the cut is what runs
    alone = np.stack([encoder.encode_text([t])[0] for t in short])  # no padding at all
    np.testing.assert_allclose(encoder.encode_text(short), alone, atol=1e-5)


def test_other_frame_counts_are_resampled_to_the_models(encoder):
    long_clip = _frames(5, t=12)
    assert encoder.pixel_values([long_clip]).shape[1] == 4
    expected = encoder.encode_video([long_clip[1::3]])  # centres of 4 equal parts of 12 frames
    np.testing.assert_allclose(encoder.encode_video([long_clip]), expected, atol=1e-6)
    short_clip = _frames(6, t=2)
    np.testing.assert_allclose(encoder.encode_video([short_clip]), encoder.encode_video([short_clip[[0, 0, 1, 1]]]),
                               atol=1e-6)


def test_model_strings_resolve_to_videoprism(folder):
    local = parse_model_ref(str(folder))
    assert (local.family, local.source, local.checkpoint) == ("videoprism", "local", str(folder.resolve()))
    prefixed = parse_model_ref(f"videoprism:{folder}")
    assert (prefixed.family, prefixed.source) == ("videoprism", "local")
    for hub_id in ("google/videoprism-lvt-base-f16r288", "someone/My-VideoPrism-finetune"):
        ref = parse_model_ref(hub_id)
        assert (ref.family, ref.source, ref.checkpoint) == ("videoprism", "hub", hub_id)
    assert parse_model_ref("microsoft/xclip-base-patch16").family == "xclip"  # others stay X-CLIP
    named = parse_model_ref("videoprism-b")
    assert (named.family, named.checkpoint) == ("videoprism", "google/videoprism-lvt-base-f16r288")
    hub_prefixed = parse_model_ref("videoprism:google/videoprism-lvt-large-f8r288")
    assert (hub_prefixed.family, hub_prefixed.source) == ("videoprism", "hub")


@pytest.mark.parametrize("model, checkpoint", [("videoprism-b", "google/videoprism-lvt-base-f16r288"),
                                               ("someone/videoprism-missing", "someone/videoprism-missing")])
def test_a_missing_hub_checkpoint_is_unavailable_by_name(monkeypatch, model, checkpoint):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not is_cached(model)
    with pytest.raises(ModelUnavailable, match=checkpoint) as caught:
        load_encoder(model, Settings(device="cpu"))
    assert "openvid models pull" in str(caught.value)


def test_the_cache_check_reads_a_filled_hub_cache(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--google--videoprism-lvt-base-f16r288"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    ref = ModelRef("videoprism", "google/videoprism-lvt-base-f16r288", "hub")
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (snapshot / name).write_text("{}")
    assert not videoprism_cached(ref)  # no processor config yet
    (snapshot / "processor_config.json").write_text("{}")
    assert videoprism_cached(ref)


def test_index_search_and_classify_end_to_end(folder, tmp_path, make_video):
    from openvid.engine import Engine

    engine = Engine(model=str(folder), device="cpu", home=tmp_path, window_s=2.0, batch_size=4)
    video = make_video("videoprism-e2e", seconds=4, fps=10)
    report = engine.index_videos([video])
    assert len(report.indexed) == 1 and not report.failures and report.segments >= 2
    hits = engine.search("people riding bikes", k=3)
    assert hits and hits[0].path == str(video) and -1.0 <= hits[0].score <= 1.0

    store = engine.taxonomies
    store.create("sports", templates=["a video of {}."])
    for label in ("riding a bike", "swimming", "cooking"):
        store.add_label("sports", label)
    prediction = engine.classify([video], "sports", top_k=3).predictions[0]
    assert {s.label for s in prediction.labels} == {"riding a bike", "swimming", "cooking"}
    assert sum(s.probability for s in prediction.labels) == pytest.approx(1.0, abs=1e-5)
    assert prediction.model == engine.encoder.identity and prediction.model.startswith("videoprism:")
