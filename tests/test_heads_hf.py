"""The transformers heads give what the libraries' own processors and forward passes give, run on
real and synthetic videos, say nothing (NaN) where there is no audio, and fail offline with advice."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fixtures_heads_hf import audio_clip, tone

from openvid.config import Settings
from openvid.errors import ModelUnavailable, OpenvidError
from openvid.heads import HeadChoice, get_head_spec, load_head
from openvid.heads.base import head_family
from openvid.media import Clip

VIDEO_HEADS = ("videomae", "timesformer")


def _frames(seed: int, t: int, h: int, w: int) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (t, h, w, 3), dtype=np.uint8)


def _clip(frames: np.ndarray, views: dict | None = None) -> Clip:
    return Clip("synthetic", 0, 0.0, 1.0, frames, np.arange(len(frames)), views=views or {})


@pytest.fixture(scope="module")
def references(tiny_model_dirs) -> dict:
    """The libraries' own models and processors, loaded straight from the same folders."""
    from transformers import (
        ASTFeatureExtractor,
        ASTForAudioClassification,
        ClapModel,
        ClapProcessor,
        TimesformerForVideoClassification,
        VideoMAEForVideoClassification,
        VideoMAEImageProcessor,
    )

    d = tiny_model_dirs
    return {
        "videomae": (VideoMAEForVideoClassification.from_pretrained(d["videomae"]).eval(),
                     VideoMAEImageProcessor.from_pretrained(d["videomae"])),
        "timesformer": (TimesformerForVideoClassification.from_pretrained(d["timesformer"]).eval(),
                        VideoMAEImageProcessor.from_pretrained(d["timesformer"])),
        "ast": (ASTForAudioClassification.from_pretrained(d["ast"]).eval(),
                ASTFeatureExtractor.from_pretrained(d["ast"])),
        "clap": (ClapModel.from_pretrained(d["clap"]).eval(), ClapProcessor.from_pretrained(d["clap"])),
    }


# -- video heads: parity --------------------------------------------------------------------------

@pytest.mark.parametrize("name", VIDEO_HEADS)
def test_video_head_reads_its_checkpoint(name, tiny_hf_heads, tiny_model_dirs):
    head = tiny_hf_heads[name]
    config = json.loads((tiny_model_dirs[name] / "config.json").read_text())
    processor = json.loads((tiny_model_dirs[name] / "preprocessor_config.json").read_text())
    assert head.labels == [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    assert head.frames_per_clip == config["num_frames"] == 4
    assert head.resize_to == head.transform.resize_to == processor["size"]["shortest_edge"]
    assert head.transform.crop_size == processor["crop_size"]["height"]
    assert head.transform.mean == pytest.approx(tuple(processor["image_mean"]))
    assert head.transform.std == pytest.approx(tuple(processor["image_std"]))
    assert head.identity.startswith(f"{name}:{tiny_model_dirs[name]}#")
    assert not head.needs_audio and not head.open_vocabulary


@pytest.mark.parametrize("name", VIDEO_HEADS)
def test_video_head_pixel_values_equal_processor(name, tiny_hf_heads, references):
    """Frames the decoder already scaled to the short side (what the engine hands heads): equal."""
    head = tiny_hf_heads[name]
    _, processor = references[name]
    clips = [_frames(0, 4, 32, 45), _frames(1, 4, 50, 32), _frames(2, 4, 32, 32)]
    expected = processor([list(c) for c in clips], return_tensors="pt")["pixel_values"]
    got = torch.cat([head.pixel_values([_clip(c)]) for c in clips])
    assert got.shape == expected.shape == (3, 4, 3, 32, 32)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", VIDEO_HEADS)
def test_video_head_resize_is_within_one_grey_level_of_processor(name, tiny_hf_heads, references):
    """Frames that still need resizing: torchvision's 8-bit kernel rounds its fixed-point sums its own
    way, so a pixel may differ by one grey level (1/255 before normalising), never more."""
    head = tiny_hf_heads[name]
    _, processor = references[name]
    clips = [_frames(3, 4, 48, 60), _frames(4, 4, 70, 41)]
    expected = processor([list(c) for c in clips], return_tensors="pt")["pixel_values"]
    got = torch.cat([head.pixel_values([_clip(c)]) for c in clips])
    one_level = 1.0 / 255.0 / min(head.transform.std)
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) <= one_level + 1e-5


