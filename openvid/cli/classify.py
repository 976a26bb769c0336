"""`openvid classify`: which of a taxonomy's labels each video is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openvid.cli.common import DeviceOption, HomeOption, JsonOption, ModelOption, emit_json, err, out, say_error


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_cmd)


def classify_cmd(
    files: Annotated[list[Path], typer.Argument(help="Video files.")],
    taxonomy: Annotated[str, typer.Option("--taxonomy", "-t", help="Taxonomy (label list) to classify against.")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="How many labels to show.")] = 5,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Independent yes/no per label instead of one answer.")] = False,
    segments: Annotated[bool, typer.Option("--segments", help="Also show a timeline of per-segment top labels.")] = False,
    level: Annotated[Optional[int], typer.Option(min=0, help="Show parent labels at this depth (0 = top level).")] = None,
    window: Annotated[Optional[float], typer.Option(help="Segment length in seconds (default: the encoder's).")] = None,
    stride: Annotated[Optional[float], typer.Option(help="Seconds between segment starts (default: window).")] = None,
    model: ModelOption = None,
    device: DeviceOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rank a taxonomy's labels for each video; bad files are reported and skipped (exit code 1).

    Example: openvid classify clip.mp4 other.mp4 --taxonomy sports --top-k 3 --segments
    """
    from openvid.engine import Engine

    engine = Engine(model=model, device=device, home=home, window_s=window, stride_s=stride)
    with Progress(TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err, transient=True, disable=len(files) < 2) as bar:
        task = bar.add_task("", total=len(files))
        result = engine.classify(
            files, taxonomy, top_k=top_k, multi_label=multi_label, segments=segments, level=level,
            on_progress=lambda path, ok: bar.update(task, advance=1, description=Path(path).name),
        )
    if as_json:
        emit_json(result)
    else:
        for prediction in result.predictions:
            _print_prediction(prediction)
        for failure in result.failures:
            say_error("skipped", failure.error)
    if result.failures:
        raise typer.Exit(1)


def _print_prediction(prediction) -> None:
    verdict = "[yellow]none of these[/]" if prediction.rejected else f"[bold]{prediction.top}[/]"
    out.print(f"{prediction.path}: {verdict}", highlight=False)
    table = Table(show_header=True, box=None, pad_edge=False)
    for column in ("label", "probability", "cosine"):
        table.add_column(column)
    for score in prediction.labels:
        table.add_row(score.label, f"{score.probability:.3f}", f"{score.cosine:.3f}")
    out.print(table)
    for segment in prediction.segments or []:
        tops = ", ".join(f"{s.label} {s.probability:.2f}" for s in segment.labels[:3])
        out.print(f"  {segment.start_s:7.1f}–{segment.end_s:7.1f} s  {tops}", highlight=False)
