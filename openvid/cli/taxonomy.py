"""`openvid taxonomy ...`: editing prompt sets. Every edit is versioned; nothing is retrained."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.tree import Tree

from openvid.cli.common import DeviceOption, HomeOption, JsonOption, ModelOption, emit_json, out, say_error

app = typer.Typer(help="Create and edit prompt sets (label lists).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Taxonomy name.")]
LabelArg = Annotated[str, typer.Argument(help="Label name.")]


def _store(home: Path | None):
    from openvid.config import Settings
    from openvid.store import TaxonomyStore

    return TaxonomyStore(Settings.from_env(home=home).home)


def _done(taxonomy, message: str, as_json: bool) -> None:
    if as_json:
        emit_json({"taxonomy": taxonomy.name, "version": taxonomy.version, "message": message})
    else:
        out.print(f"{message} [dim]({taxonomy.name} is now at version {taxonomy.version})[/]")


@app.command("create")
def create(
    name: NameArg,
    description: Annotated[str, typer.Option(help="What the label list is for.")] = "",
    template: Annotated[Optional[list[str]], typer.Option("--template", "-t", help="Prompt template with {} (repeatable).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an empty taxonomy.

    Example: openvid taxonomy create sports --template "a video of {}." --template "a person doing {}."
    """
    taxonomy = _store(home).create(name, description=description, templates=template or None)
    _done(taxonomy, f"created {name}", as_json)


