"""Which files a server may read, decided before anything is opened.

Readable are the files of indexed videos and, for classify and few-shot, other files under the
folders that hold indexed videos (an index's own folders, not their parents). Indexing jobs may
start only under the `--allow-root` folders. A requested path is refused (403) when, after
URL-decoding (repeatedly, so `%252e%252e` is caught too), it has a `..` part or a NUL, or when the
real path it leads to (symlinks followed by `os.path.realpath`, which opens nothing) is outside
every allowed folder; a refused path is never opened. A path inside that does not exist is a 404.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterable, Sequence
from urllib.parse import unquote

from openvid.errors import NotFound
from openvid.server.errors import Forbidden


def decoded(raw: str) -> str:
    """`raw` URL-decoded until it no longer changes (at most a few rounds)."""
    text = raw
    for _ in range(4):
        once = unquote(text)
        if once == text:
            break
        text = once
    return text


def _under(path: str, folders: Iterable[Path]) -> bool:
    return any(path == str(folder) or path.startswith(str(folder).rstrip(os.sep) + os.sep) for folder in folders)


def check_path(raw: str, folders: Sequence[Path], what: str = "file") -> Path:
    """The real path `raw` names, if it lies in one of `folders`; else Forbidden, without opening it.

    `raw` may be absolute or relative to one of the folders (the first where it exists).
    """
    text = decoded(raw)
    if not text or "\x00" in text:
        raise Forbidden(f"{what} path {raw!r} is not a path this server reads")
    parts = set(PurePosixPath(text).parts) | set(PureWindowsPath(text).parts)
    if ".." in parts:
        raise Forbidden(f"{what} path {raw!r} climbs out of its folder with '..'; give the path itself")
    real_folders = [Path(os.path.realpath(folder)) for folder in folders]
    candidates = [text] if os.path.isabs(text) else [os.path.join(folder, text) for folder in folders]
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if not _under(os.path.abspath(candidate), folders) and not _under(os.path.abspath(candidate), real_folders):
            continue  # lexically outside every folder
        if not _under(real, real_folders):
            raise Forbidden(f"{what} path {raw!r} leads outside the folders this server reads (a symlink out)")
        if os.path.isfile(real) or (what == "folder" and os.path.isdir(real)):
            return Path(real)
        if not os.path.isabs(text):
            continue
        raise NotFound(f"{what} {raw!r} does not exist")
    if os.path.isabs(text):
        raise Forbidden(f"{what} path {raw!r} is outside the folders this server reads")
    raise NotFound(f"{what} {raw!r} is not under any folder this server reads")


def indexed_folders(catalog) -> list[Path]:
    """The folders that hold an indexed video, in any index."""
    return [Path(folder) for folder in catalog.video_folders()]
