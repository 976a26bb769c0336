"""X-CLIP (transformers): video-native CLIP with a cross-frame transformer and a prompt generator.

X-CLIP's exact video–text score is video-conditioned: the prompt generator adds to each text
vector a term computed from the video's patch features. `encode_text` returns the plain text
vector (what an index can search with); `score` gives the exact `logits_per_video` for re-ranking.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from openvid.config import Settings, device_and_dtype
from openvid.encoders.base import Encoder, EncoderSpec, LabelSimilarity, TextFeatures, register_family
from openvid.encoders.hub import identity_of, model_load_errors, xclip_cached
from openvid.encoders.preprocess import FrameTransform, batches, clip_frames, interpolation_of, resample_frames
from openvid.encoders.resolve import ModelRef
from openvid.encoders.runtime.export import TowerSpec


@register_family("xclip")
class XClipEncoder(Encoder):
    """transformers `XCLIPModel` + its processor's tokenizer and frame settings."""

    text_feature_kind = "projection"  # unnormalised: the prompt generator's input

    def __init__(self, model, tokenizer, transform: FrameTransform, identity: str, name: str,
                 device: torch.device, dtype: torch.dtype, batch_size: int = 8, spec: EncoderSpec | None = None) -> None:
        super().__init__(model, tokenizer, transform, identity, name, device, dtype, batch_size, spec)
        self.dim = int(model.config.projection_dim)
        self.frames_per_clip = int(model.config.vision_config.num_frames)

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, ref: ModelRef, settings: Settings) -> "XClipEncoder":
        from transformers import XCLIPModel, XCLIPProcessor
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        device, dtype = device_and_dtype(settings)
        # A filled cache needs no network: asking the hub first would only add retries offline.
        local_only = ref.source == "local" or cls.is_cached(ref)
        with model_load_errors(ref):
            processor = XCLIPProcessor.from_pretrained(ref.checkpoint, local_files_only=local_only)
            model = XCLIPModel.from_pretrained(ref.checkpoint, local_files_only=local_only)
        model.to(device=device, dtype=dtype)
        image_processor = processor.image_processor
        size = image_processor.size
        crop = image_processor.crop_size
        transform = FrameTransform(
            resize_to=int(size.get("shortest_edge") or min(size["height"], size["width"])),
            crop_size=int(crop["height"]),
            mean=tuple(float(v) for v in image_processor.image_mean),
            std=tuple(float(v) for v in image_processor.image_std),
            interpolation=interpolation_of(getattr(image_processor, "resample", None)),
            crop_rounding="floor",
        )
        return cls(model, processor.tokenizer, transform, identity_of(ref), ref.label, device, dtype,
                   batch_size=settings.batch_size, spec=ref.spec)

    @classmethod
    def is_cached(cls, ref: ModelRef) -> bool:
        return xclip_cached(ref)  # the light check `openvid models list` uses too

    @classmethod
    def pull(cls, ref: ModelRef) -> str:
        from huggingface_hub import snapshot_download

        with model_load_errors(ref):
            return snapshot_download(ref.checkpoint, allow_patterns=["*.json", "*.txt", "*.safetensors"])

    # -- contract ------------------------------------------------------------------------------
    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().float().exp())

    def pixel_values(self, clips: Sequence) -> torch.Tensor:
        """[B, T, 3, S, S] model input for clips of any frame count (resampled to the model's T)."""
        frames = [resample_frames(clip_frames(c), self.frames_per_clip) for c in clips]
        stacked = [self.transform(f) for f in frames]
        return torch.stack(stacked).to(self.device, self.dtype)

    @torch.inference_mode()
    def _video_features(self, clips: Sequence) -> tuple[torch.Tensor, torch.Tensor]:
        """(video_embeds [B, D] unnormalised, prompt features [B, P, D]) from one vision pass.

        The same steps as `XCLIPModel.forward`, kept so `score` needs no second vision pass.
        """
        return self.tower("video")(self.pixel_values(clips))

    def text_inputs(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(input_ids, attention_mask) padded to the batch's longest text."""
        tokens = self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
        return tokens["input_ids"].to(self.device), tokens["attention_mask"].to(self.device)

    @torch.inference_mode()
    def _text_features(self, texts: Sequence[str]) -> torch.Tensor:
        return self.tower("text")(*self.text_inputs(texts))

    # -- runtimes ------------------------------------------------------------------------------
    def tower_specs(self) -> dict:
        return {"video": self._video_spec, "text": self._text_spec}

    def _video_spec(self) -> TowerSpec:
        """The vision pass over pixels [B, T, 3, S, S] (batch free): video embeds and prompt features."""
        generator = torch.Generator().manual_seed(0)
        shape = (self.frames_per_clip, 3, self.image_size, self.image_size)
        probes = [(torch.randn(n, *shape, generator=generator),) for n in (1, 2)]
        return TowerSpec("video", _VideoForward(self.model), ("pixels",), ("video_embeds", "img_features"), probes,
                         {"pixels": {0: "batch"}, "video_embeds": {0: "batch"}, "img_features": {0: "batch"}})

    def _text_spec(self) -> TowerSpec:
        """`get_text_features` over (input_ids, attention_mask) [B, L], both axes free (padding to the
        longest text is what the processor does too)."""
        probes = [self.text_inputs(texts) for texts in (["a dog catching a frisbee", "kickflip"],
                                                        ["surfing", "a person slowly peeling an orange", "cooking"])]
        axes = {0: "batch", 1: "length"}
        return TowerSpec("text", _TextForward(self.model), ("input_ids", "attention_mask"), ("projection",), probes,
                         {"input_ids": axes, "attention_mask": axes, "projection": {0: "batch"}})

    def encode_video(self, clips: Sequence, batch_size: int | None = None) -> np.ndarray:
        out = [self._video_features(chunk)[0] for chunk in batches(list(clips), batch_size or self.batch_size)]
        return _unit_numpy(out, self.dim)

    def text_features(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unnormalised text projections [n, dim]: the prompt generator's input, so what a cache keeps."""
        out = [self._text_features(chunk).float().cpu() for chunk in batches(list(texts), batch_size or 256)]
        return torch.cat(out).numpy() if out else np.zeros((0, self.dim), np.float32)

    def encode_text(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        raw = self.text_features(texts, batch_size)
        return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12) if len(raw) else raw

    @torch.inference_mode()
    def _conditioned_cosine(self, raw_text: torch.Tensor, clips: Sequence,
                            groups: Sequence[Sequence[int]] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(unit video vectors [B, D], cosine [B, K]) with the video-conditioned text vectors.

        With `groups`, each column is a label: the normalised mean of its prompts' conditioned unit
        vectors. Without, each column is one text (then scale × cosine is `logits_per_video`).
        """
        video_embeds, img_features = self._video_features(clips)
        text = raw_text.to(self.device, video_embeds.dtype).unsqueeze(0).expand(len(clips), -1, -1)
        text = text + self.model.prompts_generator(text, img_features)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
        if groups is not None:
            text = torch.stack([text[:, list(g)].mean(dim=1) for g in groups], dim=1)
            text = text / text.norm(p=2, dim=-1, keepdim=True)
        video = video_embeds / video_embeds.norm(p=2, dim=-1, keepdim=True)
        return video.float(), torch.einsum("bd,bkd->bk", video, text).float()

    def score(self, texts: Sequence[str], clips: Sequence, batch_size: int | None = None) -> np.ndarray:
        """[n_clips, n_texts] exact X-CLIP logits (`logits_per_video`), video-conditioned prompts."""
        raw = torch.from_numpy(self.text_features(texts))
        rows = [self._conditioned_cosine(raw, chunk)[1] for chunk in batches(list(clips), batch_size or self.batch_size)]
        if not rows:
            return np.zeros((0, len(texts)), np.float32)
        return (torch.cat(rows) * self.logit_scale).cpu().numpy()

    def rerank(self, text: str, clips: Sequence) -> np.ndarray:
        """Exact scores of one query against each clip, for re-ranking search hits."""
        return self.score([text], clips)[:, 0]

    def label_similarity(self, clips: Sequence, prompt_groups: Sequence[Sequence[str]],
                         text_features: TextFeatures | None = None) -> LabelSimilarity:
        """Exact X-CLIP label cosines: each prompt conditioned on the clip before averaging."""
        text_features = text_features or self.text_features
        flat = [text for group in prompt_groups for text in group]
        raw = torch.from_numpy(np.asarray(text_features(flat), np.float32))
        groups, start = [], 0
        for group in prompt_groups:
            groups.append(range(start, start + len(group)))
            start += len(group)
        videos, cosines = [], []
        for chunk in batches(list(clips), self.batch_size):
            video, cosine = self._conditioned_cosine(raw, chunk, groups)
            videos.append(video.cpu())
            cosines.append(cosine.cpu())
        if not videos:
            return LabelSimilarity(np.zeros((0, self.dim), np.float32), np.zeros((0, len(prompt_groups)), np.float32))
        return LabelSimilarity(torch.cat(videos).numpy(), torch.cat(cosines).numpy())


def _unit_numpy(chunks: list[torch.Tensor], dim: int) -> np.ndarray:
    if not chunks:
        return np.zeros((0, dim), np.float32)
    x = torch.cat(chunks).float()
    return torch.nn.functional.normalize(x, dim=-1).cpu().numpy()


class _VideoForward(torch.nn.Module):
    """The same steps as `XCLIPModel.forward`'s vision side, kept so `score` needs no second vision pass."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model
        batch, frames = pixel_values.shape[:2]
        vision = m.vision_model(pixel_values=pixel_values.flatten(0, 1))
        cls_features = m.visual_projection(vision[1]).view(batch, frames, -1)
        video_embeds = m.mit(cls_features)[1]
        img_features = m.prompts_visual_layernorm(vision[0][:, 1:, :]) @ m.prompts_visual_projection
        img_features = img_features.view(batch, frames, -1, video_embeds.shape[-1]).mean(dim=1)
        return video_embeds, img_features


class _TextForward(_VideoForward):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output
