"""What users of other command-line tools expect: `--version`, help that names types in words,
`models pull` that tries every name and reports each, and absolute paths kept as they are."""

from __future__ import annotations

import json
import re

import pytest
from test_cli import COMMANDS
from typer.testing import CliRunner

from openvid import __version__
from openvid.cli import app, run


def test_version(capsys):
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"openvid {__version__}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_names_types_in_words(name):
    result = CliRunner().invoke(app, [*name.split(), "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert not re.search(r"<(list\[|int|float|str|path|bool)", result.output, re.IGNORECASE), result.output


def test_help_of_classify_reads_plainly():
    text = CliRunner().invoke(app, ["classify", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"}).output
    assert "PATH..." in text and "INTEGER" in text and "NAME=PATH" in text and "A,B,..." in text
    assert "--head-labels" in text and "--head-checkpoint" in text
    assert re.search(r"--segments\s+Also show", text)  # a switch shows no type at all


def test_pull_tries_every_name_and_exits_1_if_any_failed(capsys, tmp_path):
    folder = tmp_path / "my-xclip"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "xclip"}))
    assert run(["models", "pull", "xclip", str(folder), "no-such/model", "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["ok"]) for r in rows] == [("xclip", False), (str(folder), True), ("no-such/model", False)]
    assert rows[1]["location"] == str(folder)  # an absolute path keeps its leading slash: it is already here
    clip = tmp_path / "my-clip"
    clip.mkdir()
    (clip / "open_clip_config.json").write_text("{}")
    assert run(["models", "pull", str(clip)]) == 0
    assert capsys.readouterr().out.strip() == f"{clip}: {clip}"
    assert run(["models", "pull", "xclip", "avslowfast"]) == 1
    err = capsys.readouterr().err
    assert "error: xclip: checkpoint 'microsoft/xclip-base-patch32'" in err and "error: avslowfast:" in err
    assert "failed: 2 of 2: xclip, avslowfast" in err


def test_pull_advice_for_a_head_without_weights_is_a_spelling_that_works(capsys):
    assert run(["models", "pull", "avslowfast"]) == 1
    err = capsys.readouterr().err
    assert "--head avslowfast --head-checkpoint avslowfast=PATH --head-labels avslowfast=FILE" in err


def test_one_spelling_per_option_everywhere():
    """`-t` is `--taxonomy` wherever it exists (search included), and `--taxonomy` always has `-t`;
    a head's own weights and labels are `--head-checkpoint NAME=PATH` / `--head-labels NAME=FILE`."""
    for name, command in COMMANDS.items():
        for param in command.params:
            opts = set(getattr(param, "opts", [])) | set(getattr(param, "secondary_opts", []))
            if "-t" in opts or "--taxonomy" in opts:
                assert {"-t", "--taxonomy"} <= opts, f"{name}: {sorted(opts)}"
            assert not opts & {"--checkpoint"}, f"{name} still spells --checkpoint"
            if "--labels" in opts:
                assert name == "classify", f"{name}: --labels is classify's label names; heads take --head-labels"


def test_every_command_that_picks_a_device_picks_a_runtime_too():
    """What runs the encoder (`--runtime`, OPENVID_RUNTIME) is chosen wherever the device is."""
    with_device = {name for name, command in COMMANDS.items()
                   if any("--device" in getattr(p, "opts", []) for p in command.params)}
    assert {"index", "search", "classify", "serve"} <= with_device
    for name in with_device:
        opts = {o for p in COMMANDS[name].params for o in getattr(p, "opts", [])}
        assert "--runtime" in opts, f"{name} takes --device but not --runtime"


def test_a_runtime_that_does_not_exist_is_refused_with_the_choices(capsys, tmp_path):
    assert run(["search", "a dog", "--home", str(tmp_path), "--runtime", "tensorrt"]) == 1  # as a bad --device
    err = capsys.readouterr().err
    assert "tensorrt" in err and "onnx" in err and "openvino" in err
