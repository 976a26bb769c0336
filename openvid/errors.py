"""The one small error hierarchy of openvid.

Every error a user can cause or meet carries a message that says what went wrong *and* what to do
next. Library exceptions (decord, PyAV, transformers, open_clip) are caught at the seam where they
happen and re-raised as one of these, so callers never have to know which backend failed.

Errors stay typed to the edge: the library speaks in its own terms and never names a CLI flag.
Where the way out is "set this option", the message says so with `opt("model", "clip")`, which
reads `model='clip'` in `str(error)` (what an API caller sees) and `--model clip` in
`error.cli_message()` (what the command line prints). One spelling table, `CLI_FLAGS`, maps the
few option names whose flag differs from the parameter name.

    OpenvidError
    ├── UsageError        the call itself is wrong: conflicting or missing arguments, unknown names
    │   └── UnknownChoice a name outside the valid choices (the message lists them)
    ├── MediaError        a video or audio file could not be read
    │   └── NoAudioError
    ├── ModelUnavailable  a checkpoint could not be loaded
    ├── TaxonomyError     a prompt set could not be read or changed as asked
    └── VideoIndexError   an on-disk index is missing, inconsistent or built with another encoder
"""

from __future__ import annotations

import re
from pathlib import Path

# Parameter names whose command-line flag is spelled differently; every other `name` is `--name`
# (underscores become hyphens).
CLI_FLAGS: dict[str, str] = {
    "window_s": "--window",
    "stride_s": "--stride",
    "min_duration_s": "--min-duration",
    "head_weights": "--head-weight",
    "path_glob": "--path",
    "heads": "--head",
    "labels_file": "--head-labels",  # `--labels` is the label names of an ad-hoc classify
    "checkpoint": "--head-checkpoint",  # a head's own weights, NAME=PATH (`HeadChoice(name, checkpoint=...)`)
    "k": "--top-k",
}

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_OPTION = re.compile(r"\{opt:(?P<name>[a-z_]+)(?:=(?P<value>[^{}]*))?\}")


def opt(name: str, value: object = None) -> str:
    """A reference to option `name` (optionally with the value to give it) inside an error message."""
    return "{opt:" + name + ("" if value is None else f"={value}") + "}"


def cli_flag(name: str) -> str:
    return CLI_FLAGS.get(name, "--" + name.replace("_", "-"))


def render(template: str, style: str = "api") -> str:
    """`{opt:name=value}` as `name='value'` (api; numbers and True unquoted) or `--flag value` (cli)."""

    def one(match: re.Match) -> str:
        name, value = match.group("name"), match.group("value")
        if value == "True":  # a switch: `cascade=True` in Python, `--cascade` on the command line
            return cli_flag(name) if style == "cli" else f"{name}=True"
        if style == "cli":
            return cli_flag(name) + ("" if value is None else f" {value}")
        if value is None:
            return name
        return f"{name}={value}" if _NUMBER.fullmatch(value) else f"{name}={value!r}"

    return _OPTION.sub(one, template)


class OpenvidError(Exception):
    """Base of every error openvid raises on purpose."""

    def __init__(self, message: str = "") -> None:
        self.template = str(message)
        super().__init__(render(self.template, "api"))

    def cli_message(self) -> str:
        """The message with option references spelled as command-line flags."""
        return render(self.template, "cli")


class UsageError(OpenvidError, ValueError):
    """The call is wrong as given (conflicting or missing arguments): fix the call, not the data."""


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


class UnknownChoice(UsageError):
    """A name that is not one of the valid choices; the message lists them."""

    def __init__(self, kind: str, value: str, choices: list[str]) -> None:
        self.kind = kind
        self.value = value
        self.choices = sorted(choices)
        super().__init__(f"unknown {kind} {value!r}; valid choices: {', '.join(self.choices)}")


class NotFound(OpenvidError):
    """Mixin: the named thing (taxonomy, label, index, video, segment) does not exist (HTTP 404)."""


class Conflict(OpenvidError):
    """Mixin: the request collides with what exists (a name taken, a job already running; HTTP 409)."""


class TaxonomyError(OpenvidError):
    """A prompt set could not be read or changed as asked (unknown label, duplicate, bad import)."""


class UnknownTaxonomy(TaxonomyError, NotFound):
    """No taxonomy of that name; the message names close matches or says how to create one."""


class UnknownLabel(TaxonomyError, NotFound):
    """The taxonomy has no label of that name; the message names close matches."""


class TaxonomyExists(TaxonomyError, Conflict):
    """A taxonomy of that name exists already."""


class VideoIndexError(OpenvidError):
    """An on-disk index is missing, inconsistent or built with another encoder."""


class UnknownIndex(VideoIndexError, NotFound):
    """No index of that name; the message names close matches or says how to build one."""


class IndexExists(VideoIndexError, Conflict):
    """An index of that name exists already."""


class IndexModelMismatch(VideoIndexError, UsageError):
    """The model chosen for a call is not the one the index was built with.

    `needs` is the model the index records (a registered name or a checkpoint path), so a caller can
    retry with it or pick another index.
    """

    def __init__(self, index: str, built_with: str, needs: str, chosen: str) -> None:
        self.index = index
        self.built_with = built_with
        self.needs = needs
        self.chosen = chosen
        super().__init__(
            f"index {index!r} was built with {built_with} but this call uses {chosen}; use "
            f"{opt('model', needs)} (the index's model) or another {opt('index')}")


IndexError_ = VideoIndexError
"""The former name of `VideoIndexError` (it shadowed the builtin `IndexError`); kept as an alias."""


__all__ = [
    "CLI_FLAGS",
    "Conflict",
    "IndexError_",
    "IndexExists",
    "IndexModelMismatch",
    "MediaError",
    "ModelUnavailable",
    "NoAudioError",
    "NotFound",
    "OpenvidError",
    "TaxonomyError",
    "TaxonomyExists",
    "UnknownChoice",
    "UnknownIndex",
    "UnknownLabel",
    "UnknownTaxonomy",
    "UsageError",
    "VideoIndexError",
    "cli_flag",
    "opt",
    "render",
]
