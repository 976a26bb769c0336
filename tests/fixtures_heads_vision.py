"""Fixtures for the torchvision / PyTorchVideo / AVSlowFast heads: small random-weight checkpoints.

Each is saved the way a user's own weights are (a state_dict `.pth`, or a PyTorchVideo `.pyth`
holding {"model_state": ...}), with a `<stem>.arch.json` sidecar where the architecture is a small
variant, and loaded through the same `load_head(HeadChoice(name, checkpoint=..., labels_file=...))`
path users take. "x3d_m-standard" is the full zoo architecture with 400 outputs, no sidecar and no
labels file: the path of a real user's standard checkpoint, which gets the Kinetics-400 names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import torch


@dataclass(frozen=True)
class TinyHead:
    name: str
    checkpoint: Path
    labels_file: Path | None
    classes: int
    model: torch.nn.Module  # the library's model the file was saved from, in eval mode


def _swin() -> tuple[torch.nn.Module, dict[str, Any]]:
    from torchvision.models.video.swin_transformer import SwinTransformer3d

    arch = {"patch_size": [2, 4, 4], "embed_dim": 8, "depths": [1, 1, 1, 1], "num_heads": [1, 1, 1, 1],
            "window_size": [8, 7, 7]}
    return SwinTransformer3d(num_classes=5, **arch), arch


def _mvit() -> tuple[torch.nn.Module, dict[str, Any]]:
    from torchvision.models.video.mvit import MSBlockConfig, MViT

    blocks = [
        dict(num_heads=1, input_channels=8, output_channels=16, kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
             stride_q=[1, 1, 1], stride_kv=[1, 8, 8]),
        dict(num_heads=2, input_channels=16, output_channels=16, kernel_q=[3, 3, 3], kernel_kv=[3, 3, 3],
             stride_q=[1, 2, 2], stride_kv=[1, 4, 4]),
    ]
    arch = {"spatial_size": [224, 224], "temporal_size": 16, "block_setting": blocks, "residual_pool": True,
            "residual_with_cls_embed": False, "rel_pos_embed": True, "proj_after_attn": True}
    built = MViT(num_classes=5, **{**arch, "spatial_size": (224, 224),
                                   "block_setting": [MSBlockConfig(**b) for b in blocks]})
    return built, arch


def _r2plus1d() -> tuple[torch.nn.Module, dict[str, Any]]:
    from torchvision.models.video.resnet import BasicBlock, Conv2Plus1D, R2Plus1dStem, VideoResNet

    arch = {"layers": [1, 1, 1, 1]}
    return VideoResNet(BasicBlock, [Conv2Plus1D] * 4, arch["layers"], R2Plus1dStem, num_classes=5), arch


def _x3d_m() -> tuple[torch.nn.Module, dict[str, Any]]:
    from pytorchvideo.models.hub import x3d_m

    return x3d_m(pretrained=False), {}  # the zoo architecture, 400 classes: no sidecar


def _x3d_small() -> tuple[torch.nn.Module, dict[str, Any]]:
    from pytorchvideo.models.hub import x3d_m

    arch = {"width_factor": 0.5, "depth_factor": 0.5, "head_dim_out": 32, "stem_dim_in": 8}
    return x3d_m(pretrained=False, model_num_class=5, **arch), arch


def _slowfast() -> tuple[torch.nn.Module, dict[str, Any]]:
    from pytorchvideo.models.hub import slowfast_r50

    arch = {"stem_dim_outs": [8, 1]}
    return slowfast_r50(pretrained=False, model_num_class=5, stem_dim_outs=(8, 1)), arch


def _avslowfast() -> tuple[torch.nn.Module, dict[str, Any]]:
    from pytorchvideo.models.audio_visual_slowfast import create_audio_visual_slowfast

    arch = {"stem_dim_outs": [16, 2, 8]}
    return create_audio_visual_slowfast(model_num_class=3, stem_dim_outs=(16, 2, 8)), arch


# key -> (head name, builder, file suffix, classes)
_TINY: dict[str, tuple[str, Callable[[], tuple[torch.nn.Module, dict[str, Any]]], str, int]] = {
    "swin3d_t": ("swin3d_t", _swin, ".pth", 5),
    "mvit_v2_s": ("mvit_v2_s", _mvit, ".pth", 5),
    "r2plus1d_18": ("r2plus1d_18", _r2plus1d, ".pt", 5),
    "x3d_m": ("x3d_m", _x3d_small, ".pyth", 5),
    "x3d_m-standard": ("x3d_m", _x3d_m, ".pyth", 400),
    "slowfast_r50": ("slowfast_r50", _slowfast, ".pyth", 5),
    "avslowfast": ("avslowfast", _avslowfast, ".pyth", 3),
}


def _randomise_norms(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Non-trivial BatchNorm statistics, so a preprocessing slip shows in the outputs."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            module.running_mean.normal_(0.0, 0.1, generator=generator)
            module.running_var.uniform_(0.5, 1.5, generator=generator)


@pytest.fixture(scope="session")
def tiny_heads(tmp_path_factory) -> Callable[[str], TinyHead]:
    """Factory: tiny_heads(key) -> TinyHead, built and saved once per session on first use. The key is
    the head's name (a small variant, with its sidecar), or "x3d_m-standard" (the zoo architecture)."""
    import warnings

    folder = tmp_path_factory.mktemp("tiny-heads")
    made: dict[str, TinyHead] = {}

    def make(key: str) -> TinyHead:
        if key in made:
            return made[key]
        name, build, suffix, classes = _TINY[key]
        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pytorchvideo's import-time FutureWarnings
            model, arch = build()
        _randomise_norms(model, torch.Generator().manual_seed(1))
        path = folder / f"{key}{suffix}"
        state = model.state_dict()
        torch.save({"model_state": state, "epoch": 1} if suffix == ".pyth" else state, path)
        if arch:
            (folder / f"{key}.arch.json").write_text(json.dumps(arch))
        labels = None
        if classes != 400:
            labels = folder / f"{name}-labels.txt"
            labels.write_text("".join(f"class {i} of {name}\n" for i in range(classes)))
        made[key] = TinyHead(name, path, labels, classes, model.eval())
        return made[key]

    return make
