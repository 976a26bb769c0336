"""`openvid index / search / remove / prune / compact / info / check`: a searchable archive of videos."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
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

IndexOption = Annotated[str, typer.Option("--index", "-i", help="Index name (one per model).")]


def register(app: typer.Typer) -> None:
    for name, command in [("index", index_cmd), ("search", search_cmd), ("remove", remove_cmd),
                          ("prune", prune_cmd), ("compact", compact_cmd), ("info", info_cmd), ("check", check_cmd)]:
        app.command(name)(command)


def _engine(model=None, device=None, home=None, window=None, stride=None, runtime=None):
    from openvid.engine import Engine

    return Engine(model=model, device=device, home=home, window_s=window, stride_s=stride, runtime=runtime)


def index_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Video files and folders (searched recursively).")],
    index: IndexOption = "default",
    model: ModelOption = None,
    window: Annotated[Optional[float], typer.Option(help="Segment length in seconds (default: the encoder's).")] = None,
    stride: Annotated[Optional[float], typer.Option(help="Seconds between segment starts (default: window).")] = None,
    factory: Annotated[Optional[str], typer.Option(help="Force a FAISS index type, e.g. 'HNSW32' or 'Flat'.")] = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    home: HomeOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print time spent per stage.")] = False,
    ray: Annotated[Optional[str], typer.Option(
        "--ray", metavar="auto|local|ray://HOST:PORT",
        help="Decode and encode on a Ray cluster (the distributed extra): auto joins a running one (else starts "
             "a local one), local starts one here, ray://HOST:PORT connects as a client. Files must be at the "
             "same path on every node.")] = None,
    ray_actors: Annotated[Optional[int], typer.Option(
        "--ray-actors", min=1, help="With --ray: encoder actors (default: one per GPU, else one per 4 CPUs).")] = None,
    ray_batch_size: Annotated[Optional[int], typer.Option(
        "--ray-batch-size", min=1, help="With --ray: windows per encoder call (default: OPENVID_BATCH_SIZE, 32).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Index videos for search; content already indexed (the same file, or a copy) is skipped.

    Ctrl-C stops cleanly after the videos in flight (exit code 130; 143 on SIGTERM): what was
    indexed is saved and the same command finishes the job. An existing index keeps its own
    --window, --stride and --factory; for others, give a new --index name.

    With --ray, the same job runs on a Ray cluster (docs/distributed.md); what it runs with (actors,
    batch size, the cluster's CPUs and GPUs) is printed on stderr at the start.

    Example: openvid index ~/archive --index archive --model clip
    """
    engine = _engine(model, device, home, window, stride, runtime=runtime)
    counts = {"segments": 0}
    started = time.perf_counter()
    with _stop_on_signals() as stop, Progress(
            TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TextColumn("{task.description}"), console=err, transient=True,
            disable=as_json) as bar:
        task = bar.add_task("", total=None, rate="")

        def progress(path: str, status: str, segments: int) -> None:
            counts["segments"] += segments
            rate = counts["segments"] / max(time.perf_counter() - started, 1e-6)
            bar.update(task, advance=1, description=f"{status}: {Path(path).name}",
                       rate=f"{counts['segments']} segments, {rate:.1f}/s")

        def started_on(plan) -> None:
            err.print(plan.describe() + " (--ray-actors, --ray-batch-size)", highlight=False, markup=False,
                      soft_wrap=True)

        report = engine.index_videos(paths, index, factory=factory, on_progress=progress, stop=stop, ray=ray,
                                     ray_actors=ray_actors, ray_batch_size=ray_batch_size,
                                     on_start=started_on if ray is not None else None)
    if as_json:
        emit_json(report)
    else:
        speed = report.video_seconds / report.wall_seconds if report.wall_seconds else 0.0
        out.print(f"{report.index}: indexed {len(report.indexed)} videos ({report.segments} segments, "
                  f"{report.video_seconds:.0f} s of video at {speed:.1f}× real time); "
                  f"{len(report.already)} already indexed, {len(report.copies)} copies of indexed videos, "
                  f"{len(report.moved)} moved, {len(report.replaced)} changed and re-indexed, "
                  f"{len(report.failures)} failed", highlight=False)
        for copy, original in report.copies.items():
            out.print(f"  copy: {copy} has the same content as {original} (indexed once, under that path)",
                      highlight=False, markup=False, soft_wrap=True)
        for failure in report.failures:
            say_error("failed", failure.error)
        if verbose and report.times:
            t = report.times
            out.print(f"stages: decode {t.decode:.1f} s (background), encode {t.compute:.1f} s, "
                      f"encoder waiting for frames {t.waiting:.1f} s, {t.clips} clips")
    if report.stopped:
        code = 128 + (stop.signal or signal.SIGINT)
        name = "Ctrl-C (SIGINT)" if stop.signal in (None, signal.SIGINT) else signal.Signals(stop.signal).name
        say_error("interrupted:", f"stopped by {name}; the {len(report.indexed)} videos indexed so far are saved "
                                  f"and the index is consistent. {len(report.pending)} videos are not indexed yet: "
                                  f"run the same command again to finish the job (indexed files are skipped). "
                                  f"Exit code {code}.")
        raise typer.Exit(code)
    if report.failures:
        raise typer.Exit(1)


