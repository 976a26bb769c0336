"""Frames to model input as batched tensor ops, configured from each checkpoint's own config.

Libraries' processors work one PIL image at a time; here a whole batch of uint8 frames is
resized (only when needed: the decoder already scales to the right short side), centre-cropped
and normalised in a few torch ops. The constants (sizes, mean, std, interpolation, crop rounding)
are read from the checkpoint, never hard-coded, and tests hold the output equal to the library's
own processor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class FrameTransform:
    """Shortest-side resize, square centre crop, scale to [0, 1], normalise.

    The defaults are what PIL-based processors do. Libraries that resize tensors differ in three
    ways, each a field: torchvision's video presets resize without antialiasing (and r2plus1d to an
    exact height × width), and PyTorchVideo resizes the normalised float frames, never rounding them
    back to 8-bit values.
    """

    resize_to: int
    crop_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    crop_rounding: str = "floor"  # transformers: floor((H - S) / 2); torchvision: round((H - S) / 2)
    resize_size: tuple[int, int] | None = None  # exact (height, width) instead of the shortest-side resize
    antialias: bool | None = None  # None: on for bilinear and bicubic, as PIL does
    quantize: bool = True  # round and clamp resized frames to 0..255, as 8-bit image resizers do

    def __call__(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 [N, H, W, 3] -> float32 [N, 3, crop, crop]."""
        x = torch.as_tensor(frames)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"expected frames shaped [N, H, W, 3], got {tuple(x.shape)}")
        x = x.permute(0, 3, 1, 2).float()
        x = self._resize(x)
        x = self._crop(x)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, 3, 1, 1)
        return (x * (1.0 / 255.0) - mean) / std

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if self.resize_size is not None:
            size = (int(self.resize_size[0]), int(self.resize_size[1]))
            if size == (height, width):
                return x
        else:
            short, long = (height, width) if height <= width else (width, height)
            if short == self.resize_to:
                return x
            new_long = int(self.resize_to * long / short)
            size = (self.resize_to, new_long) if height <= width else (new_long, self.resize_to)
        smooth = self.interpolation in ("bilinear", "bicubic")
        antialias = smooth if self.antialias is None else (self.antialias and smooth)
        align = False if smooth else None
        x = F.interpolate(x, size=size, mode=self.interpolation, antialias=antialias, align_corners=align)
        if not self.quantize:
            return x
        # PIL and the libraries' processors hand back uint8 images: round and clamp the same way.
        return x.round_().clamp_(0, 255)

    def _crop(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        size = self.crop_size
        if height < size or width < size:
            pad_h, pad_w = max(size - height, 0), max(size - width, 0)
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
            height, width = x.shape[-2:]
        if self.crop_rounding == "round":
            top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
        else:
            top, left = (height - size) // 2, (width - size) // 2
        return x[..., top : top + size, left : left + size]


def interpolation_of(resample: object) -> str:
    """The torch interpolation mode of a processor's `resample` setting.

    transformers stores PIL resample codes (2 bilinear, 3 bicubic) or an enum with a name; X-CLIP and
    every transformers head read their processor's choice through this one function.
    """
    codes = {0: "nearest", 2: "bilinear", 3: "bicubic"}
    if isinstance(resample, int) and resample in codes:
        return codes[resample]
    name = str(getattr(resample, "name", resample)).lower()
    return next((mode for mode in ("bicubic", "bilinear", "nearest") if mode in name), "bilinear")


def clip_frames(clip: object) -> np.ndarray:
    """The uint8 T×H×W×3 frames of a Clip, or the array itself."""
    frames = getattr(clip, "frames", clip)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"a clip must be uint8 [T, H, W, 3] frames, got {frames.dtype} {frames.shape}")
    return frames


def resample_frames(frames: np.ndarray, count: int) -> np.ndarray:
    """Exactly `count` frames, evenly spaced over the clip (repeats when the clip is shorter)."""
    if len(frames) == count:
        return frames
    positions = (np.arange(count) + 0.5) * len(frames) / count
    return frames[np.minimum(positions.astype(np.int64), len(frames) - 1)]


def batches(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