@pytest.mark.parametrize("name", VIDEO_HEADS)
def test_video_head_scores_are_softmax_of_model_forward(name, tiny_hf_heads, references):
    head = tiny_hf_heads[name]
    model, processor = references[name]
    clips = [_frames(5 + i, 4, 32, 42) for i in range(3)]  # 3 clips, batches of 2
    inputs = processor([list(c) for c in clips], return_tensors="pt")
    with torch.inference_mode():
        expected = model(**inputs).logits.softmax(-1).numpy()
    got = head.predict([_clip(c) for c in clips])
    assert got.dtype == np.float32 and got.shape == (3, len(head.labels))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)


def test_video_head_takes_its_own_frame_count_from_the_clip(tiny_hf_heads):
    """The head reads `clip.frames_for(4, its seconds)`: the by-time view when decoded, else an even resample."""
    from openvid.media.segments import view_key

    head = tiny_hf_heads["videomae"]
    view = _frames(10, 4, 32, 40)
    with_view = _clip(_frames(11, 8, 32, 40), views={view_key(4, head.clip_seconds): view})
    np.testing.assert_allclose(head.predict([with_view]), head.predict([_clip(view)]), atol=1e-6)
    eight = _frames(12, 8, 32, 40)
    np.testing.assert_allclose(head.predict([_clip(eight)]), head.predict([_clip(eight[[1, 3, 5, 7]])]), atol=1e-6)


def test_video_heads_on_real_videos(tiny_hf_heads, sample_videos, clips_of):
    heads = [tiny_hf_heads[name] for name in VIDEO_HEADS]
    counts = sorted({h.frames_per_clip for h in heads})
    for name in ("bikes.mp4", "carphone_pristine.mp4"):
        clips = clips_of(sample_videos[name], frames=8, extra_frame_counts=counts,
                         short_side=max(h.resize_to for h in heads), limit=3)
        assert clips and all(4 in c.views for c in clips)
        for head in heads:
            scores = head.predict(clips)
            assert scores.shape == (len(clips), len(head.labels))
            assert np.isfinite(scores).all()
            np.testing.assert_allclose(scores.sum(1), 1.0, atol=1e-5)


def test_video_heads_on_a_synthetic_portrait_clip(tiny_hf_heads, make_video, clips_of):
    path = make_video("hf-heads-portrait", seconds=2, fps=10, size=(48, 80))
    clips = clips_of(path, window_s=1.0, frames=4, short_side=32)
    for name in VIDEO_HEADS:
        scores = tiny_hf_heads[name].predict(clips)
        assert scores.shape == (2, 5) and np.isfinite(scores).all()


# -- AST ------------------------------------------------------------------------------------------

def test_ast_reads_its_checkpoint(tiny_hf_heads):
    head = tiny_hf_heads["ast"]
    assert head.sample_rate == 16000 and head.needs_audio and not head.open_vocabulary
    assert head.frames_per_clip == 0
    assert head.labels == ["Speech", "Music", "Dog", "Sine wave", "Silence", "Vehicle"]


def test_ast_scores_are_sigmoid_of_model_forward(tiny_hf_heads, references):
    head = tiny_hf_heads["ast"]
    model, extractor = references["ast"]
    waves = [tone(16000, 0.7), tone(16000, 1.5, hz=1000), np.random.RandomState(0).randn(8000).astype(np.float32)]
    inputs = extractor(waves, sampling_rate=16000, return_tensors="pt")
    with torch.inference_mode():
        expected = torch.sigmoid(model(**inputs).logits).numpy()
    got = head.predict([audio_clip(16000, w) for w in waves])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got.sum(1), 1.0)  # multi-label: per-class probabilities, not a distribution


def test_ast_short_silent_and_missing_audio(tiny_hf_heads):
    head = tiny_hf_heads["ast"]
    clips = [audio_clip(16000, tone(16000, 0.001)),  # 16 samples: padded to one fbank window
             audio_clip(16000, np.zeros(16000)),  # silence
             audio_clip(16000, None),  # no audio track
             audio_clip(16000, np.zeros(0)),  # a window past the end of the track
             audio_clip(16000, tone(16000, 0.5))]
    scores = head.predict(clips)
    assert np.isfinite(scores[[0, 1, 4]]).all()
    assert np.isnan(scores[[2, 3]]).all()
    # the missing rows do not shift the others
    np.testing.assert_allclose(scores[4], head.predict([clips[4]])[0], atol=1e-6)