class _Stop(threading.Event):
    """A stop request, remembering which signal asked for it."""

    signal: int | None = None


@contextlib.contextmanager
def _stop_on_signals():
    """SIGINT/SIGTERM set the event (the run stops cleanly after the batch in hand); a second one
    stops at once (KeyboardInterrupt; what was committed is still saved). Outside the main thread,
    where handlers cannot be installed, the event is simply never set."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.signal = signum
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def search_cmd(
    query: Annotated[Optional[str], typer.Argument(help="What to look for, in plain words.")] = None,
    index: IndexOption = "default",
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="How many moments.")] = 10,
    like: Annotated[Optional[str], typer.Option(help="Search by an example clip: FILE or FILE@start-end.")] = None,
    per_video: Annotated[bool, typer.Option("--per-video", help="Only the best moment of each video.")] = False,
    path: Annotated[Optional[str], typer.Option("--path", help="Only videos whose path matches this glob.")] = None,
    min_duration: Annotated[Optional[float], typer.Option(help="Only videos at least this many seconds long.")] = None,
    taxonomy: Annotated[Optional[str], typer.Option("--taxonomy", "-t", help="With --label: only segments whose zero-shot label in this taxonomy is LABEL.")] = None,
    label: Annotated[Optional[str], typer.Option(help="See --taxonomy.")] = None,
    rerank: Annotated[int, typer.Option(help="X-CLIP: re-score the top N with the exact video-conditioned score.")] = 0,
    ef_search: Annotated[Optional[int], typer.Option(help="Approximate index: higher is slower and more exact.")] = None,
    include_self: Annotated[bool, typer.Option(
        "--include-self", help="With --like: keep the example clip's own indexed segment in the results.")] = False,
    model: ModelOption = None,
    device: DeviceOption = None,
    runtime: RuntimeOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find the moments that match a sentence (or an example clip).

    Example: openvid search "a dog catching a frisbee" --index archive -k 5 --per-video
    """
    engine = _engine(model, device, home, runtime=runtime)
    hits = engine.search(query, index=index, k=k, like=like, per_video=per_video, path_glob=path,
                         min_duration_s=min_duration, taxonomy=taxonomy, label=label, rerank=rerank,
                         ef_search=ef_search, include_self=include_self)
    if as_json:
        emit_json(hits)
        return
    if not hits:
        filters = [f for f, on in (("--path", path), ("--min-duration", min_duration is not None),
                                   ("--label", label), ("--like (its own segment is left out)", like)) if on]
        why = f"no segment passes {', '.join(filters)}" if filters else "the index holds no segments"
        out.print(f"no matches in index {index!r}: {why}", highlight=False, markup=False, soft_wrap=True)
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
        out.print(f"removed {len(removed)} videos from {index}", highlight=False)


