"""The `openvid` command line: a thin layer over the Python API.

Each command parses its options, calls the library, and prints. Errors from the library
(`OpenvidError`) become one red line with the hint, and exit code 1; nothing else is decided here.
One module per group of commands; this one assembles them. No command module imports torch,
transformers, open_clip or faiss at import time, so `--help` and the commands that load no model
answer at once (scripts/bench_startup.py).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from openvid.cli import archive, classify, config, fewshot, heads, media, models, serve, taxonomy, taxonomy_versions  # noqa: F401 - registers its commands on taxonomy.app
from openvid.cli.common import home_note, say_error, show_types_in_words
from openvid.errors import OpenvidError, TaxonomyError, VideoIndexError

show_types_in_words()

app = typer.Typer(
    name="openvid",
    help="Open-vocabulary video classification and retrieval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=config.show_version, help="Print the version and exit.")] = False,
) -> None:
    """Open-vocabulary video classification and retrieval.

    Example: openvid classify clip.mp4 --labels "surfing,skateboarding,cooking"
    """


app.add_typer(models.app, name="models")
app.add_typer(taxonomy.app, name="taxonomy")
app.add_typer(heads.app, name="heads")
media.register(app)
classify.register(app)
archive.register(app)
fewshot.register(app)
config.register(app)
serve.register(app)


def _missing_in_home(exc: OpenvidError) -> bool:
    """An unknown taxonomy or index: the message then says which home was searched."""
    text = str(exc)
    return (isinstance(exc, TaxonomyError) and text.startswith("unknown taxonomy")) or (
        isinstance(exc, VideoIndexError) and text.startswith("no index named"))


def run(argv: list[str] | None = None) -> int:
    """Run one command line and return its exit code; library errors become a message and 1."""
    try:
        app(args=argv, prog_name="openvid")
    except SystemExit as exc:  # click's standalone mode ends every run this way
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OpenvidError as exc:
        if _missing_in_home(exc):
            exc.template = f"{exc.template} {home_note(argv)}"  # the edge knows the home; the store need not
        say_error("error:", exc)
        return 1
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":
    main()
