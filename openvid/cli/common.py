"""What every command shares: the consoles, JSON output, common options, the home line, help in words.

This module imports no model library and no store: `--help`, `--version` and `config` go through it
alone.
"""

from __future__ import annotations

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
ModelOption = Annotated[Optional[str], typer.Option(
    "--model", "-m", metavar="MODEL", help="Encoder: a registered name, hub id, or local folder/file (OPENVID_MODEL).")]
DeviceOption = Annotated[Optional[str], typer.Option(metavar="DEVICE", help="auto, cpu or cuda (OPENVID_DEVICE).")]
RuntimeOption = Annotated[Optional[str], typer.Option(
    "--runtime", metavar="RUNTIME",
    help="What runs the encoder's towers (OPENVID_RUNTIME): auto (ONNX Runtime on a CPU where its export "
         "matches torch, torch elsewhere and on CUDA), torch, onnx, openvino, or openvino-int8 (opt-in: weights "
         "int8; published for real CLIP B/32: 63.30 vs 63.37 top-1 at 1.61x vision speed; its accuracy on real "
         "weights was not measured here).")]
HomeOption = Annotated[Optional[Path], typer.Option(
    "--home", metavar="DIR",
    help="Home folder of the database and indexes (default: OPENVID_HOME, else the nearest indexes/ holding "
         "openvid.db from here up, else the user data folder; `openvid config` shows it).")]


def emit_json(data: Any) -> None:
    """One JSON document on stdout, in UTF-8 as it is (`vidéo_日本語.mp4` stays itself, not `\\u00e9`).

    Results go through their `to_dict()` (the same form the Python API gives), paths and dates
    become strings and numpy values lists.
    """
    from openvid.results import to_jsonable

    text = json.dumps(to_jsonable(data), indent=2, ensure_ascii=False) + "\n"
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None and (getattr(stream, "encoding", "") or "").lower().replace("-", "") != "utf8":
        stream.flush()
        buffer.write(text.encode("utf-8"))  # a pipe under a C locale must not turn é into an error
        buffer.flush()
    else:
        stream.write(text)


def home_line(home: Any = None) -> str:
    """`home: /path (how it was chosen)`, for `openvid info` and `openvid config` to print.

    `home` is the command's `--home` value (None: not given) or the `Settings` a command runs with.
    """
    if hasattr(home, "home_source"):
        path, reason = home.home, home.home_source
    else:
        from openvid.config import resolve_home

        chosen = resolve_home(home)
        path, reason = chosen.path, chosen.reason
    return f"home: {path} ({_reason(reason)})"


def _reason(reason: str) -> str:
    return "given with --home" if reason == "given" else reason


def home_note(argv: list[str] | None) -> str:
    """Which home a failed lookup searched, from the command line as given (`--home`, else the rule)."""
    from openvid.config import resolve_home

    args = list(sys.argv[1:] if argv is None else argv)
    given = None
    for i, arg in enumerate(args):
        if arg == "--home" and i + 1 < len(args):
            given = args[i + 1]
        elif arg.startswith("--home="):
            given = arg.split("=", 1)[1]
    chosen = resolve_home(given)
    return f"(looked in the home {chosen.path}, {_reason(chosen.reason)}; `openvid config` shows the rule)"


# -- help in words ----------------------------------------------------------------------------------
_WORDS = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT", "path": "PATH", "Path": "PATH", "bool": "BOOLEAN"}


def _in_words(shown: str | None, many: bool) -> str | None:
    """typer's `<list[Path]>`, `<int range>`, `<str>` as click's words: `PATH...`, `INTEGER`, `TEXT`."""
    if shown is None:
        return None
    inner = shown.strip("<>").replace(" range", "")
    if inner.endswith("..."):
        inner, many = inner[:-3].strip("<>"), True
    if inner.startswith("list[") and inner.endswith("]"):
        inner = inner[5:-1]
    word = "|".join(_WORDS.get(part, part) for part in inner.split("|")) if "|" in inner else \
        _WORDS.get(inner, inner.upper())
    return word + ("..." if many else "")


def show_types_in_words() -> None:
    """Make typer's help show value types in words (`PATH...`, `INTEGER`), and nothing for switches.

    typer 0.2x prints Python annotations (`<list[Path]>`, `<bool>` beside every flag); click's
    convention, which users of other tools read at a glance, is words. A parameter's own `metavar`
    still wins. Applied once, by `openvid.cli`.
    """
    from typer.core import TyperArgument, TyperOption

    if getattr(TyperOption, "_openvid_words", False):
        return

    def option_type(self, ctx):  # type: ignore[no-untyped-def]
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        return _in_words(self.display_type(ctx), self.nargs != 1)

    def argument_type(self, ctx):  # type: ignore[no-untyped-def]
        return _in_words(self.display_type(ctx), self.nargs != 1)  # an argument's metavar is its name column

    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign]
    TyperOption._openvid_words = True  # type: ignore[attr-defined]


__all__ = ["DeviceOption", "RuntimeOption", "HomeOption", "JsonOption", "ModelOption", "emit_json", "err", "home_line", "home_note",
           "out", "say_error", "show_types_in_words"]
