"""Clip references (`FILE@START-END`): seconds, m:ss and h:mm:ss, exact messages for what is wrong,
a file name with '@' in it, and ranges that do not fit the video refused with the range that would."""

from __future__ import annotations

import shutil

import pytest

from openvid.engine import Engine
from openvid.errors import MediaError, UsageError
from openvid.media.clip_ref import check_range, parse_clip_ref, parse_time


def _exists(*paths):
    return lambda p: p in paths


@pytest.mark.parametrize("text, seconds", [
    ("12", 12.0), ("12.5", 12.5), (".5", 0.5), ("1:05", 65.0), ("1:00", 60.0), ("0:59.5", 59.5),
    ("1:02:03", 3723.0), ("10:00:00.25", 36000.25),
])
def test_times_in_seconds_and_clock_forms(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("ref, expected", [
    ("clip.mp4@12-20", ("clip.mp4", 12.0, 20.0)),
    ("clip.mp4@12-", ("clip.mp4", 12.0, None)),
    ("clip.mp4@-20", ("clip.mp4", None, 20.0)),
    ("clip.mp4@1:00-1:10", ("clip.mp4", 60.0, 70.0)),
    ("clip.mp4@0:01:00-0:01:10.5", ("clip.mp4", 60.0, 70.5)),
    ("clip.mp4", ("clip.mp4", None, None)),
])
def test_ranges(ref, expected):
    assert parse_clip_ref(ref, _exists("clip.mp4")) == expected


@pytest.mark.parametrize("ref, says", [
    ("clip.mp4@5", "@5 is one time, not a range"),
    ("clip.mp4@abc", "'abc' is not a time"),
    ("clip.mp4@5-3", "ends at 3 s, not after its start at 5 s"),
    ("clip.mp4@1:75-2:00", "seconds go up to 59.999"),
    ("clip.mp4@5-6-7", "more than one '-'"),
    ("clip.mp4@-", "names no time"),
])
def test_what_is_wrong_is_said_exactly(ref, says):
    with pytest.raises(UsageError) as caught:
        parse_clip_ref(ref, _exists("clip.mp4"))
    assert says in str(caught.value)
    assert "no such file" not in str(caught.value)


def test_a_file_name_with_an_at_sign_is_a_file_when_it_exists():
    assert parse_clip_ref("me@home.mp4", _exists("me@home.mp4")) == ("me@home.mp4", None, None)
    assert parse_clip_ref("me@home.mp4@2-3", _exists("me@home.mp4")) == ("me@home.mp4", 2.0, 3.0)
    # neither the whole nor the part before '@' exists, and what follows is no range: a (missing) file
    assert parse_clip_ref("me@home.mp4", _exists()) == ("me@home.mp4", None, None)


def test_ranges_against_the_video():
    assert check_range("v.mp4", 8, None, 10.0) == (8.0, 10.0)
    assert check_range("v.mp4", None, 10.3, 10.0) == (0.0, 10.0)  # within the slack: the video's end
    with pytest.raises(MediaError, match=r"ends at 12 s, after the end of the video, which lasts 10.00 s; "
                                         r"use @8-10.00 \(or @8- for the rest of it\)"):
        check_range("v.mp4", 8, 12, 10.0)
    with pytest.raises(MediaError, match="starts at 60 s, outside the video, which lasts 10.00 s"):
        check_range("v.mp4", 60, 70, 10.0)


def test_examples_with_a_partial_range_store_nothing_and_a_fitting_one_works(tiny_model_dirs, make_video, tmp_path):
    video = make_video("ten-seconds", seconds=10, fps=10)
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path / "home", window_s=2.0)
    engine.taxonomies.create("acts")
    engine.taxonomies.add_label("acts", "waving")
    with pytest.raises(MediaError, match="use @8-10.00"):
        engine.add_examples("acts", "waving", [f"{video}@8-12"])
    with pytest.raises(UsageError, match="is one time, not a range"):
        engine.add_examples("acts", "waving", [f"{video}@5"])
    assert engine.examples.list("acts") == []
    named = tmp_path / "me@home.mp4"
    shutil.copy(video, named)
    added = engine.add_examples("acts", "waving", [f"{video}@8-", f"{video}@0:01-0:03", str(named)])
    assert [(r.start_s, r.end_s) for r in added] == [(8.0, None), (1.0, 3.0), (None, None)]
