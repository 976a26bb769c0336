"""`openvid classify`: which of a taxonomy's labels (or of labels given for one run) each video is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openvid.cli.common import (
    DeviceOption,
    HomeOption,
    JsonOption,
    ModelOption,
    RuntimeOption,
    emit_json,
    err,
    out,
    say_error,
)
from openvid.errors import UsageError


def pairs(values: list[str] | None, option: str, example: str = "videomae=...") -> dict[str, str]:
    """`NAME=VALUE` options into a mapping, refusing anything else with the expected form."""
    result = {}
    for value in values or []:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise UsageError(f"{option} takes NAME=VALUE (e.g. {option} {example}), got {value!r}")
        result[name.strip()] = rest.strip()
    return result


def parse_float(value: str, option: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{option} wants a number after '=', got {value!r}") from None


def head_choices(heads: list[str] | None, checkpoints: list[str] | None, labels: list[str] | None) -> list:
    """--head/--head-checkpoint/--head-labels into HeadChoice objects; options for a head not asked for are refused."""
    from openvid.heads import HeadChoice

    names = list(heads or [])
    example = f"{names[0] if names else 'videomae'}=PATH"
    checkpoint_of = pairs(checkpoints, "--head-checkpoint", example)
    labels_of = pairs(labels, "--head-labels", example)
    stray = sorted((set(checkpoint_of) | set(labels_of)) - set(names))
    if stray and len(names) == 1:
        raise UsageError(f"--head-checkpoint/--head-labels name {', '.join(stray)}, but the head here is {names[0]}: "
                         f"give {names[0]}=PATH")
    if stray:
        raise UsageError(f"--head-checkpoint/--head-labels name {', '.join(stray)}, which is not asked for; "
                         f"add --head {stray[0]}")
    return [HeadChoice(name, checkpoint_of.get(name), labels_of.get(name)) for name in names]


def head_options(head: list[str] | None, head_weight: list[str] | None, checkpoint: list[str] | None,
                 labels: list[str] | None) -> tuple[list, dict[str, float]]:
    """The head flags every classifying command shares, as (choices, weights)."""
    weights = {name: parse_float(value, "--head-weight") for name, value in pairs(head_weight, "--head-weight").items()}
    return head_choices(head, checkpoint, labels), weights


HeadOption = Annotated[Optional[list[str]], typer.Option(
    "--head", metavar="NAME", help="A closed-set head that votes too (repeatable; `openvid heads list`).")]
HeadWeightOption = Annotated[Optional[list[str]], typer.Option(
    "--head-weight", metavar="NAME=W", help="A head's weight for this run (the encoder's is 1).")]
HeadCheckpointOption = Annotated[Optional[list[str]], typer.Option(
    "--head-checkpoint", metavar="NAME=PATH", help="A head's own weights instead of its default checkpoint.")]
HeadLabelsOption = Annotated[Optional[list[str]], typer.Option(
    "--head-labels", metavar="NAME=FILE", help="The label names of a head's own weights, one per line.")]


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_cmd)


def classify_cmd(
    files: Annotated[list[Path], typer.Argument(help="Video files and folders (searched recursively, as by `index`).")],
    taxonomy: Annotated[Optional[str], typer.Option(
        "--taxonomy", "-t", metavar="NAME", help="Taxonomy (stored label list) to classify against.")] = None,
    labels: Annotated[Optional[list[str]], typer.Option(
        "--labels", metavar="A,B,...", help="Instead of a taxonomy: label names for this run only, comma-separated "
        "(default template, nothing stored).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="How many labels to show.")] = 5,
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Independent yes/no per label instead of one answer.")] = False,
    segments: Annotated[bool, typer.Option("--segments", help="Also show a timeline of per-segment top labels.")] = False,
    level: Annotated[Optional[int], typer.Option(min=0, help="Show parent labels at this depth (0 = top level).")] = None,
    head: HeadOption = None,
    head_weight: HeadWeightOption = None,
    head_checkpoint: HeadCheckpointOption = None,
    head_labels: HeadLabelsOption = None,
    window: Annotated[Optional[float], typer.Option(metavar="SECONDS", help="Segment length (default: the encoder's).")] = None,
    stride: Annotated[Optional[float], typer.Option(metavar="SECONDS", help="Time between segment starts (default: window).")] = None,
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rank a taxonomy's labels (or --labels) for each video; bad files are reported and skipped (exit code 1).

    Example: openvid classify clip.mp4 other.mp4 --taxonomy sports --top-k 3 --segments;
    openvid classify clip.mp4 --labels "surfing,skateboarding,cooking"
    """
    from openvid.archive.walk import expand_folders
    from openvid.engine import Engine

    heads, weights = head_options(head, head_weight, head_checkpoint, head_labels)
    given = ",".join(labels) if labels is not None else None
    files = expand_folders(files)  # folders walked as `openvid index` walks them
    engine = Engine(model=model, device=device, home=home, window_s=window, stride_s=stride, runtime=runtime)
    with Progress(TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err, transient=True, disable=len(files) < 2) as bar:
        task = bar.add_task("", total=len(files))
        result = engine.classify(
            files, taxonomy, labels=given, top_k=top_k, multi_label=multi_label, segments=segments, level=level,
            heads=heads, head_weights=weights,
            on_progress=lambda path, ok: bar.update(task, advance=1, description=Path(path).name),
        )
    if as_json:
        emit_json(result)
    else:
        for prediction in result.predictions:
            print_prediction(prediction)
        for failure in result.failures:
            say_error("skipped", failure.error)
        for warning in result.warnings:
            say_error("warning:", warning)
    if result.failures:
        raise typer.Exit(1)


