"""Vectors are kept once at full precision: the catalog's copy (for rebuilds) is float16, the FAISS
copy float32. The catalog's bytes per segment halve, rows of older float32 catalogs still read
(and `compact` shrinks them), a rebuild from the float16 copies finds what a float32 rebuild finds,
and an index killed between saves still reopens with every committed video."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from openvid.archive.video_index import VideoIndex
from openvid.errors import VideoIndexError
from openvid.store import catalog as catalog_module
from openvid.store.catalog import Catalog
from openvid.store.db import open_database
from openvid.vectors import VectorIndex

DIM = 512
PER_VIDEO = 225  # a 15-minute video at the default 4 s window
K = 10


def _bench_data():
    """The embedding-shaped synthetic vectors of scripts/bench_search.py (what the benchmarks use)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_search.py"
    spec = importlib.util.spec_from_file_location("bench_search_for_tests", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Data("clustered", DIM)


DATA = _bench_data()


def _catalog(home: Path, dim: int = DIM):
    engine = open_database(home)
    catalog = Catalog(engine)
    return engine, catalog, catalog.create_index("archive", model="m", encoder="e", dim=dim, window_s=4.0,
                                                 stride_s=4.0, frames=8)


def _add(catalog: Catalog, record, vectors: np.ndarray, first_video: int = 0) -> list[np.ndarray]:
    """Store `vectors` as videos of PER_VIDEO segments through Catalog.add_video; the ids of each video."""
    out = []
    for n, start in enumerate(range(0, len(vectors), PER_VIDEO), start=first_video):
        rows = vectors[start:start + PER_VIDEO]
        ids, _ = catalog.add_video(record.id, content_hash=f"{n:040x}", path=f"/archive/v{n:05d}.mp4", size=1,
                                   duration_s=4.0 * len(rows), times=[(4.0 * i, 4.0 * i + 4) for i in range(len(rows))],
                                   vectors=rows)
        out.append(ids)
    return out


def _file_bytes(engine, home: Path) -> int:
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(f.stat().st_size for f in home.iterdir() if f.name.startswith("openvid.db"))


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found.tolist(), truth.tolist())]))


def _bytes_per_segment(home: Path, vectors: np.ndarray) -> float:
    engine, catalog, record = _catalog(home)
    empty = _file_bytes(engine, home)
    _add(catalog, record, vectors)
    used = _file_bytes(engine, home) - empty
    engine.dispose()
    return used / len(vectors)


def test_bytes_per_segment_in_the_catalog_halve(tmp_path, monkeypatch):
    vectors = DATA.draw(4 * PER_VIDEO, seed=11)
    now = _bytes_per_segment(tmp_path / "float16", vectors)
    monkeypatch.setattr(catalog_module, "VECTOR_DTYPE", "<f4")  # how catalogs stored them before
    before = _bytes_per_segment(tmp_path / "float32", vectors)
    assert DIM * 2 <= now <= before / 2, (now, before)


def test_the_index_path_stores_float16_in_the_catalog_and_float32_in_faiss(tiny_model_dirs, tmp_path, make_video):
    from openvid.engine import Engine

    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=tmp_path / "home", window_s=0.5)
    engine.index_videos([make_video("storage", seconds=4, fps=8, noise=True)])
    target = engine.open_index()
    ids = engine.catalog.segment_ids(target.record.id)
    with engine.catalog.engine.begin() as conn:
        lengths = {row[0] for row in conn.exec_driver_sql("SELECT length(vector) FROM segments")}
    assert len(ids) >= 8 and lengths == {target.record.dim * 2}
    exact, kept = target.stored_vectors(ids), engine.catalog.vectors(ids, target.record.dim)
    assert exact.dtype == kept.dtype == np.float32
    assert np.all(np.abs(kept - exact) <= 2.0**-11 * np.abs(exact) + 1e-6)  # the catalog: float16 rounding
    assert not np.array_equal(kept, exact)  # while FAISS keeps the encoder's float32


def test_an_old_float32_row_still_reads_and_compact_shrinks_it(tmp_path, monkeypatch):
    engine, catalog, record = _catalog(tmp_path)
    old, new = DATA.draw(PER_VIDEO, seed=21), DATA.draw(PER_VIDEO, seed=22)
    with monkeypatch.context() as patch:
        patch.setattr(catalog_module, "VECTOR_DTYPE", "<f4")
        (old_ids,) = _add(catalog, record, old)
    (new_ids,) = _add(catalog, record, new, first_video=1)
    both = catalog.vectors(np.concatenate([new_ids[:3], old_ids, new_ids[3:]]), DIM)
    np.testing.assert_array_equal(both[3:3 + PER_VIDEO], old)  # exactly as written
    np.testing.assert_array_equal(both[:3], new[:3].astype(np.float16).astype(np.float32))

    index = VideoIndex.open(tmp_path, catalog, record)  # a repair fills FAISS from both widths
    assert index.consistency().vectors_ok
    index.compact()  # `openvid compact`: old rows become float16
    with engine.begin() as conn:
        lengths = {row[0] for row in conn.exec_driver_sql("SELECT length(vector) FROM segments")}
    assert lengths == {DIM * 2}
    np.testing.assert_array_equal(catalog.vectors(old_ids, DIM), old.astype(np.float16).astype(np.float32))
    assert catalog.shrink_vectors(record.id, DIM) == 0  # nothing left to convert

    with engine.begin() as conn:  # a blob of neither width is refused, naming the segment
        conn.exec_driver_sql("UPDATE segments SET vector = x'0000' WHERE id = ?", (int(new_ids[0]),))
    with pytest.raises(VideoIndexError, match=f"segment {int(new_ids[0])}"):
        catalog.vectors(new_ids[:1], DIM)


