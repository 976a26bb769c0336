"""What one `openvid index / remove / search / check / prune / compact / info` run does at its edges:
copies, settings of an existing index, nothing to do, nothing matched, files gone from disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from openvid.cli import run
from openvid.engine import Engine
from openvid.errors import UsageError, VideoIndexError


def _engine(tiny_model_dirs, home, **kw) -> Engine:
    return Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=1.0, batch_size=4, **kw)


def _model(tiny_model_dirs) -> list[str]:
    return ["--model", str(tiny_model_dirs["clip"]), "--device", "cpu"]


@pytest.fixture
def small(tmp_path, make_video) -> Path:
    """Two short distinct videos in a folder."""
    folder = tmp_path / "small"
    folder.mkdir()
    shutil.copy(make_video("runs-a", seconds=3, fps=10), folder / "a.mp4")
    shutil.copy(make_video("runs-b", seconds=2, fps=10, noise=True), folder / "b.mkv")
    return folder


def _flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def _paths(engine: Engine, index: str = "default") -> set[str]:
    return {v.path for v in engine.catalog.list_videos(engine.catalog.get_index(index).id)}


# -- copies --------------------------------------------------------------------------------------
def test_copies_in_one_run_are_indexed_once_and_reported(tiny_model_dirs, tmp_path, small, capsys):
    (small / "x").mkdir()
    (small / "y").mkdir()
    shutil.copy(small / "a.mp4", small / "x" / "a-copy.mp4")
    shutil.copy(small / "a.mp4", small / "y" / "a-again.mp4")
    home = tmp_path / "home"
    engine = _engine(tiny_model_dirs, home)
    report = engine.index_videos([small])
    first = str((small / "a.mp4").resolve())  # sorted: a.mp4 < b.mkv < x/ < y/
    assert sorted(Path(p).name for p in report.indexed) == ["a.mp4", "b.mkv"] and not report.failures
    assert report.copies == {str((small / "x" / "a-copy.mp4").resolve()): first,
                             str((small / "y" / "a-again.mp4").resolve()): first}
    assert engine.check().ok and _paths(engine) == set(report.indexed)
    assert {h.path for h in engine.search("anything", k=50)} == set(report.indexed)  # a copy: its original's path

    again = engine.index_videos([small])  # across runs, the same answer
    assert not again.indexed and len(again.already) == 2 and again.copies == report.copies

    assert run(["index", str(small), "--index", "cli", "--window", "1", *_model(tiny_model_dirs),
                "--home", str(home)]) == 0
    printed = _flat(capsys.readouterr().out)
    assert "2 copies of indexed videos" in printed and f"a-copy.mp4 has the same content as {first}" in printed
    assert run(["check", "--index", "cli", "--home", str(home)]) == 0


def test_a_moved_file_whose_old_place_holds_new_content_keeps_its_entry(tiny_model_dirs, tmp_path, small, make_video):
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([small])
    (small / "a.mp4").rename(small / "c.mp4")  # the old a.mp4 lives on as c.mp4 ...
    shutil.copy(make_video("runs-new", seconds=2, fps=10), small / "a.mp4")  # ... and a.mp4 is a new video
    report = engine.index_videos([small])
    assert report.moved == [str((small / "c.mp4").resolve())]
    assert report.indexed == [str((small / "a.mp4").resolve())] and not report.replaced
    assert _paths(engine) == {str((small / n).resolve()) for n in ("a.mp4", "b.mkv", "c.mp4")}
    assert engine.check().ok


# -- settings of an existing index, bad settings, nothing to index ------------------------------------
def test_an_unknown_factory_leaves_no_index_behind(tiny_model_dirs, tmp_path, small):
    home = tmp_path / "home"
    with pytest.raises(VideoIndexError, match="Bogus"):
        _engine(tiny_model_dirs, home).index_videos([small], factory="Bogus")
    engine = _engine(tiny_model_dirs, home)
    assert engine.catalog.find_index("default") is None and not (home / "default").exists()
    assert engine.list_indexes() == []


def test_an_existing_index_refuses_other_settings(tiny_model_dirs, tmp_path, small, capsys):
    home = tmp_path / "home"
    _engine(tiny_model_dirs, home).index_videos([small / "a.mp4"])
    for kw in ({"window_s": 2.0}, {"window_s": 1.0, "stride_s": 0.5}):
        with pytest.raises(UsageError, match=r"windows of 1 s every 1 s") as caught:
            Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, **kw).index_videos([small])
        assert "index='NAME'" in str(caught.value)
    with pytest.raises(UsageError, match="factory='HNSW32'"):
        _engine(tiny_model_dirs, home).index_videos([small], factory="HNSW32")
    engine = _engine(tiny_model_dirs, home)
    assert _paths(engine) == {str((small / "a.mp4").resolve())}  # nothing was added by the refused calls
    assert len(engine.index_videos([small]).indexed) == 1  # its own settings (given or not) are fine
    assert run(["index", str(small), "--window", "2", *_model(tiny_model_dirs), "--home", str(home)]) == 1
    message = _flat(capsys.readouterr().err)
    assert "--window 2" in message and "--index NAME" in message and "window_s" not in message


def test_nothing_to_index_creates_nothing(tiny_model_dirs, tmp_path, bad_files, capsys):
    home = tmp_path / "home"
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no video here")
    with pytest.raises(UsageError, match="no videos found under"):
        _engine(tiny_model_dirs, home).index_videos([empty])
    assert run(["index", str(empty), *_model(tiny_model_dirs), "--home", str(home)]) == 1
    assert "no videos found under" in _flat(capsys.readouterr().err)
    report = _engine(tiny_model_dirs, home).index_videos([bad_files["text"], bad_files["empty"]])
    assert len(report.failures) == 2 and not report.indexed  # every file failed: no empty index is left
    assert _engine(tiny_model_dirs, home).catalog.list_indexes() == []


# -- remove, search, check, prune, compact, info --------------------------------------------------
def test_remove_of_a_path_nothing_matches_fails_and_removes_nothing(tiny_model_dirs, tmp_path, small, capsys):
    home = tmp_path / "home"
    engine = _engine(tiny_model_dirs, home)
    engine.index_videos([small])
    with pytest.raises(UsageError, match="nothing in index 'default' matches") as caught:
        engine.remove_videos([small / "a.mp4", small / "nosuch.mp4"])
    assert len(_paths(engine)) == 2  # all or nothing
    with pytest.raises(UsageError, match="did you mean"):
        engine.remove_videos([small / "a.mp5"])
    assert "nosuch.mp4" in str(caught.value)
    assert run(["remove", str(small / "nosuch.mp4"), "--home", str(home)]) == 1
    assert "nothing was removed" in _flat(capsys.readouterr().err)
    assert run(["remove", str(small / "a.mp4"), "--home", str(home)]) == 0
    assert "removed 1 videos" in _flat(capsys.readouterr().out)


def test_a_search_that_matches_nothing_says_so(tiny_model_dirs, tmp_path, small, capsys):
    home = tmp_path / "home"
    _engine(tiny_model_dirs, home).index_videos([small])
    assert run(["search", "a red square", "--path", "*/elsewhere/*", "--home", str(home)]) == 0
    printed = _flat(capsys.readouterr().out)
    assert "no matches in index 'default': no segment passes --path" in printed and "score" not in printed
    assert run(["search", "a red square", "--path", "*/elsewhere/*", "--json", "--home", str(home)]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_like_leaves_its_own_segment_out_unless_asked(tiny_model_dirs, tmp_path, small):
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([small])
    own = str((small / "a.mp4").resolve())

    def overlaps(hits):
        return [h for h in hits if h.path == own and h.start_s < 2.0 - 1e-3 and h.end_s > 1.0 + 1e-3]

    hits = engine.search(like=f"{small / 'a.mp4'}@1-2", k=20)
    assert hits and not overlaps(hits)
    with_self = engine.search(like=f"{small / 'a.mp4'}@1-2", k=20, include_self=True)
    assert overlaps(with_self)[0] is with_self[0] and with_self[0].score == pytest.approx(1.0, abs=1e-4)
    outside = tmp_path / "copy-of-a.mp4"  # a copy outside the index is the same clip: found by content
    shutil.copy(small / "a.mp4", outside)
    assert not overlaps(engine.search(like=f"{outside}@1-2", k=20))
    whole = engine.search(like=str(small / "a.mp4"), k=20)  # no range: the whole file is the query
    assert whole and all(h.path != own for h in whole)


def test_check_reports_files_gone_from_disk_and_prune_drops_them(tiny_model_dirs, tmp_path, small, capsys):
    home = tmp_path / "home"
    engine = _engine(tiny_model_dirs, home)
    engine.index_videos([small])
    gone = str((small / "b.mkv").resolve())
    (small / "b.mkv").unlink()
    state = engine.check()
    assert state.vectors_ok and not state.ok and state.gone == [gone]
    assert run(["check", "--home", str(home)]) == 1
    printed = _flat(capsys.readouterr().out)
    assert "1 indexed files are gone from disk" in printed and "openvid prune" in printed
    assert run(["prune", "--dry-run", "--home", str(home)]) == 0
    assert "would drop 1" in _flat(capsys.readouterr().out) and gone in _paths(engine)
    assert engine.prune() == [gone]
    assert _paths(engine) == {str((small / "a.mp4").resolve())} and engine.check().ok
    assert run(["check", "--home", str(home)]) == 0
    assert all(h.path != gone for h in engine.search("anything", k=50))


def test_compaction_drops_removed_vectors(tiny_model_dirs, tmp_path, small, capsys):
    home = tmp_path / "home"
    engine = _engine(tiny_model_dirs, home)
    engine.index_videos([small], factory="HNSW32")  # HNSW cannot delete: removals are tombstones
    engine.remove_videos([small / "b.mkv"])
    waiting = engine.index_info()["vectors"].tombstones
    assert waiting > 0
    assert run(["info", "--home", str(home)]) == 0 and "default" in capsys.readouterr().out
    assert run(["info", "--index", "default", "--home", str(home)]) == 0
    assert "`openvid compact`" in _flat(capsys.readouterr().out)
    assert engine.compact() == waiting
    fresh = _engine(tiny_model_dirs, home)
    assert fresh.index_info()["vectors"].tombstones == 0 and fresh.check().ok
    assert {h.path for h in fresh.search("anything", k=50)} == {str((small / "a.mp4").resolve())}
    fresh.remove_videos([small / "a.mp4"])  # and `check --fix` compacts too
    assert run(["check", "--fix", "--home", str(home)]) == 0
    assert "compacted" in _flat(capsys.readouterr().out)
    assert _engine(tiny_model_dirs, home).index_info()["vectors"].tombstones == 0


def test_info_without_an_index_lists_every_index(tiny_model_dirs, tmp_path, small, capsys):
    home = tmp_path / "home"
    engine = _engine(tiny_model_dirs, home)
    engine.index_videos([small / "a.mp4"], index="one")
    engine.index_videos([small], index="two")
    assert run(["info", "--home", str(home), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["indexes"]
    assert [(r["name"], r["videos"]) for r in listed] == [("one", 1), ("two", 2)]
    assert all(r["model"] == str(tiny_model_dirs["clip"]) and r["segments"] > 0 and r["bytes_on_disk"] > 0
               for r in listed)
    assert run(["info", "--home", str(home)]) == 0
    table = _flat(capsys.readouterr().out)
    assert "one" in table and "two" in table and "segments" in table


def test_classify_walks_a_folder_as_index_does(tiny_model_dirs, tmp_path, small, capsys):
    (small / "deeper").mkdir()
    shutil.copy(small / "a.mp4", small / "deeper" / "c.mov")
    (small / "notes.txt").write_text("not a video")
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.taxonomies.create("scenes", templates=["a video of {}."])
    for label in ("stripes", "a red square"):
        engine.taxonomies.add_label("scenes", label)
    result = engine.classify(small, "scenes")
    assert sorted(Path(p.path).name for p in result.predictions) == ["a.mp4", "b.mkv", "c.mov"]
    assert not result.failures
    assert np.isfinite([p.labels[0].probability for p in result.predictions]).all()
    assert run(["classify", str(small), "-t", "scenes", *_model(tiny_model_dirs), "--home", str(tmp_path / "home"),
                "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["predictions"]) == 3