def prune_cmd(
    index: IndexOption = "default",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list them.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Drop indexed videos whose files are gone from disk (moved files are found again by `index`).

    Example: openvid prune --index archive --dry-run
    """
    gone = _engine(home=home).prune(index, dry_run=dry_run)
    if as_json:
        emit_json({"gone": gone, "removed": not dry_run})
        return
    for path in gone:
        out.print(f"  gone: {path}", highlight=False, markup=False, soft_wrap=True)
    verb = "would drop" if dry_run else "dropped"
    out.print(f"{index}: {verb} {len(gone)} videos whose files are gone" if gone else
              f"{index}: every indexed file is on disk; nothing to prune", highlight=False)


def compact_cmd(index: IndexOption = "default", home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Drop removed vectors from the index file for good (approximate indexes keep them until then).

    Example: openvid compact --index archive
    """
    dropped = _engine(home=home).compact(index)
    if as_json:
        emit_json({"dropped": dropped})
    else:
        out.print(f"{index}: compacted, {dropped} removed vectors dropped" if dropped else
                  f"{index}: nothing to compact", highlight=False)


def info_cmd(
    index: Annotated[Optional[str], typer.Option("--index", "-i", help="One index in detail (default: list them all).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List every index (name, model, videos, segments, size), or show one: model, windows, index type.

    Example: openvid info; openvid info --index archive --json
    """
    engine = _engine(home=home)
    if index is None:
        _list_indexes(engine, as_json)
        return
    info = engine.index_info(index)
    runtime = _runtime_info(engine)
    if as_json:
        emit_json({**info, "runtime": runtime})
        return
    record, vectors = info["index"], info["vectors"]
    out.print(f"[bold]{record.name}[/]: {info['videos']} videos, {info['segments']} segments, "
              f"{info['bytes_on_disk'] / 1e6:.1f} MB in {info['folder']}")
    out.print(f"model {record.model} ({record.encoder}), {record.dim}-d, windows {record.window_s:g} s "
              f"every {record.stride_s:g} s, {record.frames} frames each")
    how = "chosen by size" if vectors.auto else "forced"
    waiting = f", {vectors.tombstones} removed awaiting compaction (`openvid compact`)" if vectors.tombstones else ""
    out.print(f"vectors: {vectors.type} ({vectors.factory}, {how}), {vectors.count} live{waiting}, "
              f"ef_search {vectors.ef_search}" + (", on GPU" if vectors.gpu else ""))
    out.print(f"encoder runtime: {runtime['runtime']} ({runtime['runtime_chosen_by']}): {runtime['runtime_plan']}",
              highlight=False)


def _runtime_info(engine) -> dict:
    """The encoder runtime a search or an index update runs with (read without importing torch;
    `openvid config --resolve` says what it becomes on this machine)."""
    from openvid.config import describe

    info = describe(engine.settings)
    return {key: info[key] for key in ("runtime", "runtime_chosen_by", "runtime_plan", "threads")}


def _list_indexes(engine, as_json: bool) -> None:
    rows = engine.list_indexes()
    if as_json:
        emit_json({"home": str(engine.settings.home), "indexes": rows})
        return
    if not rows:
        out.print(f"no indexes in {engine.settings.home}; build one with `openvid index FOLDER`", highlight=False)
        return
    table = Table(title=f"indexes in {engine.settings.home}")
    for column in ("name", "model", "videos", "segments", "size"):
        table.add_column(column, justify="right" if column in ("videos", "segments", "size") else "left")
    for row in rows:
        table.add_row(row["name"], row["model"], str(row["videos"]), str(row["segments"]),
                      f"{row['bytes_on_disk'] / 1e6:.1f} MB")
    out.print(table)


def check_cmd(
    index: IndexOption = "default",
    fix: Annotated[bool, typer.Option("--fix", help="Repair the vectors from the catalog and compact them.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check that the catalog and the vectors agree and that the indexed files are still on disk.

    Exit code 1 when the vectors disagree (and --fix is off) or files are gone (`openvid prune`).

    Example: openvid check --index archive --fix
    """
    state = _engine(home=home).check(index, fix=fix)
    if as_json:
        emit_json({"ok": state.ok, "fixed": fix and not state.vectors_ok, "catalog_segments": state.catalog_segments,
                   "index_vectors": state.index_vectors, "missing": state.missing, "extra": state.extra,
                   "damaged": state.damaged, "gone": state.gone, "tombstones": state.tombstones,
                   "compacted": fix and state.tombstones > 0})
    elif state.vectors_ok:
        out.print(f"{index}: {'vectors ok' if state.gone else 'ok'} ({state.catalog_segments} segments)"
                  + (f"; compacted {state.tombstones} removed vectors" if fix and state.tombstones else ""),
                  highlight=False)
    elif state.damaged:
        verb = "rebuilt from the catalog" if fix else "needs `openvid check --fix`"
        out.print(f"{index}: the saved vectors are damaged ({state.damaged}); {verb} ({state.catalog_segments} segments)",
                  highlight=False, markup=False, soft_wrap=True)
    else:
        verb = "repaired" if fix else "found"
        out.print(f"{index}: {verb} {len(state.missing)} segments missing from the vectors and "
                  f"{len(state.extra)} vectors not in the catalog" + ("" if fix else "; `openvid check --fix` repairs it"),
                  highlight=False)
    if state.gone and not as_json:
        shown = ", ".join(state.gone[:3]) + (f" and {len(state.gone) - 3} more" if len(state.gone) > 3 else "")
        out.print(f"{index}: {len(state.gone)} indexed files are gone from disk ({shown}); `openvid prune` drops "
                  "them, and `openvid index` on their new place finds moved files by content",
                  highlight=False, markup=False, soft_wrap=True)
    if (not state.vectors_ok and not fix) or state.gone:
        raise typer.Exit(1)
