"""`openvid taxonomy ...` end to end through the command line, and rejection calibration."""

from __future__ import annotations

import json

import pytest

from openvid.cli import run
from openvid.engine import Engine
from openvid.errors import UsageError
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
    cli("taxonomy", "create", "sports", "--template", "a video of {}.")
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


def test_set_label_revert_and_diff_at_the_command_line(cli):
    cli("taxonomy", "create", "sports")
    cli("taxonomy", "add-label", "sports", "ball games")
    cli("taxonomy", "add-label", "sports", "soccer", "--prompt", "people kicking a ball")
    done = json.loads(cli("taxonomy", "set-label", "sports", "soccer", "--rename", "football", "--parent", "ball games",
                          "--disable", "--add-prompt", "a goal", "--add-synonym", "soccer", "--json"))
    assert done["version"] == 4 and done["changed"]
    label = json.loads(cli("taxonomy", "show", "sports", "--json"))["labels"][1]
    assert label == {"name": "football", "parent": "ball games", "description": None, "enabled": False,
                     "prompts": ["people kicking a ball", "a goal"], "synonyms": ["soccer"]}
    assert "nothing to change" in cli("taxonomy", "set-label", "sports", "football", "--disable")
    cli("taxonomy", "set-label", "sports", "football", "--root", "--enable")
    shown = cli("taxonomy", "diff", "sports", "3", "5")
    assert "~ label 'soccer' renamed to 'football'" in shown and "~ label 'football': enabled" not in shown
    assert "prompts: added 'a goal'" in shown
    changes = json.loads(cli("taxonomy", "diff", "sports", "3", "--json"))["changes"]
    assert {"what": "label", "change": "renamed", "label": "football", "field": "name", "before": "soccer",
            "after": "football"} in changes
    assert "version 3" in cli("taxonomy", "revert", "sports", "--version", "3")
    assert json.loads(cli("taxonomy", "show", "sports", "--json"))["labels"][1]["name"] == "soccer"
    assert [e["action"] for e in json.loads(cli("taxonomy", "history", "sports", "--json"))][-1] == "revert"
    assert "no differences" in cli("taxonomy", "diff", "sports", "3")
    assert "say what to change: --rename" in cli("taxonomy", "set-label", "sports", "soccer", code=1)


def test_set_with_nothing_to_set_is_refused_and_writes_nothing(cli):
    from fixtures_store import dump

    cli("taxonomy", "create", "sports")
    before = dump(cli.home)
    message = cli("taxonomy", "set", "sports", code=1)
    assert "say what to set: --reject-below" in message and "--aggregate mean|max" in message
    assert dump(cli.home) == before
    assert "nothing to change" in cli("taxonomy", "set", "sports", "--aggregate", "mean")
    assert dump(cli.home) == before


def test_messages_name_flags_that_exist(cli, tmp_path):
    cli("taxonomy", "create", "sports")
    cli("taxonomy", "add-label", "sports", "ball games")
    cli("taxonomy", "add-label", "sports", "tennis", "--parent", "ball games")
    message = cli("taxonomy", "remove-label", "sports", "ball games", code=1)
    assert "move them elsewhere first (`openvid taxonomy set-label`)" in message and "(--cascade)" in message
    assert "=True" not in message
    cli("taxonomy", "set-label", "sports", "--help")  # the command the message names exists
    path = tmp_path / "sports.yaml"
    cli("taxonomy", "export", "sports", "-o", str(path))
    message = cli("taxonomy", "import", str(path), code=1)
    assert "or replace it (--replace)" in message and "replace=True" not in message
    odd = tmp_path / "labels.txt"
    odd.write_text(path.read_text())
    message = cli("taxonomy", "import", str(odd), "--name", "other", code=1)
    assert "which format it is (yaml, json, csv)" in message
    cli("taxonomy", "import", str(odd), "--name", "other", "--format", "yaml")  # ... and the way to say it exists
    message = cli("taxonomy", "set", "sports", "--reject-below", "1.5", code=1)
    assert "--reject-threshold 1.5 is out of range" in message and "--reject-on cosine" in message
    assert "reject_on" not in message
    cli("taxonomy", "set", "sports", "--reject-threshold", "0.5")  # the flag the message names exists
    assert run(["taxonomy", "set", "sports", "--reject-on", "logit", "--home", str(cli.home)]) == 2  # a choice


