"""`openvid probe` and `openvid embed`: looking at videos and their vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from openvid.cli.common import DeviceOption, JsonOption, ModelOption, RuntimeOption, emit_json, out, say_error
from openvid.errors import OpenvidError


def register(app: typer.Typer) -> None:
    app.command("probe")(probe_cmd)
    app.command("embed")(embed_cmd)


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
            failures.append({"path": str(file), "error": exc.cli_message()})
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
            say_error("skipped", failure["error"])
    if failures:
        raise typer.Exit(1)


def embed_cmd(
    file: Annotated[Path, typer.Argument(help="A video file.")],
    model: ModelOption = None,
    window: Annotated[Optional[float], typer.Option(help="Segment length in seconds (default: the encoder's).")] = None,
    stride: Annotated[Optional[float], typer.Option(help="Seconds between segment starts (default: window).")] = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Save vectors and times to this .npz file.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Segment a video and embed each segment with an encoder.

    Example: openvid embed clip.mp4 --model clip --window 4 -o clip.npz
    """
    import numpy as np

    from openvid.engine import Engine

    engine = Engine(model=model, window_s=window, stride_s=stride, device=device, runtime=runtime)
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


