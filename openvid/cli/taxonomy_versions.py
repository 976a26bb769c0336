"""`openvid taxonomy history / revert / diff`: a taxonomy's versions, each edit kept."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from openvid.cli.common import HomeOption, JsonOption, emit_json, out
from openvid.cli.taxonomy import NameArg, app, done, open_store, plain


@app.command("history")
def history(name: NameArg, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List every edit: version, when, who, what.

    Example: openvid taxonomy history sports
    """
    entries = open_store(home).history(name)
    if as_json:
        emit_json(entries)
        return
    table = Table()
    for column in ("version", "when", "who", "what", "detail"):
        table.add_column(column)
    for entry in entries:
        table.add_row(str(entry.version), f"{entry.at:%Y-%m-%d %H:%M:%S}", escape(entry.who), entry.action,
                      escape("; ".join(f"{k}: {plain(v)}" for k, v in (entry.detail or {}).items())))
    out.print(table)


@app.command("revert")
def revert(
    name: NameArg,
    version: Annotated[int, typer.Option(help="The version whose content comes back (see `taxonomy history`).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bring back an older version's labels, prompts and settings, as a new version (history keeps all).

    Renamed labels get their old names back and keep their examples.

    Example: openvid taxonomy revert sports --version 3
    """
    store = open_store(home)
    before = store.get(name, install=False).version
    done(store.revert(name, version), f"content of version {version}", as_json, before)


@app.command("diff")
def diff(
    name: NameArg,
    old: Annotated[int, typer.Argument(help="The older version.")],
    new: Annotated[Optional[int], typer.Argument(help="The newer version (default: the current one).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what changed between two versions: labels added, removed, renamed or edited, templates, settings.

    Example: openvid taxonomy diff sports 2 5
    """
    result = open_store(home).diff(name, old, new)
    if as_json:
        emit_json(result)
        return
    out.print(f"[bold]{escape(result.taxonomy)}[/]: version {result.from_version} -> {result.to_version}",
              highlight=False)
    for line in result.lines() or ["no differences: the two versions have the same content"]:
        out.print(escape(line), highlight=False)
