"""`openvid index / search / remove / info / check`: a searchable archive of videos."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openvid.cli.common import DeviceOption, HomeOption, JsonOption, ModelOption, emit_json, err, out, say_error

IndexOption = Annotated[str, typer.Option("--index", "-i", help="Index name (one per model).")]


def register(app: typer.Typer) -> None:
    for name, command in [("index", index_cmd), ("search", search_cmd), ("remove", remove_cmd),
                          ("info", info_cmd), ("check", check_cmd)]:
        app.command(name)(command)


def _engine(model=None, device=None, home=None, window=None, stride=None):
    from openvid.engine import Engine

    return Engine(model=model, device=device, home=home, window_s=window, stride_s=stride)


def index_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Video files and folders (searched recursively).")],
    index: IndexOption = "default",
    model: ModelOption = None,
    window: Annotated[Optional[float], typer.Option(help="Segment length in seconds (default: the encoder's).")] = None,
    stride: Annotated[Optional[float], typer.Option(help="Seconds between segment starts (default: window).")] = None,
    factory: Annotated[Optional[str], typer.Option(help="Force a FAISS index type, e.g. 'HNSW32' or 'Flat'.")] = None,
    device: DeviceOption = None,
    home: HomeOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print time spent per stage.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Index videos for search; files already indexed (same content) are skipped.

    Example: openvid index ~/archive --index archive --model clip
    """
    engine = _engine(model, device, home, window, stride)
    counts = {"segments": 0}
    started = time.perf_counter()
    with Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                  TimeElapsedColumn(), TextColumn("{task.description}"), console=err, transient=True,
                  disable=as_json) as bar:
        task = bar.add_task("", total=None, rate="")

        def progress(path: str, status: str, segments: int) -> None:
            counts["segments"] += segments
            rate = counts["segments"] / max(time.perf_counter() - started, 1e-6)
            bar.update(task, advance=1, description=f"{status}: {Path(path).name}",
                       rate=f"{counts['segments']} segments, {rate:.1f}/s")

        report = engine.index_videos(paths, index, factory=factory, on_progress=progress)
    if as_json:
        emit_json(report)
    else:
        speed = report.video_seconds / report.wall_seconds if report.wall_seconds else 0.0
        out.print(f"{report.index}: indexed {len(report.indexed)} videos ({report.segments} segments, "
                  f"{report.video_seconds:.0f} s of video at {speed:.1f}× real time); "
                  f"{len(report.already)} already indexed, {len(report.moved)} moved, "
                  f"{len(report.replaced)} changed and re-indexed, {len(report.failures)} failed")
        for failure in report.failures:
            say_error("failed", failure.error)
        if verbose and report.times:
            t = report.times
            out.print(f"stages: decode {t.decode:.1f} s (background), encode {t.compute:.1f} s, "
                      f"encoder waiting for frames {t.waiting:.1f} s, {t.clips} clips")
    if report.failures:
        raise typer.Exit(1)


def search_cmd(
    query: Annotated[Optional[str], typer.Argument(help="What to look for, in plain words.")] = None,
    index: IndexOption = "default",
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="How many moments.")] = 10,
    like: Annotated[Optional[str], typer.Option(help="Search by an example clip: FILE or FILE@start-end.")] = None,
    per_video: Annotated[bool, typer.Option("--per-video", help="Only the best moment of each video.")] = False,
    path: Annotated[Optional[str], typer.Option("--path", help="Only videos whose path matches this glob.")] = None,
    min_duration: Annotated[Optional[float], typer.Option(help="Only videos at least this many seconds long.")] = None,
    taxonomy: Annotated[Optional[str], typer.Option(help="With --label: only segments whose zero-shot label in this taxonomy is LABEL.")] = None,
    label: Annotated[Optional[str], typer.Option(help="See --taxonomy.")] = None,
    rerank: Annotated[int, typer.Option(help="X-CLIP: re-score the top N with the exact video-conditioned score.")] = 0,
    ef_search: Annotated[Optional[int], typer.Option(help="Approximate index: higher is slower and more exact.")] = None,
    model: ModelOption = None,
    device: DeviceOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find the moments that match a sentence (or an example clip).

    Example: openvid search "a dog catching a frisbee" --index archive -k 5 --per-video
    """
    engine = _engine(model, device, home)
    hits = engine.search(query, index=index, k=k, like=like, per_video=per_video, path_glob=path,
                         min_duration_s=min_duration, taxonomy=taxonomy, label=label, rerank=rerank,
                         ef_search=ef_search)
    if as_json:
        emit_json(hits)
        return
    table = Table()
    for column in ("score", "path", "start s", "end s"):
        table.add_column(column)
    for hit in hits:
        table.add_row(f"{hit.score:.3f}", hit.path, f"{hit.start_s:.1f}", f"{hit.end_s:.1f}")
    out.print(table)


def remove_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Indexed files, or folders to drop everything under.")],
    index: IndexOption = "default",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove videos from an index.

    Example: openvid remove ~/archive/old --index archive
    """
    removed = _engine(home=home).remove_videos(paths, index)
    if as_json:
        emit_json({"removed": removed})
    else:
        out.print(f"removed {len(removed)} videos")


def info_cmd(index: IndexOption = "default", home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show an index: videos, segments, model, index type, size on disk.

    Example: openvid info --index archive --json
    """
    info = _engine(home=home).index_info(index)
    if as_json:
        emit_json(info)
        return
    record, vectors = info["index"], info["vectors"]
    out.print(f"[bold]{record.name}[/]: {info['videos']} videos, {info['segments']} segments, "
              f"{info['bytes_on_disk'] / 1e6:.1f} MB in {info['folder']}")
    out.print(f"model {record.model} ({record.encoder}), {record.dim}-d, windows {record.window_s:g} s "
              f"every {record.stride_s:g} s, {record.frames} frames each")
    how = "chosen by size" if vectors.auto else "forced"
    out.print(f"vectors: {vectors.type} ({vectors.factory}, {how}), {vectors.count} live, "
              f"{vectors.tombstones} removed awaiting compaction, ef_search {vectors.ef_search}"
              + (", on GPU" if vectors.gpu else ""))


def check_cmd(
    index: IndexOption = "default",
    fix: Annotated[bool, typer.Option("--fix", help="Repair the vectors from the catalog.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check that the catalog and the vectors agree (exit code 1 when they do not and --fix is off).

    Example: openvid check --index archive --fix
    """
    state = _engine(home=home).check(index, fix=fix)
    if as_json:
        emit_json({"ok": state.ok, "fixed": fix and not state.ok, "catalog_segments": state.catalog_segments,
                   "index_vectors": state.index_vectors, "missing": state.missing, "extra": state.extra,
                   "damaged": state.damaged})
    elif state.ok:
        out.print(f"{index}: ok ({state.catalog_segments} segments)")
    elif state.damaged:
        verb = "rebuilt from the catalog" if fix else "needs `openvid check --fix`"
        out.print(f"{index}: the saved vectors are damaged ({state.damaged}); {verb} ({state.catalog_segments} segments)")
    else:
        verb = "repaired" if fix else "found"
        out.print(f"{index}: {verb} {len(state.missing)} segments missing from the vectors and "
                  f"{len(state.extra)} vectors not in the catalog")
    if not state.ok and not fix:
        raise typer.Exit(1)
