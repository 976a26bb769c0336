"""What every command shares: the consoles, JSON output, and common options."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

out = Console()
err = Console(stderr=True, soft_wrap=True)  # messages stay one line each, whatever the terminal width


def say_error(tag: str, message: object) -> None:
    """One stderr line: a coloured tag, then the message as plain text (never read as markup)."""
    text = message.cli_message() if hasattr(message, "cli_message") else str(message)
    err.print(f"[bold red]{tag}[/] {escape(text)}", highlight=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
ModelOption = Annotated[
    Optional[str], typer.Option("--model", "-m", help="Encoder: a registered name, hub id, or local folder/file.")
]
DeviceOption = Annotated[Optional[str], typer.Option(help="auto, cpu or cuda.")]
HomeOption = Annotated[
    Optional[Path], typer.Option("--home", help="Home folder of the database and indexes (default ./indexes).")
]


def emit_json(data: Any) -> None:
    """One JSON document on stdout (dataclasses and paths converted)."""

    def default(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return dataclasses.asdict(value)
        if isinstance(value, Path):
            return str(value)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if hasattr(value, "tolist"):
            return value.tolist()
        raise TypeError(f"cannot serialise {type(value).__name__}")

    sys.stdout.write(json.dumps(data, default=default, indent=2) + "\n")