def test_audio_heads_on_videos_with_and_without_audio(tiny_hf_heads, make_video, sample_videos, clips_of):
    clap = tiny_hf_heads["clap"]
    clap.set_labels(["dog barking", "a guitar", "rain"])
    heads = [tiny_hf_heads["ast"], clap]
    rates = sorted({h.sample_rate for h in heads})
    with_tone = clips_of(make_video("hf-heads-tone", seconds=2, fps=10, audio_hz=440), rates=rates, window_s=1.0)
    silent_video = clips_of(make_video("hf-heads-no-audio", seconds=1, fps=10), rates=rates, window_s=1.0)
    real = clips_of(sample_videos["bigbuckbunny.mp4"], rates=rates, window_s=2.5, short_side=32, limit=2)
    no_track = clips_of(sample_videos["bikes.mp4"], rates=rates, window_s=5.0, short_side=32, limit=1)
    for head in heads:
        for clips in (with_tone, real):
            scores = head.predict(clips)
            assert scores.shape == (len(clips), len(head.labels)) and np.isfinite(scores).all()
        for clips in (silent_video, no_track):
            assert all(c.audio is None for c in clips)
            assert np.isnan(head.predict(clips)).all()


# -- CLAP -----------------------------------------------------------------------------------------

def test_clap_scores_equal_logits_per_audio_softmax(tiny_hf_heads, references):
    head = tiny_hf_heads["clap"]
    model, processor = references["clap"]
    labels = ["dog barking", "a guitar playing", "rain falling on a roof", "people talking"]
    head.set_labels(labels)
    assert head.labels == labels
    prompts = [f"the sound of {label}" for label in labels]
    waves = [tone(48000, 0.6), tone(48000, 0.25, hz=1200), np.random.RandomState(1).randn(30000).astype(np.float32)]
    inputs = processor(text=prompts, audio=waves, sampling_rate=48000, return_tensors="pt", padding=True)
    with torch.inference_mode():
        expected = model(**inputs).logits_per_audio.softmax(-1).numpy()
    got = head.predict([audio_clip(48000, w) for w in waves])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)


def test_clap_set_labels_changes_the_output_width(tiny_hf_heads):
    head = tiny_hf_heads["clap"]
    clips = [audio_clip(48000, tone(48000, 0.5)), audio_clip(48000, None)]
    head.set_labels(["a dog", "a cat"])
    two = head.predict(clips)
    head.set_labels(["a dog", "a cat", "a car engine", "birds singing", "applause"])
    five = head.predict(clips)
    assert two.shape == (2, 2) and five.shape == (2, 5)
    assert np.isfinite(five[0]).all() and np.isnan(five[1]).all()
    with pytest.raises(OpenvidError, match="at least one label"):
        head.set_labels([])


def test_clap_long_audio_is_its_middle_and_short_audio_works(tiny_hf_heads):
    head = tiny_hf_heads["clap"]  # the tiny CLAP takes 1 s
    head.set_labels(["a dog", "a siren", "music"])
    wave = np.random.RandomState(2).randn(48000 * 3).astype(np.float32)
    long_scores = head.predict([audio_clip(48000, wave), audio_clip(48000, wave)])
    np.testing.assert_allclose(long_scores[0], long_scores[1])  # deterministic, no random crop
    np.testing.assert_allclose(long_scores[0], head.predict([audio_clip(48000, wave[48000:96000])])[0], atol=1e-6)
    short = head.predict([audio_clip(48000, tone(48000, 0.0001)), audio_clip(48000, np.zeros(48000))])
    assert np.isfinite(short).all()


def test_clap_needs_labels_before_predict(tiny_model_dirs):
    head = load_head(HeadChoice("clap", checkpoint=str(tiny_model_dirs["clap"])), Settings(device="cpu"))
    assert head.open_vocabulary and head.sample_rate == 48000 and head.labels == []
    with pytest.raises(OpenvidError, match="set_labels"):
        head.predict([audio_clip(48000, tone(48000, 0.5))])


# -- loading: defaults offline, labels, wrong checkpoints -----------------------------------------

@pytest.mark.parametrize("name", ["videomae", "timesformer", "ast", "clap"])
def test_default_checkpoint_offline_says_how_to_get_it(name):
    spec = get_head_spec(name)
    assert not head_family(spec).is_cached(spec)
    with pytest.raises(ModelUnavailable) as info:
        load_head(name, Settings(device="cpu"))
    message = str(info.value)
    assert spec.checkpoint in message
    assert f"openvid models pull {name}" in message
    assert f"checkpoint='{name}=" in message  # the API's spelling
    assert f"--head-checkpoint {name}=" in info.value.cli_message()  # the command line's


def test_registered_specs():
    videomae, timesformer = get_head_spec("videomae"), get_head_spec("timesformer")
    assert (videomae.frames, timesformer.frames) == (16, 8)
    assert "Kinetics-400" in videomae.trained_on and "Kinetics-400" in timesformer.trained_on
    ast, clap = get_head_spec("ast"), get_head_spec("clap")
    assert ast.needs_audio and ast.sample_rate == 16000 and not ast.open_vocabulary
    assert clap.needs_audio and clap.sample_rate == 48000 and clap.open_vocabulary


