"""Built-in label lists: the name rule, the shipped files, install on first use, copy to edit."""

from __future__ import annotations

import pytest

from openvid.errors import TaxonomyError
from openvid.store import TaxonomyStore, builtin_sets
from openvid.store.builtin_sets import label_words, official_names


@pytest.mark.parametrize("official,words", [
    ("ApplyEyeMakeup", "apply eye makeup"),
    ("YoYo", "yo yo"),
    ("PlayingDaf", "playing daf"),
    ("BoxingPunchingBag", "boxing punching bag"),
    ("SkyDiving", "sky diving"),
    ("Skijet", "skijet"),
    ("TaiChi", "tai chi"),
    ("JumpingJack", "jumping jack"),
    ("HandstandPushups", "handstand pushups"),
    ("HandStandPushups", "hand stand pushups"),  # the spelling of UCF101's video file names
    ("PommelHorse", "pommel horse"),
    ("PullUps", "pull ups"),
    ("CleanAndJerk", "clean and jerk"),
    ("Punch", "punch"),
    ("HTMLParser", "html parser"),  # a run of capitals stays one word
    ("Rs2Go", "rs2 go"),
])
def test_camel_case_rule(official, words):
    assert label_words(official, "camel") == words


@pytest.mark.parametrize("official,words", [
    ("brush_hair", "brush hair"), ("fall_floor", "fall floor"), ("cartwheel", "cartwheel"),
    ("sword_exercise", "sword exercise"),
])
def test_snake_case_rule(official, words):
    assert label_words(official, "snake") == words


@pytest.mark.parametrize("name,count", [("kinetics400", 400), ("kinetics600", 600), ("ucf101", 101), ("hmdb51", 51)])
def test_shipped_lists(name, count):
    taxonomy = builtin_sets.builtin_taxonomy(name)
    officials = official_names(name)
    assert len(taxonomy.labels) == len(officials) == count
    assert len({l.name.casefold() for l in taxonomy.labels}) == count
    for label, official in zip(taxonomy.labels, officials):
        assert label.name == label_words(official, builtin_sets.BUILTINS[name][0])
        assert (label.description or label.name) == official
        assert label.name == label.name.strip() and "  " not in label.name and "_" not in label.name


def test_ucf101_tricky_names_from_the_file():
    by_official = {l.description: l.name for l in builtin_sets.builtin_taxonomy("ucf101").labels}
    assert by_official["YoYo"] == "yo yo"
    assert by_official["SkyDiving"] == "sky diving"
    assert by_official["Skijet"] == "skijet"
    assert by_official["HandstandPushups"] == "handstand pushups"
    assert by_official["ApplyEyeMakeup"] == "apply eye makeup"
    kinetics = builtin_sets.builtin_taxonomy("kinetics400")
    assert kinetics.labels[0].name == "abseiling" and kinetics.labels[0].description is None
    assert "passing American football (in game)" in [l.name for l in kinetics.labels]


def test_get_and_copy_install_built_ins_which_stay_as_shipped(tmp_path):
    store = TaxonomyStore(tmp_path)
    assert store.builtin_names() == ["kinetics400", "kinetics600", "ucf101", "hmdb51"]
    assert store.list() == []
    mine = store.copy("ucf101", "mine")
    assert len(mine.labels) == 101 and mine.version == 1
    assert [s.name for s in store.list()] == ["mine", "ucf101"]
    [installed] = store.history("ucf101")
    assert (installed.action, installed.detail) == ("install", {"builtin": "ucf101"})
    assert store.history("mine")[0].detail == {"source": "ucf101", "source_version": 1}
    edited = store.add_label("mine", "yo yo tricks", parent="yo yo")
    assert edited.version == 2 and edited.children("yo yo")[0].name == "yo yo tricks"
    store.rename_label("mine", "yo yo", "yo-yo")
    assert store.get("mine").label("yo-yo").description == "YoYo"
    assert len(store.get("ucf101").labels) == 101
    with pytest.raises(TaxonomyError, match="copy it to edit it"):
        store.remove_label("ucf101", "yo yo")
    assert len(store.get("hmdb51").labels) == 51 and store.get("hmdb51").version == 1
    store.delete("ucf101")  # resets it: installed again from the file on next use
    assert store.get("ucf101").version == 1 and len(store.history("ucf101")) == 1
    for name, count in [("kinetics400", 400), ("kinetics600", 600)]:
        assert store.copy(name, f"my-{name}").labels == store.get(name).labels and len(store.get(name).labels) == count


def test_loader_reads_the_data_folder(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ucf101.txt").write_text("YoYo\n\n  TaiChi  \nSkyDiving\n")
    monkeypatch.setattr(builtin_sets, "DATA_DIR", data)
    store = TaxonomyStore(tmp_path / "home")
    assert [(l.name, l.description) for l in store.get("ucf101").labels] == [
        ("yo yo", "YoYo"), ("tai chi", "TaiChi"), ("sky diving", "SkyDiving")]
    with pytest.raises(TaxonomyError, match="cannot be read from .*hmdb51.txt.*reinstall openvid"):
        store.copy("hmdb51", "x")
    assert [s.name for s in store.list()] == ["ucf101"]
