"""open_video / VideoReader: sizes, sparse fetch, and decord and PyAV agreeing with each other."""

from __future__ import annotations

import decord
import numpy as np
import pytest
from fixtures_media import read_frame_number, vfr_times

import openvid.media.decord_reader as decord_reader
from openvid.errors import MediaError, UnknownChoice
from openvid.media import VideoReader, open_video

BACKENDS = ["decord", "pyav"]


def numbers(frames: np.ndarray) -> list[int]:
    return [read_frame_number(f) for f in frames]


@pytest.mark.parametrize("backend", BACKENDS)
def test_scaled_decode_short_side_and_aspect(sample_videos, backend):
    with open_video(sample_videos["bikes.mp4"], short_side=224, backend=backend) as reader:
        assert reader.backend == backend
        assert reader.size == (224, 528)  # 640x272 -> 527.06 wide, rounded to even
        frames = reader.get_frames([0, 100])
    assert frames.shape == (2, 224, 528, 3)
    assert frames.dtype == np.uint8


def test_portrait_and_upscale_sizes(sample_videos, make_video):
    with open_video(sample_videos["carphone_pristine.mp4"], short_side=224, backend="pyav") as reader:
        assert reader.size == (224, 274)  # 176x144 is scaled up: 176 * 224 / 144 = 273.8
    portrait = make_video("dec-portrait", seconds=1, fps=10, size=(96, 160))
    with open_video(portrait, short_side=48, backend="pyav") as reader:
        assert reader.size == (80, 48)
        assert reader.get_frames([0]).shape == (1, 80, 48, 3)


def test_decord_is_asked_to_scale_at_decode_time(sample_videos, monkeypatch):
    seen: list[dict] = []
    real = decord.VideoReader

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(decord, "VideoReader", spy)
    with open_video(sample_videos["bigbuckbunny.mp4"], short_side=224, backend="decord") as reader:
        frame = reader.get_frames([5])
    assert seen and seen[0]["width"] == 398 and seen[0]["height"] == 224
    assert frame.shape == (1, 224, 398, 3)


