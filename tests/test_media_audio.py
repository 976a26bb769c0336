"""load_audio and log_mel: tones come back at the right pitch, length and rate."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from openvid.errors import MediaError, NoAudioError
from openvid.media import AUDIO_SAMPLE_RATE, load_audio, log_mel


def dominant_hz(wave: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.argmax(spectrum) * sr / len(wave))


@pytest.mark.parametrize("container, hz", [("mp4", 440.0), ("mkv", 1000.0), ("webm", 250.0)])
def test_tone_from_video_container(make_video, container, hz):
    codec = "vp9" if container == "webm" else "h264"
    path = make_video(f"audio-{container}", seconds=2, fps=10, audio_hz=hz, container=container, codec=codec)
    wave = load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    # AAC adds up to a frame of priming/padding: allow ~30 ms
    assert abs(len(wave) - 2 * AUDIO_SAMPLE_RATE) < 0.03 * AUDIO_SAMPLE_RATE
    assert dominant_hz(wave, AUDIO_SAMPLE_RATE) == pytest.approx(hz, abs=3)
    assert 0.2 < np.abs(wave).max() <= 1.0  # written at amplitude 0.5, stereo downmixed to mono


def test_other_sample_rate_and_range(make_video):
    path = make_video("audio-mp4", seconds=2, fps=10, audio_hz=440.0)
    wave = load_audio(path, sr=8000)
    assert abs(len(wave) - 16000) < 0.03 * 8000
    assert dominant_hz(wave, 8000) == pytest.approx(440, abs=3)
    part = load_audio(path, start_s=0.5, end_s=1.25)
    assert len(part) == pytest.approx(0.75 * AUDIO_SAMPLE_RATE, abs=2)
    assert dominant_hz(part, AUDIO_SAMPLE_RATE) == pytest.approx(440, abs=5)
    # the range is cut out of the same signal: it matches the full decode at that offset
    full = load_audio(path)
    offset = int(0.5 * AUDIO_SAMPLE_RATE)
    np.testing.assert_allclose(part[1000:2000], full[offset + 1000 : offset + 2000], atol=0.02)


def test_real_video_audio(sample_videos):
    wave = load_audio(sample_videos["bigbuckbunny.mp4"])
    assert wave.dtype == np.float32
    assert len(wave) / AUDIO_SAMPLE_RATE == pytest.approx(5.31, abs=0.05)
    assert np.abs(wave).max() > 0.01


def test_plain_audio_file_through_librosa(tmp_path):
    sr = 22050
    t = np.arange(int(1.5 * sr)) / sr
    path = tmp_path / "tone.wav"
    soundfile.write(path, np.stack([np.sin(2 * np.pi * 660 * t)] * 2, axis=1) * 0.3, sr)
    wave = load_audio(path)
    assert wave.dtype == np.float32
    assert len(wave) == pytest.approx(1.5 * AUDIO_SAMPLE_RATE, abs=2)
    assert dominant_hz(wave, AUDIO_SAMPLE_RATE) == pytest.approx(660, abs=3)
    assert len(load_audio(path, start_s=1.0)) == pytest.approx(0.5 * AUDIO_SAMPLE_RATE, abs=2)
    with pytest.raises(MediaError, match="audio lasts 1.50 s"):
        load_audio(path, start_s=2.0)


def test_video_without_audio_is_no_audio_error(make_video, sample_videos):
    for path in (make_video("audio-none", seconds=1, fps=10), sample_videos["bikes.mp4"]):
        with pytest.raises(NoAudioError, match="no audio track") as info:
            load_audio(path)
        assert isinstance(info.value, MediaError)
        assert info.value.path == str(path)


def test_log_mel_shape_and_dtype(make_video):
    wave = load_audio(make_video("audio-mp4", seconds=2, fps=10, audio_hz=440.0))
    mel = log_mel(wave, AUDIO_SAMPLE_RATE)
    assert mel.dtype == np.float32
    assert mel.shape == (128, 1 + len(wave) // 160)
    assert np.isfinite(mel).all()
    # a 440 Hz tone is loudest in a low mel band, not in the top half
    assert int(np.argmax(mel.mean(axis=1))) < 40
    assert log_mel(wave, AUDIO_SAMPLE_RATE, n_mels=64).shape[0] == 64


def test_log_mel_rejects_empty_or_multichannel():
    with pytest.raises(ValueError, match="empty"):
        log_mel(np.zeros(0, np.float32), AUDIO_SAMPLE_RATE)
    with pytest.raises(ValueError, match="1-D"):
        log_mel(np.zeros((2, 100), np.float32), AUDIO_SAMPLE_RATE)
