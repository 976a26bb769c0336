"""Closed-set video heads from PyTorchVideo's model zoo: X3D-M and SlowFast R50 (8x8) on Kinetics-400.

Models come from PyTorchVideo's own hub builders (`pytorchvideo.models.hub.x3d_m`,
`pytorchvideo.models.hub.slowfast_r50`, which call `create_x3d` / `create_slowfast` with the zoo's
arguments) and the zoo's `.pyth` checkpoints, downloaded into torch hub's cache like torch hub does.
Labels: Kinetics-400 in class-index order, `openvid/data/kinetics400.txt` (the zoo's
`kinetics_classnames.json` numbers the classes alphabetically, the same order as torchvision's list).

Preprocessing follows the zoo's model cards (pytorch/hub `facebookresearch_pytorchvideo_x3d.md` and
`..._slowfast.md`): frames / 255, normalise with mean 0.45 and std 0.225 per channel, scale the
short side to 256 (bilinear, no antialiasing, on the float frames), centre-crop 256. X3D-M takes 16
frames (the card's 16 x sampling rate 5 at 30 fps: ~2.7 s); SlowFast takes 32 frames for its fast
pathway (32 x 2 at 30 fps: ~2.1 s) and every 4th of them (alpha = 4, the card's `PackPathway`:
indices linspace(0, T - 1, T // 4)) for its slow one. PyTorchVideo's transforms module does not
import with current torchvision, so the same steps run here as one `FrameTransform`; tests hold it
equal to the card's transform and the model's own forward.

X3D's head ends in a softmax (`create_x3d`'s default head_activation), averaged over the 2 x 2
positions a 256 px crop leaves: its output is already probabilities and is used as is (the model
card's extra Softmax on top would flatten them towards uniform). SlowFast's head gives logits.

Your own weights: `--checkpoint NAME=file` (a `.pyth` or a state_dict) of the same architecture,
any number of classes; a variant needs a `<stem>.arch.json` sidecar of extra keyword arguments for
the hub builder (for example {"width_factor": 1.0} for X3D, {"stem_dim_outs": [16, 2]} for
SlowFast; lists are passed as tuples).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from openvid.config import Settings, resolve_device, resolve_dtype
from openvid.encoders.preprocess import FrameTransform
from openvid.heads import torch_common as tc
from openvid.heads.base import HeadSpec, head_frames, register_head, register_head_family

ZOO = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"
MEAN = (0.45, 0.45, 0.45)  # the model cards' mean and std (Kinetics statistics of PySlowFast)
STD = (0.225, 0.225, 0.225)
SIDE = 256  # the cards' side_size and crop_size for both models
SLOWFAST_ALPHA = 4  # frame-rate ratio of the fast to the slow pathway (the card's slowfast_alpha)

register_head(
    HeadSpec(
        name="x3d_m",
        family="x3d",
        checkpoint=f"{ZOO}/X3D_M.pyth",
        frames=16,
        clip_seconds=16 * 5 / 30,  # 16 frames, sampling rate 5, at 30 fps (model card)
        image_size=SIDE,
        trained_on="Kinetics-400 (400 classes)",
        note="X3D-M from PyTorchVideo's zoo; 16 frames over ~2.7 s, short side 256, crop 256; zoo K400 top-1 "
             "75.9 (30 views); 3.8M params, 6.7 GFLOPs per view: the cheapest video head",
    )
)
register_head(
    HeadSpec(
        name="slowfast_r50",
        family="slowfast",
        checkpoint=f"{ZOO}/SLOWFAST_8x8_R50.pyth",
        frames=32,
        clip_seconds=32 * 2 / 30,  # 32 fast frames, sampling rate 2, at 30 fps (model card)
        image_size=SIDE,
        trained_on="Kinetics-400 (400 classes)",
        note="SlowFast R50 8x8 from PyTorchVideo's zoo; 32 fast + 8 slow frames over ~2.1 s, short side 256, "
             "crop 256; zoo K400 top-1 76.9 (30 views); 35M params, 66 GFLOPs per view",
    )
)


def zoo_transform(crop: int = SIDE) -> FrameTransform:
    """The model cards' video transform as one batched op: /255, normalise, short side 256, crop."""
    return FrameTransform(resize_to=SIDE, crop_size=crop, mean=MEAN, std=STD, interpolation="bilinear",
                          crop_rounding="round",  # CenterCropVideo: int(round((H - S) / 2))
                          antialias=False, quantize=False)  # interpolate() on normalised float frames


