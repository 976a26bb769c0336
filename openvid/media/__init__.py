"""Media: from a video file to frames, windows and audio, knowing nothing of models.

decode: open_video -> VideoReader (decord first, PyAV fallback; same frames either way)
segments: plan_windows / iter_clips / load_clip (windows by time, frames by timestamp)
audio: load_audio / log_mel (mono float32 at AUDIO_SAMPLE_RATE)
Every bad input surfaces as openvid.errors.MediaError with the path and what to do.
"""

from openvid.media.audio import AUDIO_SAMPLE_RATE, load_audio, log_mel
from openvid.media.decode import VideoReader, open_video
from openvid.media.probe import VideoInfo, probe
from openvid.media.segments import Clip, Window, iter_clips, load_clip, plan_windows

__all__ = [
    "AUDIO_SAMPLE_RATE",
    "Clip",
    "VideoInfo",
    "VideoReader",
    "Window",
    "iter_clips",
    "load_audio",
    "load_clip",
    "log_mel",
    "open_video",
    "plan_windows",
    "probe",
]
