"""Memory of a run does not depend on video length: computed clips let go of their pixels.

`scripts/bench_memory.py` measures the process (peak RSS against length, docs/benchmarks.md);
these tests pin the mechanisms it relies on: a dropped clip references no pixel buffer, and
`run_batched` holds a bounded number of decoded clips however long the video.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np

from openvid.media import Clip, iter_clips
from openvid.media.batches import run_batched


def _clip(index: int, size: int = 32) -> Clip:
    frames = np.full((8, size, size, 3), index % 256, np.uint8)
    views = {4: frames[::2].copy(), (2, 1.0): frames[3:5].copy()}
    return Clip("long.mp4", index, float(index), index + 1.0, frames, np.arange(8), views=views,
                audio={16000: np.zeros(16000, np.float32)})


def test_a_dropped_clip_holds_none_of_its_pixels():
    clip = _clip(0)
    buffers = [weakref.ref(clip.frames), *(weakref.ref(v) for v in clip.views.values()),
               weakref.ref(clip.audio[16000])]
    clip.drop_pixels()
    gc.collect()
    assert [ref() is None for ref in buffers] == [True] * len(buffers), "a dropped clip keeps a pixel buffer alive"
    assert clip.frames.shape == (0, 32, 32, 3) and clip.frames.dtype == np.uint8
    assert clip.frames.base is None and not clip.views and clip.audio is None
    assert (clip.start_s, clip.end_s) == (0.0, 1.0)  # the times stay


def test_a_dropped_decoded_clip_shares_no_memory_with_the_decode(make_video):
    path = make_video("memory-decoded", seconds=3, fps=10)
    clips = list(iter_clips(path, window_s=1.0, stride_s=1.0, frames_per_window=4, short_side=32, backend="pyav"))
    decoded = [weakref.ref(c.frames if c.frames.base is None else c.frames.base) for c in clips]
    kept = clips[0].frames.copy()
    for clip in clips:
        clip.drop_pixels()
    gc.collect()
    assert all(ref() is None for ref in decoded)
    assert not any(np.shares_memory(c.frames, kept) for c in clips)


def test_run_batched_holds_a_bounded_number_of_clips_whatever_the_length():
    """A 'video' of 600 windows: at no time are more than about two batches of pixels alive, and
    the clips handed to `on_done` (all 600, for their times) hold none."""
    batch_size, windows = 4, 600
    alive: list[weakref.ref] = []
    most = [0]

    def source(path: str):
        for i in range(windows):
            clip = _clip(i)
            alive.append(weakref.ref(clip.frames))
            yield clip

    def compute(clips):
        gc.collect()
        most[0] = max(most[0], sum(ref() is not None for ref in alive))
        return [c.index for c in clips]

    done = {}
    run_batched(["long.mp4"], source, compute, lambda i, p, clips, rows: done.update(clips=clips, rows=rows),
                lambda *a: None, batch_size=batch_size)
    gc.collect()
    assert done["rows"] == list(range(windows))
    assert sum(ref() is not None for ref in alive) == 0, "finished clips still hold their pixels"
    # the batch being computed, one batch decoded ahead, and the clip the decoder holds
    assert most[0] <= 2 * batch_size + 2, f"{most[0]} clips' pixels alive at once"
