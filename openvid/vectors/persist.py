"""Atomic, self-describing on-disk form of a `VectorIndex`.

A saved index is a folder holding ``vectors.json`` (the sidecar) and the data files it names::

    vectors.json                      what this is, and which files hold it (with size and CRC-32)
    vectors.<generation>.faiss        faiss.write_index of the CPU index
    vectors.<generation>.ids.npy      only for lossy index types: the original vectors' ids ...
    vectors.<generation>.vecs.npy     ... and the vectors themselves, for exact rebuilds

Every save writes a fresh *generation* of data files (temp name, flush, fsync, ``os.replace``,
fsync of the folder), then replaces ``vectors.json`` the same way; that rename is the single
commit point. Only after it are the previous generation's files deleted. A kill at any moment
therefore leaves the old sidecar with its complete old files, or the new sidecar with its complete
new files; never a mixed pair. Sizes and CRC-32s in the sidecar catch files damaged or swapped
afterwards (CRC-32 guards against accidents, not tampering; it reads at ~2 GB/s).
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import time
import zlib
from pathlib import Path

import faiss
import numpy as np

from openvid.errors import VideoIndexError
from openvid.vectors.kinds import kind_of

SIDECAR = "vectors.json"
FORMAT = "openvid-vectors"
FORMAT_VERSION = 1


def fix_hint(folder: Path) -> str:
    """What to do about a damaged index folder (the catalog in SQLite still holds every vector)."""
    return "run `openvid check --fix` to rebuild the vectors from the catalog (or re-index the videos)"

_DATA_FILE = re.compile(r"^vectors\.[0-9a-f]{16}\.(faiss|ids\.npy|vecs\.npy)$")
_TEMP_FILE = re.compile(r"^\.vectors\..*\.tmp$")


def new_generation() -> str:
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(4)}"


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_record(path: Path) -> dict:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
    return {"name": path.name, "bytes": path.stat().st_size, "crc32": f"{crc:08x}"}


def commit_file(folder: Path, final_name: str, write) -> dict:
    """Write via ``write(temp_path)``, fsync, rename to ``final_name``; return its file record."""
    temp = folder / f".{final_name}.tmp"
    try:
        write(temp)
        fsync_file(temp)
        record = file_record(temp)
        record["name"] = final_name
        os.replace(temp, folder / final_name)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return record


def commit_sidecar(folder: Path, meta: dict) -> None:
    """Replace ``vectors.json`` atomically (the commit point), then drop files it no longer names."""
    fsync_dir(folder)  # the data files' names are durable before the sidecar points at them
    temp = folder / f".{SIDECAR}.tmp"
    with open(temp, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, folder / SIDECAR)
    fsync_dir(folder)
    keep = {record["name"] for record in meta["files"].values()}
    for path in folder.iterdir():
        stale = _DATA_FILE.match(path.name) and path.name not in keep
        if stale or _TEMP_FILE.match(path.name):
            path.unlink(missing_ok=True)


def read_sidecar(folder: Path, *, verify: bool) -> dict:
    """The sidecar of ``folder``, checked against the files it names; VideoIndexError says what to do.

    A save by another process may replace the generation between reading the sidecar and checking
    its files; then the sidecar is read again (a few times) before anything counts as missing."""
    folder = Path(folder)
    for _ in range(3):
        try:
            return _read_sidecar(folder, verify=verify)
        except _Replaced:
            continue
    return _read_sidecar(folder, verify=verify, retry=False)


class _Replaced(Exception):
    pass


def _read_sidecar(folder: Path, *, verify: bool, retry: bool = True) -> dict:
    path = folder / SIDECAR
    if not path.is_file():
        if folder.is_dir() and any(_DATA_FILE.match(p.name) for p in folder.iterdir()):
            raise VideoIndexError(f"{folder}: vector files are present but {SIDECAR} is missing; run `openvid check "
                                  "--fix` to rebuild the vectors from the catalog (or re-index the videos)")
        raise VideoIndexError(f"{folder}: no vector index here ({SIDECAR} not found); build one with `openvid index`")
    try:
        raw = path.read_bytes()
        meta = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise VideoIndexError(f"{path}: unreadable ({exc}); {fix_hint(folder)}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise VideoIndexError(f"{path}: not an openvid vector index sidecar; {fix_hint(folder)}")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise VideoIndexError(
            f"{path}: format version {meta.get('format_version')} was written by a newer openvid "
            f"(this one reads up to {FORMAT_VERSION}); upgrade openvid"
        )
    if meta.get("metric") != "ip":
        raise VideoIndexError(f"{path}: metric {meta.get('metric')!r} is not inner product ('ip'); {fix_hint(folder)}")
    files = meta.get("files")
    if not isinstance(files, dict) or "index" not in files or not all(
        isinstance(r, dict) and _DATA_FILE.match(str(r.get("name", ""))) and {"bytes", "crc32"} <= r.keys()
        for r in files.values()
    ):
        raise VideoIndexError(f"{path}: its list of files is missing or malformed; {fix_hint(folder)}")
    for role, record in files.items():
        data = folder / record["name"]
        if not data.is_file():
            if retry and path.is_file() and path.read_bytes() != raw:
                raise _Replaced
            raise VideoIndexError(f"{folder}: {SIDECAR} names {record['name']} ({role}) but it is missing; {fix_hint(folder)}")
        size = data.stat().st_size
        if size != record["bytes"]:
            raise VideoIndexError(
                f"{data}: {size} bytes on disk but {SIDECAR} recorded {record['bytes']} (torn or replaced file); {fix_hint(folder)}"
            )
        if verify and file_record(data)["crc32"] != record["crc32"]:
            raise VideoIndexError(f"{data}: checksum differs from {SIDECAR} (corrupted or replaced file); {fix_hint(folder)}")
    return meta


def write_folder(folder: Path, index: faiss.Index, side: tuple[np.ndarray, np.ndarray] | None, meta: dict) -> dict:
    """Save ``index`` (and the exact side copy, if any) as a new generation; returns the file records."""
    folder.mkdir(parents=True, exist_ok=True)
    generation = new_generation()
    files = {"index": commit_file(folder, f"vectors.{generation}.faiss", lambda path: faiss.write_index(index, str(path)))}
    if side is not None:
        for role, suffix, array in (("side_ids", "ids", side[0]), ("side_vectors", "vecs", side[1])):
            files[role] = commit_file(folder, f"vectors.{generation}.{suffix}.npy", functools.partial(_save_npy, array=array))
    commit_sidecar(folder, {"format": FORMAT, "format_version": FORMAT_VERSION, "metric": "ip", **meta,
                            "files": files, "faiss_version": faiss.__version__})
    return files


def read_folder(folder: Path, *, mmap: bool, verify: bool) -> tuple[dict, faiss.Index, tuple | None]:
    """The sidecar, the FAISS index and the side copy (or None) of a saved folder, cross-checked.

    A save by another thread or process may commit a new generation (and delete the old files)
    while this reads: whatever fails then is retried on the new sidecar, a few times, so a reader
    never mistakes a concurrent save for damage."""
    for attempt in range(4):
        before = _sidecar_bytes(folder)
        try:
            return _read_folder(folder, mmap=mmap, verify=verify)
        except (OSError, RuntimeError, VideoIndexError):
            if attempt == 3 or _sidecar_bytes(folder) == before:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _sidecar_bytes(folder: Path) -> bytes | None:
    try:
        return (Path(folder) / SIDECAR).read_bytes()
    except OSError:
        return None


def _read_folder(folder: Path, *, mmap: bool, verify: bool) -> tuple[dict, faiss.Index, tuple | None]:
    meta = read_sidecar(folder, verify=verify)
    path = folder / meta["files"]["index"]["name"]
    absent = [key for key in ("dim", "ntotal", "kind", "spec", "built", "tombstones") if key not in meta]
    if absent or not isinstance(meta["spec"], dict):
        raise VideoIndexError(f"{folder / SIDECAR}: fields missing or malformed ({', '.join(absent) or 'spec'}); "
                              f"{fix_hint(folder)}")
    dim, ntotal, kind = meta["dim"], meta["ntotal"], meta["kind"]
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1][:160]
        raise VideoIndexError(f"{path}: FAISS cannot read it ({reason}); {fix_hint(folder)}") from None
    if index.d != dim or index.ntotal != ntotal or kind_of(index) != kind:
        raise VideoIndexError(f"{path}: holds {index.ntotal} {index.d}-d vectors ({kind_of(index)}) but {SIDECAR} says "
                              f"{ntotal} {dim}-d ({kind}); {fix_hint(folder)}")
    side = None
    if "side_ids" in meta["files"]:
        side = tuple(np.load(folder / meta["files"][role]["name"], mmap_mode="r" if mmap else None, allow_pickle=False)
                     for role in ("side_ids", "side_vectors"))
        if side[1].shape != (len(side[0]), dim):
            raise VideoIndexError(f"{folder}: side vectors have shape {side[1].shape}, expected ({len(side[0])}, {dim}); "
                                  f"{fix_hint(folder)}")
    return meta, index, side


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