@pytest.mark.parametrize("name", ["videomae", "ast"])
def test_labels_file_replaces_names_and_wrong_count_is_refused(name, tiny_model_dirs, tmp_path):
    folder = str(tiny_model_dirs[name])
    count = len(json.loads((tiny_model_dirs[name] / "config.json").read_text())["id2label"])
    good = tmp_path / "good.txt"
    good.write_text("# my classes\n" + "\n".join(f"class {i}" for i in range(count)) + "\n")
    head = load_head(HeadChoice(name, checkpoint=folder, labels_file=str(good)), Settings(device="cpu"))
    assert head.labels == [f"class {i}" for i in range(count)]
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(f"class {i}" for i in range(count + 1)))
    with pytest.raises(OpenvidError, match=f"{count + 1} labels .* {count} outputs"):
        load_head(HeadChoice(name, checkpoint=folder, labels_file=str(bad)), Settings(device="cpu"))


def test_checkpoint_of_another_architecture_is_refused(tiny_model_dirs):
    with pytest.raises(ModelUnavailable, match="model_type='timesformer'"):
        load_head(HeadChoice("videomae", checkpoint=str(tiny_model_dirs["timesformer"])), Settings(device="cpu"))


def test_missing_folder_and_incomplete_checkpoint(tiny_model_dirs, tmp_path):
    with pytest.raises(ModelUnavailable, match="checkpoint='ast=") as caught:
        load_head(HeadChoice("ast", checkpoint=str(tmp_path / "nowhere")), Settings(device="cpu"))
    assert "--head-checkpoint ast=" in caught.value.cli_message()
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text((tiny_model_dirs["videomae"] / "config.json").read_text())
    with pytest.raises(ModelUnavailable, match=str(partial)):
        load_head(HeadChoice("videomae", checkpoint=str(partial)), Settings(device="cpu"))


def test_pretraining_checkpoint_without_classifier_is_refused(tmp_path):
    from transformers import VideoMAEConfig, VideoMAEImageProcessor, VideoMAEModel

    config = VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, hidden_size=32, num_hidden_layers=1,
                            num_attention_heads=2, intermediate_size=64)
    VideoMAEModel(config).save_pretrained(tmp_path / "backbone")
    VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        tmp_path / "backbone")
    with pytest.raises(ModelUnavailable, match="classifier"):
        load_head(HeadChoice("videomae", checkpoint=str(tmp_path / "backbone")), Settings(device="cpu"))


def test_empty_input_gives_empty_rows(tiny_hf_heads):
    for name in ("videomae", "timesformer", "ast"):
        head = tiny_hf_heads[name]
        assert head.predict([]).shape == (0, len(head.labels))


# -- runtimes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["videomae", "timesformer", "ast", "clap"])
def test_an_explicit_runtime_runs_the_network_with_torchs_numbers(name, tiny_model_dirs, tmp_path):
    """`--runtime onnx` reaches the transformers heads: the network (CLAP: its audio tower, projection
    and normalisation) is exported on the first batch, verified against torch, cached and run on ONNX
    Runtime, with torch's scores."""
    choice = HeadChoice(name, checkpoint=str(tiny_model_dirs[name]))
    reference = load_head(choice, Settings(device="cpu", runtime="torch", home=tmp_path, batch_size=2))
    head = load_head(choice, Settings(device="cpu", runtime="onnx", home=tmp_path, batch_size=2))
    assert reference.runtimes() == {"head": "torch"} and head.runtimes() == {"head": "onnx"}
    auto = load_head(choice, Settings(device="cpu", runtime="auto", home=tmp_path))
    assert auto.runtime == get_head_spec(name).cpu_runtime  # the measured choice (heads.json)
    if name == "clap":
        for each in (reference, head):
            each.set_labels(["a dog", "a siren", "music"])
    if name in VIDEO_HEADS:
        clips = [_clip(_frames(seed, 12, 80, 96)) for seed in range(3)]
    else:
        rate = reference.sample_rate
        clips = [audio_clip(rate, tone(rate, 0.6)), audio_clip(rate, None), audio_clip(rate, tone(rate, 0.3, hz=900))]
    expected, got = reference.predict(clips), head.predict(clips)
    assert head.runtimes() == {"head": "onnx"}, head._tower.reason
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert list((tmp_path / "exports").rglob("head.onnx"))
