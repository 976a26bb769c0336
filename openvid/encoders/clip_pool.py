"""CLIP frame pooling (open_clip): each frame through the image tower, then the mean.

The fast indexing default: an image model costs 8.8 GFLOPs per ViT-B/32 frame and takes any
number of frames per clip. Text goes through the causal text tower cut to the batch's longest real
token sequence instead of the 77-token context: with a causal mask and end-of-text pooling the
padding can never reach the pooled token, so the vector is the same while the work is up to ~9x
less (scripts/bench_text.py).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from openvid.config import Settings, device_and_dtype
from openvid.encoders.base import Encoder, EncoderSpec, register_family
from openvid.encoders.hub import CLIP_WEIGHT_FILES, clip_cached, identity_of, model_load_errors
from openvid.encoders.preprocess import FrameTransform, batches, clip_frames
from openvid.encoders.resolve import ModelRef
from openvid.errors import OpenvidError, UsageError

_PRECISION = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}
DEFAULT_FRAMES = 8


@register_family("clip")
class ClipPoolEncoder(Encoder):
    """open_clip model; a video vector is the normalised mean of its frames' unit vectors."""

    def __init__(self, model, tokenizer, transform: FrameTransform, identity: str, name: str,
                 device: torch.device, dtype: torch.dtype, batch_size: int = 8, spec: EncoderSpec | None = None,
                 frames_per_clip: int = DEFAULT_FRAMES) -> None:
        super().__init__(model, tokenizer, transform, identity, name, device, dtype, batch_size, spec)
        self.frames_per_clip = frames_per_clip
        self.dim = int(_output_dim(model))

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, ref: ModelRef, settings: Settings) -> "ClipPoolEncoder":
        import open_clip

        device, dtype = device_and_dtype(settings)
        model_name, pretrained, overrides = _open_clip_args(ref)
        with model_load_errors(ref):
            model = open_clip.create_model(
                model_name, pretrained=pretrained, precision=_PRECISION[dtype], device=device, **overrides
            )
            tokenizer = open_clip.get_tokenizer(model_name)
        transform = _transform_from(open_clip.get_model_preprocess_cfg(model))
        frames = ref.spec.frames if ref.spec else DEFAULT_FRAMES
        return cls(model, tokenizer, transform, identity_of(ref), ref.label, device, dtype,
                   batch_size=settings.batch_size, frames_per_clip=frames, spec=ref.spec)

    @classmethod
    def is_cached(cls, ref: ModelRef) -> bool:
        return clip_cached(ref)  # the light check `openvid models list` uses too

    @classmethod
    def pull(cls, ref: ModelRef) -> str:
        import open_clip

        with model_load_errors(ref):
            if ref.checkpoint.startswith("hf-hub:"):
                from huggingface_hub import snapshot_download

                return snapshot_download(ref.checkpoint[len("hf-hub:") :])
            arch, _, tag = ref.checkpoint.partition("/")
            cfg = open_clip.get_pretrained_cfg(arch, tag)
            if not cfg:
                raise ValueError(f"open_clip knows no weights {tag!r} for {arch!r}")
            return open_clip.download_pretrained(cfg)

    # -- contract ------------------------------------------------------------------------------
    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().float().exp())

    @torch.inference_mode()
    def encode_frames(self, frames: np.ndarray, batch_size: int | None = None) -> torch.Tensor:
        """Unit vectors [N, dim] of single frames (uint8 [N, H, W, 3])."""
        return self._encode_pixels(self.transform(frames), batch_size)

    @torch.inference_mode()
    def _encode_pixels(self, pixels: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        size = (batch_size or self.batch_size) * self.frames_per_clip
        out = [F.normalize(self.model.encode_image(chunk.to(self.device, self.dtype)).float(), dim=-1)
               for chunk in torch.split(pixels, size)]
        return torch.cat(out) if out else torch.zeros((0, self.dim))

    def encode_video(self, clips: Sequence, batch_size: int | None = None) -> np.ndarray:
        clips = [clip_frames(c) for c in clips]
        if not clips:
            return np.zeros((0, self.dim), np.float32)
        # Frames of many clips (of any size: each is cropped to the model's) share forward passes;
        # split back per clip for pooling.
        lengths = [len(frames) for frames in clips]
        vectors = self._encode_pixels(torch.cat([self.transform(frames) for frames in clips]), batch_size)
        pooled = torch.stack([part.mean(0) for part in torch.split(vectors, lengths)])
        return F.normalize(pooled, dim=-1).cpu().numpy()

    def encode_text(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        out = [self._encode_text_batch(list(chunk)) for chunk in batches(list(texts), batch_size or 256)]
        if not out:
            return np.zeros((0, self.dim), np.float32)
        return F.normalize(torch.cat(out).float(), dim=-1).cpu().numpy()

    @torch.inference_mode()
    def _encode_text_batch(self, texts: list[str], cut: bool = True) -> torch.Tensor:
        tokens = self.tokenizer(texts).to(self.device)
        if cut and _can_cut_padding(self.model, self.tokenizer):
            return _encode_text_cut(self.model, tokens)
        return self.model.encode_text(tokens)


def _can_cut_padding(model, tokenizer) -> bool:
    """Cutting is exact only for a causal built-in text tower that pools at end-of-text."""
    import open_clip

    return (
        isinstance(model, open_clip.CLIP)
        and getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", None) == "argmax"
        and isinstance(tokenizer, open_clip.SimpleTokenizer)
    )


def _encode_text_cut(model, tokens: torch.Tensor) -> torch.Tensor:
    """`CLIP.encode_text` over tokens[:, :L], L the longest real sequence (padding id is 0)."""
    from open_clip.transformer import text_global_pool

    length = int((tokens != 0).sum(dim=1).max())
    tokens = tokens[:, :length]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type)
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, torch.nn.Linear) else x @ model.text_projection
    return x


