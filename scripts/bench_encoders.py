"""What each registered encoder costs on this machine: speed, FLOPs and text latency at full size.

    python scripts/bench_encoders.py [--only clip,xclip] [--record] [--markdown] [--target-s 5]

For every registered encoder (`openvid.encoders.list_encoders()`, or those named with `--only`) a
FULL-SIZE random-weight checkpoint folder is written to a temporary folder by
scripts/make_tiny_models.py and loaded through openvid's own path, `load_encoder(folder, Settings)`.
Timing does not depend on the weights, so the figures say what a model costs and nothing about how
well it does.

- speed: `encode_video` on random uint8 clips at the model's input size, CPU fp32, torch threads =
  cores, one warm-up pass then the best of 2 timed calls. Frame-pooling encoders (cost unit
  "frame") get clips of 8 frames, 2 clips per forward pass (16 frames); video encoders (unit
  "clip": X-CLIP, VideoPrism) get clips of their own frame count, as many per pass as make 16
  frames (at least one). A timed call holds as many passes as fit in about `--target-s` seconds
  (1 to 8), so big models take few. Clip-unit rates are also given as frames/s (clips/s × frames),
  and every frames/s as a ratio to `clip` (open_clip ViT-B-32), the baseline, which is always
  measured first and then kept loaded: it is timed again just before and just after each other
  encoder, and that encoder's ratio is against the faster of those two (the machine's load may
  change during a run; each row's baseline rate is printed below the table).
- GFLOPs per frame (or per clip) of the warm-up pass, counted by
  `torch.utils.flop_counter.FlopCounterMode` (2 × multiply-adds; CPU attention counted too).
- text: latency of one short query through `encode_text`, median of 10 after a warm-up.
- MobileCLIP (any open_clip tower with reparameterisable blocks): the same model before and after
  `timm.utils.reparameterize_model`, timed with `encode_image` on one preprocessed 16-frame batch.
- with a CUDA GPU, fp16 GPU rates as well (skipped when there is none).
- `--runtimes onnx,openvino,openvino-int8`: each runtime's towers (exported and verified first, the
  export's time reported apart) against torch on the same clips: frames/s, one query's text p50
  and the video vectors' lowest cosine to torch's; torch is timed just before and after each
  runtime and the ratio is against the faster (`--runtimes-only` skips the torch table). The
  table is preceded by the machine's matrix-product ceiling through torch and through ONNX Runtime
  (one ViT-B MLP product): a runtime's towers cannot gain much more than the ratio of the two.

`--record` writes `gflops` and `measured` into openvid/data/models/encoders.json for each encoder
measured (with `--only`, those named; every other field and the file's formatting kept);
`--markdown` prints the tables as markdown for docs/benchmarks.md. "GFLOPs in registry" is what
encoders.json said before the run.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_tiny_models  # noqa: E402  (scripts/ is not a package)

REGISTRY_FILE = ROOT / "openvid" / "data" / "models" / "encoders.json"
BASELINE = "clip"
MACHINE = "2-core AVX-512 reference machine"
PASS_FRAMES = 16  # frames one forward pass sees
FRAME_CLIP_LEN = 8  # frames per clip for frame-pooling encoders
QUERY = "a person riding a bike"


class Skip(Exception):
    """This encoder cannot be measured here; the message says why."""


@dataclass
class Result:
    name: str
    unit: str
    frames: int  # frames per clip as measured
    estimate: float  # the registry's gflops before this run
    gflops: float = 0.0
    per_s: float = 0.0  # units (frames or clips) per second, CPU fp32
    frames_per_s: float = 0.0
    vs_clip: float | None = None
    text_ms: float = 0.0
    gpu_per_s: float | None = None
    gpu_frames_per_s: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Reparam:
    name: str
    before_fps: float
    after_fps: float
    before_gflops: float
    after_gflops: float
    openvid_reparameterises: bool

    @property
    def speedup(self) -> float:
        return self.after_fps / self.before_fps


# -- building the checkpoint folders --------------------------------------------------------------

def build_folder(spec, out: Path) -> Path:
    """A full-size random-weight checkpoint folder of `spec`'s architecture."""
    if spec.family == "clip":
        arch, _, tag = spec.checkpoint.partition("/")
        if not tag or tag.startswith("/"):
            raise Skip(f"checkpoint {spec.checkpoint!r} is not an open_clip ARCH/TAG")
        return make_tiny_models.make_open_clip_folder(arch, tag, out, full=True)
    if spec.family == "xclip":
        match = re.search(r"patch(\d+)", spec.checkpoint)
        patch = int(match.group(1)) if match else 32
        return make_tiny_models.make_tiny_xclip(out, num_frames=spec.frames, patch_size=patch, full=True)
    if spec.family == "videoprism":
        builder = getattr(make_tiny_models, "make_tiny_videoprism", None)
        if builder is None:
            raise Skip("scripts/make_tiny_models.py has no make_tiny_videoprism yet")
        return builder(out, full=True)
    raise Skip(f"no full-size builder for family {spec.family!r}")


