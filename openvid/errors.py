"""The one small error hierarchy of openvid.

Every error a user can cause or meet carries a message that says what went wrong *and* what to do
next. Library exceptions (decord, PyAV, transformers, open_clip) are caught at the seam where they
happen and re-raised as one of these, so callers never have to know which backend failed.
"""

from __future__ import annotations

from pathlib import Path


class OpenvidError(Exception):
    """Base of every error openvid raises on purpose."""


class MediaError(OpenvidError):
    """A video or audio file could not be read: missing, empty, not a video, truncated."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class NoAudioError(MediaError):
    """The file is a readable video but has no audio track; audio consumers should skip it."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "has no audio track")


class ModelUnavailable(OpenvidError):
    """A checkpoint could not be loaded; the message names it and says how to get it."""

    def __init__(self, checkpoint: str, reason: str, hint: str | None = None) -> None:
        self.checkpoint = checkpoint
        self.reason = reason
        self.hint = hint
        message = f"checkpoint {checkpoint!r} is not available: {reason}"
        if hint:
            message += f"\n{hint}"
        super().__init__(message)


class UnknownChoice(OpenvidError, ValueError):
    """A name that is not one of the valid choices; the message lists them."""

    def __init__(self, kind: str, value: str, choices: list[str]) -> None:
        self.kind = kind
        self.value = value
        self.choices = sorted(choices)
        super().__init__(f"unknown {kind} {value!r}; valid choices: {', '.join(self.choices)}")


class TaxonomyError(OpenvidError):
    """A prompt set could not be read or changed as asked (unknown label, duplicate, bad import)."""


class IndexError_(OpenvidError):
    """An on-disk index is missing, inconsistent or built with another encoder."""


__all__ = [
    "OpenvidError",
    "MediaError",
    "NoAudioError",
    "ModelUnavailable",
    "UnknownChoice",
    "TaxonomyError",
    "IndexError_",
]
