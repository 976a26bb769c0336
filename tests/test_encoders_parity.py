"""The encoders give exactly what the libraries' own forward passes give for the same input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

TEXTS = ["a dog catching a frisbee", "a person riding a bike", "cooking", "a very long description of "
         "somebody slowly peeling an orange at a kitchen table while a cat watches"]


def _frames(seed: int, t: int = 8, h: int = 224, w: int = 298) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (t, h, w, 3), dtype=np.uint8)


# -- X-CLIP ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def xclip_reference(tiny_model_dirs):
    from transformers import XCLIPModel, XCLIPProcessor

    folder = tiny_model_dirs["xclip"]
    return XCLIPModel.from_pretrained(folder).eval(), XCLIPProcessor.from_pretrained(folder)


@pytest.fixture(scope="module", params=["xclip", "xclip-b16"])
def xclip_pair(request, tiny_model_dirs, tiny_encoder_dir):
    """(openvid encoder, (XCLIPModel, XCLIPProcessor)) for the B/32 and the B/16 patch layouts."""
    from transformers import XCLIPModel, XCLIPProcessor

    from openvid.config import Settings
    from openvid.encoders import load_encoder

    folder = tiny_model_dirs["xclip"] if request.param == "xclip" else tiny_encoder_dir("xclip-b16")
    reference = XCLIPModel.from_pretrained(folder).eval(), XCLIPProcessor.from_pretrained(folder)
    return load_encoder(str(folder), Settings(device="cpu")), reference


def test_xclip_pixel_values_equal_processor(xclip_pair):
    encoder, (_, processor) = xclip_pair
    clips = [_frames(0), _frames(1, h=240, w=224)]
    expected = processor(videos=[list(c) for c in clips], return_tensors="pt")["pixel_values"]
    assert torch.allclose(encoder.pixel_values(clips), expected, atol=1e-5)


def test_xclip_vectors_and_score_equal_model_forward(xclip_pair):
    encoder, (model, processor) = xclip_pair
    clips = [_frames(2), _frames(3), _frames(4)]
    inputs = processor(text=TEXTS, videos=[list(c) for c in clips], return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = model(**inputs)
        text = model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        video = model.get_video_features(pixel_values=inputs["pixel_values"])
    np.testing.assert_allclose(encoder.encode_video(clips, batch_size=2), out.video_embeds.numpy(), atol=1e-5)
    np.testing.assert_allclose(encoder.encode_video(clips), F.normalize(video.pooler_output, dim=-1).numpy(),
                               atol=1e-5)
    np.testing.assert_allclose(
        encoder.encode_text(TEXTS), F.normalize(text.pooler_output, dim=-1).numpy(), atol=1e-5
    )
    np.testing.assert_allclose(encoder.score(TEXTS, clips, batch_size=2), out.logits_per_video.numpy(),
                               rtol=1e-4, atol=1e-4)
    assert encoder.logit_scale == pytest.approx(float(model.logit_scale.detach().exp()))


def test_xclip_rerank_is_score_for_one_text(tiny_xclip):
    clips = [_frames(5), _frames(6)]
    np.testing.assert_allclose(tiny_xclip.rerank(TEXTS[0], clips), tiny_xclip.score(TEXTS, clips)[:, 0], atol=1e-5)


def test_xclip_resamples_other_frame_counts_to_its_own(tiny_xclip):
    long_clip = _frames(7, t=24)
    expected = tiny_xclip.encode_video([long_clip[1::3]])  # centres of 8 equal parts of 24 frames
    np.testing.assert_allclose(tiny_xclip.encode_video([long_clip]), expected, atol=1e-6)


# -- CLIP frame pooling ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip_reference(tiny_model_dirs):
    import open_clip

    name = f"local-dir:{tiny_model_dirs['clip']}"
    model, _, preprocess = open_clip.create_model_and_transforms(name)
    return model.eval(), preprocess, open_clip.get_tokenizer(name)


def test_clip_frame_transform_equals_open_clip_preprocess(tiny_clip, clip_reference):
    _, preprocess, _ = clip_reference
    frames = _frames(8, t=3, h=225, w=224)  # odd margin: checks torchvision's crop rounding
    expected = torch.stack([preprocess(Image.fromarray(f)) for f in frames])
    assert torch.allclose(tiny_clip.transform(frames), expected, atol=1e-5)


def test_clip_video_is_mean_of_encode_image(tiny_clip, clip_reference):
    model, preprocess, _ = clip_reference
    clips = [_frames(9, t=8), _frames(10, t=5), _frames(11, t=1)]
    expected = []
    with torch.inference_mode():
        for clip in clips:
            pixels = torch.stack([preprocess(Image.fromarray(f)) for f in clip])
            per_frame = model.encode_image(pixels, normalize=True)
            expected.append(F.normalize(per_frame.mean(0), dim=-1).numpy())
    np.testing.assert_allclose(tiny_clip.encode_video(clips, batch_size=1), np.stack(expected), atol=1e-5)


def test_clip_text_cut_to_longest_equals_padded(tiny_clip, clip_reference):
    model, _, tokenizer = clip_reference
    with torch.inference_mode():
        expected = model.encode_text(tokenizer(TEXTS), normalize=True).numpy()
    got = tiny_clip.encode_text(TEXTS)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # and the cut really happened: the longest prompt here is far shorter than the 77-token context
    tokens = tokenizer(TEXTS)
    assert int((tokens != 0).sum(1).max()) < 40


def test_clip_logit_scale_is_the_models(tiny_clip, clip_reference):
    model, _, _ = clip_reference
    assert tiny_clip.logit_scale == pytest.approx(float(model.logit_scale.detach().exp()))


def test_empty_inputs_give_empty_arrays(tiny_clip, tiny_xclip):
    for encoder in (tiny_clip, tiny_xclip):
        assert encoder.encode_text([]).shape == (0, encoder.dim)
        assert encoder.encode_video([]).shape == (0, encoder.dim)


def test_tiny_xclip_tokenizer_is_the_real_clip_bpe(tiny_xclip, clip_reference):
    """The tiny X-CLIP's tokenizer (built from open_clip's shipped BPE) tokenises like CLIP."""
    _, _, open_clip_tokenizer = clip_reference
    for text in TEXTS + ["Kickflip!! on a half-pipe, 2024 (slow-mo)"]:
        ids = tiny_xclip.tokenizer(text)["input_ids"]
        expected = open_clip_tokenizer([text])[0]
        assert ids == expected[: len(ids)].tolist()
        assert int((expected != 0).sum()) == len(ids)


def test_xclip_label_similarity_single_prompts_are_exact_logits(tiny_xclip):
    clips = [_frames(12), _frames(13)]
    result = tiny_xclip.label_similarity(clips, [[t] for t in TEXTS])
    np.testing.assert_allclose(result.cosine * tiny_xclip.logit_scale, tiny_xclip.score(TEXTS, clips), atol=1e-4)
    np.testing.assert_allclose(result.video, tiny_xclip.encode_video(clips), atol=1e-5)


def test_xclip_label_similarity_averages_conditioned_prompts(tiny_xclip):
    """A label of several prompts: the mean of each prompt's video-conditioned unit vector."""
    clips = [_frames(14)]
    groups = [TEXTS[:2], TEXTS[2:]]
    m = tiny_xclip.model
    with torch.inference_mode():
        raw = torch.from_numpy(tiny_xclip.text_features(TEXTS))
        video, patches = tiny_xclip._video_features(clips)
        text = raw.unsqueeze(0) + m.prompts_generator(raw.unsqueeze(0), patches)
        text = F.normalize(text, dim=-1)[0]
        labels = F.normalize(torch.stack([text[:2].mean(0), text[2:].mean(0)]), dim=-1)
        expected = (F.normalize(video, dim=-1) @ labels.T).numpy()
    np.testing.assert_allclose(tiny_xclip.label_similarity(clips, groups).cosine, expected, atol=1e-5)


def test_clip_label_similarity_is_cosine_with_mean_prompt_vectors(tiny_clip):
    clips = [_frames(15, t=4)]
    groups = [TEXTS[:3], TEXTS[3:]]
    text = tiny_clip.encode_text(TEXTS)
    labels = np.stack([text[:3].mean(0), text[3:].mean(0)])
    labels /= np.linalg.norm(labels, axis=1, keepdims=True)
    expected = tiny_clip.encode_video(clips) @ labels.T
    np.testing.assert_allclose(tiny_clip.label_similarity(clips, groups).cosine, expected, atol=1e-5)


def test_clips_of_different_sizes_share_a_batch(tiny_clip, tiny_xclip):
    """Videos of different aspect ratios end up in one encoder batch when classifying many files."""
    clips = [_frames(16, h=224, w=398), _frames(17, h=300, w=224), _frames(18, h=224, w=224)]
    for encoder in (tiny_clip, tiny_xclip):
        together = encoder.encode_video(clips)
        one_by_one = np.concatenate([encoder.encode_video([c]) for c in clips])
        np.testing.assert_allclose(together, one_by_one, atol=1e-5)
