"""Errors stay typed to the edge: the library speaks in parameter names, the CLI in flags."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import openvid
from openvid.cli import run
from openvid.errors import (
    CLI_FLAGS,
    MediaError,
    OpenvidError,
    TaxonomyError,
    UnknownChoice,
    UsageError,
    VideoIndexError,
    opt,
)

PACKAGE = Path(openvid.__file__).resolve().parent
FLAG = re.compile(r"--[a-z]")


# ---- opt() ----------------------------------------------------------------------------------------


def test_opt_reads_as_a_parameter_for_the_api_and_as_a_flag_at_the_cli():
    error = OpenvidError(f"pick another with {opt('model', 'clip')} or name an {opt('index')}")
    assert str(error) == "pick another with model='clip' or name an index"
    assert error.cli_message() == "pick another with --model clip or name an --index"
    assert error.args == (str(error),)  # what a traceback or logging shows is the API spelling


@pytest.mark.parametrize("name, value, api, cli", [
    ("window_s", 4, "window_s=4", "--window 4"),
    ("cascade", True, "cascade=True", "--cascade"),
    ("path_glob", "*/sub/*", "path_glob='*/sub/*'", "--path */sub/*"),
    ("min_duration_s", None, "min_duration_s", "--min-duration"),
    ("labels_file", "videomae=l.txt", "labels_file='videomae=l.txt'", "--head-labels videomae=l.txt"),
    ("k", 5, "k=5", "--top-k 5"),
    ("ef_search", 64, "ef_search=64", "--ef-search 64"),  # not in CLI_FLAGS: underscores become hyphens
])
def test_opt_uses_the_flag_spelling_table(name, value, api, cli):
    error = UsageError(f"set {opt(name, value)}")
    assert str(error) == f"set {api}" and error.cli_message() == f"set {cli}"


def test_cli_flags_are_flags():
    assert all(re.fullmatch(r"--[a-z][a-z-]*", flag) for flag in CLI_FLAGS.values())


# ---- the same error through the API and through the CLI ---------------------------------------------


def test_settings_errors_name_no_flag():
    from openvid.config import Settings

    with pytest.raises(OpenvidError) as caught:
        Settings(batch_size=0)
    assert "batch_size" in str(caught.value) and not FLAG.search(str(caught.value))


@pytest.fixture
def indexed_home(tiny_model_dirs, tmp_path, make_video) -> Path:
    from openvid.engine import Engine

    home = tmp_path / "home"
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=1.0)
    report = engine.index_videos([make_video("errors-red", seconds=2, fps=10)])
    assert len(report.indexed) == 1 and not report.failures
    return home


def test_search_without_query_or_like_api_speaks_parameters_cli_speaks_flags(indexed_home, capsys):
    from openvid.engine import Engine

    with pytest.raises(UsageError) as caught:
        Engine(device="cpu", home=indexed_home).search()
    message = str(caught.value)
    assert "like='FILE[@start-end]'" in message and not FLAG.search(message)

    assert run(["search", "--home", str(indexed_home), "--device", "cpu"]) == 1
    printed = capsys.readouterr().err
    assert "error: search needs a text query or --like FILE[@start-end]; give one of them" in printed
    assert "like=" not in printed


def test_search_label_filter_api_and_cli(indexed_home, capsys):
    from openvid.engine import Engine

    with pytest.raises(UsageError) as caught:
        Engine(device="cpu", home=indexed_home).search("red", taxonomy="ucf101")
    assert "needs both taxonomy and label" in str(caught.value) and not FLAG.search(str(caught.value))
    assert run(["search", "red", "--taxonomy", "ucf101", "--home", str(indexed_home), "--device", "cpu"]) == 1
    assert "needs both --taxonomy and --label" in capsys.readouterr().err


def _taxonomy_with_children(home: Path):
    from openvid.store import TaxonomyStore

    store = TaxonomyStore(home)
    store.create("sports")
    store.add_label("sports", "ball game")
    store.add_label("sports", "football", parent="ball game")
    return store


def test_remove_label_with_children_api_and_cli(tmp_path, capsys):
    store = _taxonomy_with_children(tmp_path)
    with pytest.raises(TaxonomyError) as caught:
        store.remove_label("sports", "ball game")
    assert str(caught.value).endswith("or remove them too (cascade=True)")
    assert not FLAG.search(str(caught.value).replace("`openvid taxonomy set-label`", ""))

    assert run(["taxonomy", "remove-label", "sports", "ball game", "--home", str(tmp_path)]) == 1
    assert capsys.readouterr().err.rstrip().endswith("or remove them too (--cascade)")
    assert run(["taxonomy", "remove-label", "sports", "ball game", "--cascade", "--home", str(tmp_path)]) == 0


def test_import_over_an_existing_taxonomy_api_and_cli(tmp_path, capsys):
    from openvid.store import TaxonomyStore

    file = tmp_path / "mine.yaml"
    file.write_text("name: mine\nlabels: [{name: swimming}]\n")
    store = TaxonomyStore(tmp_path)
    store.import_file(file)
    with pytest.raises(TaxonomyError) as caught:
        store.import_file(file)
    assert str(caught.value).endswith("or replace it (replace=True)") and not FLAG.search(str(caught.value))
    assert run(["taxonomy", "import", str(file), "--home", str(tmp_path)]) == 1
    assert capsys.readouterr().err.rstrip().endswith("or replace it (--replace)")
    assert run(["taxonomy", "import", str(file), "--replace", "--home", str(tmp_path)]) == 0


def test_probe_prints_skipped_files_with_the_cli_message(tmp_path, capsys):
    missing = tmp_path / "nope.mp4"
    assert run(["probe", str(missing)]) == 1
    assert "nope.mp4: no such file" in capsys.readouterr().err


# ---- usage errors apart from media errors ----------------------------------------------------------


def test_usage_error_is_caught_apart_from_media_error(make_video, tmp_path):
    from openvid.media import load_clip

    video = make_video("errors-usage", seconds=1, fps=10)
    with pytest.raises(UsageError):
        try:
            load_clip(video, None, None, frames=0)  # the call is wrong, the file is fine
        except MediaError:  # pragma: no cover - the point of the test
            pytest.fail("a wrong argument is not a media error")
    with pytest.raises(MediaError) as caught:
        try:
            load_clip(tmp_path / "missing.mp4", None, None, frames=2)  # the call is right, the file is not
        except UsageError:  # pragma: no cover - the point of the test
            pytest.fail("a missing file is not a usage error")
    assert not isinstance(caught.value, UsageError)
    for usage in (UsageError("x"), UnknownChoice("decoder", "nope", ["auto", "pyav"])):
        assert isinstance(usage, OpenvidError) and isinstance(usage, ValueError)
        assert not isinstance(usage, MediaError)


def test_a_usage_error_stops_a_batched_run_but_a_media_error_skips_the_file():
    from openvid.media import Clip
    from openvid.media.batches import run_batched

    def source(kind):
        def clips(path):
            if path == "bad.mp4":
                raise kind
            yield Clip(path=path, index=0, start_s=0.0, end_s=1.0, frames=np.zeros((1, 2, 2, 3), np.uint8),
                       frame_indices=np.array([0]))
        return clips

    failed, done = [], []
    run_batched(["a.mp4", "bad.mp4"], source(MediaError("bad.mp4", "truncated")), lambda clips: [0] * len(clips),
                lambda i, p, c, r: done.append(p), lambda i, p, e: failed.append(p))
    assert done == ["a.mp4"] and failed == ["bad.mp4"]
    with pytest.raises(UsageError, match="frames must be at least 1"):
        run_batched(["a.mp4", "bad.mp4"], source(UsageError("frames must be at least 1, got 0")),
                    lambda clips: [0] * len(clips), lambda *a: None, lambda *a: pytest.fail("not a file's fault"))


def test_library_argument_checks_are_usage_errors():
    from openvid.media.segments import plan_windows

    with pytest.raises(UsageError) as caught:
        plan_windows(np.array([0.0, 0.1]), 1.0, window_s=-1.0, stride_s=1.0, frames_per_window=2)
    assert str(caught.value).startswith("window_s and stride_s must be positive")
    assert caught.value.cli_message().startswith("--window and --stride must be positive")


@pytest.mark.parametrize("argv, flag", [
    (["classify", "x.mp4", "-t", "sports", "--head-weight", "videomae"], "--head-weight takes NAME=VALUE"),
    (["classify", "x.mp4", "-t", "sports", "--head-weight", "videomae=heavy", "--head", "videomae"],
     "--head-weight wants a number"),
    (["classify", "x.mp4", "-t", "sports", "--head-checkpoint", "videomae=/x"], "add --head videomae"),
    (["eval", "data", "-t", "sports", "--shots", "1,two"], "--shots takes whole numbers"),
    (["fewshot", "remove", "sports"], "or --label"),
])
def test_the_clis_own_flag_errors_are_usage_errors(argv, flag, tmp_path, capsys, monkeypatch):
    from openvid.cli import common

    seen = []
    say = common.say_error
    monkeypatch.setattr("openvid.cli.say_error", lambda tag, exc: (seen.append(exc), say(tag, exc)))
    assert run([*argv, "--home", str(tmp_path)]) == 1
    assert flag in capsys.readouterr().err
    assert len(seen) == 1 and isinstance(seen[0], UsageError)


def test_the_old_index_error_name_is_an_alias():
    assert openvid.IndexError_ is openvid.errors.VideoIndexError is VideoIndexError
    assert not issubclass(VideoIndexError, IndexError)  # it no longer shadows the builtin's meaning


# ---- no library message names a flag ---------------------------------------------------------------

_COMMAND = re.compile(r"`openvid [^`]*`")  # a whole command to run may name its flags


def _message_texts(node: ast.AST):
    """The string literals of an expression; an f-string is one text with `{}` for each field."""
    if isinstance(node, ast.JoinedStr):
        yield "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    else:
        for child in ast.iter_child_nodes(node):
            yield from _message_texts(child)


def flag_mentions(source: str, filename: str = "<source>") -> list[str]:
    """`line: text` for each raised error whose message literal names a `--flag` outside a command."""
    found = []
    raises = [node for node in ast.walk(ast.parse(source, filename=filename)) if isinstance(node, ast.Raise)]
    for node in sorted(raises, key=lambda node: node.lineno):
        if isinstance(node.exc, ast.Call):
            for argument in [*node.exc.args, *(keyword.value for keyword in node.exc.keywords)]:
                for text in _message_texts(argument):
                    if FLAG.search(_COMMAND.sub("", text)):
                        found.append(f"{node.lineno}: {text!r}")
    return found


def test_the_scan_finds_flags_in_raised_messages():
    source = '''
def f(x):
    if x:
        raise UsageError(f"pick another with --home {x}")
    raise MediaError(x, "run `openvid check --fix` to rebuild it; " "or pass" " --force")
raise OpenvidError("fine: " + opt("model") + " -- or `openvid index --model m`")
raise ModelUnavailable("c", reason="r", hint="use `--cascade`")
'''
    found = flag_mentions(source)
    assert [line.split(":")[0] for line in found] == ["4", "5", "7"], found


def test_no_library_error_message_names_a_cli_flag():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "cli":  # the edge: the CLI's own errors may name its flags
            continue
        offenders += [f"openvid/{relative.as_posix()}:{hit}" for hit in flag_mentions(path.read_text(), str(path))]
    assert not offenders, "use openvid.errors.opt(name, value) instead of a flag:\n" + "\n".join(offenders)
