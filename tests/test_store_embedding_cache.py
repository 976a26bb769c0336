"""The text-vector cache: float32 round trip, only hits returned, identities kept apart, dims checked."""

from __future__ import annotations

import numpy as np
import pytest

from openvid.errors import OpenvidError
from openvid.store import EmbeddingCache, open_database


@pytest.fixture
def cache(tmp_path):
    return EmbeddingCache(open_database(tmp_path))


def test_put_get_round_trip(cache, tmp_path):
    rng = np.random.default_rng(0)
    vectors = {"a video of running.": rng.standard_normal(8).astype(np.float32), "ünïcödé": rng.standard_normal(8)}
    cache.put("clip|text", vectors)
    hits = cache.get("clip|text", ["a video of running.", "never stored", "ünïcödé", "a video of running."])
    assert set(hits) == {"a video of running.", "ünïcödé"}
    assert all(v.dtype == np.float32 and v.shape == (8,) for v in hits.values())
    np.testing.assert_array_equal(hits["a video of running."], vectors["a video of running."])
    np.testing.assert_array_equal(hits["ünïcödé"], vectors["ünïcödé"].astype(np.float32))
    hits["ünïcödé"][0] = 99  # a writable copy, not a view of the row
    again = EmbeddingCache(open_database(tmp_path)).get("clip|text", ["ünïcödé"])  # across processes/opens
    assert again["ünïcödé"][0] != 99
    assert cache.get("clip|text", []) == {}


def test_identities_are_separate_and_puts_overwrite(cache):
    cache.put("model-a", {"x": np.ones(4)})
    cache.put("model-b", {"x": np.zeros(6)})
    assert cache.get("model-a", ["x"])["x"].tolist() == [1, 1, 1, 1]
    assert cache.get("model-b", ["x"])["x"].shape == (6,)
    assert cache.get("model-c", ["x"]) == {}
    cache.put("model-a", {"x": np.full(4, 2.0)})
    assert cache.get("model-a", ["x"])["x"].tolist() == [2, 2, 2, 2]


def test_dims_and_shapes_are_checked(cache):
    cache.put("m", {"x": np.ones(4)})
    with pytest.raises(OpenvidError, match="holds 4-dimensional vectors for 'm', not 5"):
        cache.put("m", {"y": np.ones(5)})
    with pytest.raises(OpenvidError, match="different dimensions"):
        cache.put("n", {"a": np.ones(3), "b": np.ones(2)})
    with pytest.raises(OpenvidError, match="1-D"):
        cache.put("n", {"a": np.ones((2, 3))})
    assert cache.get("m", ["y"]) == {} and cache.get("n", ["a", "b"]) == {}


def test_many_texts_at_once(cache):
    texts = [f"prompt {i}" for i in range(1200)]  # more than one query's worth of parameters
    cache.put("m", {t: np.full(3, i, np.float32) for i, t in enumerate(texts)})
    hits = cache.get("m", texts + ["missing"])
    assert len(hits) == 1200 and hits["prompt 1199"][0] == 1199
