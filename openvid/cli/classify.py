"""`openvid classify`: which of a taxonomy's labels each video is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openvid.cli.common import DeviceOption, HomeOption, JsonOption, ModelOption, emit_json, err, out, say_error
from openvid.errors import UsageError


def pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """`NAME=VALUE` options into a mapping, refusing anything else with the expected form."""
    result = {}
    for value in values or []:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise UsageError(f"{option} takes NAME=VALUE (e.g. {option} videomae=...), got {value!r}")
        result[name.strip()] = rest.strip()
    return result


def parse_float(value: str, option: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{option} wants a number after '=', got {value!r}") from None


def head_choices(heads: list[str] | None, checkpoints: list[str] | None, labels: list[str] | None) -> list:
    """--head/--checkpoint/--labels into HeadChoice objects; a checkpoint for a head not asked for is refused."""
    from openvid.heads import HeadChoice

    names = list(heads or [])
    checkpoint_of, labels_of = pairs(checkpoints, "--checkpoint"), pairs(labels, "--labels")
    stray = sorted((set(checkpoint_of) | set(labels_of)) - set(names))
    if stray:
        raise UsageError(f"--checkpoint/--labels name {', '.join(stray)}, which is not asked for; add --head {stray[0]}")
    return [HeadChoice(name, checkpoint_of.get(name), labels_of.get(name)) for name in names]


def head_options(head: list[str] | None, head_weight: list[str] | None, checkpoint: list[str] | None,
                 labels: list[str] | None) -> tuple[list, dict[str, float]]:
    """The head flags every classifying command shares, as (choices, weights)."""
    weights = {name: parse_float(value, "--head-weight") for name, value in pairs(head_weight, "--head-weight").items()}
    return head_choices(head, checkpoint, labels), weights


HeadOption = Annotated[Optional[list[str]], typer.Option(
    "--head", help="A closed-set head that votes too (repeatable; `openvid heads list`).")]
HeadWeightOption = Annotated[Optional[list[str]], typer.Option(
    "--head-weight", help="NAME=W: a head's weight for this run (the encoder's is 1).")]
HeadCheckpointOption = Annotated[Optional[list[str]], typer.Option(
    "--checkpoint", help="NAME=PATH: a head's own weights instead of its default checkpoint.")]
HeadLabelsOption = Annotated[Optional[list[str]], typer.Option(
    "--labels", help="NAME=FILE: the label names of a head's own weights, one per line.")]


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_cmd)


def classify_cmd(
    files: Annotated[list[Path], typer.Argument(help="Video files.")],
    taxonomy: Annotated[str, typer.Option("--taxonomy", "-t", help="Taxonomy (label list) to classify against.")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="How many labels to show.")] = 5,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Independent yes/no per label instead of one answer.")] = False,
    segments: Annotated[bool, typer.Option("--segments", help="Also show a timeline of per-segment top labels.")] = False,
    level: Annotated[Optional[int], typer.Option(min=0, help="Show parent labels at this depth (0 = top level).")] = None,
    head: HeadOption = None,
    head_weight: HeadWeightOption = None,
    checkpoint: HeadCheckpointOption = None,
    labels: HeadLabelsOption = None,
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

    heads, weights = head_options(head, head_weight, checkpoint, labels)
    engine = Engine(model=model, device=device, home=home, window_s=window, stride_s=stride)
    with Progress(TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err, transient=True, disable=len(files) < 2) as bar:
        task = bar.add_task("", total=len(files))
        result = engine.classify(
            files, taxonomy, top_k=top_k, multi_label=multi_label, segments=segments, level=level,
            heads=heads, head_weights=weights,
            on_progress=lambda path, ok: bar.update(task, advance=1, description=Path(path).name),
        )
    if as_json:
        emit_json(result)
    else:
        for prediction in result.predictions:
            _print_prediction(prediction)
        for failure in result.failures:
            say_error("skipped", failure.error)
        for warning in result.warnings:
            say_error("warning:", warning)
    if result.failures:
        raise typer.Exit(1)


def _print_prediction(prediction) -> None:
    verdict = "[yellow]none of these[/]" if prediction.rejected else f"[bold]{prediction.top}[/]"
    out.print(f"{prediction.path}: {verdict}", highlight=False)
    table = Table(show_header=True, box=None, pad_edge=False)
    voters = list(prediction.labels[0].votes) if prediction.labels and prediction.labels[0].votes else []
    for column in ("label", "probability", "cosine", *voters):
        table.add_column(column)
    for score in prediction.labels:
        shares = [f"{score.votes[name]:.3f}" for name in voters] if score.votes else []
        table.add_row(score.label, f"{score.probability:.3f}", f"{score.cosine:.3f}", *shares)
    out.print(table)
    unmapped = [head.name for head in prediction.heads or [] if not head.mapped_labels]
    silent = [head.name for head in prediction.heads or [] if not head.voted and head.mapped_labels]
    if unmapped:
        out.print(f"  (no vote from {', '.join(unmapped)}: none of its labels maps onto this taxonomy; "
                  "see `openvid heads show-map`)", highlight=False)
    if silent:
        out.print(f"  (no vote from {', '.join(silent)}: nothing to say about this video, e.g. no audio track)",
                  highlight=False)
    for segment in prediction.segments or []:
        tops = ", ".join(f"{s.label} {s.probability:.2f}" for s in segment.labels[:3])
        out.print(f"  {segment.start_s:7.1f}–{segment.end_s:7.1f} s  {tops}", highlight=False)
