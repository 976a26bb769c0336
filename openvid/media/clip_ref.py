"""Clip references: how a user names a time range of a file, and whether the range fits the video.

    clip.mp4              the whole video
    clip.mp4@12-20        from 12 s to 20 s          clip.mp4@12-      from 12 s to the end
    clip.mp4@1:05-1:30.5  m:ss (and h:mm:ss)         clip.mp4@-8       from the start to 8 s

Times are seconds (`12`, `12.5`), `m:ss` or `h:mm:ss` (minutes and seconds below 60 after the
first field). A file whose name itself contains `@` is taken as a file when it exists. Anything else
after the last `@` of an existing file is an error that says what is wrong (`FILE@5` is one time,
not a range; `@abc` is not a time; `@5-3` ends before it starts), never "no such file".

Against the video (`check_range`): a range must lie inside it. One that ends past the end by
more than `END_SLACK_S` is refused with the range that would fit (`@8-10`, or `@8-` for "to the
end"), rather than silently cut: an example or a query clip that is not what the user asked for
changes results without a word. Within the slack (a `1:00` end on a 59.97 s video), the end is
the video's end.
"""

from __future__ import annotations

import os
import re
from typing import Callable

from openvid.errors import MediaError, UsageError

END_SLACK_S = 0.5  # an end this far past the video's end is rounding, not a mistake: it means the end
_TIME = re.compile(r"^(?:(?:(?P<h>\d+):)?(?P<m>\d+):)?(?P<s>\d+(?:\.\d*)?|\.\d+)$")
_RANGE_LIKE = re.compile(r"^[\d.:\s-]*$")
_FORMS = "write START-END in seconds (12.5), m:ss (1:05) or h:mm:ss (1:02:03), e.g. clip.mp4@1:05-1:20"


def parse_time(text: str) -> float:
    """`12`, `12.5`, `1:05`, `1:02:03.5` → seconds; anything else is a UsageError saying the forms."""
    match = _TIME.match(text.strip())
    if not match:
        raise UsageError(f"{text.strip()!r} is not a time: {_FORMS}")
    hours, minutes, seconds = (float(match.group(g) or 0) for g in ("h", "m", "s"))
    if match.group("m") is not None and seconds >= 60:
        raise UsageError(f"{text.strip()!r} has {seconds:g} seconds after its minutes; seconds go up to 59.999")
    if match.group("h") is not None and minutes >= 60:
        raise UsageError(f"{text.strip()!r} has {minutes:g} minutes after its hours; minutes go up to 59")
    return hours * 3600 + minutes * 60 + seconds


def parse_range(text: str) -> tuple[float | None, float | None]:
    """`12-20`, `12-`, `-20`, `1:05-1:30` → (start, end); an open side is None."""
    start_text, dash, end_text = text.partition("-")
    if not dash:
        parse_time(text)  # not even a time: say so
        raise UsageError(f"@{text} is one time, not a range: {_FORMS}, or START- for the rest of the video")
    if "-" in end_text:
        raise UsageError(f"@{text} has more than one '-': {_FORMS} (times are never negative)")
    start = parse_time(start_text) if start_text.strip() else None
    end = parse_time(end_text) if end_text.strip() else None
    if start is None and end is None:
        raise UsageError(f"@{text} names no time: {_FORMS}")
    if start is not None and end is not None and end <= start:
        raise UsageError(f"the range @{text} ends at {end:g} s, not after its start at {start:g} s; "
                         "write the earlier time first")
    return start, end


def parse_clip_ref(ref: str, exists: Callable[[str], bool] = os.path.exists) -> tuple[str, float | None, float | None]:
    """`clip.mp4`, `clip.mp4@12-20`, `clip.mp4@1:05-`, ... → (path, start, end); see the module docstring."""
    if exists(ref) or "@" not in ref:
        return ref, None, None
    path, _, spec = ref.rpartition("@")
    if not path:
        return ref, None, None
    if not exists(path) and not _RANGE_LIKE.match(spec):
        return ref, None, None  # not a range at all: a file with '@' in its name (opening it says if it is missing)
    start, end = parse_range(spec)
    return path, start, end


def check_range(path: str, start: float | None, end: float | None, duration: float) -> tuple[float, float]:
    """The range `start`-`end` (None: the video's start / end) as seconds inside a video of `duration`.

    Refuses a range that starts at or after the end, or ends more than END_SLACK_S past it, saying
    which range would fit.
    """
    first = 0.0 if start is None else float(start)
    last = duration if end is None else float(end)
    shown = describe_range(start, end)
    if first >= duration:
        raise MediaError(path, f"the range {shown} starts at {first:g} s, outside the video, which lasts "
                               f"{duration:.2f} s; pick a start before {duration:.2f} s")
    if last > duration + END_SLACK_S:
        raise MediaError(path, f"the range {shown} ends at {last:g} s, after the end of the video, which lasts "
                               f"{duration:.2f} s; use @{first:g}-{duration:.2f} (or @{first:g}- for the rest of it)")
    last = min(last, duration)
    if last <= first:
        raise MediaError(path, f"the range {shown} is empty in a video of {duration:.2f} s")
    return first, last


def describe_range(start: float | None, end: float | None) -> str:
    """`@12-20`, `@12-`, `@-20` (what a user would type after the file name)."""
    return f"@{'' if start is None else f'{start:g}'}-{'' if end is None else f'{end:g}'}"


def describe(path: str, start: float | None, end: float | None) -> str:
    """The reference again, as a user would type it (the inverse of `parse_clip_ref`)."""
    if start is None and end is None:
        return path
    return f"{path}{describe_range(start, end)}"


__all__ = ["END_SLACK_S", "check_range", "describe", "describe_range", "parse_clip_ref", "parse_range", "parse_time"]
