"""run_batched: shared batches across files, every file reported once, bad files skipped."""

from __future__ import annotations

import numpy as np
import pytest

from openvid.errors import MediaError
from openvid.media import Clip
from openvid.media.batches import run_batched


def _clip(path: str, index: int) -> Clip:
    frames = np.full((2, 4, 4, 3), index, np.uint8)
    return Clip(path=path, index=index, start_s=float(index), end_s=index + 1.0, frames=frames,
                frame_indices=np.array([0, 1]))


def _source(counts: dict[str, int], fail_after: dict[str, int] | None = None):
    fail_after = fail_after or {}

    def source(path: str):
        for i in range(counts[path]):
            if path in fail_after and i == fail_after[path]:
                raise MediaError(path, "truncated in the middle")
            yield _clip(path, i)

    return source


@pytest.mark.parametrize("batch_size", [1, 3, 4, 100])
def test_every_clip_computed_once_in_shared_batches(batch_size):
    counts = {"a.mp4": 5, "b.mp4": 1, "c.mp4": 7}
    batches, done = [], {}

    def compute(clips):
        batches.append(len(clips))
        return [(c.path, c.index) for c in clips]

    times = run_batched(list(counts), _source(counts), compute,
                        on_done=lambda i, p, clips, rows: done.__setitem__(p, (i, rows, clips)),
                        on_failed=lambda *a: pytest.fail(f"unexpected failure {a}"), batch_size=batch_size)
    assert sum(batches) == 13 == times.clips
    assert max(batches) <= batch_size
    if batch_size == 4:
        assert batches == [4, 4, 4, 1]  # files share batches instead of one batch per file
    for path, n in counts.items():
        index, rows, clips = done[path]
        assert index == list(counts).index(path)
        assert rows == [(path, i) for i in range(n)]
        assert [c.start_s for c in clips] == list(range(n))
        assert all(c.frames.size == 0 for c in clips)  # pixels dropped once computed


def test_a_file_failing_midway_is_reported_and_its_rows_dropped():
    counts = {"a.mp4": 3, "bad.mp4": 6, "c.mp4": 2}
    done, failed = {}, []
    run_batched(list(counts), _source(counts, fail_after={"bad.mp4": 4}),
                lambda clips: [c.index for c in clips],
                on_done=lambda i, p, clips, rows: done.__setitem__(p, rows),
                on_failed=lambda i, p, e: failed.append((i, p, str(e))), batch_size=2)
    assert done == {"a.mp4": [0, 1, 2], "c.mp4": [0, 1]}
    assert failed == [(1, "bad.mp4", "bad.mp4: truncated in the middle")]


def test_a_bug_in_decoding_is_raised_not_swallowed():
    def source(path):
        raise ZeroDivisionError("bug")
        yield  # pragma: no cover

    with pytest.raises(ZeroDivisionError):
        run_batched(["a.mp4"], source, lambda clips: clips, lambda *a: None, lambda *a: None)


def test_a_bug_in_compute_stops_the_worker_and_raises():
    counts = {f"{i}.mp4": 50 for i in range(20)}
    with pytest.raises(RuntimeError, match="model broke"):
        run_batched(list(counts), _source(counts), lambda clips: (_ for _ in ()).throw(RuntimeError("model broke")),
                    lambda *a: None, lambda *a: None, batch_size=4, prefetch=1)
