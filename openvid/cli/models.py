"""`openvid models`: which encoders exist, which are on this machine, and fetching them."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from openvid.cli.classify import HeadCheckpointOption, HeadLabelsOption, head_choices
from openvid.cli.common import HomeOption, JsonOption, RuntimeOption, emit_json, err, out, say_error
from openvid.errors import UsageError

app = typer.Typer(help="List and download encoder and head checkpoints.", no_args_is_help=True)


@app.command("list")
def models_list(as_json: JsonOption = False) -> None:
    """Show the registered encoders and heads, what each is, and whether it is available offline.

    Example: openvid models list --json
    """
    from openvid.cli.heads import head_rows, heads_table
    from openvid.config import DEFAULT_MODELS
    from openvid.encoders import is_cached, list_encoders

    rows = []
    for spec in list_encoders():
        row = dataclasses.asdict(spec)
        row["kind"] = "encoder"
        row["available"] = is_cached(spec.name)
        row["default_for"] = [f"{job} ({device})" for (job, device), name in DEFAULT_MODELS.items() if name == spec.name]
        rows.append(row)
    heads = head_rows()
    if as_json:
        emit_json(rows + [{"kind": "head", **row} for row in heads])
        return
    table = Table(title="openvid encoders")
    for column in ("name", "checkpoint", "frames × px", "cost", "here, CPU", "zero-shot", "available", "note"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"] + (f"\n[dim]default: {', '.join(row['default_for'])}[/]" if row["default_for"] else ""),
            row["checkpoint"], f"{row['frames']} × {row['image_size']}",
            f"{row['gflops']:g} GFLOPs/{row['cost_unit']}" if row["gflops"] else "—",
            measured_speed(row["measured"], row["cost_unit"]),
            "yes" if row["zero_shot"] else "[yellow]no[/]",
            "[green]yes[/]" if row["available"] else "[yellow]no[/]",
            row["note"],
        )
    out.print(table)
    if any(row["measured"] for row in rows):
        out.print("here, CPU: frames/s at full size, fp32, against clip (ViT-B/32), measured by "
                  "scripts/bench_encoders.py on the project's reference machine (docs/benchmarks.md).")
    out.print(heads_table(heads))
    if not all(row["available"] for row in rows + [h for h in heads if h["checkpoint"]]):
        out.print("Missing checkpoints download on first use, or ahead with `openvid models pull NAME`.")


def _rate(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.3g}"


def measured_speed(measured, cost_unit: str) -> str:
    """ "17.8 frames/s (0.79×)" from a spec's `measured` figures, "—" when there are none."""
    frames = (measured or {}).get("cpu_frames_per_s")
    if not frames:
        return "—"
    ratio = measured.get("vs_clip")
    text = f"{_rate(frames)} frames/s" + (f" ({ratio:.2f}×)" if ratio else "")
    per_unit = measured.get("cpu_fp32_per_s")
    if cost_unit == "clip" and per_unit:
        text += f"\n{_rate(per_unit)} clips/s"
    return text


@app.command("pull")
def models_pull(
    names: Annotated[list[str], typer.Argument(
        metavar="NAME...", help="Registered encoder or head names, hub ids, or family:checkpoint.")],
    as_json: JsonOption = False,
) -> None:
    """Download checkpoints into the local cache so later runs work offline; each is tried and reported.

    Exit code 1 when any of them failed.
    Example: openvid models pull clip xclip videomae
    """
    from openvid.engine import Engine
    from openvid.errors import OpenvidError

    results = []
    for name in names:
        try:
            with err.status(f"pulling {name}…"):
                location = Engine.pull(name)
        except OpenvidError as exc:
            results.append({"name": name, "ok": False, "error": exc.cli_message()})
            if not as_json:
                say_error("error:", f"{name}: {exc.cli_message()}" if len(names) > 1 else exc)
            continue
        results.append({"name": name, "ok": True, "location": location})
        if not as_json:
            out.print(f"{name}: {location}", highlight=False, soft_wrap=True, markup=False)
    if as_json:
        emit_json(results)
    failed = [r["name"] for r in results if not r["ok"]]
    if failed and len(names) > 1 and not as_json:
        say_error("failed:", f"{len(failed)} of {len(names)}: {', '.join(failed)}")
    if failed:
        raise typer.Exit(1)


@app.command("export")
def models_export(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Registered encoder or head name, hub id, or local folder.")],
    runtime: RuntimeOption = None,
    head_checkpoint: HeadCheckpointOption = None,
    head_labels: HeadLabelsOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export an encoder's towers, or a head's network, for a runtime ahead of use, verified against
    torch (kept in HOME/exports).

    Without it the first run on that runtime exports them. A tower whose export does not match torch
    (cosine below 0.99999 in float32) is refused with a warning and runs torch: the JSON says which.
    A head (`openvid heads list`) takes the same --head-checkpoint NAME=PATH and --head-labels NAME=FILE
    as classify; under --runtime auto it exports only where its measured choice is ONNX Runtime.
    Example: openvid models export mobileclip2-s0 --runtime onnx
    """
    from openvid.config import Settings
    from openvid.heads import list_heads

    settings = Settings.from_env(runtime=runtime, home=home, device="cpu")
    if name in {spec.name for spec in list_heads()}:
        from openvid.heads import load_head

        choice = head_choices([name], head_checkpoint, head_labels)[0]
        with err.status(f"exporting {name}…"):
            model = load_head(choice, settings)
            rows = {"head": model.export_network()}
    else:
        from openvid.encoders import load_encoder

        if head_checkpoint or head_labels:
            raise UsageError(f"--head-checkpoint and --head-labels are for heads; {name} is not one "
                             "(`openvid heads list` shows them)")
        with err.status(f"exporting {name}…"):
            model = load_encoder(name, settings)
            towers = model.runtimes(build=True)
        built = getattr(model, "_towers", {})
        rows = {tower: {"runtime": ran, "min_cosine": getattr(built.get(tower), "min_cosine", None),
                        "reason": getattr(built.get(tower), "reason", "")} for tower, ran in towers.items()}
    if as_json:
        emit_json({"name": name, "identity": model.identity, "asked": model.runtime,
                   "exports": str(settings.home / "exports"), "towers": rows})
        return
    for tower, row in rows.items():
        cosine = f", min cosine to torch {row['min_cosine']:.6f}" if row["min_cosine"] is not None else ""
        why = f" ({row['reason']})" if row["reason"] else ""
        out.print(f"{name} {tower}: {row['runtime']}{cosine}{why}", highlight=False, soft_wrap=True, markup=False)
