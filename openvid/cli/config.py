"""`openvid config`: what a command runs with here (home and why, model, device, versions), and `--version`.

Reads settings and package metadata only: no model library, no store, so it answers at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from openvid.cli.common import (
    DeviceOption,
    HomeOption,
    JsonOption,
    ModelOption,
    RuntimeOption,
    emit_json,
    home_line,
    out,
)


def register(app: typer.Typer) -> None:
    app.command("config")(config_cmd)


def config_cmd(
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    home: HomeOption = None,
    resolve: Annotated[bool, typer.Option(
        "--resolve", help="Also say what device, dtype and runtime 'auto' become on this machine (imports torch).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show the home folder in use and how it was chosen, the default model, device, dtype, runtime and versions.

    The home is --home, else OPENVID_HOME, else the nearest indexes/ folder holding openvid.db in the
    current directory or its parents, else the user data folder.

    Example: openvid config --json
    """
    from openvid.config import Settings, describe

    settings = Settings.from_env(model=model, device=device, runtime=runtime, home=home)
    info = describe(settings, resolve=resolve)
    if as_json:
        emit_json(info)
        return
    out.print(home_line(settings), highlight=False, soft_wrap=True, markup=False)
    out.print(f"model: {info['model']} ({info['model_chosen_by']})", highlight=False, soft_wrap=True, markup=False)
    device_line = f"device: {info['device']} ({info['device_chosen_by']}), dtype: {info['dtype']} ({info['dtype_chosen_by']})"
    if resolve:
        device_line += f"; here that is {info['device_resolved']} / {info['dtype_resolved']}"
    out.print(device_line, highlight=False, soft_wrap=True, markup=False)
    out.print(f"batch size {info['batch_size']}, decoder {info['decoder']}", highlight=False, soft_wrap=True, markup=False)
    runtime_line = f"runtime: {info['runtime']} ({info['runtime_chosen_by']})"
    if resolve:
        runtime_line += f"; here that is {info['runtime_resolved']}"
    threads = info["threads"] or "torch's count"
    out.print(f"{runtime_line}, threads: {threads}", highlight=False, soft_wrap=True, markup=False)
    out.print(f"hub cache: {info['hub_cache']}" + (" (offline: HF_HUB_OFFLINE)" if info["hub_offline"] else ""),
              highlight=False, soft_wrap=True, markup=False)
    for name, value in info["environment"].items():
        out.print(f"{name}={value}", highlight=False, soft_wrap=True, markup=False)
    versions = ", ".join(f"{name} {value}" for name, value in info["versions"].items())
    out.print(f"versions: {versions}", highlight=False, soft_wrap=True, markup=False)


def show_version(value: bool) -> None:
    """`openvid --version`: the version, at once (an eager option: nothing else runs)."""
    if value:
        from openvid import __version__

        out.print(f"openvid {__version__}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit()
