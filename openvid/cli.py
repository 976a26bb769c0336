"""The `openvid` command line: a thin layer over the Python API.

Each command parses its options, calls one library function, and prints. Errors from the library
(`OpenvidError`) become one red line plus the hint, and exit code 1; nothing else is decided here.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from openvid.errors import OpenvidError

app = typer.Typer(
    name="openvid",
    help="Open-vocabulary video classification and retrieval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="List and download encoder checkpoints.", no_args_is_help=True)
app.add_typer(models_app, name="models")

out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]


def emit_json(data: Any) -> None:
    """One JSON document on stdout (dataclasses and paths converted)."""

    def default(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return dataclasses.asdict(value)
        if isinstance(value, Path):
            return str(value)
        if hasattr(value, "tolist"):
            return value.tolist()
        raise TypeError(f"cannot serialise {type(value).__name__}")

    sys.stdout.write(json.dumps(data, default=default, indent=2) + "\n")


# -- models -------------------------------------------------------------------------------------

@models_app.command("list")
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


@models_app.command("pull")
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


# -- media --------------------------------------------------------------------------------------

@app.command("probe")
def probe_cmd(
    files: Annotated[list[Path], typer.Argument(help="Video files.")],
    as_json: JsonOption = False,
) -> None:
    """Show duration, frame rate, frame count, size and audio of video files.

    Example: openvid probe clip.mp4 --json
    """
    from openvid.media import probe

    infos, failures = [], []
    for file in files:
        try:
            infos.append(probe(file))
        except OpenvidError as exc:
            failures.append({"path": str(file), "error": str(exc)})
    if as_json:
        emit_json({"videos": infos, "failed": failures})
    else:
        table = Table()
        for column in ("path", "duration s", "fps", "frames", "size", "audio"):
            table.add_column(column)
        for info in infos:
            table.add_row(info.path, f"{info.duration_s:.2f}", f"{info.fps:.3f}", str(info.frame_count),
                          f"{info.width}×{info.height}", "yes" if info.has_audio else "no")
        out.print(table)
        for failure in failures:
            err.print(f"[red]skipped[/] {failure['error']}", highlight=False)
    if failures:
        raise typer.Exit(1)


@app.command("embed")
def embed_cmd(
    file: Annotated[Path, typer.Argument(help="A video file.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Encoder name, hub id, or local folder/file.")] = None,
    window: Annotated[Optional[float], typer.Option(help="Segment length in seconds (default: the encoder's).")] = None,
    stride: Annotated[Optional[float], typer.Option(help="Seconds between segment starts (default: window).")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu or cuda.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Save vectors and times to this .npz file.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Segment a video and embed each segment with an encoder.

    Example: openvid embed clip.mp4 --model clip --window 4 -o clip.npz
    """
    import numpy as np

    from openvid.engine import Engine

    engine = Engine(model=model, window_s=window, stride_s=stride, device=device)
    result = engine.encode_video(file)
    if output:
        np.savez(output, starts=result.starts, ends=result.ends, vectors=result.vectors, model=result.model)
    summary = {"path": result.path, "model": result.model, "segments": len(result.vectors),
               "dim": int(result.vectors.shape[1]) if result.vectors.ndim == 2 else 0,
               "output": str(output) if output else None}
    if as_json:
        emit_json({**summary, "starts": result.starts, "ends": result.ends})
    else:
        out.print(f"{summary['path']}: {summary['segments']} segments × {summary['dim']} dims ({summary['model']})")
        if output:
            out.print(f"saved to {output}")


def run(argv: list[str] | None = None) -> int:
    """Run one command line and return its exit code; library errors become a message and 1."""
    try:
        app(args=argv, prog_name="openvid")
    except SystemExit as exc:  # click's standalone mode ends every run this way
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OpenvidError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 1
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":
    main()
