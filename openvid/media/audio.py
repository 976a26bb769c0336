"""Audio as a mono float32 waveform at one sample rate, and its log-mel spectrogram.

Plain audio files go through librosa (soundfile underneath, exact and fast). Video containers go
through PyAV, which decodes the audio stream and resamples it with FFmpeg's resampler, because
librosa's own fallback for those (audioread) is deprecated, slow and spawns ffmpeg processes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from openvid.errors import MediaError, NoAudioError, UsageError
from openvid.media._guard import check_file, reading
from openvid.media._packets import check_complete
from openvid.media.probe import open_container

AUDIO_SAMPLE_RATE = 16000  # what the audio towers (AST, CLAP, Whisper-style front ends) expect


def load_audio(
    path: str | os.PathLike[str],
    sr: int = AUDIO_SAMPLE_RATE,
    start_s: float | None = None,
    end_s: float | None = None,
) -> np.ndarray:
    """float32 mono waveform at `sr` Hz of [start_s, end_s] (None: from the start / to the end).

    Times count from the start of the audio track. A video without an audio track raises
    NoAudioError, a MediaError that audio consumers can catch to skip the file.
    """
    p = check_file(path)
    if sr <= 0:
        raise UsageError(f"sample rate must be positive, got {sr}")
    start = 0.0 if start_s is None else float(start_s)
    if start < 0 or (end_s is not None and end_s <= start):
        raise MediaError(p, f"the audio range {start}-{end_s} s is empty or negative; pick start < end, both >= 0")
    duration = _soundfile_duration(p)
    if duration is not None:
        try:
            return _load_with_librosa(p, sr, start, end_s, duration)
        except MediaError:
            raise
        except Exception:  # soundfile sniffed it but could not decode it: let FFmpeg try
            pass
    return _load_with_pyav(p, sr, start, end_s)


def _soundfile_duration(path: Path) -> float | None:
    """Duration when libsndfile can read the file (wav, flac, ogg, mp3...), else None."""
    import soundfile

    try:
        return float(soundfile.info(str(path)).duration)
    except Exception:  # LibsndfileError, or a format soundfile does not know: not for librosa
        return None


def _load_with_librosa(path: Path, sr: int, start: float, end: float | None, duration: float) -> np.ndarray:
    import librosa

    _check_start(path, start, duration)
    length = None if end is None else end - start
    wave, _ = librosa.load(str(path), sr=sr, mono=True, offset=start, duration=length, dtype=np.float32)
    return np.ascontiguousarray(wave, dtype=np.float32)


def _check_start(path: Path, start: float, duration: float) -> None:
    if duration > 0 and start >= duration:
        raise MediaError(
            path, f"the audio range starts at {start:.2f} s but the audio lasts {duration:.2f} s; pick an earlier start"
        )


def _load_with_pyav(path: Path, sr: int, start: float, end: float | None) -> np.ndarray:
    import av

    container = open_container(path, kind="media")
    try:
        check_complete(path, container)
        if not container.streams.audio:
            raise NoAudioError(path)
        stream = container.streams.audio[0]
        time_base = float(stream.time_base) if stream.time_base else 1e-6
        origin = stream.start_time * time_base if stream.start_time is not None else 0.0
        if stream.duration:
            duration = stream.duration * time_base
        else:
            duration = (container.duration or 0) / 1_000_000
        _check_start(path, start, duration)

        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        chunks: list[np.ndarray] = []
        first_s: float | None = None  # where the decoded audio begins, from the track's start
        with reading(path, "while decoding its audio"):
            if start > 0:
                container.seek(int((origin + start) / time_base), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                t = frame.time - origin if frame.time is not None else None
                if first_s is None:
                    first_s = t if t is not None else 0.0
                if end is not None and t is not None and t > end:
                    break
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    finally:
        container.close()

    wave = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    skip = max(int(round((start - (first_s or 0.0)) * sr)), 0)
    wave = wave[skip:]
    if end is not None:
        wave = wave[: int(round((end - start) * sr))]
    return np.ascontiguousarray(wave)


def log_mel(
    waveform: np.ndarray,
    sr: int = AUDIO_SAMPLE_RATE,
    n_mels: int = 128,
    n_fft: int = 400,
    hop_length: int = 160,
) -> np.ndarray:
    """float32 [n_mels, frames] log-mel power spectrogram in dB (25 ms windows, 10 ms hops at 16 kHz).

    Referenced to 1.0 rather than to the clip's own maximum, so loudness is comparable across clips;
    the floor is 80 dB below the loudest bin.
    """
    import librosa

    y = np.asarray(waveform, dtype=np.float32)
    if y.ndim != 1:
        raise UsageError(f"waveform must be 1-D mono samples, got shape {y.shape}")
    if y.size == 0:
        raise UsageError("waveform is empty; there is no audio to turn into a spectrogram")
    power = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, power=2.0)
    return librosa.power_to_db(power, ref=1.0, top_db=80.0).astype(np.float32)


__all__ = ["AUDIO_SAMPLE_RATE", "load_audio", "log_mel"]
