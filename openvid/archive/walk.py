"""Which files a command means: named files as given, folders walked for video files by suffix.

`openvid index` and `openvid classify` walk folders the same way, through this module; it
imports nothing heavy, so classify does not load the archive (FAISS, the catalog) to use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from openvid.errors import UsageError

VIDEO_SUFFIXES = frozenset(
    ".mp4 .m4v .mov .mkv .webm .avi .mpg .mpeg .ts .mts .m2ts .wmv .flv .3gp .ogv".split()
)


def find_videos(paths: Iterable[str | Path], *, resolve: bool = True) -> list[Path]:
    """Files named directly, plus every video file (by suffix) under the folders named, sorted.

    `resolve`: absolute paths (what the index stores); else as found under the names given.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES))
        else:
            found.append(path)
    return list(dict.fromkeys(p.resolve() if resolve and p.exists() else p for p in found))


def videos_under(paths: Sequence[str | Path], *, resolve: bool = True) -> list[Path]:
    """`find_videos`, refusing a call that names no video at all (an empty folder, a typo in a name).

    Files named directly are kept whatever their suffix, so a missing or unreadable one is
    reported as a failure of its own; only folders that hold no video end up here.
    """
    found = find_videos(paths, resolve=resolve)
    if not found:
        named = ", ".join(str(p) for p in paths) or "(nothing)"
        raise UsageError(f"no videos found under {named}: a folder is searched recursively for files ending in "
                         f"{', '.join(sorted(VIDEO_SUFFIXES))}; name the videos or a folder that holds some")
    return found


def expand_folders(paths: Sequence[str | Path]) -> list[str]:
    """Files exactly as given (repeats kept), each folder replaced by the videos under it, walked as
    `openvid index` walks it (`find_videos`); a folder that holds no video raises `UsageError`."""
    found: list[str] = []
    for path in paths:
        if Path(path).expanduser().is_dir():
            found.extend(str(p) for p in videos_under([path], resolve=False))
        else:
            found.append(str(path))
    return found


__all__ = ["VIDEO_SUFFIXES", "expand_folders", "find_videos", "videos_under"]
