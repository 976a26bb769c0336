"""VectorIndex: exactness on Flat, recall on HNSW, removal and filters on every type, atomic saves."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from openvid.errors import IndexError_, UnknownChoice
from openvid.vectors import IndexSpec, VectorIndex, choose_index_type, persist
from openvid.vectors import faiss_index as vectors_module

DIM = 32
TYPES = {  # name -> (factory, how many vectors to add so the forced type is really built)
    "flat": (None, 600),
    "hnsw": ("HNSW16", 600),
    "ivf": ("IVF8,Flat", 600),  # 39 * 8 = 312 vectors train it
    "ivfpq": ("IVF8,PQ8x4np", 800),  # 39 * 16 = 624; "np": skip slow polysemous training
    "other": ("PQ8x4np", 800),  # IDMap2 over a PQ: no selector, no native removal
}


@pytest.fixture(autouse=True)
def one_faiss_thread():
    """Tiny indexes gain nothing from OpenMP, and its spinning threads crawl when the cores are busy."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int = DIM, centres: int = 40, sigma: float = 0.35, seed: int = 0,
              queries: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """BENCHMARKS.md's generator scaled down: random centres + Gaussian noise per coordinate."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    draw = lambda m: unit(c[rng.integers(0, centres, m)] + sigma * rng.standard_normal((m, dim)))  # noqa: E731
    return draw(n), draw(queries)


def brute(queries, data, ids, k):
    sims = queries @ data.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), ids[order]


def recall(got, want) -> float:
    return float(np.mean([len(set(g) & set(w)) / len(w) for g, w in zip(got.tolist(), want.tolist())]))


def build(name: str, seed: int = 0, **options):
    factory, n = TYPES[name]
    data, queries = clustered(n, seed=seed, queries=20)
    ids = np.arange(n, dtype=np.int64) * 7 + 3  # not 0..n-1, so id mix-ups show
    index = VectorIndex.create(DIM, factory, **options)
    for part in np.array_split(np.arange(n), 3):
        index.add(ids[part], data[part])
    expected = {"ivfpq": "ivf"}.get(name, name)
    assert index.info().type == expected, index.info()
    return index, data, ids, queries


def test_flat_search_equals_brute_force():
    index, data, ids, queries = build("flat")
    scores, got = index.search(queries, 10)
    want_scores, want = brute(queries, data, ids, 10)
    assert scores.dtype == np.float32 and got.dtype == np.int64 and got.shape == (20, 10)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_hnsw_recall_on_clustered_data_after_automatic_rebuild():
    data, queries = clustered(4000, dim=64, centres=80, queries=100)
    ids = np.arange(4000, dtype=np.int64) + 10_000
    index = VectorIndex.create(64, flat_threshold=1000)
    index.add(ids[:1000], data[:1000])
    assert index.info().factory == "Flat"
    index.add(ids[1000:], data[1000:])
    info = index.info()
    assert (info.type, info.factory, info.count) == ("hnsw", "HNSW48", 4000)
    _, got = index.search(queries, 10)
    assert recall(got, brute(queries, data, ids, 10)[1]) >= 0.95


def test_rebuild_on_crossing_threshold_keeps_ids_and_results():
    data, queries = clustered(700, queries=10)
    ids = np.arange(700, dtype=np.int64)[::-1] * 5
    index = VectorIndex.create(DIM, flat_threshold=500, ef_search=400)
    index.add(ids[:500], data[:500])
    before = index.search(queries, 5)[1]
    index.add(ids[500:600], data[500:600])  # 600 > 500: rebuilt as HNSW
    assert index.info().type == "hnsw"
    np.testing.assert_array_equal(index.ids(), np.sort(ids[:600]))
    got = index.search(queries, 5)[1]
    assert recall(got, brute(queries, data[:600], ids[:600], 5)[1]) >= 0.98
    assert recall(got, before) >= 0.7  # the new 100 may enter some top-5s, the rest stays
    index.remove(ids[:200])
    index.add(ids[600:], data[600:])
    assert index.info().type == "hnsw", "the automatic switch is one-way"


def test_choose_index_type_follows_size_unless_forced():
    spec = IndexSpec(dim=8, flat_threshold=100, hnsw_m=24)
    assert [choose_index_type(n, spec) for n in (0, 100, 101)] == ["Flat", "Flat", "HNSW24"]
    assert choose_index_type(10**9, IndexSpec(dim=8, factory="Flat")) == "Flat"


def test_explicit_rebuild_forces_the_new_type():
    index, data, ids, queries = build("flat")
    index.rebuild("HNSW16")
    info = index.info()
    assert (info.type, info.factory, info.auto, info.count) == ("hnsw", "HNSW16", False, len(ids))
    index.add(ids[:5] + 1, data[:5])
    assert index.info().factory == "HNSW16"
    with pytest.raises(IndexError_, match="factory string"):
        index.rebuild("nonsense")


@pytest.mark.parametrize("factory, early, late", [
    ("Flat", "Flat", "Flat"), ("HNSW16", "HNSW16", "HNSW16"), ("IVF8,PQ8x4np", "Flat", "IVF8,PQ8x4np"), ("SQ8", "Flat", "SQ8"),
])
def test_forced_factory_is_respected(factory, early, late):
    data, _ = clustered(1200)
    index = VectorIndex.create(DIM, factory, flat_threshold=10)
    index.add(np.arange(100), data[:100])
    assert index.info().factory == early and not index.info().auto
    index.add(np.arange(100, 1200), data[100:])
    assert index.info().factory == late and len(index) == 1200


@pytest.mark.parametrize("name", list(TYPES))
def test_removed_ids_never_come_back_and_k_hits_remain(name):
    index, data, ids, queries = build(name)
    _, first = index.search(queries, 10, nprobe=8)
    gone = np.unique(np.concatenate([first[:, :5].ravel(), ids[::3]]))
    assert index.remove(gone) == len(gone)
    assert index.remove(gone) == 0  # idempotent
    assert len(index) == len(ids) - len(gone)
    np.testing.assert_array_equal(index.ids(), np.setdiff1d(ids, gone))
    scores, got = index.search(queries, 10, nprobe=8)
    assert not np.isin(got, gone).any()
    assert (got >= 0).all() and np.isfinite(scores).all()
    live = ~np.isin(ids, gone)
    assert recall(got, brute(queries, data[live], ids[live], 10)[1]) >= (0.99 if name in ("flat", "hnsw", "ivf") else 0.5)


def test_hnsw_with_mostly_tombstones_still_finds_every_live_vector():
    index, data, ids, queries = build("hnsw")
    index.remove(ids[10:])
    scores, got = index.search(queries, 10, ef_search=16)
    assert all(set(row) == set(ids[:10]) for row in got.tolist())
    np.testing.assert_allclose(scores, brute(queries, data[:10], ids[:10], 10)[0], atol=1e-5)


def test_refined_ivf_takes_nprobe_without_search_parameters():
    data = unit(np.random.default_rng(5).standard_normal((1200, DIM)))  # neighbours spread over all lists
    index = VectorIndex.create(DIM, "IVF8,SQ8,RFlat")
    index.add(np.arange(1200), data)
    assert index.info().type == "other"
    want = brute(data[:20], data, np.arange(1200), 10)[1]
    one, every = (recall(index.search(data[:20], 10, nprobe=p)[1], want) for p in (1, 8))
    assert one < 0.8 and every >= 0.95


def test_compact_drops_tombstones():
    index, data, ids, queries = build("hnsw")
    index.remove(ids[:250])
    assert index.info().tombstones == 250 and len(index) == 350
    assert index.compact() == 250
    assert index.info().tombstones == 0 and len(index) == 350 and index.info().type == "hnsw"
    got = index.search(queries, 10)[1]
    assert recall(got, brute(queries, data[250:], ids[250:], 10)[1]) >= 0.99
    index.add(ids[:1], data[:1])  # the id is free again
    assert len(index) == 351
    index.remove(ids[250:260])
    index.add(ids[250:260], -data[250:260])  # replace: a tombstoned id re-added compacts first
    assert index.info().tombstones == 0 and len(index) == 351
    assert index.search(-data[250:251], 1)[1][0, 0] == ids[250]


@pytest.mark.parametrize("name", ["flat", "hnsw", "ivf", "other"])
@pytest.mark.parametrize("path", ["exact", "selector"])
def test_allowed_ids_equals_brute_force_over_those_ids(name, path, monkeypatch):
    if path == "selector":
        monkeypatch.setattr(vectors_module, "EXACT_FILTER_MAX", 0)
    index, data, ids, queries = build(name)
    index.remove(ids[1::4])
    rng = np.random.default_rng(1)
    allowed = rng.choice(ids, 250, replace=False)
    live_allowed = np.setdiff1d(allowed, ids[1::4])
    mask = np.isin(ids, live_allowed)
    scores, got = index.search(queries, 10, allowed_ids=np.concatenate([allowed, [10**9]]), ef_search=256)
    want_scores, want = brute(queries, data[mask], ids[mask], 10)
    assert np.isin(got, live_allowed).all()
    if path == "exact" or name == "flat":
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)
    else:
        assert recall(got, want) >= (0.9 if name != "other" else 0.5)


def test_allowed_ids_smaller_than_k_pads():
    index, _, ids, queries = build("hnsw")
    scores, got = index.search(queries[:2], 5, allowed_ids=ids[:3])
    assert set(got[0, :3]) == set(ids[:3]) and (got[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
    assert (index.search(queries[:2], 5, allowed_ids=[10**9])[1] == -1).all()


@pytest.mark.parametrize("name", ["flat", "hnsw", "ivfpq"])
@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_round_trip(name, mmap, tmp_path):
    index, data, ids, queries = build(name)
    index.remove(ids[:50])
    index.ef_search = 200
    before = index.search(queries, 10, nprobe=8)
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, mmap=mmap)
    info, old = loaded.info(), index.info()
    assert (info.type, info.factory, info.count, info.tombstones, info.ef_search) == (
        old.type, old.factory, old.count, old.tombstones, 200)
    assert info.bytes_on_disk > 0
    after = loaded.search(queries, 10, nprobe=8)
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_allclose(after[0], before[0], atol=1e-6)
    np.testing.assert_array_equal(loaded.ids(), index.ids())
    # writes after an mmap load work on an in-memory copy (FAISS's mapped storage is read-only)
    loaded.add(ids[:50], data[:50])
    assert loaded.remove(ids[50:60]) == 10 and len(loaded) == len(ids) - 10
    loaded.save(tmp_path)
    assert len(VectorIndex.load(tmp_path)) == len(ids) - 10


def test_save_keeps_one_generation_and_sidecar_describes_it(tmp_path):
    index, data, ids, _ = build("flat")
    index.save(tmp_path)
    index.remove(ids[:10])
    index.save(tmp_path)
    meta = json.loads((tmp_path / "vectors.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["vectors.json", meta["files"]["index"]["name"]])
    assert (meta["format_version"], meta["dim"], meta["metric"], meta["count"]) == (1, DIM, "ip", len(ids) - 10)
    assert meta["files"]["index"]["bytes"] == (tmp_path / meta["files"]["index"]["name"]).stat().st_size


def test_interrupted_save_leaves_the_previous_index(tmp_path, monkeypatch):
    index, _, ids, queries = build("flat")
    index.save(tmp_path)
    index.remove(ids[:100])

    def killed(folder, meta):
        raise KeyboardInterrupt("killed before the sidecar was replaced")

    monkeypatch.setattr(persist, "commit_sidecar", killed)
    with pytest.raises(KeyboardInterrupt):
        index.save(tmp_path)
    monkeypatch.undo()
    assert len(list(tmp_path.glob("vectors.*.faiss"))) == 2  # the orphan new generation is still there
    assert len(VectorIndex.load(tmp_path)) == len(ids)  # ... but the sidecar still names the old one
    index.save(tmp_path)  # the next save cleans orphans
    assert len(list(tmp_path.glob("vectors.*.faiss"))) == 1 and len(VectorIndex.load(tmp_path)) == len(ids) - 100


def _faiss_file(folder):
    return next(folder.glob("vectors.*.faiss"))


@pytest.mark.parametrize("damage", ["swap", "flip", "truncate", "no-sidecar", "no-faiss", "bad-json", "no-field"])
def test_torn_or_damaged_save_is_detected(damage, tmp_path):
    index, data, ids, _ = build("flat")
    index.save(tmp_path / "a")
    index.remove(ids[:1])
    index.save(tmp_path / "b")
    target = _faiss_file(tmp_path / "a")
    if damage == "swap":  # a .faiss from another save under this sidecar's name
        target.write_bytes(_faiss_file(tmp_path / "b").read_bytes())
    elif damage == "flip":
        raw = bytearray(target.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        target.write_bytes(bytes(raw))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:-100])
    elif damage == "no-sidecar":
        (tmp_path / "a" / "vectors.json").unlink()
    elif damage == "no-faiss":
        target.unlink()
    elif damage == "bad-json":
        (tmp_path / "a" / "vectors.json").write_text("{not json")
    else:
        meta = json.loads((tmp_path / "a" / "vectors.json").read_text())
        del meta["kind"]
        (tmp_path / "a" / "vectors.json").write_text(json.dumps(meta))
    with pytest.raises(IndexError_, match="openvid check --fix"):
        VectorIndex.load(tmp_path / "a")
    with pytest.raises(IndexError_, match="no vector index here"):
        VectorIndex.load(tmp_path / "empty")


@pytest.mark.parametrize("call, match", [
    (lambda ix: ix.add([1, 1], unit(np.ones((2, DIM)))), "repeated"),
    (lambda ix: ix.add([5], unit(np.ones((1, DIM)))), "already in the index"),
    (lambda ix: ix.add([1], unit(np.ones((1, DIM + 1)))), f"n x {DIM}"),
    (lambda ix: ix.add([1], np.full((1, DIM), np.nan, np.float32)), "NaN or inf"),
    (lambda ix: ix.add([1], np.ones((1, DIM), np.float32)), "L2-normalised"),
    (lambda ix: ix.add([-2], unit(np.ones((1, DIM)))), ">= 0"),
    (lambda ix: ix.add([1, 2], unit(np.ones((1, DIM)))), "one id per vector"),
    (lambda ix: ix.add(np.array([1.5]), unit(np.ones((1, DIM)))), "integers"),
    (lambda ix: ix.search(unit(np.ones((1, DIM + 1))), 3), f"n x {DIM}"),
    (lambda ix: ix.search(np.zeros((1, DIM), np.float32), 3), "L2-normalised"),
    (lambda ix: ix.search(unit(np.ones((1, DIM))), 0), "k must be"),
    (lambda ix: ix.search(unit(np.ones((1, DIM))), 3, ef_search=0), "ef_search"),
])
def test_bad_input_is_refused_with_a_hint(call, match):
    index = VectorIndex.create(DIM)
    index.add([5], unit(np.ones((1, DIM))))
    with pytest.raises(IndexError_, match=match):
        call(index)
    assert len(index) == 1


def test_bad_options_are_refused():
    with pytest.raises(UnknownChoice, match="auto"):
        VectorIndex.create(DIM, use_gpu="sometimes")
    with pytest.raises(IndexError_, match="factory string"):
        VectorIndex.create(DIM, "HNSWbanana")
    with pytest.raises(IndexError_, match="IDMap"):
        VectorIndex.create(DIM, "IDMap2,Flat")
    with pytest.raises(IndexError_, match="positive"):
        VectorIndex.create(DIM, ef_search=0)


def test_nearly_unit_vectors_are_renormalised():
    index = VectorIndex.create(DIM)
    v = unit(np.ones((1, DIM))) * 1.005
    index.add([1], v)
    scores, _ = index.search(v, 1)
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-6)


def test_empty_index_and_short_results_are_padded():
    index = VectorIndex.create(DIM)
    queries = unit(np.random.default_rng(0).standard_normal((3, DIM)))
    scores, ids = index.search(queries, 4)
    assert ids.shape == (3, 4) and (ids == -1).all() and np.isneginf(scores).all()
    assert len(index) == 0 and index.ids().size == 0
    index.add([8, 9], queries[:2])
    scores, ids = index.search(queries[0], 4)  # a single 1-d query is one row
    assert ids.tolist() == [[8, 9, -1, -1]] and np.isneginf(scores[0, 2:]).all()


def test_ef_search_is_a_per_index_and_per_call_knob():
    index, _, _, queries = build("hnsw")
    index.ef_search = 16
    assert index.info().ef_search == 16
    low = index.search(queries, 10)[1]
    high = index.search(queries, 10, ef_search=512)[1]
    assert low.shape == high.shape == (20, 10)
    with pytest.raises(IndexError_):
        index.ef_search = -1


def test_no_gpu_falls_back_to_cpu_silently():
    index, _, _, queries = build("flat")
    if faiss.get_num_gpus() == 0:
        assert index.info().gpu is False
    assert index.search(queries, 3)[1].shape == (20, 3)
    assert VectorIndex.create(DIM, use_gpu="never").info().gpu is False


@pytest.mark.gpu
@pytest.mark.skipif(faiss.get_num_gpus() == 0, reason="needs faiss-gpu and a CUDA GPU")
def test_gpu_search_agrees_with_cpu():
    index, data, ids, queries = build("flat")
    assert index.info().gpu is True
    scores, got = index.search(queries, 10)
    want_scores, want = brute(queries, data, ids, 10)
    assert recall(got, want) >= 0.99
    np.testing.assert_allclose(np.sort(scores, axis=1), np.sort(want_scores, axis=1), atol=1e-4)
