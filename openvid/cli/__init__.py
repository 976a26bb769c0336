"""The `openvid` command line: a thin layer over the Python API.

Each command parses its options, calls the library, and prints. Errors from the library
(`OpenvidError`) become one red line with the hint, and exit code 1; nothing else is decided here.
One module per group of commands; this one assembles them.
"""

from __future__ import annotations

import sys

import typer

from openvid.cli import archive, classify, fewshot, heads, media, models, taxonomy
from openvid.cli.common import say_error
from openvid.errors import OpenvidError

app = typer.Typer(
    name="openvid",
    help="Open-vocabulary video classification and retrieval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(models.app, name="models")
app.add_typer(taxonomy.app, name="taxonomy")
app.add_typer(heads.app, name="heads")
media.register(app)
classify.register(app)
archive.register(app)
fewshot.register(app)


def run(argv: list[str] | None = None) -> int:
    """Run one command line and return its exit code; library errors become a message and 1."""
    try:
        app(args=argv, prog_name="openvid")
    except SystemExit as exc:  # click's standalone mode ends every run this way
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OpenvidError as exc:
        say_error("error:", exc)
        return 1
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":
    main()
