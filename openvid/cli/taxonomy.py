"""`openvid taxonomy ...`: editing prompt sets. Every edit is versioned; nothing is retrained.

The commands on versions (history, revert, diff) are in `taxonomy_versions`, on the same `app`.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from openvid.cli.common import (
    DeviceOption,
    HomeOption,
    JsonOption,
    ModelOption,
    RuntimeOption,
    emit_json,
    out,
    say_error,
)

app = typer.Typer(help="Create and edit prompt sets (label lists).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Taxonomy name.")]
LabelArg = Annotated[str, typer.Argument(help="Label name.")]


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    return Enum(name, {value: value for value in values}, type=str)


# The valid values of the settings as the flags' choices, spelled here so that `--help` needs no import of the
# store (which checks them again; tests/test_cli_taxonomy.py keeps the two in step).
RejectOn = _choices("RejectOn", ("probability", "cosine"))
Aggregate = _choices("Aggregate", ("mean", "max"))
Format = _choices("Format", ("yaml", "json", "csv"))


def _value(choice: Enum | None) -> str | None:
    return None if choice is None else choice.value


def open_store(home: Path | None):
    from openvid.config import Settings
    from openvid.store import TaxonomyStore

    return TaxonomyStore(Settings.from_env(home=home).home)


def done(taxonomy, message: str, as_json: bool, before: int | None = None) -> None:
    """One line on what an edit did; `before` (the version before it) tells an edit that changed nothing."""
    changed = before is None or taxonomy.version != before
    if as_json:
        emit_json({"taxonomy": taxonomy.name, "version": taxonomy.version, "changed": changed, "message": message})
    elif changed:
        out.print(f"{escape(message)} [dim]({escape(taxonomy.name)} is now at version {taxonomy.version})[/]")
    else:
        out.print(f"nothing to change: {escape(message)} already [dim]({escape(taxonomy.name)} stays at version "
                  f"{taxonomy.version})[/]")


def _quoted(texts) -> str:
    return ", ".join(f'"{text}"' for text in texts) or "none"


def plain(value) -> str:
    """A history detail value for people: text as itself, lists and mappings as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@app.command("create")
