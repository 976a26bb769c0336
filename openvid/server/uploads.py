"""Uploaded files: streamed to the home folder under the size limit, deleted when the request is done."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from fastapi import UploadFile
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openvid.errors import MediaError
from openvid.server.errors import TooLarge

CHUNK = 1024 * 1024
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".3gp"}


@contextlib.contextmanager
def received(upload: UploadFile, home: Path, limit: int) -> Iterator[Path]:
    """The upload as a file on disk (its suffix kept, so decoders can tell the container), removed after."""
    folder = Path(home) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.filename or "").suffix.lower()
    handle, name = tempfile.mkstemp(dir=folder, suffix=suffix if suffix in VIDEO_SUFFIXES else ".bin")
    path = Path(name)
    try:
        size = 0
        with os.fdopen(handle, "wb") as out:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the upload is larger than this server's limit of {megabytes(limit)}")
                out.write(chunk)
        try:
            yield path
        except MediaError as exc:  # name the file the user sent, not the temporary copy
            raise MediaError(upload.filename or "the upload", exc.reason) from exc
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def kept(upload: UploadFile, home: Path, limit: int, folder: str = "example-clips") -> Iterator[Path]:
    """The upload saved for good under `<home>/<folder>/`, named by its content (the same clip sent
    twice is one file): few-shot examples keep their clip so another encoder can re-embed it.
    Removed again when the body raises (nothing was stored)."""
    import hashlib
    import shutil

    with received(upload, home, limit) as path:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
        target = Path(home) / folder / f"{digest.hexdigest()[:32]}{path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        existed = target.exists()
        if not existed:
            shutil.copyfile(path, target)
        try:
            yield target
        except BaseException:
            if not existed:
                target.unlink(missing_ok=True)
            raise


def megabytes(size: int) -> str:
    """`size` in the MB of `--upload-limit-mb` (2**20 bytes)."""
    return f"{size / (1024 * 1024):g} MB"


class BodyLimit:
    """Refuses request bodies over `limit` + `margin` bytes (the upload limit, plus room for the form
    around an upload at the limit) with a JSON 413: before reading any of it when the Content-Length
    says so, else (a chunked body) as soon as the bytes read pass it.

    Starlette's own limit (FastAPI's `max_body_size`) answers in plain text, not {error, hint}.
    """

    def __init__(self, app: ASGIApp, limit: int, margin: int = 0) -> None:
        self.app, self.limit, self.most = app, limit, limit + margin

    def message(self) -> str:
        return f"the request is larger than this server's upload limit of {megabytes(self.limit)}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.most:
            response = JSONResponse({"error": self.message(), "hint": "send a smaller file"}, status_code=413,
                                    headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        total = 0

        async def limited() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.most:  # FastAPI passes an HTTPException from the body read on as it is
                    raise HTTPException(413, self.message())
            return message

        await self.app(scope, limited, send)
