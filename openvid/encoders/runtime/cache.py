"""Where exported towers live, and how a file gets there whole: one folder per checkpoint and runtime.

`<home>/exports/<identity hash>/<runtime key>/<tower>.<ext>` with `<tower>.json` beside it. The
identity hash is of `Encoder.identity` (it changes whenever the weights do, so a changed checkpoint
never finds an old export); the runtime key names the runtime and every version the file depends
on (exporter, opset, torch, the wrappers' own version; OpenVINO and nncf for their files), so an
upgrade exports again instead of reading a file another version wrote.

A file counts only with its sidecar, and the sidecar holds the file's SHA-256 and size: a file cut
short or overwritten (a crash, a full disk, a bad copy) does not match and is exported again. Two
processes exporting the same tower take turns on a lock file (`fcntl.flock`; where there is none,
each writes its own temporary file and the last rename wins, which still leaves one whole file);
the second finds the first one's file and uses it. Files are written to a temporary name in the
same folder and renamed into place (atomic on POSIX and Windows), the sidecar last.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

EXPORTS_FOLDER = "exports"


def identity_hash(identity: str) -> str:
    """A short, path-safe name for an encoder identity (identities hold '/' and ':')."""
    return hashlib.sha256(identity.encode()).hexdigest()[:20]


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ExportSlot:
    """One tower's place in the cache: its files (the model, and OpenVINO's weights beside it) and sidecar."""

    folder: Path
    tower: str  # "image", "video", "text"
    suffix: str  # ".onnx" or ".xml"

    @property
    def path(self) -> Path:
        return self.folder / f"{self.tower}{self.suffix}"

    @property
    def files(self) -> list[Path]:
        """Every file the model is made of (OpenVINO IR: .xml and .bin)."""
        return [self.path, self.path.with_suffix(".bin")] if self.suffix == ".xml" else [self.path]

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.tower}.json"

    def read_meta(self, identity: str) -> dict[str, Any] | None:
        """The sidecar when it and the files it describes are whole and for `identity`, else None."""
        try:
            meta = json.loads(self.meta_path.read_text())
            if meta.get("identity") != identity:
                return None
            for file in self.files:
                recorded = meta["files"][file.name]
                if file.stat().st_size != recorded["size"] or file_digest(file) != recorded["sha256"]:
                    return None
            return meta
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write_meta(self, identity: str, **fields: Any) -> dict[str, Any]:
        """Record the finished files (size and digest) and what the export measured; written last."""
        meta = {"identity": identity, **fields,
                "files": {f.name: {"size": f.stat().st_size, "sha256": file_digest(f)} for f in self.files}}
        atomic_write_bytes(self.meta_path, json.dumps(meta, indent=1).encode())
        return meta

    def discard(self) -> None:
        """Remove the sidecar first (so no reader trusts the files), then the files."""
        for file in (self.meta_path, *self.files):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Held while this tower is exported: a second process waits, then finds the file made."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: temporary files and rename still leave one whole file
            yield
            return
        with open(self.folder / f"{self.tower}.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def slot(home: Path, identity: str, runtime_key: str, tower: str, suffix: str) -> ExportSlot:
    return ExportSlot(Path(home) / EXPORTS_FOLDER / identity_hash(identity) / runtime_key, tower, suffix)


def temporary_path(target: Path) -> Path:
    """A fresh name in `target`'s folder (same file system, so the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(handle)
    return Path(name)


def commit(temporary: Path, target: Path) -> None:
    """fsync the temporary file and rename it over `target`."""
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep the exports from other users of a shared home
    os.replace(temporary, target)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    temporary = temporary_path(target)
    try:
        temporary.write_bytes(data)
        commit(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
