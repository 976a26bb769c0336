"""torchvision, PyTorchVideo and AVSlowFast heads: each head's output is its library model's own
forward on the library's own preprocessing, on real and synthetic videos; offline defaults fail
fast with a `ModelUnavailable` that says what to do; users' checkpoints and labels are checked.

The models are tiny random-weight builds (fixtures_heads_vision.py) saved as users save theirs and
loaded through `load_head`, so nothing here downloads anything.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import sys
import time
import warnings

import numpy as np
import pytest
import torch

from openvid.config import Settings
from openvid.encoders.preprocess import FrameTransform
from openvid.errors import ModelUnavailable, OpenvidError, cli_flag
from openvid.heads import HeadChoice, get_head_spec, load_head
from openvid.heads.base import head_family
from openvid.media import Clip, iter_clips, load_audio

TORCHVISION = ["swin3d_t", "mvit_v2_s", "r2plus1d_18"]
ZOO = ["x3d_m", "slowfast_r50"]
CPU = Settings(device="cpu", runtime="torch")  # the library forward; runtimes have their own tests below


def _load(tiny) -> object:
    return load_head(HeadChoice(tiny.name, checkpoint=str(tiny.checkpoint),
                                labels_file=str(tiny.labels_file) if tiny.labels_file else None), CPU)


def _clips(path, head, window_s: float = 2.0, count: int = 2) -> list[Clip]:
    """The first `count` windows, decoded as the engine does for a head (its frames over its seconds as a view)."""
    stream = iter_clips(path, window_s=window_s, stride_s=window_s, frames_per_window=8,
                        short_side=head.resize_to, extra_frame_counts=[(head.frames_per_clip, head.clip_seconds)])
    try:
        return list(itertools.islice(stream, count))
    finally:
        stream.close()


# -- registry and published facts ---------------------------------------------------------------
@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_specs_match_the_weights_docs(name):
    from openvid.heads.torchvision_heads import weights_of

    spec = get_head_spec(name)
    weights = weights_of(spec)
    clip_len = int(re.search(r"clip_len=(\d+)", weights.meta["_docs"]).group(1))
    assert spec.frames == clip_len  # swin3d_t 32, mvit_v2_s 16, r2plus1d_18 16
    assert spec.image_size == weights.transforms().crop_size[0]
    assert str(weights) == spec.checkpoint and spec.family == "torchvision" and not spec.needs_audio


def test_zoo_specs_match_pytorchvideo_hub():
    hub_x3d = pytest.importorskip("pytorchvideo.models.hub.x3d")
    hub_sf = pytest.importorskip("pytorchvideo.models.hub.slowfast")
    assert get_head_spec("x3d_m").checkpoint == hub_x3d.checkpoint_paths["x3d_m"]
    assert get_head_spec("slowfast_r50").checkpoint == hub_sf.checkpoint_paths["slowfast_r50"]
    assert (get_head_spec("x3d_m").frames, get_head_spec("slowfast_r50").frames) == (16, 32)
    av = get_head_spec("avslowfast")
    assert av.checkpoint is None and av.needs_audio and av.sample_rate == 16000


def test_kinetics_labels_are_torchvisions_categories():
    from torchvision.models.video import R2Plus1D_18_Weights

    from openvid.heads.torch_common import kinetics400_labels

    assert kinetics400_labels() == list(R2Plus1D_18_Weights.KINETICS400_V1.meta["categories"])


# -- offline defaults -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", TORCHVISION + ZOO)
def test_default_checkpoint_offline_fails_fast_and_says_what_to_do(name):
    spec = get_head_spec(name)
    assert not head_family(spec).is_cached(spec)  # conftest points TORCH_HOME at an empty folder
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        load_head(name, CPU)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert spec.checkpoint in message
    assert f"openvid models pull {name}" in message and f"checkpoint='{name}=" in message  # the API's spelling
    assert f"--head-checkpoint {name}=" in caught.value.cli_message()  # the command line's


def test_pull_offline_and_an_unanswering_server_fail_fast(monkeypatch):
    from openvid.heads import torch_common

    spec = get_head_spec("x3d_m")
    with pytest.raises(ModelUnavailable, match="openvid models pull x3d_m"):
        head_family(spec).pull(spec)
    asked = {}

    def silent_server(address, timeout=None):  # a network that drops packets: the probe times out
        asked.update(address=address, timeout=timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(torch_common.socket, "create_connection", silent_server)
    with pytest.raises(ModelUnavailable, match="cannot be reached .timed out"):
        load_head("r2plus1d_18", CPU)
    assert asked["address"] == ("download.pytorch.org", 443) and 0 < asked["timeout"] <= 10


def test_avslowfast_without_a_checkpoint_asks_for_one():
    with pytest.raises(ModelUnavailable, match="checkpoint='avslowfast=") as caught:
        load_head("avslowfast", CPU)
    assert "--head-checkpoint avslowfast=" in caught.value.cli_message()


# -- torchvision: equal to weights.transforms() + the model ---------------------------------------
TV_VIDEOS = {"swin3d_t": "bikes.mp4", "mvit_v2_s": "carphone_pristine.mp4", "r2plus1d_18": "bigbuckbunny.mp4"}


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_head_equals_preset_and_model(name, tiny_heads, sample_videos):
    from openvid.heads.torchvision_heads import weights_of

    tiny = tiny_heads(name)
    head = _load(tiny)
    assert head.labels == [f"class {i} of {name}" for i in range(5)]
    assert head.frames_per_clip == get_head_spec(name).frames
    clips = _clips(sample_videos[TV_VIDEOS[name]], head)
    preset = weights_of(head.spec).transforms()
    reference = torch.stack([preset(torch.from_numpy(c.frames_for(head.frames_per_clip, head.clip_seconds)).permute(0, 3, 1, 2))
                             for c in clips])
    got = head.inputs(clips)
    assert got.shape == reference.shape
    torch.testing.assert_close(got, reference, rtol=0, atol=1e-5)
    with torch.inference_mode():
        logits = tiny.model(reference)
    torch.testing.assert_close(torch.from_numpy(head.outputs(clips)), logits, rtol=1e-4, atol=1e-5)
    assert not np.allclose(logits[0], logits[1])  # different windows, different answers
    probs = head.predict(clips[:1])  # softmax of the same outputs
    assert probs.dtype == np.float32 and probs.shape == (1, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, torch.softmax(logits[:1].double(), 1).numpy(), atol=1e-6)


def test_torchvision_head_on_a_portrait_synthetic_video(tiny_heads, make_video):
    """r2plus1d's preset resizes to an exact 128 x 171 whatever the orientation; so does the head."""
    from openvid.heads.torchvision_heads import weights_of

    head = _load(tiny_heads("r2plus1d_18"))
    path = make_video("heads-portrait", seconds=2.0, fps=12, size=(96, 160))
    clips = _clips(path, head, window_s=1.0)
    preset = weights_of(head.spec).transforms()
    reference = torch.stack([preset(torch.from_numpy(c.frames_for(16, head.clip_seconds)).permute(0, 3, 1, 2)) for c in clips])
    torch.testing.assert_close(head.inputs(clips), reference, rtol=0, atol=1e-5)


