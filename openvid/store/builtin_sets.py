"""The label lists that ship with openvid (`openvid/data/<name>.txt`, one official class name a line).

Label names are what the encoder reads ("a video of {}."), so official names are turned into
words by one exact rule per list, and the official name is kept in the label's description:

- Kinetics-400/600: kept as they are ("passing American football (in game)"); no description.
- UCF101 (CamelCase): split before every capital that follows a lower-case letter or digit, and
  before the last capital of a run of capitals followed by a lower-case letter; then lower-case
  every word. Nothing else: no dictionary, no hyphens, no special cases. So
  `ApplyEyeMakeup` -> "apply eye makeup", `YoYo` -> "yo yo", `SkyDiving` -> "sky diving",
  `Skijet` -> "skijet", `TaiChi` -> "tai chi", `PlayingDaf` -> "playing daf",
  `BoxingPunchingBag` -> "boxing punching bag", `HandstandPushups` -> "handstand pushups"
  (and the video files' spelling `HandStandPushups` -> "hand stand pushups"),
  `PommelHorse` -> "pommel horse", `JumpingJack` -> "jumping jack".
- HMDB51 (snake_case): underscores become spaces (`brush_hair` -> "brush hair",
  `fall_floor` -> "fall floor"); letters are left as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from openvid.errors import TaxonomyError
from openvid.store.models import Label, Taxonomy

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

# name -> (how official names become label names, what the list is)
BUILTINS: dict[str, tuple[str, str]] = {
    "kinetics400": ("plain", "Kinetics-400 human action classes"),
    "kinetics600": ("plain", "Kinetics-600 human action classes"),
    "ucf101": ("camel", "UCF101 action classes"),
    "hmdb51": ("snake", "HMDB51 action classes"),
}

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def builtin_names() -> list[str]:
    return list(BUILTINS)


def label_words(official: str, style: str) -> str:
    """The label name for an official class name under a list's rule (see the module doc)."""
    if style == "camel":
        return " ".join(word.lower() for word in _CAMEL_BOUNDARY.split(official) if word)
    if style == "snake":
        return " ".join(word for word in official.split("_") if word)
    return official


def official_names(name: str) -> list[str]:
    """The official class names of built-in list `name`, in the file's order."""
    path = DATA_DIR / f"{name}.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TaxonomyError(f"the built-in label list {name!r} cannot be read from {path} ({exc.strerror}); "
                            "reinstall openvid") from exc
    return [line.strip() for line in lines if line.strip()]


def builtin_taxonomy(name: str) -> Taxonomy:
    """Built-in list `name` as a (not yet stored) taxonomy with the default templates."""
    style, what = BUILTINS[name]
    labels = []
    for official in official_names(name):
        words = label_words(official, style)
        labels.append(Label(name=words, description=None if words == official else official))
    return Taxonomy(
        name=name,
        description=f"{what} ({len(labels)} labels)",
        labels=labels,
    )
