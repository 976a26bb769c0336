"""VideoPrism-LvT (transformers): Google's video encoder and its contrastive text tower.

VideoPrism is a video encoder, not frame pooling: a factorised spatial-then-temporal ViT reads a
whole clip of the model's own frame count (16 for the base checkpoint) and an attention pooler
gives one vector per clip. Each clip is therefore resampled to that count and goes through
`get_video_features` as one [B, T, 3, H, W] tensor.

Preprocessing is the checkpoint's own video processor, read from the loaded processor: an exact
height x width resize (no crop), rescale by 1/255 and no normalisation (pixels in [0, 1], as the
authors feed them). The resize is the processor's own call on uint8 frames, batched: torchvision's
native uint8 bicubic differs from a float resize by a grey level here and there, so only the same
call gives the processor's numbers.

Text: the processor pads to 64 tokens (`padding="max_length"`, as the library documents). The text
tower appends a CLS token after the tokens and pools it under a causal mask combined with the
attention mask, and positions are sinusoidal from 0 with right padding, so padding only to the
longest text of a batch gives the same vectors (tests/test_encoders_videoprism.py holds this to
1e-5) at a fraction of the cost for short queries.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from openvid.config import Settings, device_and_dtype
from openvid.encoders.base import Encoder, EncoderSpec, register_family
from openvid.encoders.hub import identity_of, model_load_errors, videoprism_cached
from openvid.encoders.preprocess import FrameTransform, batches, clip_frames, interpolation_of, resample_frames
from openvid.encoders.resolve import ModelRef
from openvid.encoders.runtime.export import TowerSpec
from openvid.errors import ModelUnavailable

# The authors' zero-shot temperature: google-deepmind/videoprism, colabs/videoprism_video_text_demo.ipynb,
# `TEMPERATURE = 0.01` before the softmax over texts (VideoPrism learns no scale of its own).
TEMPERATURE = 0.01


@register_family("videoprism")
class VideoPrismEncoder(Encoder):
    """transformers `VideoPrismClipModel` + its processor's tokenizer and video settings.

    `logit_scale` is 1 / 0.01 = 100: VideoPrism has no learned scale, and the temperature its
    authors use for zero-shot classification and retrieval is 0.01 (their video-text Colab,
    google-deepmind/videoprism `videoprism/colabs/videoprism_video_text_demo.ipynb`);
    `VideoPrismClipModel.forward` takes a `temperature` too, with no default.
    """

    def __init__(self, model, tokenizer, transform: FrameTransform, identity: str, name: str,
                 device: torch.device, dtype: torch.dtype, batch_size: int = 8, spec: EncoderSpec | None = None,
                 video_processor=None, max_text_tokens: int = 64) -> None:
        super().__init__(model, tokenizer, transform, identity, name, device, dtype, batch_size, spec)
        self.dim = int(model.config.vision_config.hidden_size)
        self.frames_per_clip = int(model.config.vision_config.num_frames)
        self.video_processor = video_processor
        self.max_text_tokens = max_text_tokens

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, ref: ModelRef, settings: Settings) -> "VideoPrismEncoder":
        import transformers
        from transformers.utils import logging as hf_logging

        if not hasattr(transformers, "VideoPrismClipModel"):
            raise ModelUnavailable(ref.checkpoint, f"transformers {transformers.__version__} has no VideoPrism",
                                   "Upgrade it to a release with VideoPrism (openvid is tested with 5.24): "
                                   "pip install -U 'transformers>=5.24,<6'.")
        hf_logging.disable_progress_bar()

        device, dtype = device_and_dtype(settings)
        # A filled cache needs no network: asking the hub first would only add retries offline.
        local_only = ref.source == "local" or cls.is_cached(ref)
        with model_load_errors(ref):
            processor = transformers.VideoPrismProcessor.from_pretrained(ref.checkpoint, local_files_only=local_only)
            model = transformers.VideoPrismClipModel.from_pretrained(ref.checkpoint, local_files_only=local_only)
        model.to(device=device, dtype=dtype)
        video_processor = processor.video_processor
        transform = _frame_transform(ref, video_processor)
        max_tokens = int((getattr(processor, "text_kwargs", None) or {}).get("max_length")
                         or processor.tokenizer.model_max_length)
        return cls(model, processor.tokenizer, transform, identity_of(ref), ref.label, device, dtype,
                   batch_size=settings.batch_size, spec=ref.spec, video_processor=video_processor,
                   max_text_tokens=max_tokens)

    @classmethod
    def is_cached(cls, ref: ModelRef) -> bool:
        return videoprism_cached(ref)  # the light check `openvid models list` uses too

    @classmethod
    def pull(cls, ref: ModelRef) -> str:
        from huggingface_hub import snapshot_download

        with model_load_errors(ref):
            return snapshot_download(ref.checkpoint, allow_patterns=["*.json", "*.txt", "*.model", "*.safetensors"])

    # -- contract ------------------------------------------------------------------------------
    @property
    def logit_scale(self) -> float:
        return 1.0 / TEMPERATURE

    def pixel_values(self, clips: Sequence) -> torch.Tensor:
        """[B, T, 3, H, W] model input for clips of any frame count (resampled to the model's T)."""
        out = []
        for clip in clips:
            frames = np.ascontiguousarray(resample_frames(clip_frames(clip), self.frames_per_clip))
            x = torch.from_numpy(frames).permute(0, 3, 1, 2)  # uint8 [T, 3, H, W], what the processor resizes
            if tuple(x.shape[-2:]) != self.transform.resize_size:
                vp = self.video_processor
                x = vp.resize(x, size=vp.size, resample=vp.resample)
            out.append(self.transform(x.permute(0, 2, 3, 1)))
        return torch.stack(out).to(self.device, self.dtype)

    @torch.inference_mode()
    def _video_features(self, clips: Sequence) -> torch.Tensor:
        return self.tower("video")(self.pixel_values(clips))

    def text_inputs(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids and mask padded to the longest text (at most the processor's 64 tokens).

        Equal to `padding="max_length"` by the text tower's construction (see the module docstring).
        """
        tokens = self.tokenizer(list(texts), padding="longest", truncation=True, max_length=self.max_text_tokens,
                                return_tensors="pt")
        return {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}

    @torch.inference_mode()
    def _text_features(self, texts: Sequence[str]) -> torch.Tensor:
        tokens = self.text_inputs(texts)
        return self.tower("text")(tokens["input_ids"], tokens["attention_mask"])

    # -- runtimes ------------------------------------------------------------------------------
    def tower_specs(self) -> dict:
        return {"video": self._video_spec, "text": self._text_spec}

    def _video_spec(self) -> TowerSpec:
        """`get_video_features` over pixels [B, T, 3, H, W] in [0, 1] (batch free), pooled [B, D]."""
        generator = torch.Generator().manual_seed(0)
        side = self.transform.resize_size or (self.image_size, self.image_size)
        probes = [(torch.rand(n, self.frames_per_clip, 3, *side, generator=generator),) for n in (1, 2)]
        return TowerSpec("video", _VideoForward(self.model), ("pixels",), ("embeddings",), probes,
                         {"pixels": {0: "batch"}, "embeddings": {0: "batch"}})

    def _text_spec(self) -> TowerSpec:
        """`get_text_features` over (input_ids, attention_mask) [B, L], both axes free (see the module docstring)."""
        probes = []
        for texts in (["a video of a dog", "kickflip"], ["surfing", "a person slowly peeling an orange", "cooking"]):
            tokens = self.text_inputs(texts)
            probes.append((tokens["input_ids"], tokens["attention_mask"]))
        axes = {0: "batch", 1: "length"}
        return TowerSpec("text", _TextForward(self.model), ("input_ids", "attention_mask"), ("embeddings",), probes,
                         {"input_ids": axes, "attention_mask": axes, "embeddings": {0: "batch"}})

    def encode_video(self, clips: Sequence, batch_size: int | None = None) -> np.ndarray:
        out = [self._video_features(chunk) for chunk in batches(list(clips), batch_size or self.batch_size)]
        return _unit_numpy(out, self.dim)

    def encode_text(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        out = [self._text_features(chunk) for chunk in batches(list(texts), batch_size or 256)]
        return _unit_numpy(out, self.dim)


def _frame_transform(ref: ModelRef, video_processor) -> FrameTransform:
    """Rescale and normalisation from the video processor's config; its size as an exact resize."""
    size = video_processor.size
    height, width = int(getattr(size, "height", 0) or 0), int(getattr(size, "width", 0) or 0)
    if not height or height != width:
        raise ModelUnavailable(ref.checkpoint, f"its video processor's size is {size}, not a square height x width",
                               "openvid reads VideoPrism checkpoints that resize to a square (288 x 288 for Google's).")
    rescale = float(video_processor.rescale_factor) if video_processor.do_rescale else 1.0
    if abs(rescale - 1.0 / 255.0) > 1e-9:
        raise ModelUnavailable(ref.checkpoint, f"its video processor rescales by {rescale}, not 1/255",
                               "openvid reads uint8 frames scaled by 1/255, as Google's VideoPrism processor does.")
    if video_processor.do_normalize:
        mean = tuple(float(v) for v in video_processor.image_mean)
        std = tuple(float(v) for v in video_processor.image_std)
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    crop = getattr(video_processor, "crop_size", None)
    crop_size = int(crop.height) if video_processor.do_center_crop and crop is not None else height
    return FrameTransform(
        resize_to=height,
        crop_size=crop_size,
        mean=mean,  # type: ignore[arg-type]
        std=std,  # type: ignore[arg-type]
        interpolation=interpolation_of(getattr(video_processor, "resample", None)),
        crop_rounding="floor",
        resize_size=(height, width),
    )


def _unit_numpy(chunks: list[torch.Tensor], dim: int) -> np.ndarray:
    if not chunks:
        return np.zeros((0, dim), np.float32)
    x = torch.cat(chunks).float()
    return torch.nn.functional.normalize(x, dim=-1).cpu().numpy()


class _VideoForward(torch.nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        pooled = self.model.get_video_features(pixel_values_videos=pixels).pooler_output
        return pooled.reshape(pixels.shape[0], -1)  # the pooler keeps a query axis: [B, 1, D]


class _TextForward(_VideoForward):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output
