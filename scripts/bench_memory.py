"""Peak memory of `openvid index` against video length: it must not grow with the video.

    python scripts/bench_memory.py                       # 1, 10, 30, 60 min at 640x272, 4 fps (~4 min)
    python scripts/bench_memory.py --minutes 1,5 --fps 2 # a quick look
    python scripts/bench_memory.py --decoder pyav        # the PyAV reader instead of decord
    python scripts/bench_memory.py --batch-size 32       # the default batch (see below)
    python scripts/bench_memory.py --ray local           # the same through a local Ray cluster (--ray)

Each length gets one synthetic video (PyAV, H.264, 640x272; cached in --work) and a fresh home
folder, and is indexed by the real command line (`python -m openvid index`) in its own process
with the tiny CLIP model of `scripts/make_tiny_models.py` (8 frames per 4 s window, 224 px short
side), so nothing one run allocated is seen by the next. Peak RSS is the child's own `ru_maxrss`
(from `os.wait4`), which counts every byte the process touched: numpy, torch, the decoder's
native buffers and malloc's retained memory alike. The table gives each length's peak against
the first length's, measured in the same call. Results: docs/benchmarks.md.

**With `--ray`** the work happens in other processes (the raylet, decode workers, the encoder
actor), which the driver starts as its descendants: the figure is then the peak, over samples
every 0.2 s, of the summed proportional set size (`Pss` in /proc/PID/smaps_rollup) of the driver
and all its descendants, so pages the processes share (libraries, Ray's object store) count once.

**Why a low frame rate is enough.** What the pipeline keeps per *window* (clips, their frames,
views, vectors) scales with the number of windows, which the duration sets whatever the frame
rate, and the frames a window keeps are the 8 it samples. State kept per *decoded* frame would
show at 4 fps too, only smaller by the ratio of rates (`--fps 25` to see it at full size). The
per-frame state that does grow with length, the frame-time table (16 bytes a frame), is 14 MB
for ten hours at 25 fps. A low rate keeps decoding cheap, so the four lengths run in about four
minutes on two cores (the 60-minute video is made once, in about a minute).

**Why batches of 8.** A batch of the default 32 windows spans 128 s of video, more than the
whole 1-minute baseline (15 windows): its one partial batch needs less memory for the model's
input than a full batch does, which is batch size, not length. With 8, every length runs full
batches, so the ratios measure what grows with length alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 640, 272


def make_video(path: Path, minutes: float, fps: float) -> Path:
    """A synthetic 640x272 H.264 video: smooth moving gradients (cheap to encode and to decode)."""
    import av

    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.mp4")
    frames = int(round(minutes * 60 * fps))
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=int(fps))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(int(fps * 10))}
        for i in range(frames):
            phase = i / max(fps, 1)
            img = np.empty((HEIGHT, WIDTH, 3), np.uint8)
            img[..., 0] = (127 + 120 * np.sin(xs / 40 + phase)).astype(np.uint8)
            img[..., 1] = (127 + 120 * np.sin(ys / 30 - phase / 2)).astype(np.uint8)
            img[..., 2] = (i * 3) % 256
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(path)
    return path


def _run_child(command: list[str], env: dict) -> tuple[bytes, bytes, int, os.struct_rusage]:
    """Run a command and reap it with `os.wait4`, which gives that child's own resource usage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), process.returncode, usage


def _tree_pss_kib(root: int) -> int:
    """Summed Pss (KiB) of `root` and every process descended from it (gone processes count 0)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


def _run_sampled(command: list[str], env: dict) -> tuple[bytes, bytes, int, float]:
    """Run a command, sampling its process tree's summed Pss; returns (stdout, stderr, code, peak MiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_pss_kib(process.pid))
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), process.returncode, peak / 1024


def measure(video: Path, home: Path, model: Path, decoder: str, batch_size: int, ray: str | None = None) -> dict:
    command = [sys.executable, "-m", "openvid", "index", str(video), "--home", str(home), "--model", str(model),
               "--device", "cpu", "--json"]
    env = {**os.environ, "OPENVID_DECODER": decoder, "OPENVID_BATCH_SIZE": str(batch_size), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    if ray:
        stdout, stderr, code, peak = _run_sampled([*command, "--ray", ray, "--ray-batch-size", str(batch_size)], env)
    else:
        stdout, stderr, code, usage = _run_child(command, env)
        peak = usage.ru_maxrss / 1024
    wall = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"indexing {video} failed (exit code {code}):\n{stderr.decode(errors='replace')[-2000:]}")
    report = json.loads(stdout)
    return {"peak_mib": peak, "wall_s": wall, "segments": report["segments"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", default="1,10,30,60", help="video lengths, comma-separated (first = baseline)")
    parser.add_argument("--fps", type=float, default=4.0, help="frame rate of the synthetic videos")
    parser.add_argument("--decoder", default="auto", choices=["auto", "decord", "pyav"])
    parser.add_argument("--batch-size", type=int, default=8,
                        help="clips per model batch (default 8: the 1-minute baseline, 15 windows, runs full batches)")
    parser.add_argument("--ray", metavar="ADDRESS", help="index through Ray (e.g. local): the process tree's summed Pss")
    parser.add_argument("--work", type=Path, default=Path("/tmp/openvid-bench-memory"),
                        help="where the videos (kept between runs), models and homes go")
    args = parser.parse_args(argv)
    lengths = [float(m) for m in args.minutes.split(",")]
    args.work.mkdir(parents=True, exist_ok=True)

    sys.path.insert(0, str(ROOT / "scripts"))
    import make_tiny_models

    model_dir = args.work / "models"
    model = model_dir / "clip"
    if not (model / "open_clip_config.json").exists():
        make_tiny_models.make_tiny_open_clip(model)

    what = "peak Pss of the process tree MiB (--ray " + args.ray + ")" if args.ray else "peak RSS MiB"
    print(f"| minutes | segments | {what} | vs {lengths[0]:g} min | wall s |")
    print("| --- | --- | --- | --- | --- |")
    base = None
    for minutes in lengths:
        video = make_video(args.work / f"video-{minutes:g}min-{args.fps:g}fps.mp4", minutes, args.fps)
        home = args.work / f"home-{minutes:g}-{os.getpid()}"
        result = measure(video, home, model, args.decoder, args.batch_size, args.ray)
        base = base or result["peak_mib"]
        print(f"| {minutes:g} | {result['segments']} | {result['peak_mib']:.0f} | {result['peak_mib'] / base:.3f} | "
              f"{result['wall_s']:.0f} |", flush=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