def create(
    name: NameArg,
    description: Annotated[str, typer.Option(help="What the label list is for.")] = "",
    template: Annotated[Optional[list[str]], typer.Option("--template", help="Prompt template with {} (repeatable).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an empty taxonomy.

    Example: openvid taxonomy create sports --template "a video of {}." --template "a person doing {}."
    """
    taxonomy = open_store(home).create(name, description=description, templates=template or None)
    done(taxonomy, f"created {name}", as_json)


@app.command("list")
def list_cmd(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List taxonomies in the store, and the built-in ones that can be copied.

    Example: openvid taxonomy list --json
    """
    store = open_store(home)
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
    taxonomy = open_store(home).get(name, version=version)
    if as_json:
        emit_json(taxonomy)
        return
    tree = Tree(f"[bold]{escape(taxonomy.name)}[/] v{taxonomy.version}  {escape(taxonomy.description)}")
    tree.add(f"templates: {escape(_quoted(taxonomy.templates))}")
    settings = tree.add("settings")
    for line in taxonomy.settings.describe():
        settings.add(escape(line))
    nodes = {}
    for label in taxonomy.labels:
        text = escape(label.name) + ("" if label.enabled else " [dim](disabled)[/]")
        extras = [*(f"prompt: {p}" for p in label.prompts), *(f"synonym: {s}" for s in label.synonyms)]
        parent = nodes.get(label.parent, tree)
        nodes[label.name] = parent.add(text)
        for extra in extras:
            nodes[label.name].add(f"[dim]{escape(extra)}[/]")
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
    taxonomy = open_store(home).add_label(name, label, prompts=prompt or (), synonyms=synonym or (), parent=parent,
                                      description=description)
    done(taxonomy, f"added {label!r}", as_json)


@app.command("rename-label")
def rename_label(name: NameArg, old: LabelArg, new: Annotated[str, typer.Argument(help="New name.")],
                 home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Rename a label; its prompts, children and history follow.

    Example: openvid taxonomy rename-label sports "soccer" "football"
    """
    done(open_store(home).rename_label(name, old, new), f"renamed {old!r} to {new!r}", as_json)


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
    done(open_store(home).remove_label(name, label, cascade=cascade), f"removed {label!r}", as_json)


@app.command("set-label")
def set_label(
    name: NameArg,
    label: LabelArg,
    rename: Annotated[Optional[str], typer.Option(help="A new name (its prompts, examples and children follow).")] = None,
    parent: Annotated[Optional[str], typer.Option(help="Move it under this label.")] = None,
    root: Annotated[bool, typer.Option("--root", help="Move it to the top level (no parent).")] = False,
    enable: Annotated[Optional[bool], typer.Option("--enable/--disable", help="Classify with it, or keep it but leave it out.", show_default=False)] = None,
    description: Annotated[Optional[str], typer.Option(help="A note for people (\"\" clears it).")] = None,
    add_prompt: Annotated[Optional[list[str]], typer.Option(help="A prompt of its own to add (repeatable).")] = None,
    remove_prompt: Annotated[Optional[list[str]], typer.Option(help="A prompt of its own to remove (repeatable).")] = None,
    add_synonym: Annotated[Optional[list[str]], typer.Option(help="Another name to add (repeatable).")] = None,
    remove_synonym: Annotated[Optional[list[str]], typer.Option(help="A synonym to remove (repeatable).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a label: rename, move, enable or disable, describe, edit its prompts and synonyms.

    Everything given is one edit (one version), refused whole if any part is wrong.

    Example: openvid taxonomy set-label sports soccer --rename football --parent "ball games" --add-prompt "a penalty kick"
    """
    from openvid.errors import UsageError

    if parent is not None and root:
        raise UsageError("give --parent LABEL or --root, not both")
    changes = {"new_name": rename, "enabled": enable, "description": description,
               "add_prompts": add_prompt or (), "remove_prompts": remove_prompt or (),
               "add_synonyms": add_synonym or (), "remove_synonyms": remove_synonym or ()}
    if parent is not None or root:
        changes["parent"] = parent
    if not any(value not in (None, ()) for value in changes.values()) and not root:
        raise UsageError("say what to change: --rename NEW, --parent LABEL or --root, --enable or --disable, "
                         "--description TEXT, --add-prompt/--remove-prompt TEXT, --add-synonym/--remove-synonym TEXT")
    store = open_store(home)
    before = store.get(name, install=False).version
    taxonomy = store.set_label(name, label, **changes)
    done(taxonomy, f"changed {label!r}" + (f" (now {rename!r})" if rename and rename != label else ""), as_json,
          before)


@app.command("add-prompt")
def add_prompt(name: NameArg, label: LabelArg, prompt: Annotated[str, typer.Argument(help="The prompt text.")],
               home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Give a label another prompt of its own.

    Example: openvid taxonomy add-prompt sports "pole vault" "a vaulter clearing the bar"
    """
    done(open_store(home).add_prompt(name, label, prompt), f"added a prompt to {label!r}", as_json)


@app.command("set-templates")
def set_templates(name: NameArg, templates: Annotated[list[str], typer.Argument(help="Templates, each with one {}.")],
                  home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Replace the taxonomy-wide prompt templates.

    Example: openvid taxonomy set-templates sports "a video of {}." "a person {}."
    """
    done(open_store(home).set_templates(name, templates), f"templates: {_quoted(templates)}", as_json)


@app.command("set")
def set_settings(
    name: NameArg,
    reject_below: Annotated[Optional[float], typer.Option("--reject-below", "--reject-threshold", help="Answer 'none of these' when the best score is below this.")] = None,
    reject_on: Annotated[Optional[RejectOn], typer.Option(help="Which score --reject-below reads.")] = None,
    no_reject: Annotated[bool, typer.Option("--no-reject", help="Never answer 'none of these'.")] = False,
    multi_label_threshold: Annotated[Optional[float], typer.Option(help="Cosine at which a label is on in --multi-label mode (softmax-trained encoders such as CLIP; a sigmoid-trained one such as SigLIP uses its own learned bias).")] = None,
    aggregate: Annotated[Optional[Aggregate], typer.Option(help="Whole-video score from segments.")] = None,
    fewshot_alpha: Annotated[Optional[float], typer.Option(help="Weight of the example cache beside the text (0: off).")] = None,
    fewshot_beta: Annotated[Optional[float], typer.Option(help="Sharpness of the example cache (higher: only close examples count).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change how a taxonomy decides: rejection threshold, multi-label threshold, aggregation,
    few-shot cache weights (head weights: `openvid heads weight`).

    Example: openvid taxonomy set sports --reject-below 0.4 --reject-on probability
    """
    from openvid.errors import UsageError

    changes = {"reject_on": _value(reject_on), "multi_label_threshold": multi_label_threshold,
               "aggregate": _value(aggregate), "fewshot_alpha": fewshot_alpha, "fewshot_beta": fewshot_beta}
    changes = {k: v for k, v in changes.items() if v is not None}
    if reject_below is not None and no_reject:
        raise UsageError("give --reject-below VALUE or --no-reject, not both")
    if reject_below is not None or no_reject:
        changes["reject_threshold"] = None if no_reject else reject_below
    if not changes:
        raise UsageError("say what to set: --reject-below VALUE (or --no-reject), --reject-on probability|cosine, "
                         "--multi-label-threshold COSINE, --aggregate mean|max, --fewshot-alpha A, --fewshot-beta B; "
                         f"`openvid taxonomy show {name}` shows the current settings")
    store = open_store(home)
    before = store.get(name, install=False).version
    taxonomy = store.update_settings(name, **changes)
    said = ", ".join(f"{key.replace('_', ' ')} {'none' if value is None else value}" for key, value in changes.items())
    done(taxonomy, f"settings: {said}", as_json, before)


@app.command("calibrate")
def calibrate(
    name: NameArg,
    accept: Annotated[list[Path], typer.Option("--accept", "-a", help="A video that shows one of the labels (repeatable).")],
    reject: Annotated[list[Path], typer.Option("--reject", "-r", help="A video that shows none of them (repeatable).")],
    on: Annotated[RejectOn, typer.Option(help="Score to threshold.")] = RejectOn.probability,
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit the "none of these" threshold from videos that do and do not belong, and store it.

    Example: openvid taxonomy calibrate sports -a dunk.mp4 -a vault.mp4 -r cooking.mp4 -r news.mp4
    """
    from openvid.engine import Engine

    engine = Engine(model=model, device=device, home=home, runtime=runtime)
    on = on.value
    result = engine.calibrate_rejection(name, accept, reject, on=on)
    if as_json:
        emit_json(result)
        return
    out.print(f"{name}: answer 'none of these' when the best {on} is below {result.threshold:.4f}")
    hits = (result.accept_scores >= result.threshold).mean()
    rejects = (result.reject_scores < result.threshold).mean()
    out.print(f"on the examples: {hits:.0%} of {len(result.accept_scores)} --accept kept, {rejects:.0%} of "
              f"{len(result.reject_scores)} --reject refused")
    for warning in result.warnings:
        say_error("warning:", warning)
    for failure in result.failures:
        say_error("skipped", f"{failure.path}: {failure.error}")


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="A .yaml, .json or .csv file.")],
    name: Annotated[Optional[str], typer.Option(help="Store under this name instead of the file's.")] = None,
    replace: Annotated[bool, typer.Option(help="Replace a taxonomy of the same name (kept in its history).")] = False,
    fmt: Annotated[Optional[Format], typer.Option("--format", "-f", help="The file's format (default: from its suffix).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a taxonomy; a malformed file is refused whole, naming the line or field.

    Example: openvid taxonomy import sports.yaml --name sports-v2; openvid taxonomy import labels.txt --format csv
    """
    taxonomy = open_store(home).import_file(file, name=name, fmt=_value(fmt), replace=replace)
    done(taxonomy, f"imported {len(taxonomy.labels)} labels from {file}", as_json)


@app.command("export")
def export_cmd(
    name: NameArg,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (.yaml, .json, .csv); default stdout.")] = None,
    fmt: Annotated[Optional[Format], typer.Option("--format", "-f", help="The format (default: from the --output suffix, else yaml).")] = None,
    version: Annotated[Optional[int], typer.Option(help="Export this older version.")] = None,
    home: HomeOption = None,
) -> None:
    """Export a taxonomy as YAML, JSON or CSV (import gives back exactly the same).

    Example: openvid taxonomy export sports -o sports.yaml
    """
    store = open_store(home)
    if output:
        store.export_file(name, output, fmt=_value(fmt), version=version)
        out.print(f"wrote {escape(str(output))}", highlight=False)
    else:
        typer.echo(store.export(name, _value(fmt) or "yaml", version=version), nl=False)


@app.command("copy")
def copy(source: Annotated[str, typer.Argument(help="Taxonomy (or built-in) to copy.")],
         new_name: Annotated[str, typer.Argument(help="Name of the copy.")],
         home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Copy a taxonomy, or a built-in one (kinetics400, kinetics600, ucf101, hmdb51), to edit it.

    Example: openvid taxonomy copy ucf101 my-ucf
    """
    done(open_store(home).copy(source, new_name), f"copied {source} to {new_name}", as_json)


@app.command("delete")
def delete(name: NameArg, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
           home: HomeOption = None) -> None:
    """Delete a taxonomy and its history.

    Example: openvid taxonomy delete old-sports --yes
    """
    if not yes:
        typer.confirm(f"Delete taxonomy {name!r} and its history?", abort=True)
    open_store(home).delete(name)
    out.print(f"deleted {name}")
