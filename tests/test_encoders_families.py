"""The encoder families beyond CLIP B/32 (PE-Core, SigLIP 2, MobileCLIP 2; X-CLIP B/16 end to end)
through openvid's one loader (VideoPrism: tests/test_encoders_videoprism.py).

Each tiny model keeps its family's real config shape (vision tower, text tower kind, tokenizer
kind, preprocessing) and loads from a folder exactly as an `hf-hub:` checkpoint does. Numbers are
held to open_clip's own forward; the text cut is proved exact, or proved not to be, per family.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from openvid import Engine

FAMILIES = ["pe-core", "siglip2", "mobileclip2"]
# Where cutting the padding gives the same text vectors: causal towers pooling end-of-text (CLIP,
# PE-Core); SigLIP pools the last (padded) position, MobileCLIP 2's tower is bidirectional without
# a padding mask.
CUT_IS_EXACT = {"clip": True, "pe-core": True, "siglip2": False, "mobileclip2": False}
TEXTS = ["a dog catching a frisbee", "kickflip", "a very long description of somebody slowly peeling an "
         "orange at a kitchen table while a cat watches"]


@pytest.fixture(scope="module")
def family_dir(tiny_encoder_dir, tiny_model_dirs):
    return lambda key: tiny_model_dirs["clip"] if key == "clip" else tiny_encoder_dir(key)


@pytest.fixture(scope="module")
def family_engine(family_dir, tmp_path_factory):
    """key -> one Engine per family (its own home, 2 s windows), shared by this module's tests: each
    model loads once (a base-size SigLIP tower takes seconds to build)."""
    engines: dict[str, Engine] = {}

    def get(key: str) -> Engine:
        if key not in engines:
            engines[key] = Engine(model=str(family_dir(key)), device="cpu", home=tmp_path_factory.mktemp(key),
                                  window_s=2.0, batch_size=4)
        return engines[key]

    return get


@pytest.fixture(scope="module")
def loaded(family_dir, family_engine):
    """key -> (openvid encoder, open_clip model as the library loads it, its preprocess, its tokenizer)."""
    import open_clip

    cache = {}

    def get(key):
        if key not in cache:
            name = f"local-dir:{family_dir(key)}"
            model, _, preprocess = open_clip.create_model_and_transforms(name)
            cache[key] = (family_engine(key).encoder, model.eval(), preprocess, open_clip.get_tokenizer(name))
        return cache[key]

    return get


def _frames(seed: int, t: int, h: int, w: int) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (t, h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("key", FAMILIES)
def test_preprocessing_is_the_checkpoints_own(key, loaded):
    import open_clip

    encoder, model, preprocess, _ = loaded(key)
    cfg = open_clip.get_model_preprocess_cfg(model)
    size = encoder.image_size
    assert size == cfg["size"][0] if isinstance(cfg["size"], (tuple, list)) else cfg["size"]
    assert encoder.transform.mean == tuple(cfg["mean"]) and encoder.transform.std == tuple(cfg["std"])
    assert encoder.transform.interpolation == cfg["interpolation"]
    assert (encoder.transform.resize_size is not None) == (cfg["resize_mode"] == "squash")
    # frames the decoder already delivered at the model's size: the same numbers as open_clip's PIL path
    frames = _frames(1, 3, size, size)
    expected = torch.stack([preprocess(Image.fromarray(f)) for f in frames])
    assert torch.allclose(encoder.transform(frames), expected, atol=1e-5)
    # frames that need resizing (squash: a wider frame): PIL and torch resamplers agree to one 8-bit level
    frames = _frames(2, 2, size, size + 40)
    expected = torch.stack([preprocess(Image.fromarray(f)) for f in frames])
    diff = (encoder.transform(frames) - expected).abs()
    one_level = 1.0 / 255 / min(cfg["std"])
    assert float(diff.max()) <= one_level + 1e-5 and float(diff.mean()) < one_level / 4


@pytest.mark.parametrize("key", FAMILIES)
def test_video_vector_is_the_mean_of_open_clips_encode_image(key, loaded):
    from timm.utils import reparameterize_model

    encoder, model, preprocess, _ = loaded(key)
    size = encoder.image_size
    clips = [_frames(3, 4, size, size), _frames(4, 2, size, size)]
    reference = reparameterize_model(model)  # what open_clip and Apple's code run at inference (no-op elsewhere)
    with torch.inference_mode():
        expected = [F.normalize(F.normalize(reference.encode_image(
            torch.stack([preprocess(Image.fromarray(f)) for f in clip])), dim=-1).mean(0), dim=-1).numpy()
            for clip in clips]
    np.testing.assert_allclose(encoder.encode_video(clips, batch_size=1), np.stack(expected), atol=1e-5)


def test_mobileclip_is_reparameterised_once_at_load(loaded):
    encoder, model, _, _ = loaded("mobileclip2")
    count = lambda m: sum(p.numel() for p in m.visual.parameters())  # noqa: E731
    assert count(encoder.model) < count(model)  # the train-time branches are folded away
    # and the folded model answers as the unfolded one does
    frames = _frames(5, 2, encoder.image_size, encoder.image_size)
    with torch.inference_mode():
        unfolded = F.normalize(model.encode_image(encoder.transform(frames)), dim=-1).mean(0)
    np.testing.assert_allclose(encoder.encode_video([frames])[0], F.normalize(unfolded, dim=-1).numpy(), atol=1e-4)


@pytest.mark.parametrize("key", ["clip", *FAMILIES])
def test_text_vectors_equal_open_clip_and_the_cut_is_used_only_where_exact(key, loaded):
    from openvid.encoders.clip_pool import _encode_text_cut

    encoder, model, _, tokenizer = loaded(key)
    tokens = tokenizer(TEXTS)
    with torch.inference_mode():
        padded = F.normalize(model.encode_text(tokens), dim=-1).numpy()
        forced_cut = F.normalize(_encode_text_cut(encoder.model, tokens), dim=-1).numpy()
    np.testing.assert_allclose(encoder.encode_text(TEXTS), padded, atol=1e-5)
    assert encoder.text_cut_is_exact == CUT_IS_EXACT[key]
    if CUT_IS_EXACT[key]:
        np.testing.assert_allclose(forced_cut, padded, atol=1e-5)
        assert int((tokens != 0).sum(1).max()) < tokens.shape[1]  # there was padding to cut
    else:  # cutting would change the vectors: the reason this family runs padded
        assert np.abs(forced_cut - padded).max() > 1e-3


@pytest.mark.parametrize("key", ["clip", *FAMILIES])
def test_logit_scale_and_bias_are_the_models(key, loaded):
    encoder, model, _, _ = loaded(key)
    assert encoder.logit_scale == pytest.approx(float(model.logit_scale.detach().exp()))
    bias = getattr(model, "logit_bias", None)
    assert (encoder.logit_bias is None) == (bias is None) == (key != "siglip2")
    if bias is not None:
        assert encoder.logit_bias == pytest.approx(float(bias.detach()))


def _taxonomy(engine: Engine, name: str = "things") -> None:
    engine.taxonomies.create(name, templates=["a video of {}."])
    for label in ("riding a bike", "a cartoon rabbit", "talking on the phone"):
        engine.taxonomies.add_label(name, label)


def test_siglip_answers_yes_no_with_its_own_sigmoid(family_engine, make_video):
    engine = family_engine("siglip2")
    _taxonomy(engine, "yes-no")
    encoder = engine.encoder
    scale, bias = encoder.logit_scale, encoder.logit_bias
    path = make_video("family-short", seconds=2, fps=8)  # one window: the model's cost, not the video's
    multi = engine.classify([path], "yes-no", multi_label=True).predictions[0]
    assert multi.threshold == pytest.approx(-bias / scale)  # the model's own 0.5 point, not the taxonomy's 0.25
    for score in multi.labels:
        own = 1 / (1 + np.exp(-(scale * score.cosine + bias)))
        assert score.probability == pytest.approx(own, abs=1e-6)
        assert score.on == (own >= 0.5)
    # rejection on "probability" reads the best label's own yes-probability, not the softmax winner's
    single = engine.classify([path], "yes-no").predictions[0]
    top = max(s.cosine for s in single.labels)
    own_top = 1 / (1 + np.exp(-(scale * top + bias)))
    assert abs(own_top - single.labels[0].probability) > 1e-3  # the two readings differ here
    engine.taxonomies.update_settings("yes-no", reject_threshold=own_top * 1.01, reject_on="probability")
    assert engine.classify([path], "yes-no").predictions[0].rejected
    engine.taxonomies.update_settings("yes-no", reject_threshold=own_top * 0.99, reject_on="probability")
    assert not engine.classify([path], "yes-no").predictions[0].rejected


def test_clip_multi_label_keeps_the_taxonomys_threshold(tiny_model_dirs, tmp_path, sample_videos):
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path, window_s=4.0, batch_size=4)
    _taxonomy(engine)
    prediction = engine.classify([sample_videos["bikes.mp4"]], "things", multi_label=True).predictions[0]
    assert prediction.threshold == pytest.approx(0.25)


@pytest.mark.parametrize("key", [*FAMILIES, "xclip-b16"])
def test_index_search_and_classify_end_to_end(key, family_engine, make_video):
    engine = family_engine(key)
    video = make_video("family-e2e", seconds=4, fps=8)  # two windows; real videos are covered with CLIP B/32
    report = engine.index_videos([video])
    assert len(report.indexed) == 1 and not report.failures and report.segments == 2
    hits = engine.search("people riding bikes", k=3)
    assert hits and hits[0].path == str(video)
    query = engine.encoder.encode_text(["people riding bikes"])[0]
    target = engine.open_index()
    ids = engine.catalog.segment_ids(target.record.id)
    best = float((target.stored_vectors(ids) @ query).max())  # the FAISS copy (the catalog keeps float16)
    assert hits[0].score == pytest.approx(best, abs=1e-5)  # the index answers what brute force does
    _taxonomy(engine)
    prediction = engine.classify([video], "things").predictions[0]
    assert prediction.model == engine.encoder.identity
    assert sum(s.probability for s in prediction.labels) == pytest.approx(1.0, abs=1e-5)


def _fake_cached_repo(cache, repo_id: str, files: list[str]) -> None:
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text("0" * 40)
    for name in files:
        (snapshot / name).write_text("{}")


def test_siglip_counts_as_cached_only_with_its_tokenizer(monkeypatch, tmp_path):
    """SigLIP's Gemma tokenizer is a hub download of its own: weights alone cannot load offline."""
    import huggingface_hub.constants

    from openvid.encoders import is_cached

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    _fake_cached_repo(tmp_path, "timm/ViT-B-32-SigLIP2-256", ["open_clip_model.safetensors"])
    _fake_cached_repo(tmp_path, "timm/PE-Core-B-16", ["open_clip_model.safetensors"])
    assert is_cached("pe-core-b16")  # open_clip's bundled BPE: the weights are all it needs
    assert not is_cached("siglip2-b32")
    _fake_cached_repo(tmp_path, "timm/ViT-B-32-SigLIP2-256", ["tokenizer_config.json"])
    assert is_cached("siglip2-b32")
