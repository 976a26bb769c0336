"""`openvid heads`: the closed-set heads, where their labels vote in a taxonomy, and their weights."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from openvid.cli.classify import HeadCheckpointOption, HeadLabelsOption, head_choices
from openvid.cli.common import DeviceOption, HomeOption, JsonOption, ModelOption, RuntimeOption, emit_json, out

app = typer.Typer(help="Closed-set heads that vote beside the zero-shot encoder.", no_args_is_help=True)


def head_rows() -> list[dict]:
    """Every registered head as a row, with whether its default checkpoint is here (no torch needed)."""
    from openvid.heads import list_heads
    from openvid.heads.availability import is_cached

    rows = []
    for spec in list_heads():
        row = dataclasses.asdict(spec)
        row["available"] = spec.checkpoint is not None and is_cached(spec)
        rows.append(row)
    return rows


def heads_table(rows: list[dict], notes: bool = False) -> Table:
    """The heads as a table; the long notes (sources, published accuracy) only when asked for."""
    table = Table(title="openvid heads (closed-set, used with classify --head)")
    for column in ("name", "checkpoint", "input", "trained on", "weight", "available", *(["note"] if notes else [])):
        table.add_column(column, overflow="fold")
    for row in rows:
        span = f" over {row['clip_seconds']:.1f} s" if row.get("clip_seconds") else ""
        frames = f"{row['frames']} × {row['image_size']}{span}" if row["frames"] else ""
        audio = f"audio {row['sample_rate'] // 1000} kHz" if row["needs_audio"] and row["sample_rate"] else ""
        available = "[green]yes[/]" if row["available"] else ("—" if row["checkpoint"] is None else "[yellow]no[/]")
        table.add_row(row["name"], row["checkpoint"] or "(bring your own)", " + ".join(x for x in (frames, audio) if x),
                      row["trained_on"], f"{row['default_weight']:g}", available, *([row["note"]] if notes else []))
    return table


@app.command("list")
def heads_list(
    notes: Annotated[bool, typer.Option("--notes", help="Also show each head's notes (sources, published accuracy).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show the registered heads: checkpoint, input, what they were trained on, default weight.

    Example: openvid heads list --notes
    """
    rows = head_rows()
    if as_json:
        emit_json(rows)
    else:
        out.print(heads_table(rows, notes=notes))


@app.command("show-map")
def show_map(
    taxonomy: Annotated[str, typer.Argument(help="Taxonomy.")],
    head: Annotated[str, typer.Argument(help="Head name.")],
    everything: Annotated[bool, typer.Option("--all", help="Also list head labels that map to nothing.")] = False,
    threshold: Annotated[Optional[float], typer.Option(help="Text-similarity cut for automatic mapping.")] = None,
    head_checkpoint: HeadCheckpointOption = None,
    head_labels: HeadLabelsOption = None,
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show where each of a head's labels votes in a taxonomy, and why (override, same name, similar).

    The same --head-checkpoint NAME=PATH and --head-labels NAME=FILE as classify.
    Example: openvid heads show-map sports videomae
    """
    from openvid.engine import Engine

    choice = head_choices([head], head_checkpoint, head_labels)[0]
    engine = Engine(model=model, device=device, home=home, runtime=runtime)
    mapping = engine.head_mapping(taxonomy, choice, threshold=threshold)
    rows = mapping.rows(everything=everything)
    uncovered = [label for label in mapping.labels if label not in mapping.covered]
    if as_json:
        emit_json({"taxonomy": taxonomy, "head": head, "covered": mapping.covered, "uncovered": uncovered, "map": rows})
        return
    table = Table(title=f"{head} → {taxonomy}", box=None)
    for column in ("head label", "taxonomy label", "how", "similarity"):
        table.add_column(column)
    for row in rows:
        similarity = "" if row["similarity"] is None else f"{row['similarity']:.3f}"
        table.add_row(escape(row["head_label"]), escape(row["label"]) if row["label"] else "[dim](ignored)[/]",
                      row["how"], similarity)
    out.print(table)
    summary = f"{len(mapping.covered)} of {len(mapping.labels)} labels get a vote of their own from {head}"
    if uncovered:
        shown = ", ".join(uncovered[:20]) + (" …" if len(uncovered) > 20 else "")
        summary += (f"; no label of {head} maps to: {shown}. In classify these share only {head}'s leftover mass "
                    "(its probability on labels that map to nothing), spread in the zero-shot proportions "
                    "(shown with *)")
    out.print(summary, highlight=False)


@app.command("map")
def map_label(
    taxonomy: Annotated[str, typer.Argument(help="Taxonomy.")],
    head: Annotated[str, typer.Argument(help="Head name.")],
    head_label: Annotated[str, typer.Argument(help="The head's label, as `show-map --all` prints it.")],
    label: Annotated[Optional[str], typer.Argument(help="The taxonomy label it votes for.")] = None,
    ignore: Annotated[bool, typer.Option("--ignore", help="Make the head label vote for nothing.")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Forget the override (back to automatic).")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide where one head label votes, overriding the automatic mapping (kept in SQLite).

    Example: openvid heads map sports videomae "skateboarding" "kickflip"
    """
    from openvid.engine import Engine
    from openvid.errors import UsageError
    from openvid.heads import get_head_spec

    if sum([label is not None, ignore, clear]) != 1:
        raise UsageError("give exactly one of: a taxonomy label, --ignore, or --clear")
    get_head_spec(head)
    maps = Engine(home=home).head_maps
    if clear:
        removed = maps.clear(taxonomy, head, head_label)
        result = {"taxonomy": taxonomy, "head": head, "head_label": head_label, "cleared": removed}
        message = f"{head} {head_label!r}: back to automatic" if removed else f"{head} {head_label!r} had no override"
    else:
        override = maps.set(taxonomy, head, head_label, None if ignore else label)
        result = {"taxonomy": taxonomy, "head": head, "head_label": head_label, "label": override.label}
        message = f"{head} {head_label!r} → {override.label!r}" if override.label else f"{head} {head_label!r}: ignored"
    if as_json:
        emit_json(result)
    else:
        out.print(message, highlight=False)


@app.command("weight")
def set_weight(
    taxonomy: Annotated[str, typer.Argument(help="Taxonomy.")],
    head: Annotated[str, typer.Argument(help="Head name.")],
    weight: Annotated[Optional[float], typer.Argument(min=0, help="Its vote relative to the encoder's 1 (0: off).")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Back to the head's default weight.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a head's weight in a taxonomy's settings (versioned like every taxonomy edit).

    Example: openvid heads weight sports videomae 2
    """
    from openvid.engine import Engine
    from openvid.errors import UsageError

    if (weight is None) == (not reset):
        raise UsageError("give either a weight or --reset, not both")
    weights = Engine(home=home).set_head_weight(taxonomy, head, None if reset else weight)
    if as_json:
        emit_json({"taxonomy": taxonomy, "head_weights": weights})
    else:
        out.print(f"{taxonomy}: head weights {weights or '(defaults)'}", highlight=False)