def test_show_prints_readable_settings_and_history_details(cli):
    cli("taxonomy", "create", "sports")
    cli("taxonomy", "add-label", "sports", "tennis")
    cli("taxonomy", "set", "sports", "--reject-below", "0.4", "--aggregate", "max")
    cli("taxonomy", "set-templates", "sports", "a video of {}.", "a clip of {}.")
    shown = cli("taxonomy", "show", "sports")
    assert "TaxonomySettings" not in shown and "[" not in shown
    assert "answer 'none of these' when the best probability is below 0.4" in shown
    assert "the max over its segments" in shown and '"a video of {}.", "a clip of {}."' in shown
    history = cli("taxonomy", "history", "sports")
    assert '"]' in history and "['" not in history  # lists as JSON, not as Python reprs


def test_template_has_no_short_flag_and_t_means_taxonomy(cli):
    assert run(["taxonomy", "create", "sports", "-t", "a video of {}.", "--home", str(cli.home)]) == 2
    cli("taxonomy", "create", "sports", "--template", "a clip of {}.")
    assert json.loads(cli("taxonomy", "show", "sports", "--json"))["templates"] == ["a clip of {}."]


def test_cli_choices_match_the_store():
    from openvid.cli.taxonomy import Aggregate, Format, RejectOn
    from openvid.store import FORMATS
    from openvid.store.models import AGGREGATES, REJECT_ON

    assert [c.value for c in RejectOn] == list(REJECT_ON) and [c.value for c in Aggregate] == list(AGGREGATES)
    assert [c.value for c in Format] == list(FORMATS)


def test_json_output_is_utf8(cli):
    name = "vidéo_日本語"
    cli("taxonomy", "create", "sports")
    cli("taxonomy", "add-label", "sports", name)
    shown = cli("taxonomy", "show", "sports", "--json")
    assert name in shown and "\\u" not in shown
    assert json.loads(shown)["labels"][0]["name"] == name


def test_calibration_on_too_few_videos_warns(tiny_model_dirs, tmp_path, sample_videos, make_video, capsys):
    home = tmp_path / "home"
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=4.0)
    engine.taxonomies.create("sports")
    for label in ("cycling", "cartoon"):
        engine.taxonomies.add_label("sports", label)
    accept, reject = sample_videos["bikes.mp4"], make_video("calib-one-red", seconds=2, fps=10)
    result = engine.calibrate_rejection("sports", accept, reject)  # one path each: not a list
    assert len(result.warnings) == 1 and "1 accept and 1 reject" in result.warnings[0]
    assert "at least 5 of each" in result.warnings[0]
    assert engine.taxonomies.get("sports").settings.reject_threshold == pytest.approx(result.threshold)
    argv = ["taxonomy", "calibrate", "sports", "-a", str(accept), "-r", str(reject), "--model",
            str(tiny_model_dirs["clip"]), "--device", "cpu", "--home", str(home)]
    assert run(argv) == 0
    assert "warning: the threshold was fitted on 1 accept and 1 reject" in capsys.readouterr().err
    assert run([*argv, "--on", "logits"]) == 2  # not a score: refused by the flag's choices
    assert run([*argv, "--json"]) == 0
    assert "1 accept and 1 reject" in json.loads(capsys.readouterr().out)["warnings"][0]
    with pytest.raises(UsageError, match="on='logits' is not a score to threshold"):  # before any video is read
        engine.calibrate_rejection("sports", accept, reject, on="logits")
