"""Frame pooling over open_clip models: each frame through the image tower, then the mean.

Every open_clip architecture loads here: CLIP, Perception Encoder (PE-Core), SigLIP 2, MobileCLIP 2
and whatever else open_clip knows (`clip:ARCH/TAG`, `hf-hub:`, a local folder). What differs between
families is read from the model and its config, never from its name:

- **Preprocessing** (size, resize mode shortest/squash, mean, std, interpolation) is the
  checkpoint's own preprocess config (`open_clip.get_model_preprocess_cfg`).
- **Text cut.** Text is tokenised to the tokenizer's context, but the tower may run only up to the
  batch's longest real sequence when that gives the same vector: a causal (or padding-masked)
  tower that pools a real token (end-of-text, argmax, first). CLIP and PE-Core qualify. SigLIP pools
  the last position of the padded sequence and MobileCLIP 2's tower is bidirectional without a
  padding mask, so padding changes their vectors: they run padded (`text_cut_is_exact`).
- **Sigmoid-trained towers** (SigLIP) carry a learned `logit_bias`; it is exposed so yes/no
  answers use the model's own sigmoid (see `Encoder.logit_bias`).
- **Reparameterisable towers** (MobileCLIP's MobileOne/FastViT blocks) are reparameterised once at
  load with timm's `reparameterize_model`, the helper open_clip and Apple's code use for inference.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from openvid.config import Settings, device_and_dtype
from openvid.encoders.base import Encoder, EncoderSpec, register_family
from openvid.encoders.hub import (
    CLIP_WEIGHT_FILES,
    clip_cached,
    clip_tokenizer_repo,
    hf_cached,
    identity_of,
    model_load_errors,
)
from openvid.encoders.preprocess import FrameTransform, batches, clip_frames
from openvid.encoders.resolve import ModelRef
from openvid.encoders.runtime.export import TowerSpec
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
            tokenizer = open_clip.get_tokenizer(model_name, **_tokenizer_kwargs(ref))
        model = reparameterized(model.eval())
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
            location = open_clip.download_pretrained(cfg)
            tokenizer_repo = clip_tokenizer_repo(ref)
            if tokenizer_repo:  # SigLIP's Gemma tokenizer lives in a hub repository of its own
                from huggingface_hub import snapshot_download

                snapshot_download(tokenizer_repo, allow_patterns=["*.json", "*.model", "*.txt"])
            return location

    # -- contract ------------------------------------------------------------------------------
    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().float().exp())

    @property
    def logit_bias(self) -> float | None:
        bias = getattr(self.model, "logit_bias", None)
        return None if bias is None else float(bias.detach().float())

    @property
    def text_cut_is_exact(self) -> bool:
        """True when running the text tower only up to the longest real token gives the same vectors."""
        return _can_cut_padding(self.model, self.tokenizer)

    @torch.inference_mode()
    def encode_frames(self, frames: np.ndarray, batch_size: int | None = None) -> torch.Tensor:
        """Unit vectors [N, dim] of single frames (uint8 [N, H, W, 3])."""
        return self._encode_pixels(self.transform(frames), batch_size)

    @torch.inference_mode()
    def _encode_pixels(self, pixels: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        size = (batch_size or self.batch_size) * self.frames_per_clip
        image = self.tower("image")
        out = [F.normalize(image(chunk.to(self.device, self.dtype)).float(), dim=-1)
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
        if _can_cut_padding(self.model, self.tokenizer):
            if not cut:  # the padded forward, kept for comparison (scripts/bench_text.py)
                return self.model.encode_text(tokens)
            tokens = tokens[:, : _longest(tokens)]
        return self.tower("text")(tokens)

    # -- runtimes ------------------------------------------------------------------------------
    def tower_specs(self) -> dict:
        return {"image": self._image_spec, "text": self._text_spec}

    def _image_spec(self) -> TowerSpec:
        """`encode_image` over preprocessed pixels [B, 3, H, W], the batch axis free."""
        height, width = self.transform.resize_size or (self.image_size, self.image_size)
        generator = torch.Generator().manual_seed(0)
        probes = [(torch.randn(n, 3, height, width, generator=generator),) for n in (2, 3)]
        return TowerSpec("image", _ImageForward(self.model), ("pixels",), ("embeddings",), probes,
                         {"pixels": {0: "batch"}, "embeddings": {0: "batch"}})

    def _text_spec(self) -> TowerSpec:
        """The text forward over token ids [B, L]: L free where the padding is cut (then the graph is
        `_text_forward` over the cut tokens), else the tokenizer's fixed context (`encode_text`)."""
        cut = _can_cut_padding(self.model, self.tokenizer)
        probes = []
        for texts in (["a dog catching a frisbee", "kickflip"], ["surfing", "a person slowly peeling an orange "
                                                                  "at a kitchen table", "cooking pasta"]):
            tokens = self.tokenizer(texts)
            probes.append((tokens[:, : _longest(tokens)] if cut else tokens,))
        module = _TextCutForward(self.model) if cut else _TextForward(self.model)
        axes = {0: "batch", 1: "length"} if cut else {0: "batch"}
        return TowerSpec("text", module, ("tokens",), ("embeddings",), probes,
                         {"tokens": axes, "embeddings": {0: "batch"}})


class _ImageForward(torch.nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)


class _TextForward(_ImageForward):
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(tokens)


class _TextCutForward(_ImageForward):
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return _text_forward(self.model, tokens)


def _longest(tokens: torch.Tensor) -> int:
    """The longest real sequence of a padded batch (padding id 0)."""
    return int((tokens != 0).sum(dim=1).max())


