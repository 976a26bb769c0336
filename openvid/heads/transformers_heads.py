"""Closed-set video heads from transformers: VideoMAE and TimeSformer fine-tuned on Kinetics-400.

Each reads everything it needs from its checkpoint: labels from `config.id2label` (in id order),
frames per clip from `config.num_frames`, and resize, crop, mean and std from the checkpoint's own
image processor config, turned into one batched `FrameTransform` that tests hold equal to the
library's processor. A checkpoint is the registered hub id, another hub id, or a folder written by
`save_pretrained` (a model fine-tuned on your own classes: pass its folder, and its label names
with `--head-labels` when its config has none).
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np
import torch

from openvid.config import Settings, device_and_dtype
from openvid.encoders.preprocess import FrameTransform, batches
from openvid.heads import hf_common
from openvid.heads.availability import VIDEO_PROCESSOR_FILES
from openvid.heads.base import Head, HeadSpec, head_frames, register_head_family, softmax
from openvid.heads.runtime import KeywordForward, RuntimeNetwork, blank_clip

_PROCESSOR_FILES = VIDEO_PROCESSOR_FILES  # openvid.heads.availability checks the same files


class TransformersVideoHead(RuntimeNetwork, Head):
    """A transformers `*ForVideoClassification` model: T frames in, softmax over its labels out (the
    network on the head's runtime, `RuntimeNetwork`)."""

    model_type: ClassVar[str]  # config.model_type the checkpoint must have
    model_class: ClassVar[str]  # transformers class name

    def __init__(self, spec: HeadSpec, model: torch.nn.Module, transform: FrameTransform, labels: list[str],
                 identity: str, device: torch.device, dtype: torch.dtype, batch_size: int) -> None:
        self.spec = spec
        self.model = model
        self.transform = transform
        self.labels = labels
        self.identity = identity
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.frames_per_clip = int(model.config.num_frames)
        self.resize_to = transform.resize_to

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, spec: HeadSpec, settings: Settings, checkpoint: str | None = None,
             labels: Sequence[str] | None = None) -> "TransformersVideoHead":
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        source = hf_common.resolve_source(spec, checkpoint)
        local_only = source.local or cls._cached(source.checkpoint)  # a filled cache needs no network
        device, dtype = device_and_dtype(settings)
        config, model = hf_common.load_model(source, cls.model_class, cls.model_type, local_only)
        with hf_common.load_errors(source):
            image_processor = _image_processor(source.checkpoint, local_only)
        own = hf_common.config_labels(config.id2label, spec.name)
        chosen = hf_common.choose_labels(spec.name, source.checkpoint, own, labels)
        model.to(device=device, dtype=dtype)
        return cls(spec, model, hf_common.frame_transform(image_processor), chosen,
                   hf_common.identity(spec.family, source), device, dtype, settings.batch_size)

    @classmethod
    def _cached(cls, repo_id: str) -> bool:
        return hf_common.is_cached(repo_id, _PROCESSOR_FILES)

    @classmethod
    def is_cached(cls, spec: HeadSpec) -> bool:
        return spec.checkpoint is not None and cls._cached(spec.checkpoint)

    @classmethod
    def pull(cls, spec: HeadSpec) -> str:
        return hf_common.pull(hf_common.resolve_source(spec, None))

    # -- contract ------------------------------------------------------------------------------
    def pixel_values(self, clips: Sequence) -> torch.Tensor:
        """[B, T, 3, S, S] model input: each clip's own T frames (see `Clip.frames_for`), transformed."""
        stacked = [self.transform(head_frames(clip, self.frames_per_clip, self.clip_seconds)) for clip in clips]
        return torch.stack(stacked).to(self.device, self.dtype)

    def network(self, count: int) -> torch.nn.Module:
        return KeywordForward(self.model, "pixel_values")

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        return (self.pixel_values([blank_clip(self.frames_per_clip, self.resize_to, None)]),)

    @torch.inference_mode()
    def logits(self, clips: Sequence) -> np.ndarray:
        """float32 [n, len(labels)] raw classifier logits."""
        out = [self.run_network(self.pixel_values(chunk)).float().cpu()
               for chunk in batches(list(clips), self.batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.labels)), np.float32)

    def predict(self, clips: Sequence) -> np.ndarray:
        """float32 [n, len(labels)]: softmax over the checkpoint's labels (single-label classifiers)."""
        logits = self.logits(clips)
        return softmax(logits) if len(logits) else logits


@register_head_family("videomae")
class VideoMAEHead(TransformersVideoHead):
    model_type = "videomae"
    model_class = "VideoMAEForVideoClassification"


@register_head_family("timesformer")
class TimesformerHead(TransformersVideoHead):
    model_type = "timesformer"
    model_class = "TimesformerForVideoClassification"


def _image_processor(checkpoint: str, local_only: bool) -> object:
    """The checkpoint's image processor (preprocessor_config.json); newer saves may hold only a
    video processor (video_preprocessor_config.json), which carries the same settings."""
    from transformers import AutoImageProcessor

    try:
        return AutoImageProcessor.from_pretrained(checkpoint, local_files_only=local_only)
    except OSError as missing:
        try:
            from transformers import AutoVideoProcessor
        except ImportError:  # transformers < 4.52 has no video processors
            raise missing from None
        try:
            return AutoVideoProcessor.from_pretrained(checkpoint, local_files_only=local_only)
        except (OSError, ValueError):
            raise missing from None
