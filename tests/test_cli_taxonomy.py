"""`openvid taxonomy ...` end to end through the command line, and rejection calibration."""

from __future__ import annotations

import json

import pytest

from openvid.cli import run
from openvid.engine import Engine
from openvid.scoring.calibration import fit_threshold
from openvid.store import TaxonomyStore


@pytest.fixture
def cli(tmp_path, capsys):
    home = tmp_path / "home"

    def call(*args: str, code: int = 0) -> str:
        assert run([*args, "--home", str(home)]) == code, capsys.readouterr()
        captured = capsys.readouterr()
        return captured.out if code == 0 else captured.err

    call.home = home
    return call


def test_edit_show_history_and_old_versions(cli):
    cli("taxonomy", "create", "sports", "-t", "a video of {}.")
    cli("taxonomy", "add-label", "sports", "soccer", "--synonym", "football")
    cli("taxonomy", "add-label", "sports", "dunk", "--prompt", "a basketball slam dunk")
    cli("taxonomy", "rename-label", "sports", "soccer", "association football")
    cli("taxonomy", "add-prompt", "sports", "dunk", "a player hanging on the rim")
    cli("taxonomy", "set-templates", "sports", "a video of {}.", "a clip of {}.")
    cli("taxonomy", "remove-label", "sports", "dunk")
    cli("taxonomy", "set", "sports", "--reject-below", "0.3", "--aggregate", "max")
    shown = json.loads(cli("taxonomy", "show", "sports", "--json"))
    assert [label["name"] for label in shown["labels"]] == ["association football"]
    assert shown["templates"] == ["a video of {}.", "a clip of {}."]
    assert shown["settings"]["reject_threshold"] == 0.3 and shown["settings"]["aggregate"] == "max"
    history = json.loads(cli("taxonomy", "history", "sports", "--json"))
    assert [entry["version"] for entry in history] == list(range(1, 9))
    assert all(entry["who"] and entry["at"] and entry["action"] for entry in history)
    old = json.loads(cli("taxonomy", "show", "sports", "--version", "5", "--json"))
    assert [label["name"] for label in old["labels"]] == ["association football", "dunk"]
    assert old["labels"][1]["prompts"] == ["a basketball slam dunk", "a player hanging on the rim"]
    assert "association football" in cli("taxonomy", "show", "sports")  # the tree view


def test_export_import_copy_delete(cli, tmp_path):
    cli("taxonomy", "create", "sports")
    cli("taxonomy", "add-label", "sports", "ball games")
    cli("taxonomy", "add-label", "sports", "tennis", "--parent", "ball games")
    for suffix in ("yaml", "json", "csv"):
        path = tmp_path / f"sports.{suffix}"
        cli("taxonomy", "export", "sports", "-o", str(path))
        cli("taxonomy", "import", str(path), "--name", f"sports-{suffix}")
        assert cli("taxonomy", "export", f"sports-{suffix}", "--format", suffix).replace(f"sports-{suffix}", "sports") \
            == path.read_text()
    listed = json.loads(cli("taxonomy", "list", "--json"))
    assert {t["name"] for t in listed["taxonomies"]} == {"sports", "sports-yaml", "sports-json", "sports-csv"}
    assert "ucf101" in listed["builtin"]
    cli("taxonomy", "copy", "hmdb51", "mine")
    assert len(json.loads(cli("taxonomy", "show", "mine", "--json"))["labels"]) == 51
    cli("taxonomy", "delete", "mine", "--yes")
    assert "mine" not in cli("taxonomy", "list")


def test_refusals_are_messages_not_tracebacks(cli, tmp_path):
    cli("taxonomy", "create", "sports")
    cli("taxonomy", "add-label", "sports", "tennis")
    assert "already" in cli("taxonomy", "add-label", "sports", "tennis", code=1)
    assert "tennis" in cli("taxonomy", "rename-label", "sports", "tenis", "padel", code=1)  # did you mean
    assert "{}" in cli("taxonomy", "set-templates", "sports", "a video of tennis", code=1)
    broken = tmp_path / "broken.csv"
    broken.write_text("label,parent\nswim,\ndive,nowhere\n")
    message = cli("taxonomy", "import", str(broken), "--name", "broken", code=1)
    assert "line 3" in message and "nowhere" in message
    assert "broken" not in cli("taxonomy", "list")
    assert "Traceback" not in message


def test_calibration_fits_and_stores_the_threshold(tiny_model_dirs, tmp_path, sample_videos, make_video):
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path, window_s=4.0)
    store: TaxonomyStore = engine.taxonomies
    store.create("sports")
    for label in ("cycling", "cartoon", "phone call"):
        store.add_label("sports", label)
    accept = [sample_videos["bikes.mp4"], sample_videos["bigbuckbunny.mp4"]]
    reject = [make_video("calib-red", seconds=2, fps=10), make_video("calib-noise", seconds=2, fps=10, noise=True)]
    result = engine.calibrate_rejection("sports", accept, reject, on="cosine")
    assert result.threshold == pytest.approx(fit_threshold(result.accept_scores, result.reject_scores))
    settings = store.get("sports").settings
    assert settings.reject_threshold == pytest.approx(result.threshold) and settings.reject_on == "cosine"
    for path, score in zip(accept, result.accept_scores):
        assert engine.classify([path], "sports").predictions[0].rejected == bool(score < result.threshold)
