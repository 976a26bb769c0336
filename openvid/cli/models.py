"""`openvid models`: which encoders exist, which are on this machine, and fetching them."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from openvid.cli.common import JsonOption, emit_json, err, out

app = typer.Typer(help="List and download encoder checkpoints.", no_args_is_help=True)


@app.command("list")
def models_list(as_json: JsonOption = False) -> None:
    """Show the registered encoders, what each is, and whether it is available offline.

    Example: openvid models list --json
    """
    from openvid.encoders import is_cached, list_encoders

    rows = []
    for spec in list_encoders():
        row = dataclasses.asdict(spec)
        row["available"] = is_cached(spec.name)
        rows.append(row)
    if as_json:
        emit_json(rows)
        return
    table = Table(title="openvid encoders")
    for column in ("name", "checkpoint", "frames × px", "cost", "available", "note"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"], row["checkpoint"], f"{row['frames']} × {row['image_size']}",
            f"{row['gflops']:g} GFLOPs/{row['cost_unit']}",
            "[green]yes[/]" if row["available"] else "[yellow]no[/]",
            row["note"],
        )
    out.print(table)
    if not all(row["available"] for row in rows):
        out.print("Missing checkpoints download on first use, or ahead with `openvid models pull NAME`.")


@app.command("pull")
def models_pull(
    names: Annotated[list[str], typer.Argument(help="Registered names, hub ids, or family:checkpoint.")],
) -> None:
    """Download checkpoints into the local cache so later runs work offline.

    Example: openvid models pull clip xclip
    """
    from openvid.encoders import pull

    for name in names:
        with err.status(f"pulling {name}…"):
            location = pull(name)
        out.print(f"{name}: {location}")


