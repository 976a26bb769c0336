"""probe(): what a file is, from real sample videos and synthetic clips with known answers."""

from __future__ import annotations

import av
import pytest

from openvid.media import VideoInfo, probe


@pytest.mark.parametrize(
    "name, duration, fps, frames, size, has_audio",
    [
        ("bikes.mp4", 10.0, 25.0, 250, (640, 272), False),
        ("bigbuckbunny.mp4", 5.28, 25.0, 132, (1280, 720), True),
        ("carphone_pristine.mp4", 4.004, 30000 / 1001, 120, (176, 144), False),
    ],
)
def test_probe_real_videos(sample_videos, name, duration, fps, frames, size, has_audio):
    info = probe(sample_videos[name])
    assert isinstance(info, VideoInfo)
    assert info.path == str(sample_videos[name])
    assert info.duration_s == pytest.approx(duration, abs=0.02)
    assert info.fps == pytest.approx(fps, rel=1e-6)
    assert info.frame_count == frames
    assert (info.width, info.height) == size
    assert info.has_audio is has_audio
    assert info.rotation == 0


def test_probe_synthetic_with_audio(make_video):
    path = make_video("probe-tone", seconds=3, fps=30, size=(160, 96), audio_hz=440)
    info = probe(path)
    assert info.frame_count == 90
    assert info.fps == pytest.approx(30.0)
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert (info.width, info.height) == (160, 96)
    assert info.has_audio is True


def test_probe_accepts_pathlike_and_str(make_video):
    path = make_video("probe-small", seconds=1, fps=10)
    assert probe(str(path)) == probe(path)


def test_probe_counts_frames_when_mkv_header_says_zero(make_video):
    path = make_video("probe-mkv", seconds=2, fps=15, container="mkv")
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0  # the premise: matroska stores no count
    info = probe(path)
    assert info.frame_count == 30
    assert info.duration_s == pytest.approx(2.0, abs=0.01)
    assert info.fps == pytest.approx(15.0)


def test_probe_webm(make_video):
    info = probe(make_video("probe-webm", seconds=2, fps=15, codec="vp9", container="webm"))
    assert info.frame_count == 30
    assert (info.width, info.height) == (128, 96)


@pytest.mark.parametrize("codec", ["h264", "mpeg4"])
def test_probe_odd_size(make_video, codec):
    info = probe(make_video(f"probe-odd-{codec}", seconds=1, fps=10, size=(321, 179), codec=codec))
    assert (info.width, info.height) == (321, 179)
    assert info.frame_count == 10


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_probe_reports_displayed_size_and_rotation(make_video, rotation):
    # size is the displayed size; the file stores the picture turned back
    path = make_video(f"probe-rot{rotation}", seconds=1, fps=10, size=(96, 128), rotation=rotation)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stored = (stream.width, stream.height)
    info = probe(path)
    assert info.rotation == rotation
    assert (info.width, info.height) == (96, 128)
    assert stored == ((128, 96) if rotation in (90, 270) else (96, 128))


def test_probe_vfr_counts_every_frame(make_video):
    from fixtures_media import vfr_times

    info = probe(make_video("probe-vfr", seconds=4, fps=10, vfr=True))
    assert info.frame_count == len(vfr_times(4, 10))
    # the average rate sits between the dense (20 fps) and sparse (5 fps) halves
    assert 5.0 < info.fps < 20.0
