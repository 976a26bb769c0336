"""Index size and scaling: bytes per segment, memory, build time, latency and recall per index type.

    python scripts/bench_scaling.py [--sizes 10000,100000,1000000] [--queries 200]
        [--catalog-sample 100000] [--refine 8,32] [--markdown]

For each size it draws embedding-shaped vectors (`bench_search.Data("clustered", 512)`) and builds,
through `openvid.vectors.VectorIndex`, each index type:

- ``Flat`` (exact; what openvid uses up to 50,000 vectors);
- ``HNSW48`` (efConstruction 80, searched with efSearch 192: openvid's choice above 50,000);
- ``IVF<nlist>,PQ64`` (nprobe 32), with ``nlist`` about 4·√n rounded to a power of two and at most
  ``--max-nlist`` (256 at 10k, 1024 at 100k, 4096 at 1M: FAISS's k-means wants 39 vectors per
  centroid, so IVF4096 cannot be trained below 160k vectors; at 1M it clusters all 1M vectors into
  4096 centres, about 40 TFLOP, most of a run's time on two shared cores; ``--max-nlist 1024``
  saves that);
- the same IVF-PQ re-ranked exactly from float16 copies: FAISS's ``IndexRefine`` over the trained
  IVF-PQ with an ``SQfp16`` refine index (what ``IVF…,PQ64,Refine(SQfp16)`` builds), taking
  ``k_factor`` × the fetch from the PQ codes and re-scoring them at float16 precision.

Per index it reports:

- **disk B/seg**: the saved FAISS folder (``VectorIndex.save``: the ``.faiss`` file, and the float32
  side copy that lossy types keep) per vector, plus the catalog's row per segment, measured on a real
  catalog (`openvid.store.catalog.Catalog.add_video`, one transaction per 15-minute video of 225
  segments) of ``--catalog-sample`` segments and multiplied for larger sizes (a 1M-row catalog
  takes too long to build here; the per-segment cost is flat in the size).
- **RSS MiB**: resident memory added by ``VectorIndex.load`` (as ``VideoIndex.open`` does, no mmap),
  measured in a fresh subprocess; **FAISS MiB**: the FAISS structure alone (its serialised size).
- **build s**: ``VectorIndex.add`` of all vectors (training included), on both cores.
- **p50 / p99 ms**: single queries on one OpenMP thread, fetching 50 hits as
  `openvid.archive.search.search_index` does for k=10; **recall@10** of the first 10 against exact
  search in the same run.

The catalog line also gives the old float32 rows (before float16 copies) for comparison. The
load average (``os.getloadavg``) is printed before and after each size: the two cores are shared.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encoders import print_table  # noqa: E402
from bench_search import Data  # noqa: E402

from openvid.vectors import VectorIndex  # noqa: E402

K = 10
FETCH = max(4 * K, 50)  # what search_index asks FAISS for at k=10
DIM = 512
SEGMENTS_PER_VIDEO = 225  # a 15-minute video at the default 4 s window


def load_avg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def nlist_for(n: int, most: int) -> int:
    """About 4·√n, a power of two, at most `most`, and never more than FAISS can train on n vectors
    (39 per centroid)."""
    target = 4 * np.sqrt(n)
    nlist = min(most, int(2 ** round(np.log2(target))))
    while nlist > 16 and 39 * max(nlist, 256) > n:
        nlist //= 2
    return nlist


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def rss_of_load(folder: Path) -> int:
    """Resident bytes added by VectorIndex.load(folder), in a fresh interpreter (no leftovers)."""
    code = (
        "import json, resource, sys\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS:'): return int(line.split()[1]) * 1024\n"
        "from openvid.vectors import VectorIndex\n"
        "import numpy as np\n"
        "before = rss()\n"
        "index = VectorIndex.load(sys.argv[1], verify=False, use_gpu='never')\n"
        "index.search(np.ones((1, index.dim), np.float32) / index.dim ** 0.5, 10)\n"
        "print(json.dumps({'delta': rss() - before}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["delta"])


def timed_queries(search, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(milliseconds per single query, the ids of each query's first K hits), on one thread."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        for q in queries[:5]:
            search(q[None])
        ms, found = [], np.empty((len(queries), K), np.int64)
        for i, q in enumerate(queries):
            start = time.perf_counter()
            ids = search(q[None])
            ms.append((time.perf_counter() - start) * 1000)
            found[i] = ids[0, :K]
    finally:
        faiss.omp_set_num_threads(threads)
    return np.array(ms), found


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found.tolist(), truth.tolist())]))


def catalog_bytes(segments: int, dtype: str, fetches: tuple[int, ...] = ()) -> tuple[float, float, dict]:
    """(bytes per segment of the SQLite file, segments written per second, {rows: p50 ms of
    Catalog.vectors of that many random rows}) for a catalog of `segments` rows written through
    Catalog.add_video, with vectors stored as `dtype`. The fetch times are what re-ranking from the
    catalog's float16 copies costs per query (page cache warm: the file was just written)."""
    from openvid.store import catalog as catalog_module
    from openvid.store.catalog import Catalog
    from openvid.store.db import open_database

    data = Data("clustered", DIM, seed=5)
    saved = catalog_module.VECTOR_DTYPE
    catalog_module.VECTOR_DTYPE = dtype
    try:
        with tempfile.TemporaryDirectory() as home:
            engine = open_database(Path(home))
            catalog = Catalog(engine)
            record = catalog.create_index("bench", model="m", encoder="e", dim=DIM, window_s=4.0, stride_s=4.0,
                                          frames=8)
            start = time.perf_counter()
            for video in range(0, segments, SEGMENTS_PER_VIDEO):
                count = min(SEGMENTS_PER_VIDEO, segments - video)
                times = [(4.0 * i, 4.0 * i + 4.0) for i in range(count)]
                catalog.add_video(record.id, content_hash=f"{video:032x}", path=f"/archive/video-{video:07d}.mp4",
                                  size=100_000_000, duration_s=900.0, times=times,
                                  vectors=data.draw(count, seed=video))
            seconds = time.perf_counter() - start
            rng, fetch_ms = np.random.default_rng(7), {}
            stored = catalog.segment_ids(record.id)
            for rows in fetches:
                times_ms = []
                for _ in range(30):
                    chosen = rng.choice(stored, size=min(rows, len(stored)), replace=False)
                    begin = time.perf_counter()
                    catalog.vectors(chosen, DIM)
                    times_ms.append((time.perf_counter() - begin) * 1000)
                fetch_ms[rows] = float(np.median(times_ms))
            begin = time.perf_counter()
            catalog.vectors(stored, DIM)  # what a repair after damage reads (`openvid check --fix`)
            fetch_ms["all"] = (time.perf_counter() - begin) * 1000
            with engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            size = sum(f.stat().st_size for f in Path(home).iterdir() if f.name.startswith("openvid.db"))
    finally:
        catalog_module.VECTOR_DTYPE = saved
    return size / segments, segments / seconds, fetch_ms


