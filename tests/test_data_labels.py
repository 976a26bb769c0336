"""The built-in label lists under openvid/data: counts, format and known entries.

Provenance for every file is in openvid/data/SOURCES.md.
"""

from importlib.resources import files

import pytest

COUNTS = {
    "kinetics400.txt": 400,
    "kinetics600.txt": 600,
    "ucf101.txt": 101,
    "hmdb51.txt": 51,
    "audioset.txt": 527,
}

# (file, index, expected name): a few fixed points in each list's class-index order.
KNOWN = [
    ("kinetics400.txt", 0, "abseiling"),
    ("kinetics400.txt", 1, "air drumming"),
    ("kinetics400.txt", 399, "zumba"),
    ("kinetics600.txt", 0, "abseiling"),
    ("kinetics600.txt", 1, "acting in play"),
    ("kinetics600.txt", 2, "adjusting glasses"),
    ("kinetics600.txt", 308, "passing American football (in game)"),
    ("kinetics600.txt", 309, "passing american football (not in game)"),
    ("kinetics600.txt", 599, "zumba"),
    ("ucf101.txt", 0, "ApplyEyeMakeup"),
    ("ucf101.txt", 1, "ApplyLipstick"),
    ("ucf101.txt", 2, "Archery"),
    ("ucf101.txt", 36, "HandstandPushups"),
    ("ucf101.txt", 100, "YoYo"),
    ("hmdb51.txt", 0, "brush_hair"),
    ("hmdb51.txt", 1, "cartwheel"),
    ("hmdb51.txt", 20, "kick"),
    ("hmdb51.txt", 21, "kick_ball"),
    ("hmdb51.txt", 44, "sword"),
    ("hmdb51.txt", 45, "sword_exercise"),
    ("hmdb51.txt", 50, "wave"),
    ("audioset.txt", 0, "Speech"),
    ("audioset.txt", 1, "Male speech, man speaking"),
    ("audioset.txt", 137, "Music"),
    ("audioset.txt", 131, "Bee, wasp, etc."),
    ("audioset.txt", 526, "Field recording"),
]


def _raw(name: str) -> str:
    return (files("openvid") / "data" / name).read_text(encoding="utf-8")


def _lines(name: str) -> list[str]:
    return _raw(name).split("\n")[:-1]


@pytest.mark.parametrize("name,count", sorted(COUNTS.items()))
def test_count(name, count):
    assert len(_lines(name)) == count


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_format(name):
    raw = _raw(name)
    assert raw.endswith("\n") and not raw.endswith("\n\n"), "exactly one final newline"
    assert "\r" not in raw
    assert not raw.startswith("\ufeff")
    lines = _lines(name)
    assert all(line for line in lines), "blank line"
    assert all(line == line.strip() for line in lines), "untrimmed line"


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_no_duplicates(name):
    lines = _lines(name)
    assert len(set(lines)) == len(lines)


@pytest.mark.parametrize("name,index,expected", KNOWN)
def test_known_entries(name, index, expected):
    assert _lines(name)[index] == expected


def test_kinetics400_matches_torchvision():
    from torchvision.models._meta import _KINETICS400_CATEGORIES

    assert _lines("kinetics400.txt") == list(_KINETICS400_CATEGORIES)


def test_kinetics600_contains_most_of_kinetics400():
    k600 = set(_lines("kinetics600.txt"))
    shared = [c for c in _lines("kinetics400.txt") if c in k600]
    assert len(shared) == 368  # the rest were renamed or dropped in Kinetics-600


@pytest.mark.parametrize("name", ["kinetics400.txt", "kinetics600.txt", "hmdb51.txt"])
def test_sorted_order(name):
    lines = _lines(name)
    assert lines == sorted(lines)


def test_ucf101_case_insensitive_alphabetical():
    lines = _lines("ucf101.txt")
    assert lines == sorted(lines, key=str.lower)