def _open_clip_args(ref: ModelRef) -> tuple[str, str | None, dict]:
    """(model_name, pretrained, overrides) for open_clip.create_model, preferring the local cache."""
    import open_clip

    checkpoint = ref.checkpoint
    if checkpoint.startswith(("local-dir:", "hf-hub:")):
        return checkpoint, None, {}
    arch, _, pretrained = checkpoint.partition("/")
    if not pretrained:
        raise UsageError(f"clip checkpoint {checkpoint!r} needs weights: use ARCH/TAG or ARCH//path/to/file.pt")
    overrides: dict = {}
    cfg = open_clip.get_pretrained_cfg(arch, pretrained)
    if cfg:
        # A tag: when its weights are already cached, load the file directly so no network is tried.
        cached = _cached_weights(cfg)
        if cached:
            overrides = {"image_mean": cfg.get("mean"), "image_std": cfg.get("std"),
                         "image_interpolation": cfg.get("interpolation"),
                         "image_resize_mode": cfg.get("resize_mode")}
            return arch, cached, {k: v for k, v in overrides.items() if v is not None}
    return arch, pretrained, overrides


def _cached_weights(cfg: dict) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    repo = (cfg.get("hf_hub") or "").strip("/")
    if not repo:
        return None
    for name in CLIP_WEIGHT_FILES:
        path = try_to_load_from_cache(repo, name)
        if isinstance(path, str):
            return path
    return None


def _transform_from(cfg: dict) -> FrameTransform:
    size = cfg.get("size", 224)
    size = int(size if isinstance(size, int) else size[0])
    mode = cfg.get("resize_mode", "shortest")
    if mode != "shortest":
        raise OpenvidError(f"open_clip resize_mode {mode!r} is not supported yet; openvid reads 'shortest'")
    return FrameTransform(
        resize_to=size,
        crop_size=size,
        mean=tuple(float(v) for v in cfg["mean"]),
        std=tuple(float(v) for v in cfg["std"]),
        interpolation=cfg.get("interpolation", "bicubic"),
        crop_rounding="round",  # torchvision CenterCrop, which open_clip's transform uses
    )


def _output_dim(model) -> int:
    projection = getattr(model, "text_projection", None)
    if isinstance(projection, torch.nn.Linear):
        return projection.out_features
    if projection is not None:
        return projection.shape[1]
    return model.visual.output_dim