@app.command("list")
def list_cmd(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List taxonomies in the store, and the built-in ones that can be copied.

    Example: openvid taxonomy list --json
    """
    store = _store(home)
    rows = store.list()
    if as_json:
        emit_json({"taxonomies": rows, "builtin": store.builtin_names()})
        return
    table = Table()
    for column in ("name", "labels", "version", "updated", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.name, str(row.label_count), str(row.version), f"{row.updated_at:%Y-%m-%d %H:%M}", row.description)
    out.print(table)
    out.print(f"built in (copy to edit): {', '.join(store.builtin_names())}")


@app.command("show")
def show(
    name: NameArg,
    version: Annotated[Optional[int], typer.Option(help="Show the taxonomy as of this older version.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a taxonomy's templates, settings and labels with their prompts.

    Example: openvid taxonomy show sports --version 3
    """
    taxonomy = _store(home).get(name, version=version)
    if as_json:
        emit_json(taxonomy)
        return
    tree = Tree(f"[bold]{taxonomy.name}[/] v{taxonomy.version}  {taxonomy.description}")
    tree.add(f"templates: {taxonomy.templates}")
    tree.add(f"settings: {taxonomy.settings}")
    nodes = {}
    for label in taxonomy.labels:
        text = label.name + ("" if label.enabled else " [dim](disabled)[/]")
        extras = [*(f"prompt: {p}" for p in label.prompts), *(f"synonym: {s}" for s in label.synonyms)]
        parent = nodes.get(label.parent, tree)
        nodes[label.name] = parent.add(text)
        for extra in extras:
            nodes[label.name].add(f"[dim]{extra}[/]")
    out.print(tree)


@app.command("add-label")
def add_label(
    name: NameArg,
    label: LabelArg,
    prompt: Annotated[Optional[list[str]], typer.Option("--prompt", "-p", help="An extra prompt of its own (repeatable).")] = None,
    synonym: Annotated[Optional[list[str]], typer.Option("--synonym", "-s", help="Another name, filled into the templates (repeatable).")] = None,
    parent: Annotated[Optional[str], typer.Option(help="Parent label (for hierarchies).")] = None,
    description: Annotated[Optional[str], typer.Option(help="A note for people.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a label; the next classify uses it.

    Example: openvid taxonomy add-label sports "pole vault" --prompt "an athlete vaulting over a bar"
    """
    taxonomy = _store(home).add_label(name, label, prompts=prompt or (), synonyms=synonym or (), parent=parent,
                                      description=description)
    _done(taxonomy, f"added {label!r}", as_json)


@app.command("rename-label")
def rename_label(name: NameArg, old: LabelArg, new: Annotated[str, typer.Argument(help="New name.")],
                 home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Rename a label; its prompts, children and history follow.

    Example: openvid taxonomy rename-label sports "soccer" "football"
    """
    _done(_store(home).rename_label(name, old, new), f"renamed {old!r} to {new!r}", as_json)


@app.command("remove-label")
def remove_label(
    name: NameArg,
    label: LabelArg,
    cascade: Annotated[bool, typer.Option(help="Also remove its children.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a label (history keeps it: `taxonomy show --version` still shows it).

    Example: openvid taxonomy remove-label sports "curling"
    """
    _done(_store(home).remove_label(name, label, cascade=cascade), f"removed {label!r}", as_json)


@app.command("add-prompt")
def add_prompt(name: NameArg, label: LabelArg, prompt: Annotated[str, typer.Argument(help="The prompt text.")],
               home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Give a label another prompt of its own.

    Example: openvid taxonomy add-prompt sports "pole vault" "a vaulter clearing the bar"
    """
    _done(_store(home).add_prompt(name, label, prompt), f"added a prompt to {label!r}", as_json)


@app.command("set-templates")
def set_templates(name: NameArg, templates: Annotated[list[str], typer.Argument(help="Templates, each with one {}.")],
                  home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Replace the taxonomy-wide prompt templates.

    Example: openvid taxonomy set-templates sports "a video of {}." "a person {}."
    """
    _done(_store(home).set_templates(name, templates), f"templates set to {templates}", as_json)


@app.command("set")
def set_settings(
    name: NameArg,
    reject_below: Annotated[Optional[float], typer.Option(help="Answer 'none of these' when the best score is below this.")] = None,
    reject_on: Annotated[Optional[str], typer.Option(help="Which score --reject-below reads: probability or cosine.")] = None,
    no_reject: Annotated[bool, typer.Option("--no-reject", help="Never answer 'none of these'.")] = False,
    multi_label_threshold: Annotated[Optional[float], typer.Option(help="Cosine at which a label is on in --multi-label mode.")] = None,
    aggregate: Annotated[Optional[str], typer.Option(help="Whole-video score from segments: mean or max.")] = None,
    fewshot_alpha: Annotated[Optional[float], typer.Option(help="Weight of the example cache beside the text (0: off).")] = None,
    fewshot_beta: Annotated[Optional[float], typer.Option(help="Sharpness of the example cache (higher: only close examples count).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change how a taxonomy decides: rejection threshold, multi-label threshold, aggregation,
    few-shot cache weights (head weights: `openvid heads weight`).

    Example: openvid taxonomy set sports --reject-below 0.4 --reject-on probability
    """
    changes = {"reject_on": reject_on, "multi_label_threshold": multi_label_threshold, "aggregate": aggregate,
               "fewshot_alpha": fewshot_alpha, "fewshot_beta": fewshot_beta}
    changes = {k: v for k, v in changes.items() if v is not None}
    if reject_below is not None or no_reject:
        changes["reject_threshold"] = None if no_reject else reject_below
    taxonomy = _store(home).update_settings(name, **changes)
    _done(taxonomy, f"settings: {taxonomy.settings}", as_json)


@app.command("calibrate")
def calibrate(
    name: NameArg,
    accept: Annotated[list[Path], typer.Option("--accept", "-a", help="A video that shows one of the labels (repeatable).")],
    reject: Annotated[list[Path], typer.Option("--reject", "-r", help="A video that shows none of them (repeatable).")],
    on: Annotated[str, typer.Option(help="Score to threshold: probability or cosine.")] = "probability",
    model: ModelOption = None,
    device: DeviceOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit the "none of these" threshold from videos that do and do not belong, and store it.

    Example: openvid taxonomy calibrate sports -a dunk.mp4 -a vault.mp4 -r cooking.mp4 -r news.mp4
    """
    from openvid.engine import Engine

    engine = Engine(model=model, device=device, home=home)
    result = engine.calibrate_rejection(name, accept, reject, on=on)
    if as_json:
        emit_json(result)
        return
    out.print(f"{name}: answer 'none of these' when the best {on} is below {result.threshold:.4f}")
    hits = (result.accept_scores >= result.threshold).mean()
    rejects = (result.reject_scores < result.threshold).mean()
    out.print(f"on the examples: {hits:.0%} of --accept kept, {rejects:.0%} of --reject refused")
    for failure in result.failures:
        say_error("skipped", failure.error)


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="A .yaml, .json or .csv file.")],
    name: Annotated[Optional[str], typer.Option(help="Store under this name instead of the file's.")] = None,
    replace: Annotated[bool, typer.Option(help="Replace a taxonomy of the same name (kept in its history).")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a taxonomy; a malformed file is refused whole, naming the line or field.

    Example: openvid taxonomy import sports.yaml --name sports-v2
    """
    taxonomy = _store(home).import_file(file, name=name, replace=replace)
    _done(taxonomy, f"imported {len(taxonomy.labels)} labels from {file}", as_json)


@app.command("export")
def export_cmd(
    name: NameArg,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (.yaml, .json, .csv); default stdout.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="yaml, json or csv when writing to stdout.")] = "yaml",
    home: HomeOption = None,
) -> None:
    """Export a taxonomy as YAML, JSON or CSV (import gives back exactly the same).

    Example: openvid taxonomy export sports -o sports.yaml
    """
    store = _store(home)
    if output:
        store.export_file(name, output)
        out.print(f"wrote {output}")
    else:
        typer.echo(store.export(name, fmt), nl=False)


@app.command("history")
def history(name: NameArg, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List every edit: version, when, who, what.

    Example: openvid taxonomy history sports
    """
    entries = _store(home).history(name)
    if as_json:
        emit_json(entries)
        return
    table = Table()
    for column in ("version", "when", "who", "what", "detail"):
        table.add_column(column)
    for entry in entries:
        table.add_row(str(entry.version), f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.who, entry.action,
                      ", ".join(f"{k}={v}" for k, v in (entry.detail or {}).items()))
    out.print(table)


@app.command("copy")
def copy(source: Annotated[str, typer.Argument(help="Taxonomy (or built-in) to copy.")],
         new_name: Annotated[str, typer.Argument(help="Name of the copy.")],
         home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Copy a taxonomy, or a built-in one (kinetics400, kinetics600, ucf101, hmdb51), to edit it.

    Example: openvid taxonomy copy ucf101 my-ucf
    """
    _done(_store(home).copy(source, new_name), f"copied {source} to {new_name}", as_json)


@app.command("delete")
def delete(name: NameArg, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
           home: HomeOption = None) -> None:
    """Delete a taxonomy and its history.

    Example: openvid taxonomy delete old-sports --yes
    """
    if not yes:
        typer.confirm(f"Delete taxonomy {name!r} and its history?", abort=True)
    _store(home).delete(name)
    out.print(f"deleted {name}")