def test_native_size_when_short_side_is_none(sample_videos):
    for backend in BACKENDS:
        with open_video(sample_videos["bikes.mp4"], short_side=None, backend=backend) as reader:
            assert reader.size == (272, 640)
            assert reader.get_frames([3]).shape == (1, 272, 640, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sparse_fetch_returns_the_asked_frames(make_video, backend):
    path = make_video("dec-count", seconds=3, fps=30, size=(160, 96))
    wanted = [17, 3, 3, 89, 0, 45, 44, 88]
    with open_video(path, short_side=112, backend=backend) as reader:
        assert len(reader) == 90
        assert numbers(reader.get_frames(wanted)) == wanted
        # a second call going backwards must still be exact
        assert numbers(reader.get_frames([2, 1])) == [2, 1]
        assert reader.get_frames([]).shape == (0, *reader.size, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_range_index_is_an_index_error(make_video, backend):
    with open_video(make_video("dec-count", seconds=3, fps=30, size=(160, 96)), backend=backend) as reader:
        with pytest.raises(IndexError, match="out of range"):
            reader.get_frames([90])
        with pytest.raises(IndexError):
            reader.get_frames([-1])


def test_pyav_sparse_fetch_equals_sequential_decode(sample_videos):
    """Keyframe seeks must land on exactly the frames a plain front-to-back decode gives."""
    with open_video(sample_videos["bikes.mp4"], short_side=96, backend="pyav") as reader:
        everything = reader.get_frames(range(len(reader)))
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(everything), 30)
    with open_video(sample_videos["bikes.mp4"], short_side=96, backend="pyav") as reader:
        np.testing.assert_array_equal(reader.get_frames(picks), everything[picks])
        np.testing.assert_array_equal(reader.get_frames([249, 0, 125]), everything[[249, 0, 125]])


def test_pyav_detects_a_seek_that_lands_past_the_frame(sample_videos, monkeypatch):
    """A broken index can make a seek land after the wanted frame; the reader must notice (by
    timestamp) and decode from the start rather than return a later frame."""
    with open_video(sample_videos["bikes.mp4"], short_side=64, backend="pyav") as reader:
        truth = reader.get_frames([40, 100, 150])
    reader = open_video(sample_videos["bikes.mp4"], short_side=64, backend="pyav")
    honest_start = reader._start

    def overshooting_start(target):  # bikes has keyframes at 0, 30, 76, 137, 187, 242
        honest_start(None if target is None else min(target + 60, len(reader) - 1))

    monkeypatch.setattr(reader, "_start", overshooting_start)
    with reader:
        np.testing.assert_array_equal(reader.get_frames([40, 100, 150]), truth)


@pytest.mark.parametrize("name", ["bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4"])
def test_backends_agree_on_real_videos(sample_videos, name):
    results = {}
    for backend in BACKENDS:
        with open_video(sample_videos[name], short_side=224, backend=backend) as reader:
            n = len(reader)
            picks = [0, n // 3, n // 2, n - 1]
            results[backend] = (reader.size, reader.timestamps.copy(), reader.get_frames(picks), reader.info)
    (size_d, ts_d, fr_d, info_d), (size_p, ts_p, fr_p, info_p) = results["decord"], results["pyav"]
    assert size_d == size_p
    assert fr_d.shape == fr_p.shape and fr_d.dtype == fr_p.dtype == np.uint8
    np.testing.assert_allclose(ts_d, ts_p, atol=1e-6)
    assert ts_d[0] == 0.0 and np.all(np.diff(ts_d) > 0)
    assert np.abs(fr_d.astype(np.int16) - fr_p).mean() < 1.5
    assert info_d.frame_count == info_p.frame_count == len(ts_d)


def test_backends_identical_at_native_size(sample_videos):
    frames = []
    for backend in BACKENDS:
        with open_video(sample_videos["bigbuckbunny.mp4"], backend=backend) as reader:
            frames.append(reader.get_frames([0, 70, 131]))
    assert np.abs(frames[0].astype(np.int16) - frames[1]).mean() < 0.5


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotation_applied_by_both_backends(make_video, rotation):
    path = make_video(f"dec-rot{rotation}", seconds=1, fps=10, size=(96, 128), rotation=rotation)
    shots = {}
    for backend in BACKENDS:
        with open_video(path, short_side=64, backend=backend) as reader:
            assert reader.size == (86, 64)  # displayed portrait 96x128 -> 64 x 85.3 (even: 86)
            shots[backend] = reader.get_frames([0, 7])
            # the displayed picture is upright: the frame number reads correctly
            assert numbers(shots[backend]) == [0, 7]
    assert np.abs(shots["decord"].astype(np.int16) - shots["pyav"]).mean() < 2.0


def test_vfr_timestamps_come_from_the_stream(make_video):
    path = make_video("dec-vfr", seconds=4, fps=10, vfr=True)
    expected = vfr_times(4, 10)
    for backend in BACKENDS:
        with open_video(path, backend=backend) as reader:
            np.testing.assert_allclose(reader.timestamps, expected, atol=1e-3)
            assert reader.timestamps.dtype == np.float64
            # frame 45 is in the sparse half: 2.0 s + 5 * 0.2 s
            assert numbers(reader.get_frames([45])) == [45]
            assert reader.info.duration_s >= reader.timestamps[-1]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("codec", ["h264", "mpeg4"])
def test_odd_size_and_mkv(make_video, backend, codec):
    odd = make_video(f"dec-odd-{codec}", seconds=1, fps=10, size=(321, 179), codec=codec)
    with open_video(odd, short_side=None, backend=backend) as reader:
        assert reader.size == (179, 321)
        assert numbers(reader.get_frames([9, 4])) == [9, 4]
    with open_video(odd, short_side=224, backend=backend) as reader:
        assert reader.size == (224, 402)
    mkv = make_video("dec-mkv", seconds=2, fps=15, container="mkv")
    with open_video(mkv, backend=backend) as reader:
        assert len(reader) == 30
        assert numbers(reader.get_frames([29, 0, 14])) == [29, 0, 14]


def test_auto_prefers_decord(sample_videos):
    with open_video(sample_videos["bikes.mp4"]) as reader:
        assert reader.backend == "decord"
        assert isinstance(reader, VideoReader)


def test_auto_falls_back_when_decord_is_missing(make_video, monkeypatch):
    def no_decord():
        raise ImportError("No module named 'decord'")

    monkeypatch.setattr(decord_reader, "import_decord", no_decord)
    path = make_video("dec-count", seconds=3, fps=30, size=(160, 96))
    with open_video(path, backend="auto") as reader:
        assert reader.backend == "pyav"
        assert numbers(reader.get_frames([5])) == [5]
    with pytest.raises(MediaError, match="decord is not available"):
        open_video(path, backend="decord")


def test_auto_falls_back_when_decord_cannot_decode(make_video):
    # decord 0.6 opens MPEG-TS files written by FFmpeg but fails on their first frame
    path = make_video("dec-ts", seconds=2, fps=10, container="ts")
    with pytest.raises(MediaError, match="backend='pyav'"):
        with open_video(path, backend="decord") as reader:
            reader.get_frames([0])
    with open_video(path, backend="auto") as reader:
        assert numbers(reader.get_frames([0, 5, 19])) == [0, 5, 19]
        assert reader.backend == "pyav"
        assert len(reader.timestamps) == 20


def test_decord_width_rule_matches_decord(make_video):
    """decord_width_ok must predict exactly which output widths decord 0.6 mangles."""
    path = make_video("dec-widths", seconds=0.5, fps=10, size=(128, 96))
    lib = decord_reader.import_decord()
    for width in range(2, 100):
        try:
            shape = lib.VideoReader(str(path), width=width, height=32)[0].asnumpy().shape
            good = shape == (32, width, 3)
        except Exception:
            good = False
        assert good == decord_reader.decord_width_ok(width), width


def test_auto_avoids_widths_decord_mangles(make_video):
    portrait = make_video("dec-portrait", seconds=1, fps=10, size=(96, 160))
    with pytest.raises(MediaError, match="width 48"):
        open_video(portrait, short_side=48, backend="decord")
    with open_video(portrait, short_side=48) as reader:
        assert reader.backend == "pyav"
        assert reader.get_frames([3]).shape == (1, 80, 48, 3)


def test_unknown_backend_lists_choices(sample_videos):
    with pytest.raises(UnknownChoice, match="auto, decord, pyav"):
        open_video(sample_videos["bikes.mp4"], backend="opencv")


def test_auto_decodes_long_files_with_pyav_and_short_ones_with_decord(sample_videos, monkeypatch):
    import openvid.media.decode as decode

    with open_video(sample_videos["bikes.mp4"], short_side=64) as reader:  # 10 s: decord
        assert reader.backend == "decord"
    monkeypatch.setattr(decode, "LONG_VIDEO_S", 5.0)  # bikes.mp4 is now "long"
    with open_video(sample_videos["bikes.mp4"], short_side=64) as reader:
        assert reader.backend == "pyav"
    with open_video(sample_videos["bikes.mp4"], short_side=64, backend="decord") as reader:  # asked for: kept
        assert reader.backend == "decord"