# -- measuring ------------------------------------------------------------------------------------

def random_clips(count: int, frames: int, size: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8) for _ in range(count)]


def best_of(fn: Callable[[], object], repeats: int = 2) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def passes_for(warmup_s: float, target_s: float) -> int:
    return max(1, min(8, round(target_s / max(warmup_s, 1e-6))))


def speed(encoder, clip_len: int, clips_per_pass: int, target_s: float, warmup_s: float | None = None) -> float:
    """Clips per second of `encode_video`: one warm-up pass (unless `warmup_s` says how long one
    took), then the best of 2 timed calls of as many passes as fit in about `target_s`."""
    size = max(encoder.image_size, encoder.resize_to)
    clips = random_clips(clips_per_pass * 8, clip_len, size)
    if warmup_s is None:
        start = time.perf_counter()
        encoder.encode_video(clips[:clips_per_pass])
        warmup_s = time.perf_counter() - start
    count = clips_per_pass * passes_for(warmup_s, target_s)
    return count / best_of(lambda: encoder.encode_video(clips[:count]))


def _cpu_sdpa_flops(query, key, value, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query, key, value)


def count_flops(fn: Callable[[], object], model: torch.nn.Module) -> float:
    """GFLOPs of one call of `fn` (2 × multiply-adds), attention on the CPU included.

    nn.MultiheadAttention's fused inference path is one op FlopCounterMode has no formula for, so
    it is switched off while counting (the arithmetic is the same); the CPU's fused attention kernel
    gets the formula the GPU kernels have.
    """
    from torch.utils.flop_counter import FlopCounterMode

    model.requires_grad_(False)  # its module tracker cannot hook inference tensors that need grad
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa_flops}
        with torch.inference_mode(), FlopCounterMode(display=False, custom_mapping=mapping) as counter:
            fn()
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return counter.get_total_flops() / 1e9


def text_latency_ms(encoder, runs: int = 10) -> float:
    encoder.encode_text([QUERY])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        encoder.encode_text([QUERY])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def settings(device: str, dtype: str, batch_size: int, home: Path, runtime: str = "torch"):
    from openvid.config import Settings

    return Settings(home=home, device=device, dtype=dtype, batch_size=batch_size, runtime=runtime)


@dataclass
class RuntimeRow:
    name: str
    runtime: str
    ran: str  # what the towers really ran on ("onnx", or "torch" where the export was refused)
    frames_per_s: float
    torch_frames_per_s: float  # torch measured just before and after, in the same run: the faster
    text_ms: float
    torch_text_ms: float
    min_cosine: float  # of the video vectors, against torch's
    export_s: float


