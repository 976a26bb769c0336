"""The command line: help everywhere, JSON for scripts, library errors as messages and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import typer

from openvid.cli import app, run


def _all_commands(group, prefix: str = ""):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _all_commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


COMMANDS = dict(_all_commands(typer.main.get_command(app)))


def test_every_command_has_help_with_an_example():
    assert {"models list", "models pull", "probe", "embed"} <= set(COMMANDS)
    for name, command in COMMANDS.items():
        assert command.help and "Example: openvid " + name.split()[0] in command.help, name


def test_models_list_json(capsys):
    assert run(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {row["name"]: row for row in rows}
    assert by_name["xclip"]["checkpoint"] == "microsoft/xclip-base-patch32"
    assert by_name["clip"]["available"] is False  # the test cache is empty


def test_models_pull_offline_says_how_to_get_the_checkpoint(capsys):
    assert run(["models", "pull", "xclip"]) == 1
    message = capsys.readouterr().err
    assert message.startswith("error: checkpoint 'microsoft/xclip-base-patch32' is not available")
    assert "openvid models pull xclip" in message


def test_unknown_option_is_a_usage_error(capsys):
    assert run(["models", "list", "--colour"]) == 2


def test_console_script_entry_point_exits_with_the_code():
    done = subprocess.run([sys.executable, "-m", "openvid.cli", "models", "pull", "no-such/model"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "error:" in done.stderr and "no-such/model" in done.stderr
    assert "Traceback" not in done.stderr
