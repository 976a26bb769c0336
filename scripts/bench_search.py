"""Vector search: exact Flat against HNSW and IVF, through `openvid.vectors.VectorIndex`.

    python scripts/bench_search.py [--sizes 100000,1000000] [--dim 512] [--queries 200]
        [--data clustered|lowrank|uniform] [--ef 64,128,192,256,512] [--nprobe 8,16,32,64]
        [--ivf "IVF1024,PQ64np;IVF1024,Flat"] [--ivf-max N] [--hnsw 32@80,48@80] [--single-threads 1]

For each size it builds every index type on vectors shaped like embeddings, asks queries drawn from
the same distribution (never taken from the indexed set), and prints one markdown table: build
seconds, p50/p99 latency of single queries, per-query time in one batch of all queries, recall@10
against exact Flat search done in the same run, and each p50 as a ratio of Flat's.

Single queries run on one OpenMP thread by default (``--single-threads``): a server answers
concurrent requests one core each, and FAISS's spinning OpenMP threads turn a 0.2 ms query into
several ms whenever another process holds the cores. Batches use every core.

Data (unit vectors after normalising):
- ``clustered``: 2,000 centres drawn N(0, I) + Gaussian noise σ 0.35 per coordinate.
- ``lowrank``: a 48-d latent N(0, I) × a fixed random 48 × dim map (entries N(0, 1/48)) + noise σ 0.5
  per coordinate; neighbourhoods live in ~48 dimensions, as in a real embedding space.
- ``uniform``: isotropic Gaussian; no neighbourhood structure, no approximate index does well
  (shown only to make that point).

IVF factory strings ending in ``np`` skip FAISS's polysemous training (slow and unused here).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import time

import faiss
import numpy as np

from openvid.vectors import VectorIndex

K = 10
CHUNK = 100_000


class Data:
    def __init__(self, kind: str, dim: int, seed: int = 0) -> None:
        self.kind, self.dim = kind, dim
        rng = np.random.default_rng(seed)
        if kind == "clustered":
            self.basis = rng.standard_normal((2000, dim), dtype=np.float32)
        elif kind == "lowrank":
            self.basis = rng.standard_normal((48, dim), dtype=np.float32) / np.float32(np.sqrt(48))
        elif kind != "uniform":
            raise SystemExit(f"unknown --data {kind!r}; choose clustered, lowrank or uniform")

    def draw(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), np.float32)
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            noise = rng.standard_normal((m, self.dim), dtype=np.float32)
            if self.kind == "clustered":
                x = self.basis[rng.integers(0, len(self.basis), m)] + np.float32(0.35) * noise
            elif self.kind == "lowrank":
                x = rng.standard_normal((m, 48), dtype=np.float32) @ self.basis + np.float32(0.5) * noise
            else:
                x = noise
            out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out


def recall(got: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(g) & set(t)) / K for g, t in zip(got.tolist(), truth.tolist())]))


def measure(index: VectorIndex, queries: np.ndarray, single_threads: int, **params) -> dict:
    threads = faiss.omp_get_max_threads()
    if single_threads:
        faiss.omp_set_num_threads(single_threads)
    for q in queries[:5]:  # warm-up
        index.search(q[None], K, **params)
    single, found = [], np.empty((len(queries), K), np.int64)
    for i, q in enumerate(queries):
        start = time.perf_counter()
        found[i] = index.search(q[None], K, **params)[1][0]
        single.append(time.perf_counter() - start)
    faiss.omp_set_num_threads(threads)
    start = time.perf_counter()
    batch_ids = index.search(queries, K, **params)[1]
    batch = (time.perf_counter() - start) / len(queries)
    ms = np.array(single) * 1000
    return {"p50": np.percentile(ms, 50), "p99": np.percentile(ms, 99), "batch": batch * 1000,
            "found": found, "batch_ids": batch_ids}


def build(factory: str, ids, vectors, args, ef_construction: int = 80) -> tuple[VectorIndex, float]:
    start = time.perf_counter()
    index = VectorIndex.create(args.dim, factory, ef_construction=ef_construction, use_gpu="never")
    index.add(ids, vectors)
    seconds = time.perf_counter() - start
    if index.info().factory != factory:
        raise SystemExit(f"{factory} needs more vectors to train than {len(ids)}; skip it at this size (--ivf-max)")
    return index, seconds


def bench_size(n: int, data: Data, args) -> None:
    vectors = data.draw(n, seed=1)
    queries = data.draw(args.queries, seed=2)
    ids = np.arange(n, dtype=np.int64)
    rows = []

    flat, seconds = build("Flat", ids, vectors, args)
    m = measure(flat, queries, args.single_threads)
    truth = m["batch_ids"]
    flat_p50 = m["p50"]
    rows.append(("Flat (exact)", "—", seconds, m, truth))
    del flat
    gc.collect()

    for m, ef_construction in args.hnsw:
        factory = f"HNSW{m}"
        hnsw, seconds = build(factory, ids, vectors, args, ef_construction)
        for i, ef in enumerate(args.ef):
            rows.append((factory, f"efConstruction {ef_construction}, efSearch {ef}", seconds if i == 0 else None,
                         measure(hnsw, queries, args.single_threads, ef_search=ef), truth))
        del hnsw
        gc.collect()

    if n <= args.ivf_max:
        for factory in args.ivf:
            ivf, seconds = build(factory, ids, vectors, args)
            for i, nprobe in enumerate(args.nprobe):
                rows.append((factory, f"nprobe {nprobe}", seconds if i == 0 else None,
                             measure(ivf, queries, args.single_threads, nprobe=nprobe), truth))
            del ivf
            gc.collect()

    print(f"\n### {n:,} {data.kind} vectors, {args.dim}-d, {args.queries} queries, k={K}\n")
    print("| index | params | build s | p50 ms | p99 ms | batch ms/query | recall@10 | p50 vs Flat |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, params, seconds, m, truth in rows:
        build_s = f"{seconds:.1f}" if seconds is not None else "″"
        print(f"| {name} | {params} | {build_s} | {m['p50']:.2f} | {m['p99']:.2f} | {m['batch']:.2f} | "
              f"{recall(m['found'], truth):.3f} | {m['p50'] / flat_p50:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", default="clustered", choices=["clustered", "lowrank", "uniform"])
    parser.add_argument("--ef", default="64,128,192,256,512")
    parser.add_argument("--nprobe", default="8,16,32,64")
    parser.add_argument("--ivf", default="IVF1024,PQ64np;IVF1024,Flat", help="';'-separated factory strings")
    parser.add_argument("--ivf-max", type=int, default=10**12, help="build IVF only up to this size")
    parser.add_argument("--single-threads", type=int, default=1,
                        help="OpenMP threads for single queries (0: FAISS default); batches use all cores")
    parser.add_argument("--hnsw", default="32@80,48@80", help="HNSW configurations as M@efConstruction, comma-separated")
    args = parser.parse_args()
    args.ef = [int(v) for v in args.ef.split(",")]
    args.nprobe = [int(v) for v in args.nprobe.split(",")]
    args.ivf = [f for f in args.ivf.split(";") if f]
    args.hnsw = [tuple(int(v) for v in item.split("@")) for item in args.hnsw.split(",") if item]
    data = Data(args.data, args.dim)
    print(f"# bench_search {datetime.date.today()} faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, "
          f"data {args.data}, single queries on {args.single_threads or faiss.omp_get_max_threads()} thread(s)")
    for n in (int(s) for s in args.sizes.split(",")):
        bench_size(n, data, args)


if __name__ == "__main__":
    main()