def import_pytorchvideo(module: str) -> Any:
    """A pytorchvideo module, without the FutureWarnings its import raises on current torch."""
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(module)


def as_tuples(value: Any) -> Any:
    """JSON lists as the tuples pytorchvideo's builders are written for."""
    if isinstance(value, list):
        return tuple(as_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: as_tuples(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class _Arch:
    builder: str  # function of pytorchvideo.models.hub that builds the zoo architecture
    classifier: str  # state-dict key of the final layer's weight: its rows are the classes


_ARCHS = {
    "x3d_m": _Arch("x3d_m", "blocks.5.proj.weight"),
    "slowfast_r50": _Arch("slowfast_r50", "blocks.6.proj.weight"),
}


class ZooHead(tc.TorchVideoHead):
    """A PyTorchVideo zoo classifier, loaded from the zoo or from the user's file."""

    def __init__(self, *args: Any, transform: FrameTransform, probabilities: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transform = transform
        self.outputs_probabilities = probabilities

    @classmethod
    def load(cls, spec: HeadSpec, settings: Settings, checkpoint: str | None = None,
             labels: Sequence[str] | None = None) -> "ZooHead":
        arch = _ARCHS[spec.name]
        device = resolve_device(settings.device)
        dtype = resolve_dtype(device, settings.dtype)
        loaded = tc.read_checkpoint(spec, checkpoint, str(spec.checkpoint))
        outputs = tc.classes_in(loaded.state, arch.classifier, loaded.label, spec.name)
        names = tc.output_labels(spec.name, outputs, labels, tc.kinetics400_labels(), loaded.label)
        hub = import_pytorchvideo("pytorchvideo.models.hub")
        model = tc.build_model(spec.name, loaded.label, lambda: getattr(hub, arch.builder)(
            pretrained=False, model_num_class=outputs, **as_tuples(loaded.arch)))
        tc.load_weights(model, loaded.state, loaded.label, spec.name)
        model.eval().to(device=device, dtype=dtype)
        return cls(spec, model, names, loaded.identity, device, dtype, settings.batch_size, spec.frames, SIDE,
                   transform=zoo_transform(), probabilities=ends_in_softmax(model))

    @classmethod
    def known_labels(cls, spec: HeadSpec) -> list[str]:
        return tc.kinetics400_labels()

    @classmethod
    def is_cached(cls, spec: HeadSpec) -> bool:
        return spec.checkpoint is not None and tc.hub_cached(spec.checkpoint)

    @classmethod
    def pull(cls, spec: HeadSpec) -> str:
        return str(tc.fetch(str(spec.checkpoint), str(spec.checkpoint), spec.name))

    def video(self, clips: Sequence) -> torch.Tensor:
        """[B, 3, T, S, S]: each clip's own T frames, transformed like the model card."""
        videos = [self.transform(head_frames(clip, self.frames_per_clip, self.clip_seconds)).permute(1, 0, 2, 3) for clip in clips]
        return torch.stack(videos).to(self.device, self.dtype)


def ends_in_softmax(model: torch.nn.Module) -> bool:
    """True when the network's head applies a softmax itself (X3D's default)."""
    head = model.blocks[-1] if hasattr(model, "blocks") else None
    return isinstance(getattr(head, "activation", None), torch.nn.Softmax)


def pack_pathways(fast: torch.Tensor, alpha: int = SLOWFAST_ALPHA) -> list[torch.Tensor]:
    """[slow, fast] from [B, 3, T, H, W]: the model card's PackPathway (every alpha-th frame, by linspace)."""
    frames = fast.shape[2]
    index = torch.linspace(0, frames - 1, frames // alpha).long().to(fast.device)
    return [torch.index_select(fast, 2, index), fast]


@register_head_family("x3d")
class X3DHead(ZooHead):
    def inputs(self, clips: Sequence) -> torch.Tensor:
        return self.video(clips)


@register_head_family("slowfast")
class SlowFastHead(ZooHead):
    def inputs(self, clips: Sequence) -> list[torch.Tensor]:
        return pack_pathways(self.video(clips))