def _text_tower(model):
    """The module holding the text transformer: the model itself for `CLIP`, `.text` for `CustomTextCLIP`."""
    import open_clip

    if isinstance(model, open_clip.CLIP):
        return model
    text = getattr(model, "text", None)
    return text if isinstance(text, open_clip.transformer.TextTransformer) else None


def _can_cut_padding(model, tokenizer) -> bool:
    """Cutting the padding is exact when no real token can see it and a real token is pooled.

    That needs (1) a causal mask, or a padding mask in a bidirectional tower; (2) pooling of the
    end-of-text token (argmax, eos) or the first one, never the last position (which is padding)
    or an appended class token (whose position would move); (3) the tokenizer padding on the right
    with the tower's pad id (open_clip's SimpleTokenizer pads with 0, as the towers expect).
    """
    import open_clip

    tower = _text_tower(model)
    if tower is None:
        return False
    if isinstance(tower, open_clip.CLIP):
        causal, pad_masked, pool, cls = tower.attn_mask is not None, False, tower.text_pool_type, None
    else:
        causal, pad_masked, pool, cls = tower.attn_mask is not None, tower.use_pad_mask, tower.pool_type, tower.cls_emb
    pad_id = getattr(tower, "pad_id", 0)
    return (
        (causal or pad_masked)
        and pool in ("argmax", "eos", "first")
        and cls is None
        and isinstance(tokenizer, open_clip.SimpleTokenizer)
        and pad_id == 0
    )


def _encode_text_cut(model, tokens: torch.Tensor) -> torch.Tensor:
    """The text tower's own forward over tokens[:, :L], L the longest real sequence (padding id 0)."""
    return _text_forward(model, tokens[:, : _longest(tokens)])


def _text_forward(model, tokens: torch.Tensor) -> torch.Tensor:
    """The text tower over already-cut tokens [B, L]: the same steps as `CLIP.encode_text` /
    `TextTransformer.forward`, with the positions and the attention mask cut to L (the libraries'
    masks are built for the full context). L is read from the shape, so an export keeps it free.
    """
    from open_clip.transformer import text_global_pool

    tower = _text_tower(model)
    builtin = tower is model
    length = tokens.shape[1]
    cast_dtype = tower.transformer.get_cast_dtype()
    x = tower.token_embedding(tokens).to(cast_dtype)
    x = x + tower.positional_embedding[:length].to(cast_dtype)
    mask = None if tower.attn_mask is None else tower.attn_mask[:length, :length]
    if not builtin and tower.use_pad_mask:
        pad_mask = tower._build_additive_mask(tokens, length, x.dtype)
        mask = pad_mask if mask is None else mask.unsqueeze(0) + pad_mask
    x = tower.transformer(x, attn_mask=mask)
    x = tower.ln_final(x)
    if builtin:
        x = text_global_pool(x, tokens, tower.text_pool_type, eos_token_id=getattr(tower, "text_eos_id", None))
    else:
        x = text_global_pool(x, tokens, tower.pool_type, eos_token_id=getattr(tower, "eos_id", None))
    if tower.text_projection is not None:
        x = tower.text_projection(x) if isinstance(tower.text_projection, torch.nn.Linear) else x @ tower.text_projection
    return x


def reparameterized(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with its train-time branches folded for inference (MobileOne/FastViT blocks), once.

    timm's `reparameterize_model` calls each block's own `reparameterize`; models without such
    blocks come back unchanged (and uncopied).
    """
    if not any(callable(getattr(m, "reparameterize", None)) for m in model.modules()):
        return model
    from timm.utils import reparameterize_model

    return reparameterize_model(model.eval(), inplace=True)


def _tokenizer_kwargs(ref: ModelRef) -> dict:
    """Keyword arguments for `open_clip.get_tokenizer`: a cached hub tokenizer is read offline."""
    repo = clip_tokenizer_repo(ref)  # "" for open_clip's own BPE and for local-dir / hf-hub folders
    if repo and hf_cached(repo, ["tokenizer_config.json"]):
        return {"local_files_only": True}
    return {}


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
    """open_clip's eval transform as batched tensor ops: "shortest" (resize the short side, centre
    crop) or "squash" (resize the whole frame to size × size, no crop: SigLIP, PE-Core)."""
    size = cfg.get("size", 224)
    height, width = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    mode = cfg.get("resize_mode", "shortest")
    if mode not in ("shortest", "squash") or (mode == "shortest" and height != width):
        raise OpenvidError(f"open_clip resize_mode {mode!r} at {height}x{width} is not supported; openvid reads "
                           "'shortest' (square) and 'squash'")
    return FrameTransform(
        resize_to=height,
        crop_size=height,
        resize_size=(height, width) if mode == "squash" else None,
        mean=tuple(float(v) for v in cfg["mean"]),
        std=tuple(float(v) for v in cfg["std"]),
        interpolation=cfg.get("interpolation", "bicubic"),
        crop_rounding="round",  # torchvision CenterCrop, which open_clip's transform uses
    )


def _output_dim(model) -> int:
    """The joint space's width, read from the text projection (open_clip models of every kind have one
    or say their width as `output_dim`)."""
    tower = _text_tower(model) or getattr(model, "text", model)
    projection = getattr(tower, "text_projection", None)
    if isinstance(projection, torch.nn.Linear):
        return projection.out_features
    if projection is not None:
        return projection.shape[1]
    for part in (tower, model.visual):
        if getattr(part, "output_dim", None):
            return int(part.output_dim)
    raise OpenvidError("cannot tell the embedding width of this open_clip model (no text projection)")