def measure_runtimes(spec, folder: Path, home: Path, runtimes: list[str], target_s: float) -> list[RuntimeRow]:
    """Each runtime against torch on the same clips, torch timed just before and after each (the load
    may change): frames/s of `encode_video`, one query's text p50, and the video vectors' cosine."""
    from openvid.encoders import load_encoder

    clip_unit = spec.cost_unit == "clip"
    clip_len = spec.frames if clip_unit else FRAME_CLIP_LEN
    clips_per_pass = max(1, PASS_FRAMES // clip_len)
    reference = load_encoder(str(folder), settings("cpu", "float32", clips_per_pass, home, "torch"))
    reference.frames_per_clip = clip_len
    size = max(reference.image_size, reference.resize_to)
    probe = random_clips(clips_per_pass, clip_len, size, seed=3)
    expected = reference.encode_video(probe)
    rows = []
    for runtime in runtimes:
        start = time.perf_counter()
        encoder = load_encoder(str(folder), settings("cpu", "float32", clips_per_pass, home, runtime))
        encoder.frames_per_clip = clip_len
        ran = "/".join(sorted(set(encoder.runtimes(build=True).values())))
        export_s = time.perf_counter() - start
        got = encoder.encode_video(probe)
        cosine = float(((got * expected).sum(1)).min())
        before = speed(reference, clip_len, clips_per_pass, target_s)
        rate = speed(encoder, clip_len, clips_per_pass, target_s)
        after = speed(reference, clip_len, clips_per_pass, target_s)
        torch_text, text = text_latency_ms(reference), text_latency_ms(encoder)
        rows.append(RuntimeRow(spec.name, runtime, ran, rate * clip_len, max(before, after) * clip_len, text,
                               torch_text, cosine, export_s))
        print(f"  {runtime_table(rows[-1:])[1][0]} (load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
        del encoder
        gc.collect()
    return rows


def matmul_ceiling(threads: int, repeats: int = 5) -> dict[str, float]:
    """GFLOP/s of one ViT-B MLP product (1,600 × 3,072 @ 3,072 × 768, float32: 32 frames of 50 tokens)
    through torch and through ONNX Runtime, best of `repeats`, at `threads` threads: the most any
    runtime's towers can gain on this machine is about the ratio of these two."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    x, w = rng.random((1600, 3072), np.float32), rng.random((3072, 768), np.float32)
    flops = 2 * x.shape[0] * x.shape[1] * w.shape[1]
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "matmul",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [x.shape[0], w.shape[1]])],
                              [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def best(run: Callable[[], object]) -> float:
        run()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return flops / min(times) / 1e9

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        torch_rate = best(lambda: xt @ wt)
    finally:
        torch.set_num_threads(previous)
    return {"torch": torch_rate, "onnx": best(lambda: session.run(None, {"x": x}))}


def runtime_table(rows: list[RuntimeRow]) -> tuple[list[str], list[list[str]]]:
    header = ["encoder", "runtime", "ran on", "frames/s", "torch frames/s", "vs torch", "text p50 ms",
              "torch text p50 ms", "text vs torch", "min cosine to torch", "export + verify s"]
    return header, [[r.name, r.runtime, r.ran, _fmt(r.frames_per_s), _fmt(r.torch_frames_per_s),
                     f"{r.frames_per_s / r.torch_frames_per_s:.2f}×", f"{r.text_ms:.1f}", f"{r.torch_text_ms:.1f}",
                     f"{r.torch_text_ms / r.text_ms:.2f}×", f"{r.min_cosine:.6f}", f"{r.export_s:.0f}"] for r in rows]


def measure(spec, folder: Path, home: Path, target_s: float, gpu: bool) -> Result:
    from openvid.encoders import load_encoder

    clip_unit = spec.cost_unit == "clip"
    result = Result(spec.name, spec.cost_unit, 0, float(spec.gflops))
    encoder = None
    try:
        # batch_size counts clips: a pass sees PASS_FRAMES frames (or one clip, if longer).
        clip_len = spec.frames if clip_unit else FRAME_CLIP_LEN  # the folder was built with spec.frames
        clips_per_pass = max(1, PASS_FRAMES // clip_len)
        encoder = load_encoder(str(folder), settings("cpu", "float32", clips_per_pass, home))
        if clip_unit and encoder.frames_per_clip != clip_len:
            raise RuntimeError(f"the folder's model takes {encoder.frames_per_clip} frames, the spec {clip_len}")
        encoder.frames_per_clip = clip_len  # a frame-pooling pass holds batch_size × this many frames
        result.frames = clip_len
        # The counted pass is the warm-up too (its time, with the counter's overhead, errs long).
        one_pass = random_clips(clips_per_pass, clip_len, max(encoder.image_size, encoder.resize_to), seed=1)
        start = time.perf_counter()
        flops = count_flops(lambda: encoder.encode_video(one_pass), encoder.model) / clips_per_pass
        warmup_s = time.perf_counter() - start
        result.gflops = flops if clip_unit else flops / clip_len
        clips_per_s = speed(encoder, clip_len, clips_per_pass, target_s, warmup_s)
        result.frames_per_s = clips_per_s * clip_len
        result.per_s = clips_per_s if clip_unit else result.frames_per_s
        result.text_ms = text_latency_ms(encoder)
    finally:
        del encoder
        gc.collect()
    if gpu:
        encoder = load_encoder(str(folder), settings("cuda", "float16", clips_per_pass * 4, home))
        try:
            encoder.frames_per_clip = clip_len
            clips_per_s = speed(encoder, clip_len, clips_per_pass * 4, target_s / 2)
            result.gpu_frames_per_s = clips_per_s * clip_len
            result.gpu_per_s = clips_per_s if clip_unit else result.gpu_frames_per_s
        finally:
            del encoder
            gc.collect()
            torch.cuda.empty_cache()
    return result


class BaselineProbe:
    """The baseline encoder kept loaded, timed just before and just after each other encoder: on a
    machine whose load changes, each ratio then compares two rates measured minutes apart at most."""

    def __init__(self, folder: Path, home: Path) -> None:
        from openvid.encoders import load_encoder

        self.encoder = load_encoder(str(folder), settings("cpu", "float32", PASS_FRAMES // FRAME_CLIP_LEN, home))
        self.clips = random_clips(2 * PASS_FRAMES // FRAME_CLIP_LEN, FRAME_CLIP_LEN, self.encoder.image_size)
        self.encoder.encode_video(self.clips)  # warm-up

    def frames_per_s(self) -> float:
        """One call of two forward passes."""
        return len(self.clips) * FRAME_CLIP_LEN / best_of(lambda: self.encoder.encode_video(self.clips), 1)


def reparameterisable(model: torch.nn.Module) -> bool:
    return any(callable(getattr(m, "reparameterize", None)) for m in model.visual.modules())


def measure_reparam(spec, folder: Path, home: Path, target_s: float) -> Reparam | None:
    """Frames/s and GFLOPs of the same open_clip model before and after reparameterisation."""
    import open_clip
    from timm.utils import reparameterize_model

    from openvid.encoders import load_encoder

    before = open_clip.create_model("local-dir:" + str(folder)).eval().requires_grad_(False)
    if not reparameterisable(before):
        return None
    after = reparameterize_model(before).eval().requires_grad_(False)
    encoder = load_encoder(str(folder), settings("cpu", "float32", 2, home))
    size = encoder.image_size
    pixels = encoder.transform(random_clips(1, PASS_FRAMES, size)[0])

    def n_params(model) -> int:
        return sum(p.numel() for p in model.visual.parameters())

    # openvid's load path reparameterises when its vision tower has the fused model's parameter count.
    reparameterised = n_params(encoder.model) == n_params(after) != n_params(before)
    del encoder
    gc.collect()
    one = pixels[:1]
    flops = {id(m): count_flops(lambda m=m: m.encode_image(one), m) for m in (before, after)}

    def timed(model) -> Callable[[], object]:
        def run():
            with torch.inference_mode():
                for _ in range(repeat):
                    model.encode_image(pixels)
        return run

    with torch.inference_mode():
        start = time.perf_counter()
        before.encode_image(pixels)
        after.encode_image(pixels)
        warmup = (time.perf_counter() - start) / 2
    repeat = passes_for(warmup, target_s)
    best = {id(before): float("inf"), id(after): float("inf")}
    for _ in range(2):  # interleaved, so both meet the same load
        for model in (before, after):
            best[id(model)] = min(best[id(model)], best_of(timed(model), 1))
    frames = repeat * len(pixels)
    return Reparam(spec.name, frames / best[id(before)], frames / best[id(after)],
                   flops[id(before)], flops[id(after)], reparameterised)


# -- output ---------------------------------------------------------------------------------------

def _fmt(value: float | None) -> str:
    """About three significant figures."""
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.3g}"


def table_rows(results: list[Result], gpu: bool) -> tuple[list[str], list[list[str]]]:
    header = ["encoder", "unit", "GFLOPs/unit", "GFLOPs in registry", "frames/s", "vs clip", "units/s",
              "text p50 ms"]
    if gpu:
        header += ["GPU fp16 units/s", "GPU fp16 frames/s"]
    rows = []
    for r in results:
        unit = r.unit if r.unit == "frame" else f"clip ({r.frames} frames)"
        row = [r.name, unit, _fmt(r.gflops), f"{r.estimate:g}" if r.estimate else "—", _fmt(r.frames_per_s),
               f"{r.vs_clip:.2f}×" if r.vs_clip is not None else "—", _fmt(r.per_s), f"{r.text_ms:.1f}"]
        if gpu:
            row += [_fmt(r.gpu_per_s), _fmt(r.gpu_frames_per_s)]
        rows.append(row)
    return header, rows


def print_table(header: list[str], rows: list[list[str]], markdown: bool, title: str,
                left: tuple[str, ...] = ("encoder", "unit"), width: int | None = None) -> None:
    """The rows as a markdown table (for docs/benchmarks.md) or a rich one; `left` columns align left."""
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in header:
        table.add_column(column, justify="left" if column in left else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=width).print(table)


def _round_sig(value: float, digits: int = 3) -> float | int:
    """`digits` significant figures (whole numbers from 1000 up), an int when that is what it is."""
    rounded = float(round(value)) if value >= 10 ** digits else float(f"{value:.{digits}g}")
    return int(rounded) if rounded.is_integer() and rounded >= 10 else rounded


def record(results: list[Result], reparams: dict[str, Reparam], gpu: bool, path: Path = REGISTRY_FILE) -> list[str]:
    """Write `gflops` and `measured` of each measured encoder into encoders.json; returns their names."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    by_name = {r.name: r for r in results}
    today = datetime.date.today().isoformat()
    written = []
    for entry in data["models"]:
        r = by_name.get(entry["name"])
        if r is None:
            continue
        measured = {
            "cpu_fp32_per_s": _round_sig(r.per_s),
            "cpu_frames_per_s": _round_sig(r.frames_per_s),
            "vs_clip": round(r.vs_clip, 3) if r.vs_clip is not None else None,
            "text_ms": round(r.text_ms, 1),
        }
        if gpu and r.gpu_per_s is not None:
            measured["gpu_fp16_per_s"] = _round_sig(r.gpu_per_s)
        if r.name in reparams:
            measured["reparam_speedup"] = round(reparams[r.name].speedup, 2)
        measured.update({"machine": MACHINE, "date": today})
        entry["gflops"] = _round_sig(r.gflops)
        entry["measured"] = measured
        written.append(r.name)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return written


# -- main -----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated encoder names (clip is always measured)")
    parser.add_argument("--record", action="store_true", help="write the figures into encoders.json")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--runtimes", default="",
                        help="also measure these runtimes against torch (e.g. onnx,openvino,openvino-int8); "
                             "`--runtimes only` skips the torch table")
    parser.add_argument("--runtimes-only", action="store_true", help="measure only the runtime table")
    parser.add_argument("--target-s", type=float, default=5.0,
                        help="about how long one timed call should take (it holds 1 to 8 forward passes)")
    args = parser.parse_args()

    from openvid.encoders import list_encoders

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(cores)
    gpu = torch.cuda.is_available()
    specs = list_encoders()
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(wanted) - {s.name for s in specs})
    if unknown:
        parser.error(f"unknown encoders: {', '.join(unknown)} (registered: {', '.join(s.name for s in specs)})")
    if wanted:
        specs = [s for s in specs if s.name in set(wanted) | {BASELINE}]
    specs.sort(key=lambda s: s.name != BASELINE)  # the baseline first

    load_before = os.getloadavg()
    started = time.perf_counter()
    results: list[Result] = []
    reparams: dict[str, Reparam] = {}
    skipped: list[tuple[str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="bench-encoders-"))
    probe: BaselineProbe | None = None
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    runtime_rows: list[RuntimeRow] = []
    try:
        for spec in specs if runtimes else []:
            folder, home = work / spec.name, work / "home"
            print(f"{spec.name}: runtimes {', '.join(runtimes)}…", file=sys.stderr, flush=True)
            try:
                build_folder(spec, folder)
                runtime_rows += measure_runtimes(spec, folder, home, runtimes, args.target_s)
            except Exception as exc:  # noqa: BLE001
                skipped.append((spec.name, f"runtimes: {type(exc).__name__}: {exc}"))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
                shutil.rmtree(home / "exports", ignore_errors=True)
                gc.collect()
        for spec in specs if not args.runtimes_only else []:
            folder, home = work / spec.name, work / "home"
            t0 = time.perf_counter()
            print(f"{spec.name}: building and measuring…", file=sys.stderr, flush=True)
            try:
                build_folder(spec, folder)
                before = probe.frames_per_s() if probe else None
                result = measure(spec, folder, home, args.target_s, gpu)
                if spec.family == "clip":
                    reparam = measure_reparam(spec, folder, home, args.target_s)
                    if reparam is not None:
                        reparams[spec.name] = reparam
                if probe is not None:
                    clip_rate = max(before, probe.frames_per_s())
                    result.vs_clip = result.frames_per_s / clip_rate
                    result.notes.append(f"clip ran at {clip_rate:.1f} frames/s around it")
                elif spec.name == BASELINE:
                    result.vs_clip = 1.0
                    probe = BaselineProbe(folder, home)
                results.append(result)
            except Skip as exc:
                skipped.append((spec.name, str(exc)))
            except Exception as exc:  # noqa: BLE001 - one encoder failing must not lose the others
                skipped.append((spec.name, f"{type(exc).__name__}: {exc}"))
            finally:
                if spec.name != BASELINE:  # the baseline's folder is the probe's
                    shutil.rmtree(folder, ignore_errors=True)
                gc.collect()
            print(f"{spec.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    finally:
        del probe
        shutil.rmtree(work, ignore_errors=True)

    load_after = os.getloadavg()

    title = (f"encoders at full size, random weights, CPU fp32, {torch.get_num_threads()} threads, "
             f"best of 2 ({datetime.date.today().isoformat()})")
    print(title)
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
          f"{time.perf_counter() - started:.0f} s in all; GPU: {torch.cuda.get_device_name(0) if gpu else 'none'}")
    if results:
        header, rows = table_rows(results, gpu)
        print_table(header, rows, args.markdown, title)
    if runtime_rows:
        print()
        threads = torch.get_num_threads()
        ceiling = matmul_ceiling(threads)
        print(f"matrix-product ceiling, {threads} threads (ViT-B MLP shape, float32): torch {ceiling['torch']:.0f} "
              f"GFLOP/s, ONNX Runtime {ceiling['onnx']:.0f} GFLOP/s ({ceiling['onnx'] / ceiling['torch']:.2f}× torch)")
        print("runtimes against torch (each ratio from rates measured back to back in this run):")
        header, rows = runtime_table(runtime_rows)
        print_table(header, rows, args.markdown, "runtimes", left=("encoder", "runtime", "ran on"))
    if reparams:
        print()
        print("MobileCLIP reparameterisation (`timm.utils.reparameterize_model`), "
              f"encode_image on one {PASS_FRAMES}-frame batch:")
        rows = [[p.name, f"{p.before_gflops:.2f}", f"{p.after_gflops:.2f}", f"{p.before_fps:.1f}",
                 f"{p.after_fps:.1f}", f"{p.speedup:.2f}×", "yes" if p.openvid_reparameterises else "no"]
                for p in reparams.values()]
        print_table(["encoder", "GFLOPs/frame before", "after", "frames/s before", "after", "speed-up",
                     "openvid's load reparameterises"], rows, args.markdown, "reparameterisation")
    for r in results:
        for note in r.notes:
            print(f"{r.name}: {note}")
    for name, reason in skipped:
        print(f"skipped {name}: {reason}")
    if args.record:
        # With --only, the baseline is recorded only when named: it was measured as the yardstick.
        named = [r for r in results if not wanted or r.name in wanted]
        written = record(named, reparams, gpu)
        print(f"recorded in {REGISTRY_FILE.relative_to(ROOT)}: {', '.join(written) or 'nothing'}")


if __name__ == "__main__":
    main()