def refined(ivf: VectorIndex, vectors: np.ndarray, k_factor: int):
    """FAISS's IndexRefine over the trained, filled IVF-PQ of `ivf`, re-scoring from an SQfp16 copy.

    The IVF holds the bench's ids 0..n-1, which are also the refine index's positions (IndexRefine
    looks refine vectors up by the base's labels)."""
    base = faiss.downcast_index(ivf._index)
    fp16 = faiss.IndexScalarQuantizer(DIM, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    fp16.add(vectors)
    index = faiss.IndexRefine(base, fp16)
    index.k_factor = float(k_factor)
    index.own_fields = False  # `ivf` still owns the base
    return index, fp16


def bench_size(n: int, data: Data, args, catalog_row: float) -> list[dict]:
    print(f"\n## {n:,} vectors: load before {load_avg()}", file=sys.stderr, flush=True)
    vectors = data.draw(n, seed=1)
    queries = data.draw(args.queries, seed=2)
    ids = np.arange(n, dtype=np.int64)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(vectors)
    truth = exact.search(queries, K)[1]
    del exact
    gc.collect()
    nlist = nlist_for(n, args.max_nlist)
    configs = [("Flat", "Flat", {}), ("HNSW48", "HNSW48", {"ef_search": 192}),
               (f"IVF{nlist},PQ64", f"IVF{nlist},PQ64np", {"nprobe": 32})]
    configs = [c for c in configs if c[0] == "Flat" or re.match(r"[A-Za-z]+", c[0]).group().lower() in args.kinds]
    rows = []
    for name, factory, params in configs:
        start = time.perf_counter()
        index = VectorIndex.create(DIM, factory, use_gpu="never")
        index.add(ids, vectors)
        build = time.perf_counter() - start
        if index.info().factory != factory:
            raise SystemExit(f"{factory} could not be trained on {n} vectors")
        with tempfile.TemporaryDirectory(dir=args.tmp) as folder:
            index.save(folder)
            disk = folder_bytes(Path(folder))
            rss = rss_of_load(Path(folder))
        faiss_bytes = len(faiss.serialize_index(index._index))
        ms, found = timed_queries(lambda q, index=index, params=params: index.search(q, FETCH, **params)[1], queries)
        rows.append({"n": n, "index": name, "params": ", ".join(f"{k} {v}" for k, v in params.items()) or "—",
                     "faiss_disk": disk / n, "catalog": catalog_row, "rss": rss, "faiss_mem": faiss_bytes,
                     "build": build, "p50": np.percentile(ms, 50), "p99": np.percentile(ms, 99),
                     "recall": recall(found, truth)})
        print(f"  {name}: build {build:.1f} s, p50 {rows[-1]['p50']:.2f} ms, recall {rows[-1]['recall']:.3f}, "
              f"load {load_avg()}", file=sys.stderr, flush=True)
        if factory.startswith("IVF"):
            for k_factor in args.refine:
                start = time.perf_counter()
                refine, fp16 = refined(index, vectors, k_factor)
                extra = time.perf_counter() - start
                params_r = faiss.IndexRefineSearchParameters(k_factor=float(k_factor),
                                                             base_index_params=faiss.SearchParametersIVF(nprobe=32))
                ms, found = timed_queries(
                    lambda q, refine=refine, params_r=params_r: refine.search(q, FETCH, params=params_r)[1], queries)
                fp16_bytes = len(faiss.serialize_index(fp16))
                rows.append({"n": n, "index": f"{name} + fp16 re-rank", "params": f"nprobe 32, k_factor {k_factor}",
                             # in FAISS: the IVF-PQ file plus the fp16 copy; no float32 side copy needed
                             "faiss_disk": (faiss_bytes + fp16_bytes) / n, "catalog": catalog_row,
                             "rss": None, "faiss_mem": faiss_bytes + fp16_bytes, "build": build + extra,
                             "p50": np.percentile(ms, 50), "p99": np.percentile(ms, 99),
                             "recall": recall(found, truth)})
                print(f"  {rows[-1]['index']} k_factor {k_factor}: p50 {rows[-1]['p50']:.2f} ms, "
                      f"recall {rows[-1]['recall']:.3f}", file=sys.stderr, flush=True)
                del refine, fp16
        del index
        gc.collect()
    print(f"  load after {load_avg()}", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--catalog-sample", type=int, default=100_000)
    parser.add_argument("--refine", default="8,32", help="k_factors of the fp16 re-rank over IVF-PQ")
    parser.add_argument("--tmp", default=None, help="where to save indexes (a disk, not tmpfs, for file sizes)")
    parser.add_argument("--max-nlist", type=int, default=4096,
                        help="IVF lists at most (IVF4096 clusters all of 1M vectors, ~40 TFLOP: 1024 saves ~20 min "
                             "on 2 shared cores)")
    parser.add_argument("--kinds", default="hnsw,ivf", help="index types besides Flat (always built: the ratios)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    args.refine = [int(v) for v in args.refine.split(",") if v]
    args.kinds = {v.strip().lower() for v in args.kinds.split(",") if v.strip()}
    started = time.perf_counter()
    print(f"# bench_scaling {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, faiss "
          f"{faiss.__version__}, {os.cpu_count()} cores, load {load_avg()}", flush=True)
    sample = args.catalog_sample
    row16, rate16, fetch_ms = catalog_bytes(sample, "<f2", tuple(FETCH * k for k in args.refine))
    row32, rate32, _ = catalog_bytes(min(sample, 20_000), "<f4")
    read_all = fetch_ms.pop("all")
    fetched = ", ".join(f"{rows} rows {ms:.1f} ms" for rows, ms in fetch_ms.items())
    print(f"catalog: {row16:.0f} B/segment with float16 vectors ({rate16:.0f} segments/s written, {sample:,} "
          f"segments), {row32:.0f} B/segment with float32 (older catalogs; {min(sample, 20_000):,} segments); "
          f"re-ranking reads from it (Catalog.vectors of random rows, p50): {fetched}; a repair reads all "
          f"{sample:,} at {sample / read_all * 1000:.0f} rows/s; load {load_avg()}",
          flush=True)
    data = Data("clustered", DIM)
    rows = []
    for n in (int(s) for s in args.sizes.split(",") if s):
        rows += bench_size(n, data, args, row16)
    header = ["vectors", "index", "params", "disk B/seg (FAISS + catalog)", "RSS MiB", "FAISS MiB", "build s",
              "p50 ms", "p99 ms", "recall@10", "disk vs Flat", "p50 vs Flat"]
    flat = {row["n"]: row for row in rows if row["index"] == "Flat"}
    table = []
    for row in rows:
        ref = flat[row["n"]]
        disk = row["faiss_disk"] + row["catalog"]
        table.append([f"{row['n']:,}", row["index"], row["params"],
                      f"{row['faiss_disk']:.0f} + {row['catalog']:.0f} = {disk:.0f}",
                      "—" if row["rss"] is None else f"{row['rss'] / 2**20:.0f}", f"{row['faiss_mem'] / 2**20:.0f}",
                      f"{row['build']:.1f}", f"{row['p50']:.2f}", f"{row['p99']:.2f}", f"{row['recall']:.3f}",
                      f"{disk / (ref['faiss_disk'] + ref['catalog']):.2f}", f"{row['p50'] / ref['p50']:.3f}"])
    print_table(header, table, args.markdown, "Index size and scaling", left=("index", "params"), width=220)
    print(f"total {time.perf_counter() - started:.0f} s, load at the end {load_avg()}", flush=True)


if __name__ == "__main__":
    main()
