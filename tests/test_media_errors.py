"""Every bad input, on every entry point and both backends: a MediaError that says what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_media import BAD_FILE_REASONS

from openvid.errors import MediaError
from openvid.media import iter_clips, load_audio, load_clip, open_video, probe
from openvid.media.decord_reader import DecordReader
from openvid.media.pyav_reader import PyAVReader


def _open_and_read(backend):
    def run(path):
        with open_video(path, short_side=64, backend=backend) as reader:
            reader.get_frames(range(len(reader)))

    return run


ENTRY_POINTS = {
    "probe": probe,
    "open_video[auto]": _open_and_read("auto"),
    "open_video[decord]": _open_and_read("decord"),
    "open_video[pyav]": _open_and_read("pyav"),
    "iter_clips": lambda p: list(iter_clips(p, window_s=1, stride_s=1, frames_per_window=2, short_side=32)),
    "load_clip": lambda p: load_clip(p, None, None, frames=2, short_side=32),
    "load_audio": load_audio,
}


@pytest.mark.parametrize("bad", sorted(BAD_FILE_REASONS))
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_bad_input_is_a_media_error(bad_files, entry, bad):
    path = bad_files[bad]
    with pytest.raises(MediaError) as info:
        ENTRY_POINTS[entry](path)
    error = info.value
    assert type(error) is MediaError  # not NoAudioError: a broken file is not an audio-less one
    assert error.path == str(path)
    assert BAD_FILE_REASONS[bad] in error.reason.lower()
    assert str(path) in str(error)


@pytest.mark.parametrize("entry", ["probe", "open_video[decord]", "open_video[pyav]"])
def test_text_file_says_ffmpeg_cannot_read_it(bad_files, entry):
    with pytest.raises(MediaError, match="not a video file ffmpeg can read"):
        ENTRY_POINTS[entry](bad_files["text"])


def test_truncated_mp4_names_the_missing_index(bad_files):
    with pytest.raises(MediaError, match="moov"):
        probe(bad_files["truncated_real"])
    with pytest.raises(MediaError, match=r"needs \d+ bytes but the file has \d+"):
        probe(bad_files["truncated_faststart"])


@pytest.mark.parametrize("reader_class", [DecordReader, PyAVReader])
def test_readers_wrap_errors_in_the_middle_of_decoding(make_video, bad_files, reader_class):
    """A truncated faststart mp4 opens fine and breaks half way: readers must still say MediaError.

    probe() rejects that file up front, so the readers are built here with the intact file's info,
    as if the gate had not caught it.
    """
    intact = probe(make_video("bad-faststart", seconds=2, fps=10, noise=True, faststart=True, audio_hz=440))
    with pytest.raises(MediaError) as info:
        reader = reader_class(bad_files["truncated_faststart"], intact, 64)
        reader.get_frames(np.arange(len(reader)))
    assert info.value.path == str(bad_files["truncated_faststart"])
    assert "corrupt" in info.value.reason or "truncated" in info.value.reason


def test_directory_and_audio_only_file(tmp_path, make_video):
    with pytest.raises(MediaError, match="is a directory"):
        probe(tmp_path)
    import soundfile

    wav = tmp_path / "tone.wav"
    soundfile.write(wav, np.zeros(1600, np.float32), 16000)
    for backend in ("auto", "decord", "pyav"):
        with pytest.raises(MediaError, match="no video stream"):
            open_video(wav, backend=backend)
    assert load_audio(wav).shape == (1600,)
