"""plan_windows (pure), iter_clips and load_clip (on real and synthetic videos)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fixtures_media import read_frame_number, vfr_times

from openvid.errors import MediaError
from openvid.media import Clip, Window, iter_clips, load_clip, plan_windows


def cfr(seconds: float, fps: float) -> np.ndarray:
    return np.arange(int(round(seconds * fps))) / fps


# -- plan_windows ------------------------------------------------------------------------------


def test_short_video_gives_one_window_over_all_of_it():
    windows = plan_windows(cfr(1.5, 10), 1.5, window_s=4, stride_s=2, frames_per_window=8)
    assert len(windows) == 1
    (w,) = windows
    assert isinstance(w, Window)
    assert (w.index, w.start_s, w.end_s) == (0, 0.0, 1.5)
    assert len(w.frame_indices) == 8  # 15 frames in the video, 8 picked at centres
    np.testing.assert_array_equal(w.frame_indices, [1, 3, 5, 7, 8, 10, 12, 14])


def test_last_partial_window_is_kept_and_ends_at_the_duration():
    windows = plan_windows(cfr(10, 25), 10.0, window_s=4, stride_s=3, frames_per_window=4)
    assert [(w.start_s, w.end_s) for w in windows] == [(0, 4), (3, 7), (6, 10)]
    windows = plan_windows(cfr(11, 25), 11.0, window_s=4, stride_s=3, frames_per_window=4)
    assert [(w.start_s, w.end_s) for w in windows] == [(0, 4), (3, 7), (6, 10), (9, 11)]


def test_window_count_is_exact_without_trailing_windows():
    # 10 s, 2 s windows every 1 s: starts 0..8, the window at 8 reaches the end; none at 9
    windows = plan_windows(cfr(10, 25), 10.0, window_s=2, stride_s=1, frames_per_window=8)
    assert len(windows) == 9
    assert [w.index for w in windows] == list(range(9))
    assert windows[-1].end_s == 10.0
    # float strides must not drift or add a sliver window
    windows = plan_windows(cfr(3, 30), 3.0, window_s=0.3, stride_s=0.1, frames_per_window=2)
    assert len(windows) == 28 and windows[-1].end_s == 3.0
    assert windows[-1].start_s == pytest.approx(2.7)


def test_a_tail_of_a_frame_or_two_joins_the_last_window():
    # 4.004 s at 25 fps with 2 s windows: the 4 ms left after 4.0 s is no segment of its own
    windows = plan_windows(cfr(4.0, 25), 4.004, window_s=2, stride_s=2, frames_per_window=4)
    assert [(w.start_s, w.end_s) for w in windows] == [(0, 2), (2, 4.004)]
    # overlapping windows: the last one reaches the end, as long as ever
    windows = plan_windows(cfr(6.0, 25), 6.004, window_s=4, stride_s=2, frames_per_window=4)
    assert [(w.start_s, w.end_s) for w in windows] == [(0, 4), (2, 6), (4, 6.004)]
    # gaps between windows: a sliver at the end is left out
    windows = plan_windows(cfr(10.0, 25), 10.004, window_s=1, stride_s=5, frames_per_window=2)
    assert [(w.start_s, w.end_s) for w in windows] == [(0, 1), (5, 6)]
    # a tail of more than two frame intervals is still a segment
    windows = plan_windows(cfr(4.2, 25), 4.2, window_s=2, stride_s=2, frames_per_window=4)
    assert [(w.start_s, w.end_s) for w in windows] == [(0, 2), (2, 4), (4, 4.2)]
    # at a low frame rate the merge stays under half a window
    windows = plan_windows(cfr(10, 1), 10.4, window_s=0.5, stride_s=0.5, frames_per_window=1)
    assert windows[-1].end_s == 10.4 and windows[-1].start_s == pytest.approx(10.0)


def test_non_overlapping_and_gapped_strides():
    windows = plan_windows(cfr(10, 10), 10.0, window_s=2, stride_s=2, frames_per_window=1)
    assert [(w.start_s, w.end_s) for w in windows] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    # one frame per window lands mid-window
    assert [int(w.frame_indices[0]) for w in windows] == [10, 30, 50, 70, 90]
    # stride longer than the window leaves gaps, but never a zero-length window at the end
    windows = plan_windows(cfr(10, 10), 10.0, window_s=1, stride_s=5, frames_per_window=2)
    assert [(w.start_s, w.end_s) for w in windows] == [(0, 1), (5, 6)]


def test_frames_per_window_is_always_exact_and_repeats_when_short():
    ts = cfr(2, 5)  # 10 frames
    for n in (1, 3, 8, 16, 32):
        for w in plan_windows(ts, 2.0, window_s=1, stride_s=0.5, frames_per_window=n):
            assert len(w.frame_indices) == n
            assert w.frame_indices.dtype == np.int64
            assert np.all(np.diff(w.frame_indices) >= 0)
    (w,) = plan_windows(ts, 2.0, window_s=0.4, stride_s=5, frames_per_window=8)[:1]
    assert len(set(w.frame_indices.tolist())) <= 3  # a 0.4 s window holds 2-3 frames: repeats


def test_vfr_frames_are_mapped_by_timestamp_not_index():
    ts = vfr_times(4, 10)  # 40 frames in the first 2 s, 10 in the last 2 s
    windows = plan_windows(ts, 4.0, window_s=2, stride_s=2, frames_per_window=4)
    assert len(windows) == 2
    first, second = windows
    for w in windows:
        picked = ts[w.frame_indices]
        assert np.all(picked >= w.start_s - 0.11) and np.all(picked <= w.end_s + 0.11)
    # an index-based split would put frames 25..49 in the second window; by time it is 40..49
    assert first.frame_indices.max() < 40 <= second.frame_indices.min()
    # targets 2.25, 2.75, 3.25, 3.75 s; frames exist every 0.2 s from 2.0 s
    np.testing.assert_allclose(ts[second.frame_indices], [2.2, 2.8, 3.2, 3.8], atol=1e-9)


def test_nearest_frame_mapping():
    ts = np.array([0.0, 0.1, 1.0, 1.05, 3.0])
    (w,) = plan_windows(ts, 4.0, window_s=4, stride_s=4, frames_per_window=4)
    # targets 0.5, 1.5, 2.5, 3.5 -> nearest 0.1, 1.05, 3.0, 3.0
    np.testing.assert_array_equal(w.frame_indices, [1, 3, 4, 4])


def test_plan_windows_rejects_nonsense():
    ts = cfr(2, 10)
    with pytest.raises(ValueError):
        plan_windows(ts, 2.0, window_s=0, stride_s=1, frames_per_window=4)
    with pytest.raises(ValueError):
        plan_windows(ts, 2.0, window_s=1, stride_s=-1, frames_per_window=4)
    with pytest.raises(ValueError):
        plan_windows(ts, 2.0, window_s=1, stride_s=1, frames_per_window=0)
    with pytest.raises(ValueError):
        plan_windows(np.array([]), 2.0, window_s=1, stride_s=1, frames_per_window=4)


# -- iter_clips / load_clip --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4"])
def test_iter_clips_on_real_videos(sample_videos, name):
    clips = list(iter_clips(sample_videos[name], window_s=2.0, stride_s=1.0, frames_per_window=8, short_side=112))
    assert clips and all(isinstance(c, Clip) for c in clips)
    assert [c.index for c in clips] == list(range(len(clips)))
    starts = [c.start_s for c in clips]
    ends = [c.end_s for c in clips]
    assert starts[0] == 0.0 and np.all(np.diff(starts) > 0) and np.all(np.diff(ends) > 0)
    duration = {"bikes.mp4": 10.0, "bigbuckbunny.mp4": 5.28, "carphone_pristine.mp4": 4.004}[name]
    assert ends[-1] == pytest.approx(duration, abs=1e-6)
    assert ends[-2] < duration  # the previous window did not already reach the end
    for c in clips:
        assert c.frames.dtype == np.uint8
        assert c.frames.shape[0] == 8 and c.frames.shape[1] == 112 and c.frames.shape[3] == 3
        assert c.path == str(sample_videos[name])
        assert len(c.frame_indices) == 8


def test_iter_clips_frames_are_the_planned_frames(make_video):
    path = make_video("seg-count", seconds=6, fps=30, size=(128, 96))
    clips = list(iter_clips(path, window_s=1.0, stride_s=0.5, frames_per_window=4, short_side=64, backend="pyav"))
    assert len(clips) == 11
    for c in clips:
        assert [read_frame_number(f) for f in c.frames] == c.frame_indices.tolist()
        times = c.frame_indices / 30
        assert np.all(times >= c.start_s - 1 / 30) and np.all(times <= c.end_s)


def test_iter_clips_many_windows_cross_fetch_batches(make_video):
    # 200 windows: several fetch groups of at most 32 windows each, frames must stay right
    path = make_video("seg-count", seconds=6, fps=30, size=(128, 96))
    clips = list(iter_clips(path, window_s=0.1, stride_s=0.03, frames_per_window=2, short_side=32))
    assert len(clips) == math.ceil((6 - 0.1) / 0.03) + 1  # 198
    for c in clips[::7]:
        assert [read_frame_number(f) for f in c.frames] == c.frame_indices.tolist()


def test_iter_clips_segments_vfr_by_time(make_video):
    path = make_video("seg-vfr", seconds=4, fps=10, vfr=True)
    clips = list(iter_clips(path, window_s=2.0, stride_s=2.0, frames_per_window=4, short_side=64))
    assert [(c.start_s, c.end_s) for c in clips] == [(0.0, 2.0), (2.0, 4.0)]
    numbers = [[read_frame_number(f) for f in c.frames] for c in clips]
    assert max(numbers[0]) < 40 <= min(numbers[1])  # the dense half holds frames 0..39
    assert numbers[1] == [41, 44, 46, 49]  # 2.2, 2.8, 3.2, 3.8 s


def test_iter_clips_raises_at_call_not_first_next(bad_files):
    with pytest.raises(MediaError, match="no such file"):
        iter_clips(bad_files["missing"], window_s=1, stride_s=1, frames_per_window=2)


def test_load_clip_range_and_whole_video(make_video):
    path = make_video("seg-count", seconds=6, fps=30, size=(128, 96))
    clip = load_clip(path, 1.0, 2.0, frames=5, short_side=64)
    assert (clip.start_s, clip.end_s) == (1.0, 2.0)
    assert clip.frames.shape == (5, 64, 86, 3)
    assert [read_frame_number(f) for f in clip.frames] == [33, 39, 45, 51, 57]
    whole = load_clip(path, None, None, frames=3, short_side=None)
    assert (whole.start_s, whole.end_s) == (0.0, 6.0)
    assert whole.frames.shape == (3, 96, 128, 3)
    assert whole.frame_indices.tolist() == [30, 90, 150]
    tail = load_clip(path, 5.0, 60.0, frames=2)  # the end is clamped to the video's end
    assert tail.end_s == 6.0


@pytest.mark.parametrize("start, end", [(7.0, 9.0), (-1.0, 2.0), (3.0, 3.0), (4.0, 2.0)])
def test_load_clip_range_outside_the_video(make_video, start, end):
    path = make_video("seg-count", seconds=6, fps=30, size=(128, 96))
    with pytest.raises(MediaError, match=r"lasts 6\.00 s") as info:
        load_clip(path, start, end, frames=4)
    assert info.value.path == str(path)