def print_prediction(prediction) -> None:
    """One video's answer as a header line and a table (multi-label: every accepted label, yes/no each)."""
    if prediction.rejected:
        verdict = "[yellow]none of these[/]"
    else:
        verdict = ", ".join(f"[bold]{escape(name)}[/]" for name in prediction.accepted)
    out.print(f"{escape(prediction.path)}: {verdict}", highlight=False, soft_wrap=True)
    if prediction.multi_label:
        _print_multi_label(prediction)
    else:
        _print_single_label(prediction)
    for segment in prediction.segments or []:
        tops = ", ".join(f"{escape(s.label)} {s.probability:.2f}" for s in segment.labels[:3])
        out.print(f"  {segment.start_s:7.1f}–{segment.end_s:7.1f} s  {tops}", highlight=False)


def _print_multi_label(prediction) -> None:
    table = Table(show_header=True, box=None, pad_edge=False)
    for column in ("label", "on", "yes-probability", "cosine"):
        table.add_column(column)
    for score in prediction.labels:
        table.add_row(escape(score.label), "yes" if score.on else "no", f"{score.probability:.3f}", f"{score.cosine:.3f}")
    out.print(table)
    out.print(f"  (multi-label: each label is judged on its own, on from cosine {prediction.threshold:g}, where its "
              "yes-probability is 0.5)", highlight=False)


def _print_single_label(prediction) -> None:
    table = Table(show_header=True, box=None, pad_edge=False)
    voters = list(prediction.labels[0].votes) if prediction.labels and prediction.labels[0].votes else []
    for column in ("label", "probability", "cosine", *voters):
        table.add_column(column)
    marked = False
    for score in prediction.labels:
        shares = []
        for name in voters if score.votes else []:
            star = "*" if name in (score.spread or []) else ""
            marked = marked or bool(star)
            shares.append(f"{score.votes[name]:.3f}{star}")
        table.add_row(escape(score.label), f"{score.probability:.3f}", f"{score.cosine:.3f}", *shares)
    out.print(table)
    reports = prediction.heads or []
    if reports:
        pool = ", ".join(f"{h.name} weight {h.weight:g} (share {h.share:.2f})" for h in reports if h.voted)
        if pool:
            out.print(f"  (voters: zero-shot weight 1 (share {1 - sum(h.share for h in reports):.2f}), {pool})",
                      highlight=False)
    if marked:
        out.print("  (* no label of that head maps here: its share is its leftover mass, the probability on its labels "
                  "that map to nothing, spread over the labels it does not cover in the zero-shot proportions)",
                  highlight=False)
    unmapped = [h.name for h in reports if not h.mapped_labels]
    silent = [h.name for h in reports if not h.voted and h.mapped_labels]
    if unmapped:
        out.print(f"  (no vote from {', '.join(unmapped)}: none of its labels maps onto this taxonomy; "
                  "see `openvid heads show-map`)", highlight=False)
    if silent:
        out.print(f"  (no vote from {', '.join(silent)}: nothing to say about this video, e.g. no audio track)",
                  highlight=False)
