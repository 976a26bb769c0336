"""`openvid fewshot` (classes from example clips) and `openvid eval` (accuracy on labelled clips)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openvid.cli.classify import HeadCheckpointOption, HeadLabelsOption, HeadOption, HeadWeightOption, head_options
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

app = typer.Typer(help="Teach a taxonomy from example clips, without training a network.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="fewshot")
    root.command("eval")(eval_cmd)


def _engine(model=None, device=None, home=None, window=None, runtime=None):
    from openvid.engine import Engine

    return Engine(model=model, device=device, home=home, window_s=window, runtime=runtime)


@app.command("add")
def add(
    taxonomy: Annotated[str, typer.Argument(help="Taxonomy.")],
    label: Annotated[str, typer.Argument(help="Label (created when missing).")],
    clips: Annotated[list[str], typer.Argument(help="Example clips: FILE or FILE@START-END (seconds).")],
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    window: Annotated[Optional[float], typer.Option(help="Segment length in seconds (default: the encoder's).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Embed example clips of a label and keep them; classification uses them at once.

    Every clip is embedded before anything is stored: one bad clip stores none.

    Example: openvid fewshot add sports kickflip a.mp4 b.mp4@3-7 c.mp4
    """
    engine = _engine(model, device, home, window, runtime=runtime)
    with err.status(f"embedding {len(clips)} example clip(s)…"):
        added = engine.add_examples(taxonomy, label, clips)
    rows = [_record_row(r) for r in added]
    if as_json:
        emit_json({"taxonomy": taxonomy, "label": label, "encoder": added.encoder, "created_label": added.created_label,
                   "similar_labels": added.similar_labels, "warnings": added.warnings, "added": rows})
    else:
        out.print(f"{taxonomy}: {len(added)} example(s) of {label!r} stored for {added.encoder}", highlight=False)
    for warning in added.warnings:
        say_error("note:", warning)


