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

Your own weights: `--head-checkpoint NAME=file` (a `.pyth` or a state_dict) of the same architecture,
any number of classes; a variant needs a `<stem>.arch.json` sidecar of extra keyword arguments for
the hub builder (for example {"width_factor": 1.0} for X3D, {"stem_dim_outs": [16, 2]} for
SlowFast; lists are passed as tuples).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from openvid.config import Settings, device_and_dtype
from openvid.encoders.preprocess import FrameTransform
from openvid.errors import OpenvidError
from openvid.heads import torch_common as tc
from openvid.heads.base import HeadSpec, head_frames, register_head_family

ZOO = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"  # where heads.json's checkpoints live
MEAN = (0.45, 0.45, 0.45)  # the model cards' mean and std (Kinetics statistics of PySlowFast)
STD = (0.225, 0.225, 0.225)
SIDE = 256  # the cards' side_size and crop_size for both models (a spec's options.short_side)
SLOWFAST_ALPHA = 4  # frame-rate ratio of the fast to the slow pathway (the card's slowfast_alpha)

def zoo_transform(crop: int = SIDE, side: int = SIDE) -> FrameTransform:
    """The model cards' video transform as one batched op: /255, normalise, short side 256, crop."""
    return FrameTransform(resize_to=side, crop_size=crop, mean=MEAN, std=STD, interpolation="bilinear",
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
class Arch:
    """How to build and feed a zoo head, from its spec's options (heads.json)."""

    builder: str  # function of pytorchvideo.models.hub that builds the zoo architecture
    classifier: str  # state-dict key of the final layer's weight: its rows are the classes
    side: int  # short side the frames are scaled to before the crop (spec.image_size)

    @classmethod
    def of(cls, spec: HeadSpec) -> "Arch":
        """options: "builder" (default: the head's name), "classifier", "short_side" (default 256)."""
        options = spec.options
        if "classifier" not in options:
            raise OpenvidError(f"the zoo head {spec.name!r} needs options \"classifier\" (the state-dict key of its "
                               f"final layer's weight); its entry has {dict(options)}")
        return cls(str(options.get("builder", spec.name)), str(options["classifier"]),
                   int(options.get("short_side", SIDE)))


class ZooHead(tc.TorchVideoHead):
    """A PyTorchVideo zoo classifier, loaded from the zoo or from the user's file."""

    def __init__(self, *args: Any, transform: FrameTransform, probabilities: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transform = transform
        self.outputs_probabilities = probabilities

    @classmethod
    def load(cls, spec: HeadSpec, settings: Settings, checkpoint: str | None = None,
             labels: Sequence[str] | None = None) -> "ZooHead":
        arch = Arch.of(spec)
        device, dtype = device_and_dtype(settings)
        loaded = tc.read_checkpoint(spec, checkpoint, str(spec.checkpoint))
        outputs = tc.classes_in(loaded.state, arch.classifier, loaded.label, spec.name)
        names = tc.output_labels(spec.name, outputs, labels, tc.kinetics400_labels(), loaded.label)
        hub = import_pytorchvideo("pytorchvideo.models.hub")
        model = tc.build_model(spec.name, loaded.label, lambda: getattr(hub, arch.builder)(
            pretrained=False, model_num_class=outputs, **as_tuples(loaded.arch)))
        tc.load_weights(model, loaded.state, loaded.label, spec.name)
        model.eval().to(device=device, dtype=dtype)
        return cls(spec, model, names, loaded.identity, device, dtype, settings.batch_size, spec.frames, arch.side,
                   transform=zoo_transform(crop=spec.image_size, side=arch.side),
                   probabilities=ends_in_softmax(model))

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
