"""A FAISS search never runs more OpenMP threads than it has queries, and only in its own thread."""

from __future__ import annotations

import threading

import faiss
import numpy as np
import pytest

from openvid.vectors import VectorIndex
from openvid.vectors.threads import threads_for


@pytest.fixture
def two_threads():
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    yield
    faiss.omp_set_num_threads(before)


def test_threads_for_caps_this_thread_only_and_restores(two_threads):
    seen = {}
    inside, release = threading.Event(), threading.Event()

    def search_thread():
        with threads_for(1):
            seen["inside"] = faiss.omp_get_max_threads()
            inside.set()
            release.wait(10)
        seen["after"] = faiss.omp_get_max_threads()

    worker = threading.Thread(target=search_thread)
    worker.start()
    assert inside.wait(10)
    seen["other thread meanwhile"] = faiss.omp_get_max_threads()
    release.set()
    worker.join()
    assert seen == {"inside": 1, "other thread meanwhile": 2, "after": 2}
    with threads_for(8):  # more queries than threads: the team as it is
        assert faiss.omp_get_max_threads() == 2


def test_a_single_query_searches_with_one_thread_and_the_same_answer(two_threads, monkeypatch):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.create(16)
    index.add(np.arange(500), vectors)
    threads = []
    original = type(index._index).search
    monkeypatch.setattr(type(index._index), "search",
                        lambda self, *a, **kw: threads.append(faiss.omp_get_max_threads()) or original(self, *a, **kw))
    one = index.search(vectors[3], 5)
    batch = index.search(vectors[:4], 5)
    assert threads == [1, 2]
    assert one[1][0][0] == 3 and np.array_equal(one[1][0], batch[1][3])
    np.testing.assert_allclose(one[0][0], batch[0][3], atol=1e-6)
    expected = np.argsort(-(vectors @ vectors[3]))[:5]  # brute force
    assert np.array_equal(one[1][0], expected)