@app.command("list")
def list_examples(
    taxonomy: Annotated[str, typer.Argument(help="Taxonomy.")],
    label: Annotated[Optional[str], typer.Option(help="Only this label's examples.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a taxonomy's examples: one row per clip, with the encoders that embedded it.

    The id names the clip (`fewshot remove` takes it). Example: openvid fewshot list sports --label kickflip
    """
    sources = _engine(home=home).examples.sources(taxonomy, label=label)
    rows = [_source_row(s) for s in sources]
    if as_json:
        emit_json(rows)
        return
    encoders = sorted({e for s in sources for e in s.encoders})
    table = Table(title=f"{taxonomy}: {len(rows)} example clip(s), embedded by {len(encoders)} encoder(s)", box=None)
    for column in ("id", "label", "clip", "encoders"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["id"]), escape(row["label"]), escape(row["clip"]), escape(", ".join(row["encoders"])))
    out.print(table)


@app.command("remove")
def remove(
    taxonomy: Annotated[str, typer.Argument(help="Taxonomy.")],
    ids: Annotated[Optional[list[int]], typer.Argument(help="Example ids (see `fewshot list`).")] = None,
    label: Annotated[Optional[str], typer.Option(help="Every example of this label.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove example clips by id, or all of a label's, under every encoder.

    Example: openvid fewshot remove sports 4 7; openvid fewshot remove sports --label kickflip
    """
    from openvid.errors import UsageError

    if not ids and label is None:
        raise UsageError("name example ids (see `openvid fewshot list`) or --label")
    store = _engine(home=home).examples
    before = len(store.sources(taxonomy))
    vectors = store.remove(taxonomy, ids=ids or None, label=label, clips=True)
    removed = before - len(store.sources(taxonomy))
    if as_json:
        emit_json({"taxonomy": taxonomy, "removed": removed, "vectors_removed": vectors})
    else:
        out.print(f"{taxonomy}: {removed} example clip(s) removed ({vectors} vector(s) under all encoders)",
                  highlight=False)


@app.command("sync")
def sync_cmd(
    taxonomy: Annotated[str, typer.Argument(help="Taxonomy.")],
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    window: Annotated[Optional[float], typer.Option(help="Segment length in seconds (default: the encoder's).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-embed a taxonomy's examples for this model from their files (classify does it too, on the way).

    Exit code 1 when some could not be re-embedded (their files are gone or unreadable).

    Example: openvid fewshot sync sports --model xclip
    """
    engine = _engine(model, device, home, window, runtime=runtime)
    with err.status("re-embedding examples…"):
        report = engine.sync_examples(taxonomy)
    if as_json:
        emit_json(report)
    else:
        out.print(f"{taxonomy}: {len(report.re_embedded)} example(s) re-embedded for {report.encoder}", highlight=False)
        for missing in report.missing:
            say_error("could not re-embed", missing)
    if report.missing:
        raise typer.Exit(1)


@app.command("fit")
def fit(
    taxonomy: Annotated[str, typer.Argument(help="Taxonomy.")],
    no_tune: Annotated[bool, typer.Option("--no-tune", help="Keep the taxonomy's alpha/beta as they are.")] = False,
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit a linear probe from the examples (initialised from the text prompts) and store it.

    Needs at least 2 examples of every label that has any, and examples of 2 labels. Also tunes the
    example cache's alpha/beta by leave-one-out over the examples (unless --no-tune).

    Example: openvid fewshot fit sports
    """
    with err.status("fitting…"):
        report = _engine(model, device, home, runtime=runtime).fit_fewshot(taxonomy, tune=not no_tune)
    if as_json:
        emit_json(report)
        return
    out.print(f"{taxonomy}: probe fitted on {report.examples} examples of {len(report.labels_with_examples)} labels "
              f"for {report.encoder} (training accuracy {report.probe.get('train_accuracy', 0):.2f}); "
              f"cache alpha {report.alpha:g}, beta {report.beta:g}"
              + (f" (leave-one-out top-1 {report.tuning['accuracy']:.2f})" if report.tuning else ""), highlight=False)


def eval_cmd(
    data: Annotated[Path, typer.Argument(help="A folder with one sub-folder per label, or a CSV of path,label[,start,end].")],
    taxonomy: Annotated[str, typer.Option("--taxonomy", "-t", help="Taxonomy to evaluate.")],
    shots: Annotated[Optional[str], typer.Option(help="k-shot curve, e.g. 0,1,2,4,8: examples drawn from DATA.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.json and the PNG plots.")] = Path("eval"),
    seed: Annotated[int, typer.Option(help="Seed of the k-shot draws.")] = 0,
    head: HeadOption = None,
    head_weight: HeadWeightOption = None,
    checkpoint: HeadCheckpointOption = None,
    labels: HeadLabelsOption = None,
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    window: Annotated[Optional[float], typer.Option(help="Segment length in seconds (default: the encoder's).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure a taxonomy on labelled clips: top-1/top-5, per-class accuracy, macro-F1, a confusion
    matrix PNG, a JSON report and, with --shots, a k-shot curve PNG. Bad files are skipped and counted.
    With --head, the fused answer (encoder and heads) is what is measured.

    Example: openvid eval labelled/ -t sports --shots 0,1,2,4,8 -o eval-sports
    """
    from openvid.errors import UsageError

    try:
        shot_list = [int(v) for v in shots.split(",")] if shots else []
    except ValueError:
        raise UsageError(f"--shots takes whole numbers separated by commas, e.g. 0,1,2,4; got {shots!r}") from None
    heads, weights = head_options(head, head_weight, checkpoint, labels)
    engine = _engine(model, device, home, window, runtime=runtime)
    with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err, transient=True) as bar:
        task = bar.add_task("", total=None)
        result = engine.evaluate(
            taxonomy, data, shots=shot_list, out_dir=out_dir, seed=seed, heads=heads, head_weights=weights,
            on_planned=lambda n: bar.update(task, total=n),
            on_progress=lambda path, ok: bar.update(task, advance=1, description=Path(path).name))
    if as_json:
        emit_json(result.to_dict())
    else:
        report = result.report
        out.print(f"{taxonomy} on {report.n} clips: top-1 {report.top1:.3f}, top-5 {report.top5:.3f}, "
                  f"macro-F1 {report.macro_f1:.3f}, mean class accuracy {report.mean_class_accuracy:.3f}", highlight=False)
        for point in result.kshot:
            probe = "" if point["probe_top1"] is None else f", probe {point['probe_top1']:.3f}"
            out.print(f"  {point['k']}-shot: cache {point['cache_top1']:.3f}{probe} on {point['n_query']} held-out clips",
                      highlight=False)
        for name, path in result.files.items():
            out.print(f"  {name}: {path}", highlight=False)
        for warning in result.warnings:
            say_error("warning:", warning)
        for failure in result.failures:
            say_error("skipped", f"{failure.path}: {failure.error}")
    if result.failures:
        raise typer.Exit(1)


def _source_row(source) -> dict:
    from openvid.fewshot.examples import describe

    return {"id": source.id, "ids": list(source.ids), "label": source.label,
            "clip": describe(source.source_path, source.start_s, source.end_s), "source_path": source.source_path,
            "start_s": source.start_s, "end_s": source.end_s, "encoders": list(source.encoders)}


def _record_row(record) -> dict:
    from openvid.fewshot.examples import describe

    return {"id": record.id, "label": record.label, "encoder": record.encoder,
            "clip": describe(record.source_path, record.start_s, record.end_s),
            "source_path": record.source_path, "start_s": record.start_s, "end_s": record.end_s}