@pytest.mark.parametrize("size", [(200, 120), (120, 200), (300, 300), (171, 128)])
def test_frame_transform_options_match_torchvision_presets(size):
    from openvid.heads.torchvision_heads import preset_transform, weights_of

    frames = np.random.default_rng(sum(size)).integers(0, 256, (3, size[1], size[0], 3), dtype=np.uint8)
    for name in TORCHVISION:
        preset = weights_of(get_head_spec(name)).transforms()
        want = preset(torch.from_numpy(frames).permute(0, 3, 1, 2)).permute(1, 0, 2, 3)
        torch.testing.assert_close(preset_transform(preset)(frames), want, rtol=0, atol=1e-5)


def test_frame_transform_defaults_are_unchanged():
    frames = np.random.default_rng(0).integers(0, 256, (2, 100, 150, 3), dtype=np.uint8)
    old = FrameTransform(64, 56, (0.5,) * 3, (0.25,) * 3)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    x = torch.nn.functional.interpolate(x, size=(64, 96), mode="bicubic", antialias=True, align_corners=False)
    x = x.round().clamp(0, 255)[..., 4:60, 20:76]
    torch.testing.assert_close(old(frames), (x / 255 - 0.5) / 0.25, rtol=0, atol=1e-6)


# -- PyTorchVideo: equal to the model card's transform + the model --------------------------------
def _card_transform(num_frames: int, crop: int, pack: bool):
    """The pytorch/hub model card's transform, built from pytorchvideo's own transform classes.

    pytorchvideo.transforms imports a module torchvision renamed (functional_tensor ->
    _functional_tensor); for this test only, the old name is pointed at the new module.
    """
    import torchvision.transforms._functional_tensor as functional_tensor

    old_name = "torchvision.transforms.functional_tensor"
    added = sys.modules.setdefault(old_name, functional_tensor) is functional_tensor
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pytorchvideo.transforms import ShortSideScale, UniformTemporalSubsample
            from torchvision.transforms._transforms_video import CenterCropVideo, NormalizeVideo
    except ImportError as exc:
        pytest.skip(f"pytorchvideo's transforms do not import here: {exc}")
    finally:
        if added:
            sys.modules.pop(old_name, None)
    steps = [UniformTemporalSubsample(num_frames), lambda x: x / 255.0,
             NormalizeVideo([0.45] * 3, [0.225] * 3), ShortSideScale(size=256), CenterCropVideo(crop)]

    def transform(frames: np.ndarray) -> list[torch.Tensor]:
        x = torch.from_numpy(frames).permute(3, 0, 1, 2).float()  # (C, T, H, W), as EncodedVideo gives
        for step in steps:
            x = step(x)
        if not pack:
            return [x]
        slow = torch.index_select(x, 1, torch.linspace(0, x.shape[1] - 1, x.shape[1] // 4).long())
        return [slow, x]  # the card's PackPathway, alpha 4

    return transform


def _card_inputs(clips, frames: int, crop: int, pack: bool, span_s: float | None) -> list[torch.Tensor]:
    transform = _card_transform(frames, crop, pack)
    per_clip = [transform(c.frames_for(frames, span_s)) for c in clips]
    return [torch.stack([p[i] for p in per_clip]) for i in range(len(per_clip[0]))]


@pytest.mark.parametrize("name,video", [("x3d_m", "bikes.mp4"), ("slowfast_r50", "carphone_pristine.mp4")])
def test_zoo_head_equals_model_card_and_model(name, video, tiny_heads, sample_videos):
    tiny = tiny_heads(name)
    head = _load(tiny)
    clips = _clips(sample_videos[video], head)
    reference = _card_inputs(clips, head.frames_per_clip, 256, pack=name == "slowfast_r50", span_s=head.clip_seconds)
    got = head.inputs(clips)
    got = got if isinstance(got, list) else [got]
    for mine, card in zip(got, reference):
        assert mine.shape == card.shape
        torch.testing.assert_close(mine, card, rtol=0, atol=1e-4)
    with torch.inference_mode():
        want = tiny.model(list(reference) if len(reference) > 1 else reference[0])
    torch.testing.assert_close(torch.from_numpy(head.outputs(clips)), want, rtol=1e-3, atol=1e-5)
    assert not np.allclose(want[0], want[1])
    probs = head.predict(clips[:1])
    assert probs.shape == (1, tiny.classes) and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    if name == "x3d_m":  # its head ends in a softmax: the output is used as it is
        assert head.outputs_probabilities
        np.testing.assert_allclose(probs, want[:1].numpy(), rtol=1e-3, atol=1e-7)
    else:
        np.testing.assert_allclose(probs, torch.softmax(want[:1].double(), 1).numpy(), atol=1e-6)


def test_standard_architecture_needs_no_sidecar_and_gets_kinetics_labels(tiny_heads, make_video):
    from openvid.heads.torch_common import arch_file, kinetics400_labels

    tiny = tiny_heads("x3d_m-standard")
    assert tiny.labels_file is None and not arch_file(tiny.checkpoint).exists()
    head = _load(tiny)
    assert head.labels == kinetics400_labels()
    path = make_video("heads-x3d", seconds=1.5, fps=10, size=(160, 120))
    clips = _clips(path, head, window_s=1.5, count=1)
    probs = head.predict(clips)
    assert probs.shape == (1, 400)
    with torch.inference_mode():
        want = tiny.model(head.inputs(clips))
    np.testing.assert_allclose(probs, want.numpy(), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


# -- AVSlowFast ---------------------------------------------------------------------------------
def _with_audio(path, clips: list[Clip], rate: int = 16000) -> list[Clip]:
    """Attach each window's audio as the engine does (one read of the track, sliced by time)."""
    track = load_audio(path, rate)
    for clip in clips:
        clip.audio = {rate: track[int(round(clip.start_s * rate)): int(round(clip.end_s * rate))]}
    return clips


def test_avslowfast_tone_gives_probabilities_and_silence_of_track_a_nan_row(tiny_heads, make_video, capsys):
    from openvid.heads.audio_visual import log_mel_frames

    tiny = tiny_heads("avslowfast")
    head = _load(tiny)
    assert head.needs_audio and head.sample_rate == 16000 and head.labels[0] == "class 0 of avslowfast"
    toned = make_video("heads-tone", seconds=2.0, fps=16, size=(128, 96), audio_hz=440)
    mute = make_video("heads-mute", seconds=2.0, fps=16, size=(128, 96))
    heard = _with_audio(toned, _clips(toned, head, window_s=2.0, count=1))
    silent = _clips(mute, head, window_s=2.0, count=1)
    assert silent[0].audio_at(16000) is None
    capsys.readouterr()
    probs = head.predict([heard[0], silent[0]])
    assert capsys.readouterr().out == ""  # pytorchvideo's fusion print is silenced
    assert probs.shape == (2, 3)
    assert np.isfinite(probs[0]).all() and abs(probs[0].sum() - 1) < 1e-5
    assert np.isnan(probs[1]).all()
    assert np.isnan(head.predict(silent)).all()  # a batch with no audio at all: no error

    # the head's output is the library model's forward on [slow, fast, log-mel]
    slow, fast = _card_inputs(heard, 32, 224, pack=True, span_s=head.clip_seconds)
    audio = log_mel_frames(heard[0].audio_at(16000))[None]
    with torch.inference_mode(), contextlib.redirect_stdout(io.StringIO()):
        logits = tiny.model([slow, fast, audio])
    np.testing.assert_allclose(probs[0], torch.softmax(logits.double(), 1)[0].numpy(), atol=1e-5)


def test_avslowfast_on_a_real_video_with_its_soundtrack(tiny_heads, sample_videos):
    head = _load(tiny_heads("avslowfast"))
    path = sample_videos["bigbuckbunny.mp4"]
    clips = _with_audio(path, _clips(path, head, window_s=2.5, count=2))
    assert all(len(c.audio_at(16000)) > 30000 for c in clips)
    probs = head.predict(clips)
    assert probs.shape == (2, 3) and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_log_mel_frames_put_a_440_hz_tone_in_its_mel_band():
    import librosa

    from openvid.heads.audio_visual import log_mel_frames

    t = np.arange(32000) / 16000
    x = log_mel_frames(np.sin(2 * np.pi * 440 * t).astype(np.float32))
    assert x.shape == (1, 128, 1, 80) and torch.isfinite(x).all()
    band = int(x[0, :, 0, :].mean(0).argmax())
    centres = librosa.mel_frequencies(n_mels=82, fmin=0, fmax=8000, htk=True)[1:-1]
    assert abs(centres[band] - 440) < 80
    assert log_mel_frames(np.zeros(100, np.float32)).shape == (1, 128, 1, 80)  # shorter than a window


def test_log_mel_frames_equal_torchaudios_melspectrogram_recipe():
    """torchaudio is not installed: its MelSpectrogram (periodic Hann window, |STFT|^2, HTK mel
    filters without normalisation, center=False) is written out here from its definition."""
    from openvid.heads.audio_visual import log_mel_frames

    sr, n_fft, hop, n_mels = 16000, 512, 256, 80
    wave = np.random.default_rng(0).standard_normal(sr * 2).astype(np.float32) * 0.1
    freqs = torch.linspace(0, sr // 2, n_fft // 2 + 1, dtype=torch.float64)
    mel = torch.linspace(0.0, 2595.0 * np.log10(1.0 + (sr / 2) / 700.0), n_mels + 2, dtype=torch.float64)
    points = 700.0 * (10 ** (mel / 2595.0) - 1.0)
    slopes = points[None, :] - freqs[:, None]
    step = points[1:] - points[:-1]
    banks = torch.clamp(torch.minimum(-slopes[:, :-2] / step[:-1], slopes[:, 2:] / step[1:]), min=0)
    power = torch.stft(torch.from_numpy(wave).double(), n_fft, hop_length=hop, window=torch.hann_window(n_fft,
                       dtype=torch.float64), center=False, return_complex=True).abs() ** 2
    logmel = (power.T @ banks).T.clamp(min=1e-10).log()  # [F, T]
    index = torch.linspace(0, logmel.shape[1] - 1, 128).long()  # uniform_temporal_subsample
    want = ((logmel[:, index].T - -7.03) / 4.66).reshape(1, 128, 1, n_mels).float()
    torch.testing.assert_close(log_mel_frames(wave), want, rtol=0, atol=1e-4)


# -- users' checkpoints and labels ------------------------------------------------------------------
def test_labels_file_with_the_wrong_count_is_refused(tiny_heads, tmp_path):
    tiny = tiny_heads("swin3d_t")
    labels = tmp_path / "three.txt"
    labels.write_text("a\nb\nc\n")
    with pytest.raises(OpenvidError, match="3 labels .* 5 outputs"):
        load_head(HeadChoice("swin3d_t", checkpoint=str(tiny.checkpoint), labels_file=str(labels)), CPU)


def test_other_than_400_classes_without_labels_asks_for_labels(tiny_heads):
    tiny = tiny_heads("mvit_v2_s")
    with pytest.raises(OpenvidError, match="labels_file='mvit_v2_s=") as caught:
        load_head(HeadChoice("mvit_v2_s", checkpoint=str(tiny.checkpoint)), CPU)
    assert f"{cli_flag('labels_file')} mvit_v2_s=" in caught.value.cli_message()


def test_bad_checkpoints_are_model_unavailable(tiny_heads, tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_text("not weights")
    with pytest.raises(ModelUnavailable, match="junk.pth"):
        load_head(HeadChoice("r2plus1d_18", checkpoint=str(junk)), CPU)
    with pytest.raises(ModelUnavailable, match="not a file"):
        load_head(HeadChoice("r2plus1d_18", checkpoint=str(tmp_path / "missing.pth")), CPU)
    other = tiny_heads("x3d_m-standard").checkpoint  # X3D weights handed to the SlowFast head
    with pytest.raises(ModelUnavailable, match="final layer|do not fit"):
        load_head(HeadChoice("slowfast_r50", checkpoint=str(other)), CPU)
    wrong = tmp_path / "swin3d_t.pth"  # a tiny Swin state_dict without its sidecar
    wrong.write_bytes(tiny_heads("swin3d_t").checkpoint.read_bytes())
    with pytest.raises(ModelUnavailable, match="do not fit the swin3d_t architecture"):
        load_head(HeadChoice("swin3d_t", checkpoint=str(wrong), labels_file=str(tiny_heads("swin3d_t").labels_file)),
                  CPU)


def test_identity_follows_the_weights_file(tiny_heads, tmp_path):
    tiny = tiny_heads("r2plus1d_18")
    first = _load(tiny).identity
    assert first.startswith("r2plus1d_18:") and str(tiny.checkpoint) in first
    copy = tmp_path / "copy.pt"
    copy.write_bytes(tiny.checkpoint.read_bytes())
    (tmp_path / "copy.arch.json").write_text(tiny.checkpoint.with_name("r2plus1d_18.arch.json").read_text())
    second = load_head(HeadChoice("r2plus1d_18", checkpoint=str(copy), labels_file=str(tiny.labels_file)), CPU)
    assert second.identity != first
    assert _load(tiny).predict([]).shape == (0, 5)


# -- CUDA (skipped without a GPU) -----------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["swin3d_t", "x3d_m", "slowfast_r50"])
def test_auto_dtype_on_cuda_is_float16_and_agrees_with_cpu(name, tiny_heads, make_video):
    tiny = tiny_heads(name)
    choice = HeadChoice(name, checkpoint=str(tiny.checkpoint), labels_file=str(tiny.labels_file))
    gpu, cpu = load_head(choice, Settings(device="cuda")), load_head(choice, CPU)
    assert gpu.dtype == torch.float16 and cpu.dtype == torch.float32
    path = make_video("heads-gpu", seconds=2.0, fps=16, size=(160, 120))
    clips = _clips(path, cpu, window_s=1.0)
    got, want = gpu.predict(clips), cpu.predict(clips)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, atol=2e-3)


@pytest.mark.parametrize("name", ["r2plus1d_18", "x3d_m", "slowfast_r50", "swin3d_t", "mvit_v2_s"])
def test_an_explicit_runtime_runs_the_head_network_with_torchs_numbers(name, tiny_heads, sample_videos, tmp_path):
    """`--runtime onnx` reaches the torch video heads: the network is exported, verified and run on
    ONNX Runtime (SlowFast's two pathways as two inputs), with torch's logits; "auto" runs the head's
    measured `cpu_runtime`."""
    tiny = tiny_heads(name)
    choice = HeadChoice(tiny.name, checkpoint=str(tiny.checkpoint),
                        labels_file=str(tiny.labels_file) if tiny.labels_file else None)
    reference = load_head(choice, Settings(device="cpu", runtime="torch", home=tmp_path))
    clips = _clips(sample_videos["bikes.mp4"], reference)
    expected = reference.outputs(clips)
    assert load_head(choice, Settings(device="cpu", runtime="auto", home=tmp_path)).runtime == \
        get_head_spec(name).cpu_runtime
    head = load_head(choice, Settings(device="cpu", runtime="onnx", home=tmp_path))
    got = head.outputs(clips)
    assert head.runtimes() == {"head": "onnx"}, head._tower.reason
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert list((tmp_path / "exports").rglob("head.onnx"))


def test_openvino_runs_a_head_network_with_torchs_numbers(tiny_heads, sample_videos, tmp_path):
    """OpenVINO reaches the heads through the same ONNX file (converted to its IR and verified)."""
    pytest.importorskip("openvino")
    tiny = tiny_heads("x3d_m")
    choice = HeadChoice("x3d_m", checkpoint=str(tiny.checkpoint), labels_file=str(tiny.labels_file))
    reference = load_head(choice, CPU)
    clips = _clips(sample_videos["bikes.mp4"], reference)
    head = load_head(choice, Settings(device="cpu", runtime="openvino", home=tmp_path))
    np.testing.assert_allclose(head.outputs(clips), reference.outputs(clips), rtol=1e-4, atol=1e-5)
    assert head.runtimes() == {"head": "openvino"}, head._tower.reason
    assert list((tmp_path / "exports").rglob("head.xml"))


def test_auto_runs_a_heads_measured_cpu_runtime_only_on_a_cpu_in_float32(monkeypatch):
    """`auto` is the head's `cpu_runtime` where the encoders' auto is ONNX Runtime, torch on CUDA or
    without onnxruntime; an explicit runtime overrides it, and is an error off a CPU in float32."""
    from openvid import config
    from openvid.errors import UsageError
    from openvid.heads.base import HeadSpec
    from openvid.heads.runtime import head_runtime

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert head_runtime("auto", "onnx", cpu, torch.float32) == "onnx"
    assert head_runtime("auto", "torch", cpu, torch.float32) == "torch"
    assert head_runtime("auto", "onnx", cuda, torch.float16) == "torch"
    assert head_runtime("openvino", "torch", cpu, torch.float32) == "openvino"
    with pytest.raises(UsageError, match="float32 on a CPU"):
        head_runtime("onnx", "onnx", cuda, torch.float16)
    monkeypatch.setattr(config, "onnxruntime_installed", lambda: False)
    assert head_runtime("auto", "onnx", cpu, torch.float32) == "torch"
    with pytest.raises(OpenvidError, match="cpu_runtime must be one of torch, onnx"):
        HeadSpec("x", "torchvision", None, 8, 112, "nothing", cpu_runtime="openvino")


def test_models_export_builds_a_heads_network_ahead_and_the_first_batch_reuses_it(tiny_heads, sample_videos,
                                                                                  tmp_path, capsys, monkeypatch):
    """`openvid models export swin3d_t --head-checkpoint ...` exports the head's network from a blank clip
    shaped like a real one (under auto: swin3d_t's measured choice is ONNX Runtime); a head loaded after
    runs its first batch on that file, exporting nothing, with torch's logits."""
    import json

    import openvid.encoders.runtime as runtime
    from openvid.cli import run

    tiny = tiny_heads("swin3d_t")
    home = tmp_path / "home"
    flags = ["--head-checkpoint", f"swin3d_t={tiny.checkpoint}", "--head-labels", f"swin3d_t={tiny.labels_file}"]
    assert run(["models", "export", "swin3d_t", *flags, "--runtime", "auto", "--home", str(home), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["asked"] == "onnx" and report["towers"]["head"]["runtime"] == "onnx"
    assert report["towers"]["head"]["min_cosine"] >= 0.99999 and not report["towers"]["head"]["reason"]
    assert len(list((home / "exports").rglob("head.onnx"))) == 1

    exported = []
    original = runtime.export_onnx  # the name build_tower calls
    monkeypatch.setattr(runtime, "export_onnx", lambda *a, **k: exported.append(a) or original(*a, **k))
    choice = HeadChoice("swin3d_t", checkpoint=str(tiny.checkpoint), labels_file=str(tiny.labels_file))
    reference = load_head(choice, CPU)
    clips = _clips(sample_videos["bikes.mp4"], reference)
    expected = reference.outputs(clips)
    head = load_head(choice, Settings(device="cpu", runtime="auto", home=home))
    np.testing.assert_allclose(head.outputs(clips), expected, rtol=1e-4, atol=1e-5)
    assert exported == [] and head.runtimes() == {"head": "onnx"}
    fresh = load_head(choice, Settings(device="cpu", runtime="auto", home=tmp_path / "fresh"))
    np.testing.assert_allclose(fresh.outputs(clips), expected, rtol=1e-4, atol=1e-5)
    assert len(exported) == 1  # the count sees an export where there is none to reuse
    assert run(["models", "export", "clip", *flags, "--home", str(home)]) == 1  # head options on an encoder
    assert "for heads" in capsys.readouterr().err
