"""How many OpenMP threads a FAISS search may use: never more than it has queries.

FAISS splits a search across threads by query. A single query (every text search a server or the
command line makes) cannot be split, yet it still wakes the whole thread team, whose threads then
spin waiting for more work: measured on 2 cores at 100,000 HNSW vectors, one query cost 1.0 ms of
CPU with one thread and 5-7 ms with two, and a 50,000-vector Flat search 8 ms against 36 ms on a
busy machine (scripts/bench_serve.py, docs/benchmarks.md). Concurrent requests are the parallelism
a server has; the team only gets in their way.

OpenMP keeps the thread count per calling thread (libgomp gives each thread that sets it its own
copy), so setting it for one search in one thread changes nothing for searches in other threads.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import faiss


@contextlib.contextmanager
def threads_for(queries: int) -> Iterator[None]:
    """Run the block with at most `queries` FAISS threads (in this thread only), then restore them."""
    before = faiss.omp_get_max_threads()
    wanted = max(1, min(int(queries), before))
    if wanted == before:
        yield
        return
    faiss.omp_set_num_threads(wanted)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)
