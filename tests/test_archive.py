"""Indexing and searching a video archive end to end on the tiny CLIP model."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fixtures_store import committed_videos

from openvid.cli import run
from openvid.engine import Engine
from openvid.errors import IndexError_, IndexModelMismatch, OpenvidError


@pytest.fixture
def archive(tmp_path, sample_videos, make_video) -> Path:
    folder = tmp_path / "archive"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(sample_videos["bikes.mp4"], folder / "bikes.mp4")
    shutil.copy(sample_videos["carphone_pristine.mp4"], folder / "sub" / "carphone.mp4")
    shutil.copy(make_video("archive-red", seconds=3, fps=10), folder / "sub" / "red.mkv")
    (folder / "notes.txt").write_text("not a video, not picked up by the folder walk")
    return folder


def _engine(tiny_model_dirs, home, **kw) -> Engine:
    return Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=2.0, batch_size=4, **kw)


def _brute_force(engine: Engine, query: np.ndarray, index: str = "default"):
    target = engine.open_index(index)
    ids = engine.catalog.segment_ids(target.record.id)
    scores = target.stored_vectors(ids) @ query  # what the FAISS copy holds (the catalog keeps float16)
    return ids, scores


def test_index_then_search_equals_brute_force(tiny_model_dirs, tmp_path, archive):
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    report = engine.index_videos([archive])
    assert len(report.indexed) == 3 and not report.failures
    assert report.segments == len(engine.catalog.segment_ids(engine.open_index().record.id))

    query = engine.encoder.encode_text(["people riding bikes"])[0]
    ids, scores = _brute_force(engine, query)
    records = engine.catalog.segments(ids)
    hits = engine.search("people riding bikes", k=len(ids) + 5)
    best = int(ids[np.argmax(scores)])
    assert hits[0].score == pytest.approx(float(scores.max()), abs=1e-5)
    assert hits[0].path == records[best].path
    assert records[best].start_s >= hits[0].start_s and records[best].end_s <= hits[0].end_s
    # every segment is inside exactly one returned moment, each moment scored by its best segment
    for segment_id, score in zip(ids, scores):
        record = records[int(segment_id)]
        owners = [h for h in hits if h.path == record.path and h.start_s <= record.start_s and record.end_s <= h.end_s]
        assert len(owners) == 1 and owners[0].score >= score - 1e-5


def test_reindex_is_a_no_op_moved_and_changed_files(tiny_model_dirs, tmp_path, archive, make_video):
    home = tmp_path / "home"
    engine = _engine(tiny_model_dirs, home)
    engine.index_videos([archive])
    again = engine.index_videos([archive])
    assert not again.indexed and len(again.already) == 3

    (archive / "sub" / "carphone.mp4").rename(archive / "carphone-moved.mp4")
    moved = engine.index_videos([archive])
    assert moved.moved == [str((archive / "carphone-moved.mp4").resolve())] and not moved.indexed
    paths = {v.path for v in engine.catalog.list_videos(engine.open_index().record.id)}
    assert str((archive / "carphone-moved.mp4").resolve()) in paths

    before = engine.catalog.counts(engine.open_index().record.id)
    shutil.copy(make_video("archive-noise", seconds=2, fps=10, noise=True), archive / "sub" / "red.mkv")
    changed = engine.index_videos([archive])
    assert changed.replaced == [str((archive / "sub" / "red.mkv").resolve())]
    target = engine.open_index()
    assert engine.catalog.counts(target.record.id)[0] == before[0]
    assert engine.check().ok and len(target.vectors) == engine.catalog.counts(target.record.id)[1]


@pytest.mark.parametrize("factory", ["Flat", "HNSW32"])
def test_removal_on_each_index_type(tiny_model_dirs, tmp_path, archive, factory):
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([archive], factory=factory)
    removed = engine.remove_videos([archive / "sub"])
    assert sorted(Path(p).name for p in removed) == ["carphone.mp4", "red.mkv"]
    hits = engine.search("anything at all", k=100)
    assert {Path(h.path).name for h in hits} == {"bikes.mp4"}
    assert engine.check().ok
    fresh = _engine(tiny_model_dirs, tmp_path / "home")  # and after reopening from disk
    assert {Path(h.path).name for h in fresh.search("anything", k=100)} == {"bikes.mp4"}


def test_filters_per_video_and_like(tiny_model_dirs, tmp_path, archive):
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([archive])
    only_sub = engine.search("a scene", k=50, path_glob="*/sub/*")
    assert only_sub and all("/sub/" in h.path for h in only_sub)
    long_only = engine.search("a scene", k=50, min_duration_s=5.0)
    assert long_only and all(Path(h.path).name == "bikes.mp4" for h in long_only)
    per_video = engine.search("a scene", k=50, per_video=True)
    assert len(per_video) == len({h.path for h in per_video}) == 3
    like = engine.search(like=f"{archive / 'bikes.mp4'}@2-4", k=1, include_self=True)
    assert Path(like[0].path).name == "bikes.mp4" and like[0].start_s <= 2.0 < like[0].end_s
    assert like[0].score == pytest.approx(1.0, abs=1e-4)  # the clip itself, asked for
    with pytest.raises(OpenvidError):
        engine.search("text", like=str(archive / "bikes.mp4"))


def test_label_filter_uses_zero_shot_labels(tiny_model_dirs, tmp_path, archive):
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([archive])
    labels = ("a phone call", "cycling", "a red screen")  # with the tiny model "cycling" wins: not first, not last
    engine.taxonomies.create("scenes", templates=["a video of {}."])
    for label in labels:
        engine.taxonomies.add_label("scenes", label)
    # the reference, computed here: each stored segment vector's top label by cosine with the
    # normalised text vector of its one prompt
    target = engine.open_index()
    ids = engine.catalog.segment_ids(target.record.id)
    stored = target.stored_vectors(ids)  # the FAISS copy (exact; the catalog keeps float16)
    text = engine.encoder.encode_text([f"a video of {label}." for label in labels])
    text = text / np.linalg.norm(text, axis=1, keepdims=True)
    cosines = stored @ text.T
    top = np.argmax(cosines, axis=1)
    margins = np.sort(cosines, axis=1)
    assert (margins[:, -1] - margins[:, -2] > 1e-5).all(), "a near tie would make the reference ambiguous"
    assert (np.argmin(cosines, axis=1) != top).all()  # so picking the worst label instead could not pass
    records = engine.catalog.segments(ids)
    for position, label in enumerate(labels):
        expected = [records[int(i)] for i in ids[top == position]]
        hits = engine.search("a scene", k=500, taxonomy="scenes", label=label)
        assert sum(h.segments for h in hits) == len(expected), label
        for hit in hits:  # each moment is made of exactly the reference segments it spans
            inside = [r for r in expected if r.path == hit.path and hit.start_s <= r.start_s and r.end_s <= hit.end_s]
            assert len(inside) == hit.segments, (label, hit)


def test_bad_files_are_skipped_and_reported(tiny_model_dirs, tmp_path, archive, bad_files):
    for name in ("text", "truncated_real", "empty"):
        shutil.copy(bad_files[name], archive / f"broken-{name}.mp4")
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    report = engine.index_videos([archive])
    assert len(report.indexed) == 3
    assert sorted(Path(f.path).name for f in report.failures) == [
        "broken-empty.mp4", "broken-text.mp4", "broken-truncated_real.mp4"]
    assert engine.check().ok


def test_wrong_encoder_and_unknown_index_are_clear_errors(tiny_model_dirs, tmp_path, archive):
    home = tmp_path / "home"
    _engine(tiny_model_dirs, home).index_videos([archive / "sub"], index="clips")
    other = Engine(model=str(tiny_model_dirs["xclip"]), device="cpu", home=home)
    with pytest.raises(IndexModelMismatch) as caught:
        other.search("x", index="clips")
    built_with = str(tiny_model_dirs["clip"])
    assert caught.value.needs == built_with and isinstance(caught.value, IndexError_)
    assert f"model={built_with!r}" in str(caught.value)  # the API's terms
    assert f"--model {built_with}" in caught.value.cli_message() and "--model" not in str(caught.value)
    with pytest.raises(IndexError_, match="clips"):
        other.search("x", index="clip")  # did you mean
    # without --model, search uses the model the index was built with
    assert Engine(device="cpu", home=home).search("x", index="clips", k=1)


def test_check_detects_and_fixes_a_stale_vector_file(tiny_model_dirs, tmp_path, archive):
    home = tmp_path / "home"
    engine = _engine(tiny_model_dirs, home)
    engine.index_videos([archive / "sub"])
    stale = home / "default"
    backup = tmp_path / "stale"
    shutil.copytree(stale, backup)
    engine.index_videos([archive])  # the catalog moves on...
    shutil.rmtree(stale)
    shutil.copytree(backup, stale)  # ...and the vectors on disk are an older copy
    fresh = _engine(tiny_model_dirs, home)
    state = fresh.check()
    assert not state.ok and len(state.missing) > 0
    assert fresh.check(fix=True).missing.size == state.missing.size
    assert _engine(tiny_model_dirs, home).check().ok


@pytest.mark.parametrize("damage", ["truncate", "sidecar"])
def test_check_fix_rebuilds_a_damaged_vector_folder_from_the_catalog(tiny_model_dirs, tmp_path, archive, damage, capsys):
    home = tmp_path / "home"
    engine = _engine(tiny_model_dirs, home)
    engine.index_videos([archive])
    before = engine.search("a video", k=5)
    folder = home / "default"
    if damage == "truncate":
        faiss_file = next(folder.glob("vectors.*.faiss"))
        faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    else:
        (folder / "vectors.json").unlink()
    with pytest.raises(IndexError_, match="check --fix"):
        _engine(tiny_model_dirs, home).search("a video", k=5)
    state = _engine(tiny_model_dirs, home).check()
    assert not state.ok and state.damaged
    assert run(["check", "--home", str(home)]) == 1
    assert "damaged" in capsys.readouterr().out
    assert run(["check", "--fix", "--home", str(home)]) == 0
    after = _engine(tiny_model_dirs, home).search("a video", k=5)
    assert [(h.path, h.start_s, h.end_s) for h in after] == [(h.path, h.start_s, h.end_s) for h in before]
    # rebuilt from the catalog's float16 copies: each element is within 2**-11 of its float32 value
    # (relative), so a cosine of unit vectors moves by at most about 2 × 2**-11 (rounding, renormalising)
    assert np.allclose([h.score for h in after], [h.score for h in before], atol=1e-3)
    assert _engine(tiny_model_dirs, home).check().ok


@pytest.mark.slow
def test_killed_mid_index_opens_consistent_and_a_rerun_completes(tiny_model_dirs, tmp_path, sample_videos, make_video):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        shutil.copy(make_video(f"kill-{i}", seconds=4 + i / 10, fps=15, noise=True), folder / f"v{i:02d}.mp4")
    home = tmp_path / "home"
    command = [sys.executable, "-m", "openvid", "index", str(folder), "--home", str(home), "--model",
               str(tiny_model_dirs["clip"]), "--device", "cpu", "--window", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OPENVID_BATCH_SIZE": "2"})
    engine = Engine(device="cpu", home=home)
    deadline = time.monotonic() + 120
    try:
        while True:  # wait until some videos are committed, then kill mid-run
            assert process.poll() is None, f"the indexer ended (exit code {process.returncode}) before the kill"
            assert time.monotonic() < deadline, "no video was committed within 120 s"
            time.sleep(0.2)
            committed = committed_videos(engine)
            if committed is not None and 2 <= committed < 12:
                break
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    record = engine.catalog.find_index("default")
    partial = engine.catalog.counts(record.id)[0]
    segments = len(engine.catalog.segment_ids(record.id))
    assert 0 < partial < 12 and segments >= partial, "the kill should land mid-run"
    # the vectors are saved only when a run ends, so the catalog is ahead of them: check says so...
    assert run(["check", "--home", str(home)]) == 1
    state = Engine(device="cpu", home=home).check(fix=True)
    assert not state.ok and state.damaged is None and state.catalog_segments == segments
    assert len(state.missing) == segments and not len(state.extra)
    assert run(["check", "--home", str(home)]) == 0  # ...and --fix refills them from the catalog
    rerun = Engine(device="cpu", home=home, window_s=1.0).index_videos([folder])
    assert len(rerun.indexed) + len(rerun.already) == 12 and len(rerun.already) == partial
    assert Engine(device="cpu", home=home).check().ok


def test_cli_index_search_info_check(tiny_model_dirs, tmp_path, archive, capsys):
    home = ["--home", str(tmp_path / "home")]
    model = ["--model", str(tiny_model_dirs["clip"]), "--device", "cpu"]
    assert run(["index", str(archive), "--index", "arc", "--window", "3", *model, *home, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["indexed"]) == 3
    assert run(["search", "bikes", "--index", "arc", "-k", "2", "--json", *home]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and {"path", "start_s", "end_s", "score"} <= set(hits[0])
    assert run(["info", "--index", "arc", "--json", *home]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["videos"] == 3 and info["segments"] == report["segments"] and info["bytes_on_disk"] > 0
    assert run(["check", "--index", "arc", *home]) == 0
    assert run(["search", "bikes", "--index", "arc", "--rerank", "5", *home]) == 1
    assert "--rerank" in capsys.readouterr().err


def test_xclip_rerank_orders_by_the_exact_score(tiny_model_dirs, tmp_path, archive):
    from openvid.media import load_clip

    engine = Engine(model=str(tiny_model_dirs["xclip"]), device="cpu", home=tmp_path / "home", window_s=2.0)
    engine.index_videos([archive / "sub"], index="x")
    query = "a man talking on the phone"
    hits = engine.search(query, index="x", k=3, rerank=6)
    target = engine.open_index("x")
    ids = engine.catalog.segment_ids(target.record.id)
    plain = target.stored_vectors(ids) @ engine.encoder.encode_text([query])[0]
    top6 = [engine.catalog.segments(ids)[int(i)] for i in ids[np.argsort(-plain)[:6]]]
    clips = [load_clip(r.path, r.start_s, r.end_s, frames=8, short_side=224) for r in top6]
    exact = engine.encoder.rerank(query, clips) / engine.encoder.logit_scale
    best = top6[int(np.argmax(exact))]
    assert hits[0].score == pytest.approx(float(exact.max()), abs=1e-4)
    assert hits[0].path == best.path and hits[0].start_s <= best.start_s and best.end_s <= hits[0].end_s


def test_a_repeated_text_search_reuses_its_text_vector(tiny_model_dirs, tmp_path, archive):
    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([archive])
    cache = engine.text_features
    first = engine.search("people riding bikes", k=3)
    encoded = cache.encoded
    assert encoded >= 1
    assert engine.search("people riding bikes", k=3) == first  # same answer, no text-tower pass
    assert cache.encoded == encoded


def test_searches_keep_the_index_open_and_see_what_is_committed_or_removed(tiny_model_dirs, tmp_path, archive,
                                                                          make_video, monkeypatch):
    """A search after a search reuses the opened index; a video committed since is added to it
    (no reload), a removal reopens it; the answers always equal a fresh engine's."""
    from openvid.archive.video_index import VideoIndex

    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([archive])
    opened = []
    original = VideoIndex.open.__func__
    monkeypatch.setattr(VideoIndex, "open", classmethod(lambda cls, *a, **kw: opened.append(1) or original(cls, *a, **kw)))
    fresh = lambda: _engine(tiny_model_dirs, tmp_path / "home").search("a clip", k=50)  # noqa: E731
    first = engine.search("a clip", k=50)
    assert engine.search("a clip", k=50) == first and len(opened) == 1
    extra = make_video("committed-later", seconds=4, fps=8)
    engine.index_videos([extra])
    opened.clear()
    after = engine.search("a clip", k=50)
    assert str(extra) in {hit.path for hit in after} and after == fresh()
    engine.remove_videos([extra])
    assert str(extra) not in {hit.path for hit in engine.search("a clip", k=50)}
    assert engine.search("a clip", k=50) == first
    # committed to the catalog but not yet saved to FAISS (an indexer between its saves): added, not reloaded
    record = engine.open_index().record
    query = engine.encode_text(["a clip"])[0]
    engine.catalog.add_video(record.id, content_hash="f" * 40, path="/elsewhere/mid-run.mp4", size=1, duration_s=2.0,
                             times=[(0.0, 2.0)], vectors=query[None, :], replaces=None)
    opened.clear()
    hits = engine.search("a clip", k=50)
    assert hits[0].path == "/elsewhere/mid-run.mp4" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert opened == []
    # a moved file: the next search names its new path, without reopening
    engine.catalog.move_video(hits[0].video_id, "/moved/mid-run.mp4")
    moved = engine.search("a clip", k=50)
    assert moved[0].path == "/moved/mid-run.mp4" and opened == []
    assert moved == _engine(tiny_model_dirs, tmp_path / "home").search("a clip", k=50)


