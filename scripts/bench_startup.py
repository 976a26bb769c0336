"""Start-up time of the commands that load no model, each in a fresh subprocess.

    python scripts/bench_startup.py [--repeat 5] [--before DIR]

Why: a command that only reads the SQLite store (`taxonomy list`, `info`, `check`, `remove`) or the
model registry (`models list`, `heads list`) should answer at once; paying for torch, transformers,
open_clip or faiss there is pure start-up cost. Every command runs `--repeat` times in a fresh
interpreter (`python -m openvid.cli ...`); the table shows the best and the median wall time, and
the ratio of the best to `python -c pass` measured in the same run (the interpreter's own start-up
on this machine), so runs on a busy or a quiet machine compare.

`--before DIR` also times another copy of the package (e.g. `git archive HEAD openvid | tar -x -C DIR`),
put first on PYTHONPATH, each of its runs interleaved with the working tree's so that both meet the
same machine load; the table then has both columns and their ratio.

The set-up (outside the timings) builds a temporary home with a small index: a tiny random-weight
open_clip model (scripts/make_tiny_models.py) and a 2 s synthetic video. The hub is kept offline
(HF_HUB_OFFLINE=1, an empty HF_HOME), so nothing is fetched.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (label, argv after `python`); `{video}` is filled in by the set-up
COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("python -c 'import torch' (reference)", ["-c", "import torch"]),
    ("openvid --help", ["-m", "openvid.cli", "--help"]),
    ("openvid --version", ["-m", "openvid.cli", "--version"]),
    ("openvid config", ["-m", "openvid.cli", "config"]),
    ("openvid models list", ["-m", "openvid.cli", "models", "list"]),
    ("openvid heads list", ["-m", "openvid.cli", "heads", "list"]),
    ("openvid taxonomy list", ["-m", "openvid.cli", "taxonomy", "list"]),
    ("openvid info", ["-m", "openvid.cli", "info"]),
    ("openvid info --index bench", ["-m", "openvid.cli", "info", "--index", "bench"]),
    ("openvid check --index bench", ["-m", "openvid.cli", "check", "--index", "bench"]),
    ("openvid remove nosuch.mp4 --index bench", ["-m", "openvid.cli", "remove", "nosuch.mp4", "--index", "bench"]),
    ("openvid classify --help", ["-m", "openvid.cli", "classify", "--help"]),
]


def _write_video(path: Path, seconds: float = 2.0, fps: int = 10) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * fps)):
            image = np.full((48, 64, 3), (i * 12) % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def set_up(folder: Path, env: dict[str, str]) -> None:
    """A home holding one small index `bench`, built with a tiny model (not timed)."""
    spec = importlib.util.spec_from_file_location("make_tiny_models", ROOT / "scripts" / "make_tiny_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_tiny_models"] = module
    spec.loader.exec_module(module)
    model = module.make_tiny_open_clip(folder / "tiny-clip")
    video = folder / "clip.mp4"
    _write_video(video)
    done = subprocess.run([sys.executable, "-m", "openvid.cli", "index", str(video), "--index", "bench",
                           "--model", str(model), "--device", "cpu"], env=env, cwd=folder, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"set-up failed: {done.stderr}")


def time_command(argv: list[str], env: dict[str, str], repeat: int, cwd: Path) -> tuple[list[float], int]:
    """`repeat` wall times of `python ARGV` run in `cwd` (not the checkout: `-m` puts the current
    directory first on sys.path, which would shadow `--before`)."""
    times, code = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, *argv], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        code = done.returncode
    return times, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (best and median shown)")
    parser.add_argument("--only", default="", help="comma-separated substrings: time only the matching commands")
    parser.add_argument("--before", type=Path, default=None, help="a folder holding another copy of openvid/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        folder = Path(tmp)
        (folder / "hf").mkdir()
        env = {**os.environ, "OPENVID_HOME": str(folder / "home"), "HF_HUB_OFFLINE": "1",
               "HF_HOME": str(folder / "hf"), "TORCH_HOME": str(folder / "torch"), "NO_COLOR": "1"}
        set_up(folder, env)
        trees = {"now": env}
        if args.before:
            trees = {"before": {**env, "PYTHONPATH": str(args.before.resolve())}, "now": env}
        wanted = [s for s in args.only.split(",") if s]
        rows = []
        for label, argv in COMMANDS:
            if wanted and label != "python -c pass" and not any(s in label for s in wanted):
                continue
            runs: dict[str, list[float]] = {name: [] for name in trees}
            codes: dict[str, int] = {}
            for _ in range(args.repeat):  # interleaved: both trees meet the same load
                for name, tree_env in trees.items():
                    times, codes[name] = time_command(argv, tree_env, 1, folder)
                    runs[name] += times
            rows.append((label, codes, runs))
            print(f"  {label}: " + ", ".join(f"{n} {min(t):.2f} s" for n, t in runs.items()), file=sys.stderr)
    base = min(rows[0][2]["now"])
    names = list(trees)
    head = " | ".join(f"{n}: best s (median) | {n}: × pass" for n in names)
    print(f"| command | {head} |" + (" now / before |" if len(names) == 2 else ""))
    print("| --- |" + " --- | --- |" * len(names) + (" --- |" if len(names) == 2 else ""))
    for label, codes, runs in rows:
        cells = []
        for n in names:
            best, median = min(runs[n]), statistics.median(runs[n])
            exit_note = "" if codes[n] == 0 else f" (exit {codes[n]})"
            cells.append(f"{best:.2f} ({median:.2f}){exit_note} | {best / base:.0f}×")
        ratio = f" {min(runs['now']) / min(runs['before']):.2f} |" if len(names) == 2 else ""
        print(f"| `{label}` | " + " | ".join(cells) + " |" + ratio)


if __name__ == "__main__":
    main()