@pytest.fixture(scope="module")
def float16_catalog(tmp_path_factory):
    """A catalog of 2,700 embedding-shaped vectors (12 videos), the vectors and 300 queries."""
    home = tmp_path_factory.mktemp("float16-catalog")
    vectors = DATA.draw(12 * PER_VIDEO, seed=31)
    engine, catalog, record = _catalog(home)
    ids = np.concatenate(_add(catalog, record, vectors))
    yield catalog, record, ids, vectors, DATA.draw(300, seed=32)
    engine.dispose()


@pytest.mark.parametrize("factory", ["Flat", "HNSW48"])
def test_a_rebuild_from_the_float16_copies_finds_what_a_float32_rebuild_finds(float16_catalog, tmp_path, factory):
    catalog, record, ids, vectors, queries = float16_catalog
    reference = VectorIndex.create(DIM, factory, use_gpu="never")  # the rebuild from float32 rows, as before
    reference.add(ids, vectors)
    rebuilt = VideoIndex.open(tmp_path, catalog, record, factory=factory)  # no FAISS files: repaired from the catalog
    assert rebuilt.vectors.info().factory == factory and len(rebuilt.vectors) == len(ids)
    assert not np.array_equal(rebuilt.stored_vectors(ids[:50]), vectors[:50])  # it really holds the float16 copies
    truth = reference.search(queries, K)[1]
    assert _recall(rebuilt.vectors.search(queries, K)[1], truth) >= 0.999
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :K]  # and both are as good as brute force
    assert _recall(ids[exact], truth) >= 0.99


def test_an_index_killed_between_saves_reopens_with_every_committed_video(tmp_path):
    engine, catalog, record = _catalog(tmp_path)
    vectors = DATA.draw(5 * PER_VIDEO, seed=41)
    index = VideoIndex.open(tmp_path, catalog, record)
    videos = []
    for n in range(5):
        rows = vectors[n * PER_VIDEO:(n + 1) * PER_VIDEO]
        (ids,) = _add(catalog, record, rows, first_video=n)
        index.add(ids, rows)  # what index_videos does after each commit
        videos.append(ids)
        if n == 1:
            index.save()  # the last save before the kill: videos 2-4 are committed, not saved
    del index  # killed: the FAISS copy on disk holds two of the five videos
    assert len(VectorIndex.load(tmp_path / record.name)) == 2 * PER_VIDEO

    reopened = VideoIndex.open(tmp_path, catalog, record)
    assert reopened.consistency().vectors_ok
    np.testing.assert_array_equal(reopened.vectors.ids(), np.concatenate(videos))
    scores, found = reopened.vectors.search(vectors, 1)
    np.testing.assert_array_equal(found[:, 0], np.concatenate(videos))  # each vector finds its own segment
    assert np.all(scores[:, 0] > 1 - 1e-3)
    # the saved videos read back as added (float32), the repaired ones as their float16 copies
    saved = np.abs(reopened.stored_vectors(np.concatenate(videos[:2])) - vectors[:2 * PER_VIDEO]).max()
    repaired = np.abs(reopened.stored_vectors(np.concatenate(videos[2:])) - vectors[2 * PER_VIDEO:]).max()
    assert saved < 1e-6 < 1e-5 < repaired < 2e-3, (saved, repaired)
    engine.dispose()


def test_a_refine_index_re_scores_more_candidates_than_it_returns(float16_catalog):
    """A lossy IVF re-ranked from float16 copies (`…,Refine(SQfp16)`, the design for archives beyond
    RAM; 4-bit codes here, which train in a fraction of PQ's time) re-scores REFINE_K_FACTOR
    candidates per hit, so it finds neighbours the codes alone rank too low (with FAISS's default
    of 1 it would only re-order the same hits: the same recall)."""
    _, _, ids, vectors, queries = float16_catalog
    exact = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :K]]
    found = {}
    for factory in ("IVF16,SQ4", "IVF16,SQ4,Refine(SQfp16)"):
        index = VectorIndex.create(DIM, factory, use_gpu="never")
        index.add(ids, vectors)
        assert index.info().factory == factory
        found[factory] = _recall(index.search(queries, K)[1], exact)
    plain, refined = found.values()
    assert refined >= max(0.99, plain + 0.1), found
