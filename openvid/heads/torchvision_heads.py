"""Closed-set video heads from torchvision: Video Swin-T, MViTv2-S and R(2+1)D-18 on Kinetics-400.

Everything comes from the weights enum: the download URL, the labels (`meta["categories"]`) and
the preprocessing (`weights.transforms()`, a `VideoClassification` preset: resize, centre crop,
scale to [0, 1], normalise). The preset's sizes, mean, std and interpolation are read from the
preset object; its resize runs on uint8 tensors without antialiasing (hard-coded in the preset's
forward), so the `FrameTransform` built here rounds after resizing and turns antialiasing off, and
tests hold it equal to the preset itself.

Which builder makes each head and the state-dict key of its classifier are data (the entry's
"options" in openvid/data/models/heads.json: builder, classifier, and the variant builder a
`.arch.json` sidecar feeds), so another torchvision video checkpoint is one entry there.

Frames per clip are the `clip_len` torchvision evaluated each checkpoint with (`meta["_docs"]`):
swin3d_t 32 (at frame_rate=15, about 2.1 s), mvit_v2_s 16 (frame_rate=7.5, 2.1 s), r2plus1d_18 16
(frame_rate=15, about 1.1 s). A test checks these against the docs strings.

Your own weights: `--head-checkpoint NAME=file.pth`, a state_dict of the same architecture (any number
of classes; the labels come from `--head-labels` unless there are 400 outputs, then Kinetics-400's). A
variant of the architecture needs a `<stem>.arch.json` sidecar with the keyword arguments of:
swin3d_t: `torchvision.models.video.swin_transformer.SwinTransformer3d` (patch_size, embed_dim,
depths, num_heads, window_size, ...); mvit_v2_s: `torchvision.models.video.mvit.MViT`
(spatial_size, temporal_size, block_setting as a list of MSBlockConfig fields, residual_pool,
residual_with_cls_embed, rel_pos_embed, proj_after_attn, ...); r2plus1d_18: `{"layers": [n1, n2,
n3, n4]}` (residual blocks per stage of the R(2+1)D `VideoResNet`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from openvid.config import Settings, device_and_dtype
from openvid.encoders.preprocess import FrameTransform
from openvid.errors import OpenvidError
from openvid.heads import availability
from openvid.heads import torch_common as tc
from openvid.heads.base import HeadSpec, head_frames, register_head_family


def _swin(num_classes: int, kwargs: dict[str, Any]) -> torch.nn.Module:
    from torchvision.models.video.swin_transformer import SwinTransformer3d

    return SwinTransformer3d(num_classes=num_classes, **kwargs)


def _mvit(num_classes: int, kwargs: dict[str, Any]) -> torch.nn.Module:
    from torchvision.models.video.mvit import MSBlockConfig, MViT

    kwargs = dict(kwargs)
    kwargs["block_setting"] = [MSBlockConfig(**block) for block in kwargs.get("block_setting", [])]
    if "spatial_size" in kwargs:  # MViT concatenates it to a tuple; JSON has lists
        kwargs["spatial_size"] = tuple(kwargs["spatial_size"])
    return MViT(num_classes=num_classes, **kwargs)


def _r2plus1d(num_classes: int, kwargs: dict[str, Any]) -> torch.nn.Module:
    from torchvision.models.video.resnet import BasicBlock, Conv2Plus1D, R2Plus1dStem, VideoResNet

    extra = set(kwargs) - {"layers"}
    if extra:
        raise TypeError(f"unexpected arguments {sorted(extra)}; only 'layers' describes an R(2+1)D variant")
    return VideoResNet(BasicBlock, [Conv2Plus1D] * 4, list(kwargs["layers"]), R2Plus1dStem, num_classes=num_classes)


# options.variant -> the builder of a non-standard size from a <stem>.arch.json sidecar
VARIANTS: dict[str, Callable[[int, dict[str, Any]], torch.nn.Module]] = {
    "swin": _swin, "mvit": _mvit, "r2plus1d": _r2plus1d,
}


@dataclass(frozen=True)
class Arch:
    """How to build a head's network, from its spec's options (heads.json)."""

    builder: str  # torchvision.models.video function that builds the standard architecture
    classifier: str  # state-dict key of the final layer's weight: its rows are the classes
    variant: Callable[[int, dict[str, Any]], torch.nn.Module] | None  # builds from <stem>.arch.json

    @classmethod
    def of(cls, spec: HeadSpec) -> "Arch":
        """options: "builder" (default: the head's name), "classifier", and optionally "variant"."""
        options = spec.options
        variant = options.get("variant")
        if "classifier" not in options or (variant is not None and variant not in VARIANTS):
            raise OpenvidError(f"the torchvision head {spec.name!r} needs options \"classifier\" (the state-dict key "
                               f"of its final layer's weight) and may name a \"variant\" ({', '.join(VARIANTS)}); "
                               f"its entry has {dict(options)}")
        return cls(str(options.get("builder", spec.name)), str(options["classifier"]),
                   VARIANTS[variant] if variant else None)

    def build(self, outputs: int, kwargs: dict[str, Any]) -> torch.nn.Module:
        """The standard network, or the variant a sidecar's builder arguments describe."""
        import torchvision.models.video as video

        if not kwargs:
            return getattr(video, self.builder)(num_classes=outputs)
        if self.variant is None:
            raise TypeError(f"{self.builder} has no variant builder; remove the sidecar for the standard architecture")
        return self.variant(outputs, kwargs)


def weights_of(spec: HeadSpec) -> Any:
    """The torchvision weights enum member a spec names ("Swin3D_T_Weights.KINETICS400_V1")."""
    import torchvision.models.video as video

    enum_name, _, member = str(spec.checkpoint).partition(".")
    try:
        return getattr(video, enum_name)[member]
    except (AttributeError, KeyError):
        raise OpenvidError(f"this torchvision has no weights {spec.checkpoint!r}; upgrade torchvision "
                           "(video Swin and MViT weights need 0.15 or newer)") from None


def preset_transform(preset: Any) -> FrameTransform:
    """The batched equivalent of a torchvision `VideoClassification` preset (read from the preset)."""
    resize = [int(v) for v in preset.resize_size]
    crop = [int(v) for v in preset.crop_size]
    if len(set(crop)) != 1:
        raise OpenvidError(f"non-square crops are not supported (preset crop_size={crop})")
    interpolation = getattr(preset.interpolation, "value", str(preset.interpolation))
    return FrameTransform(
        resize_to=min(resize),
        crop_size=crop[0],
        mean=tuple(float(v) for v in preset.mean),  # type: ignore[arg-type]
        std=tuple(float(v) for v in preset.std),  # type: ignore[arg-type]
        interpolation=interpolation,
        crop_rounding="round",  # torchvision's center_crop: int(round((H - S) / 2))
        resize_size=(resize[0], resize[1]) if len(resize) == 2 else None,
        antialias=False,
    )


@register_head_family("torchvision")
class TorchvisionVideoHead(tc.TorchVideoHead):
    """A torchvision video classifier: [B, 3, T, S, S] in, logits out."""

    def __init__(self, *args: Any, transform: FrameTransform, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transform = transform

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, spec: HeadSpec, settings: Settings, checkpoint: str | None = None,
             labels: Sequence[str] | None = None) -> "TorchvisionVideoHead":
        arch = Arch.of(spec)
        weights = weights_of(spec)
        device, dtype = device_and_dtype(settings)
        loaded = tc.read_checkpoint(spec, checkpoint, weights.url, f"{spec.checkpoint} ({weights.url})", check_hash=True)
        outputs = tc.classes_in(loaded.state, arch.classifier, loaded.label, spec.name)
        names = tc.output_labels(spec.name, outputs, labels, list(weights.meta["categories"]), loaded.label)
        model = tc.build_model(spec.name, loaded.label, lambda: arch.build(outputs, loaded.arch))
        tc.load_weights(model, loaded.state, loaded.label, spec.name)
        model.eval().to(device=device, dtype=dtype)
        transform = preset_transform(weights.transforms())
        return cls(spec, model, names, loaded.identity, device, dtype, settings.batch_size, spec.frames,
                   transform.resize_to, transform=transform)

    @classmethod
    def known_labels(cls, spec: HeadSpec) -> list[str]:
        return list(weights_of(spec).meta["categories"])

    @classmethod
    def is_cached(cls, spec: HeadSpec) -> bool:
        return availability.is_cached(spec)  # options.weights_file, without torchvision

    @classmethod
    def pull(cls, spec: HeadSpec) -> str:
        url = weights_of(spec).url
        return str(tc.fetch(url, f"{spec.checkpoint} ({url})", spec.name, check_hash=True))

    # -- contract ------------------------------------------------------------------------------
    def inputs(self, clips: Sequence) -> torch.Tensor:
        """[B, 3, T, S, S]: each clip's own T frames, resized, cropped and normalised like the preset."""
        videos = [self.transform(head_frames(clip, self.frames_per_clip, self.clip_seconds)).permute(1, 0, 2, 3) for clip in clips]
        return torch.stack(videos).to(self.device, self.dtype)
