"""The home folder: one rule a user can predict from anywhere (--home, OPENVID_HOME, the nearest
indexes/openvid.db upwards, the user data folder), shown by `openvid config` and `openvid info`,
and named in "unknown taxonomy / index" errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from openvid.cli import run
from openvid.config import Settings, find_home, resolve_home, user_data_dir


@pytest.fixture
def nowhere(tmp_path, monkeypatch) -> Path:
    """A working directory with no store above it, and a private data folder."""
    cwd = tmp_path / "work" / "deep"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("OPENVID_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return cwd


def _store(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(folder / "openvid.db").close()
    return folder


def test_without_a_store_the_home_is_the_user_data_folder_not_the_current_directory(nowhere, tmp_path):
    chosen = resolve_home()
    assert chosen.path == tmp_path / "data" / "openvid" and chosen.source == "data folder"
    assert Settings().home == tmp_path / "data" / "openvid"
    assert Settings.from_env().home == tmp_path / "data" / "openvid"


def test_an_indexes_folder_with_a_store_is_found_from_a_subfolder(nowhere, tmp_path):
    home = _store(tmp_path / "work" / "indexes")
    chosen = resolve_home()
    assert (chosen.path, chosen.source) == (home, "found") and str(home / "openvid.db") in chosen.reason
    assert Settings.from_env().home == home


def test_an_indexes_folder_without_a_store_is_someone_elses(nowhere, tmp_path):
    (tmp_path / "work" / "indexes").mkdir()
    assert resolve_home().source == "data folder"


def test_environment_then_argument_win(nowhere, tmp_path, monkeypatch):
    _store(tmp_path / "work" / "indexes")
    monkeypatch.setenv("OPENVID_HOME", str(tmp_path / "env-home"))
    assert resolve_home().path == tmp_path / "env-home"
    settings = Settings.from_env()
    assert (settings.home, settings.home_source) == (tmp_path / "env-home", "OPENVID_HOME")
    given = Settings.from_env(home="relative")
    assert (given.home, given.home_source) == (nowhere / "relative", "given")  # made absolute where it was given
    assert Settings().replace(home=tmp_path / "x").home_source == "given"


def test_user_data_folder_per_platform(tmp_path):
    assert user_data_dir({"XDG_DATA_HOME": "/xdg"}, "linux") == Path("/xdg/openvid")
    assert user_data_dir({"XDG_DATA_HOME": "relative/not/used"}, "linux") == Path.home() / ".local/share/openvid"
    assert user_data_dir({}, "darwin") == Path.home() / "Library/Application Support/openvid"
    assert user_data_dir({"LOCALAPPDATA": str(tmp_path)}, "win32") == tmp_path / "openvid"
    assert find_home(tmp_path, {"XDG_DATA_HOME": "/xdg"}).path == Path("/xdg/openvid")


def test_config_command_says_which_home_and_why(nowhere, tmp_path, capsys):
    home = _store(tmp_path / "work" / "indexes")
    assert run(["config"]) == 0
    shown = capsys.readouterr().out
    assert f"home: {home} (found {home / 'openvid.db'})" in shown
    from openvid.config import default_model

    assert f"model: {default_model('index')} to index, {default_model('classify')} to classify" in shown
    assert "(the defaults;" in shown and "versions: python" in shown and "openvid 0.1.0" in shown
    assert run(["config", "--json", "--home", str(tmp_path / "h")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["home"], info["home_chosen_by"]) == (str(tmp_path / "h"), "given")
    assert {"openvid", "torch", "transformers", "open_clip_torch"} <= set(info["versions"])
    assert info["device"] == "auto" and "device_resolved" not in info  # no torch unless --resolve


def test_unknown_taxonomy_and_index_say_which_home_was_searched(nowhere, tmp_path, capsys):
    assert run(["taxonomy", "show", "sports"]) == 1
    message = capsys.readouterr().err
    assert "unknown taxonomy 'sports'" in message
    assert f"looked in the home {tmp_path / 'data' / 'openvid'}" in message and "the user data folder" in message
    assert run(["info", "--index", "archive", "--home", str(tmp_path / "h")]) == 1
    message = capsys.readouterr().err
    assert "no index named 'archive'" in message and f"looked in the home {tmp_path / 'h'}, given with --home" in message