def test_a_search_asks_the_catalog_nothing_while_nothing_was_committed(tiny_model_dirs, tmp_path, archive,
                                                                       monkeypatch):
    """The catalog's commit counter (SQLite's data_version) stands for the state queries: a search with
    nothing committed since the last one asks nothing, not even the hit videos' paths (kept until the
    next commit); a commit anywhere (here a taxonomy edit, then a move, through another connection)
    makes the next search check again and read the paths afresh."""
    from openvid.store.catalog import Catalog

    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([archive])
    first = engine.search("a clip", k=5)  # opens the index; the text cache commits the query's vector
    assert engine.search("a clip", k=5) == first  # sees that commit, checks, and is current
    asked = []
    for name in ("get_index", "video_state", "segments", "segments_after", "video_places"):
        original = getattr(Catalog, name)
        monkeypatch.setattr(Catalog, name, lambda self, *a, _f=original, _n=name, **kw: asked.append(_n) or _f(self, *a, **kw))
    assert engine.search("a clip", k=5) == first
    assert asked == []
    other = _engine(tiny_model_dirs, tmp_path / "home")
    other.taxonomies.create("commits")
    assert engine.search("a clip", k=5) == first
    assert asked == ["get_index", "video_state", "video_places"]
    asked.clear()
    other.catalog.move_video(first[0].video_id, "/moved/elsewhere.mp4")
    moved = engine.search("a clip", k=5)
    assert [hit.path for hit in moved if hit.video_id == first[0].video_id] == ["/moved/elsewhere.mp4"] * sum(
        hit.video_id == first[0].video_id for hit in first)
    assert asked == ["get_index", "video_state", "video_places"]


def test_a_search_with_its_model_loaded_reads_no_model_files(tiny_model_dirs, tmp_path, archive, monkeypatch):
    """Once the index's model is loaded, a search compares the loaded encoder's identity with the
    index's: no fingerprint of the model folder (file system calls) per search."""
    import openvid.engine as engine_module

    engine = _engine(tiny_model_dirs, tmp_path / "home")
    engine.index_videos([archive])
    first = engine.search("a clip", k=5)

    def refuse(model):
        raise AssertionError(f"identity_of({model!r}) read the model's files on a search")

    monkeypatch.setattr(engine_module, "identity_of", refuse)
    assert engine.search("a clip", k=5) == first
    # the check itself still holds: an index whose encoder differs from the loaded one is refused
    record = engine.catalog.get_index("default")
    with pytest.raises(engine_module.IndexModelMismatch):
        engine._index_context(dataclasses.replace(record, encoder="clip:someone-else"))
