"""Clip references: how a user names a time range of a file (`clip.mp4`, `clip.mp4@12-20`, `clip.mp4@12-`)."""

from __future__ import annotations

import re

_RANGE = re.compile(r"^(?P<path>.+?)@(?P<start>\d+(?:\.\d+)?)?-(?P<end>\d+(?:\.\d+)?)?$")


def parse_clip_ref(ref: str) -> tuple[str, float | None, float | None]:
    """`clip.mp4`, `clip.mp4@12-20`, `clip.mp4@12-` → (path, start, end)."""
    match = _RANGE.match(ref)
    if not match:
        return ref, None, None
    start, end = match.group("start"), match.group("end")
    return match.group("path"), float(start) if start else None, float(end) if end else None


def describe(path: str, start: float | None, end: float | None) -> str:
    """The reference again, as a user would type it (the inverse of `parse_clip_ref`)."""
    if start is None and end is None:
        return path
    return f"{path}@{'' if start is None else f'{start:g}'}-{'' if end is None else f'{end:g}'}"


__all__ = ["describe", "parse_clip_ref"]
